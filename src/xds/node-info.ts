// What the xDS server knows of a proxy: its core.Node, reduced to the facts the layers above read,
// and the metadata keys bootstraps set (the injector and `pilotfish bootstrap` write them, the cache
// reads them). A leaf: the server, the cache and the bootstrap writers all import it.

/** The subset of an xDS Node that identity parsing needs. */
export interface NodeInfo {
  readonly id: string;
  readonly cluster?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Metadata keys a proxy may send (the injector and `pilotfish bootstrap` set them). */
export const META_KIND = 'PILOTFISH_KIND';
export const META_NAMESPACE = 'NAMESPACE';
export const META_POD_NAME = 'POD_NAME';
export const META_LABELS = 'LABELS';
export const META_INSTANCE_IP = 'INSTANCE_IP';
export const META_SERVICE_ACCOUNT = 'SERVICE_ACCOUNT';
