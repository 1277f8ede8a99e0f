// The xDS golden cases on disk (layout in test/golden/xds/README.md). A case is a directory with
// an input/ directory of Kubernetes YAML and a proxies.yaml naming the proxies whose generated
// xDS is checked in. Discovering them from disk, rather than listing them in code, is what lets a
// new case be added without touching a test; everything found that is neither a case nor a folder
// of cases is an error, so a misplaced file cannot be silently skipped.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isDefaultScope } from '../../src/model/traffic-scope.js';
import { isOutboundTrafficPolicy } from '../../src/model/outbound-policy.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { GenerateOptions } from '../../src/xds/generate/index.js';
import { REPO_ROOT, XDS_GOLDEN_DIR } from './golden.js';

interface XdsGoldenProxy {
  /** Names its golden file, `<name>.golden.yaml`. */
  readonly name: string;
  readonly node: NodeInfo;
  readonly options?: GenerateOptions;
}

export interface XdsGoldenCase {
  /** The case directory relative to test/golden/xds, e.g. `features/route-timeout`. */
  readonly id: string;
  readonly dir: string;
  /** Its input/ directory (loaded as a config directory, recursively). */
  readonly input: string;
  /** Under features/: one small mesh per CRD feature. */
  readonly feature: boolean;
  readonly proxies: readonly XdsGoldenProxy[];
}

const PROXIES_FILE = 'proxies.yaml';
const INPUT_DIR = 'input';
const FEATURES_DIR = 'features';
/** Golden files every case has besides one per proxy. */
const CASE_GOLDENS = ['routing-status', 'endpoints'] as const;

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Obj, allowed: readonly string[], where: string): void {
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new Error(`${where}: unknown field(s) ${extra.join(', ')} (allowed: ${allowed.join(', ')})`);
}

function parseNode(v: unknown, where: string): NodeInfo {
  if (!isObj(v)) throw new Error(`${where}: must be an object { id, cluster?, metadata? }`);
  onlyKeys(v, ['id', 'cluster', 'metadata'], where);
  if (typeof v.id !== 'string' || v.id === '') throw new Error(`${where}.id: must be a non-empty string`);
  if (v.cluster !== undefined && typeof v.cluster !== 'string') throw new Error(`${where}.cluster: must be a string`);
  if (v.metadata !== undefined && !isObj(v.metadata)) throw new Error(`${where}.metadata: must be an object`);
  // Rebuilt in a fixed order, whatever the file's: the golden files echo the node.
  const node: { id: string; cluster?: string; metadata?: Obj } = { id: v.id };
  if (typeof v.cluster === 'string') node.cluster = v.cluster;
  if (isObj(v.metadata)) node.metadata = v.metadata;
  return node;
}

function parseOptions(v: unknown, where: string): GenerateOptions {
  if (!isObj(v)) throw new Error(`${where}: must be an object`);
  onlyKeys(v, ['outboundTrafficPolicy', 'defaultScope'], where);
  if (v.outboundTrafficPolicy !== undefined && !isOutboundTrafficPolicy(v.outboundTrafficPolicy)) {
    throw new Error(`${where}.outboundTrafficPolicy: must be ALLOW_ANY or REGISTRY_ONLY`);
  }
  if (v.defaultScope !== undefined && (typeof v.defaultScope !== 'string' || !isDefaultScope(v.defaultScope))) {
    throw new Error(`${where}.defaultScope: must be namespace or mesh`);
  }
  return {
    ...(isOutboundTrafficPolicy(v.outboundTrafficPolicy) ? { outboundTrafficPolicy: v.outboundTrafficPolicy } : {}),
    ...(typeof v.defaultScope === 'string' && isDefaultScope(v.defaultScope) ? { defaultScope: v.defaultScope } : {}),
  };
}

