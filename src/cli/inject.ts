// `pilotfish inject -f FILE|-`: offline injection of Pods and workload pod templates, YAML in,
// YAML out, with the webhook's exact decision and mutation.
import { readFile } from 'node:fs/promises';
import { injectYaml } from '../webhook/workloads.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { injectCommand } from './commands.js';
import { boolFlag, injectorConfigFromFlags } from './injector-flags.js';
import { UsageError } from './flags.js';

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

/** `pilotfish inject` from its arguments; the exit code: 0 done, 1 the input could not be read or parsed. */
export async function runInject(args: readonly string[], io: InjectIO): Promise<number> {
  return inject(parseCommandLine(injectCommand, args), io);
}

export async function inject({ values: v }: ParsedLine<typeof injectCommand.flags>, io: InjectIO): Promise<number> {
  if (v.filename === undefined) throw new UsageError('pilotfish inject: -f FILE (or -f - for stdin) is required');
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
    result = injectYaml(text, config, { controlPlaneNamespace: v.namespace! });
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
