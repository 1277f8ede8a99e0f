// The V8 flags pilotfish runs with, in one place: the image's ENTRYPOINT, `npm run serve`, the demo and the
// benchmark's server all use these (test/helm/dockerfile.test.ts holds them to it).

/**
 * A smaller young generation than Node's default 16 MiB semi-spaces. Every socket read becomes a
 * short-lived buffer; after thousands of proxies connect at once, a large young generation lets
 * tens of megabytes of them wait for the next scavenge, and the process keeps that memory.
 * `npm run bench` at 2,000 proxies: 20-40 MiB less RSS, no measurable CPU or latency cost.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
