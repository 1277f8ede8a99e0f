// Port numbers and the proxy uid that the injector (which sets up capture) and xDS generation
// (which configures the listeners behind it) must agree on. Values follow DESIGN.md.

export const PROXY_UID = 1337;
export const PROXY_GID = 1337;

export const PORT_ADMIN = 15000;
export const PORT_OUTBOUND = 15001;
export const PORT_INBOUND = 15006;
export const PORT_READINESS = 15021;
export const PORT_METRICS = 15090;
export const PORT_XDS = 15010;
export const PORT_WEBHOOK = 15017;
export const PORT_CONTROL_HTTP = 15014;

/** Ports of the proxy itself: inbound traffic to them must reach Envoy directly, never the capture listener. */
export const PROXY_PORTS: readonly number[] = [PORT_ADMIN, PORT_OUTBOUND, PORT_INBOUND, PORT_READINESS, PORT_METRICS];
