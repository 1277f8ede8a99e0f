// `pilotfish analyze -f FILE|DIR`: every problem `serve` would have with these files, one line
// each — like `istioctl analyze`. Exit 3 when there is an error or a warning.
import { silentLogger } from '../logging.js';
import type { ParsedLine } from './command-line.js';
import type { analyzeCommand } from './commands.js';
import { configFindings, failsCheck, formatFinding, type Severity } from './config-findings.js';
import { loadConfig } from './config-load.js';
import { UsageError } from './flags.js';
import { EXIT } from './exit-codes.js';

export async function analyze({ values }: ParsedLine<typeof analyzeCommand.flags>, out: NodeJS.WritableStream): Promise<number> {
  const path = values.filename;
  if (path === undefined || path === '') throw new UsageError('pilotfish analyze: -f FILE|DIR is required');
  const loaded = await loadConfig(path, silentLogger());
  const findings = configFindings(loaded, values.kind === undefined ? {} : { kind: values.kind === 'grpc' ? 'grpc' : 'sidecar' });
  for (const f of findings) out.write(`${formatFinding(f)}\n`);

  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length;
  const objects = loaded.origins.size;
  if (!failsCheck(findings)) {
    out.write(`✔ No problems found in ${path} (${objects} object${objects === 1 ? '' : 's'}${count('Info') > 0 ? `, ${count('Info')} info` : ''}).\n`);
    return EXIT.ok;
  }
  out.write(`✘ ${count('Error')} error(s), ${count('Warning')} warning(s), ${count('Info')} info in ${path}.\n`);
  return EXIT.configProblems;
}
