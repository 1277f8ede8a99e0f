// Node.js process metrics for /metrics: prom-client's defaults, minus the ones that walk every
// handle of the process synchronously on each scrape. A control plane holds one socket per
// connected proxy, so at 10,000 proxies `nodejs_active_handles`, `nodejs_active_resources` (an
// object or string per handle, then grouped by type) and `process_open_fds` (a synchronous
// readdir of /proc/self/fd) blocked the event loop for ~80 ms per scrape in the scoped bench's
// server profile: every push that met a scrape waited for it. The open descriptors stay exported,
// counted by an asynchronous readdir (the listing runs on libuv's thread pool); the connections
// themselves are `pilotfish_xds_connected_proxies`.
import { readdir } from 'node:fs/promises';
import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/** Default metrics left out, each walking every handle or descriptor of the process. */
export const PER_HANDLE_METRICS: readonly string[] = [
  'nodejs_active_handles', 'nodejs_active_handles_total',
  'nodejs_active_resources', 'nodejs_active_resources_total',
  'process_open_fds',
];

const FD_DIR = '/proc/self/fd';

export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of PER_HANDLE_METRICS) registry.removeSingleMetric(name);
  if (process.platform !== 'linux') return;
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers: [registry],
    async collect() {
      try {
        // The listing holds one descriptor of its own while it runs.
        this.set((await readdir(FD_DIR)).length - 1);
      } catch {
        // No /proc (a sandbox): the gauge keeps its last value.
      }
    },
  });
}
