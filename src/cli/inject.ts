// `pilotfish inject -f FILE|-`: offline injection of Pods and workload pod templates, YAML in,
// YAML out, with the webhook's exact decision and mutation.
import { readFile } from 'node:fs/promises';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import { injectYaml } from '../webhook/workloads.js';
import { boolFlag, injectorConfigFromFlags, injectorFlagOptions } from './webhook-command.js';
import { parseFlags, UsageError } from './flags.js';

export interface InjectIO {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export const INJECT_USAGE = `Usage: pilotfish inject -f FILE|- [--native-sidecars=true|false] [--xds-address HOST:PORT]
       [--proxy-image IMAGE] [--init-image IMAGE] [--namespace CONTROL_PLANE_NS] [...]
Injects the sidecar into Pods and the pod templates of Deployments, StatefulSets, DaemonSets,
ReplicaSets, ReplicationControllers, Jobs and CronJobs; other documents pass through unchanged.
`;

/** Returns the exit code: 0 done, 1 the input could not be read or parsed. */
export async function runInject(args: string[], io: InjectIO): Promise<number> {
  const { values: v, positionals } = parseFlags(args, {
    ...injectorFlagOptions,
    filename: { type: 'string', short: 'f' },
    // Offline there is no API server to ask, and native sidecars are the default since 1.29.
    'native-sidecars': { type: 'string', default: 'true' },
    namespace: { type: 'string', default: DEFAULT_CONTROL_PLANE_NAMESPACE },
  }, 'inject');
  if (positionals.length > 0) throw new UsageError(`pilotfish inject: unexpected argument "${positionals[0]}"\n${INJECT_USAGE}`);
  if (v.filename === undefined) throw new UsageError(`pilotfish inject: -f FILE (or -f - for stdin) is required\n${INJECT_USAGE}`);
  const native = boolFlag(v['native-sidecars'], 'native-sidecars', 'inject');
  const config = injectorConfigFromFlags(v, native, 'inject');

  let text: string;
  try {
    text = v.filename === '-' ? await readAll(io.stdin) : await readFile(v.filename, 'utf8');
  } catch (err) {
    io.stderr.write(`pilotfish inject: cannot read ${v.filename}: ${(err as Error).message}\n`);
    return 1;
  }
  let result;
  try {
    result = injectYaml(text, config, { controlPlaneNamespace: v.namespace });
  } catch (err) {
    io.stderr.write(`pilotfish inject: ${v.filename === '-' ? 'stdin' : v.filename}: ${(err as Error).message}\n`);
    return 1;
  }
  for (const r of result.reports) {
    const what = `${r.kind} ${r.namespace}/${r.name}`;
    io.stderr.write(`pilotfish inject: ${what}: ${r.injected ? 'injected' : `skipped: ${r.reason}`}\n`);
    for (const w of r.warnings) io.stderr.write(`pilotfish inject: ${what}: warning: ${w}\n`);
  }
  io.stdout.write(result.text);
  return 0;
}