/** Parses a proxies.yaml; every mistake names the file and the field. */
export function parseProxies(text: string, file: string): XdsGoldenProxy[] {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`${file}: not YAML: ${(err as Error).message}`);
  }
  if (!isObj(doc)) throw new Error(`${file}: must be an object { proxies: [...] }`);
  onlyKeys(doc, ['proxies'], file);
  if (!Array.isArray(doc.proxies) || doc.proxies.length === 0) throw new Error(`${file}: proxies must be a non-empty list`);
  const seen = new Set<string>();
  return doc.proxies.map((p: unknown, i): XdsGoldenProxy => {
    const where = `${file}: proxies[${i}]`;
    if (!isObj(p)) throw new Error(`${where}: must be an object { name, node, options? }`);
    onlyKeys(p, ['name', 'node', 'options'], where);
    if (typeof p.name !== 'string' || !NAME.test(p.name)) throw new Error(`${where}.name: must be a lower-case name like "sidecar-web"`);
    if ((CASE_GOLDENS as readonly string[]).includes(p.name)) throw new Error(`${where}.name: "${p.name}" is the name of a per-case golden file`);
    if (seen.has(p.name)) throw new Error(`${where}.name: "${p.name}" is used twice`);
    seen.add(p.name);
    const node = parseNode(p.node, `${where}.node`);
    return p.options === undefined ? { name: p.name, node } : { name: p.name, node, options: parseOptions(p.options, `${where}.options`) };
  });
}

function subdirs(dir: string): string[] {
  return readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isDirectory()).sort();
}

/** A directory as messages name it: from the repository root. */
function shown(dir: string): string {
  return path.relative(REPO_ROOT, dir).split(path.sep).join('/');
}

function collect(root: string, dir: string, out: XdsGoldenCase[]): void {
  const rel = path.relative(root, dir).split(path.sep).join('/');
  const hasInput = existsSync(path.join(dir, INPUT_DIR));
  const hasProxies = existsSync(path.join(dir, PROXIES_FILE));
  if (hasInput !== hasProxies) {
    throw new Error(`${shown(dir)}: a case needs both ${INPUT_DIR}/ and ${PROXIES_FILE}; it has only ${hasInput ? INPUT_DIR : PROXIES_FILE}`);
  }
  if (hasInput) {
    const file = path.join(dir, PROXIES_FILE);
    out.push({
      id: rel,
      dir,
      input: path.join(dir, INPUT_DIR),
      feature: rel.startsWith(`${FEATURES_DIR}/`),
      proxies: parseProxies(readFileSync(file, 'utf8'), shown(file)),
    });
    return;
  }
  const stray = readdirSync(dir).filter((f) => !statSync(path.join(dir, f)).isDirectory() && !f.endsWith('.md'));
  if (stray.length > 0) {
    throw new Error(`${shown(dir)}: ${stray.join(', ')} is not part of a case (a case directory has ${INPUT_DIR}/ and ${PROXIES_FILE})`);
  }
  for (const d of subdirs(dir)) collect(root, path.join(dir, d), out);
}

/** Every case under `root` (default test/golden/xds), sorted by id. Throws on a malformed tree. */
export function xdsGoldenCases(root: string = XDS_GOLDEN_DIR): XdsGoldenCase[] {
  const out: XdsGoldenCase[] = [];
  collect(root, root, out);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The golden files a case must have, by base name (without `.golden.yaml`). */
function expectedGoldens(c: XdsGoldenCase): string[] {
  return [...CASE_GOLDENS, ...(hasAccessPolicies(c) ? [ACCESS_STATUS_GOLDEN] : []), ...c.proxies.map((p) => p.name)];
}

/** Cases with AccessPolicies also check in their status (the others have no such file). */
export const ACCESS_STATUS_GOLDEN = 'access-status';

export function hasAccessPolicies(c: XdsGoldenCase): boolean {
  return inputFiles(c).some((f) => /^kind: AccessPolicy$/m.test(readFileSync(f, 'utf8')));
}

/** Golden files in the case directory that nothing writes any more (a renamed or removed proxy). */
export function staleGoldens(c: XdsGoldenCase): string[] {
  const expected = new Set(expectedGoldens(c).map((n) => `${n}.golden.yaml`));
  return readdirSync(c.dir).filter((f) => f.endsWith('.golden.yaml') && !expected.has(f)).sort();
}

/** The YAML files of a case's input, recursively (as the config-dir source reads them). */
export function inputFiles(c: XdsGoldenCase): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir).sort()) {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/i.test(f)) out.push(p);
    }
  };
  walk(c.input);
  return out;
}
