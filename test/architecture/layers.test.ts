// The pipeline is visible in the tree and one-way (ARCHITECTURE.md): sources -> store -> model ->
// xds/generate -> xds/cache -> xds/server. These tests read the import graph of src/ and fail on
// an import that points back up the pipeline, on any import cycle, and on module-level state in
// the generators (which must be pure functions of their inputs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importCycles, importGraph, REPO_ROOT, type ImportGraph } from './import-graph.js';

/** Shared helpers every layer may import; they import nothing but each other. */
const LEAVES = [
  'logging.ts', 'log-options.ts', 'host-port.ts', 'deep-equal.ts', 'durable-file.ts', 'kube/', 'xds/wire/', 'xds/types.ts', 'xds/protos.ts', 'xds/node-info.ts',
  'xds/proxy-view.ts', 'xds/peer.ts', 'xds/merged-map.ts', 'xds/envoy-types.ts',
];

/** The pipeline in data-flow order: a stage may import the stages before it, never one after. */
const PIPELINE = ['model/', 'api/', 'routing/', 'sources/', 'store/', 'xds/generate/', 'xds/cache/', 'xds/server/'];

/** What each pipeline stage may import besides leaves and itself, where that is narrower than "earlier stages". */
const NARROWER: Readonly<Record<string, readonly string[]>> = {
  // The server knows the protocol and core.Node facts, never the mesh.
  'xds/server/': [],
  // Generation reads the model; it knows nothing of where the model came from.
  'xds/generate/': ['model/', 'api/'],
  'xds/cache/': ['model/', 'api/', 'xds/generate/'],
  // Plain types: nothing upstream of them.
  'model/': [],
};

/** Components at the edge wire the pipeline to the world; nothing in the pipeline imports them. */
const EDGES = ['xds/bootstrap/', 'security/', 'agent/', 'webhook/', 'leader/', 'admin/', 'cli/'];

function groupOf(file: string): string {
  for (const p of [...LEAVES, ...PIPELINE, ...EDGES]) if (p.endsWith('/') ? file.startsWith(p) : file === p) return p;
  return 'unplaced';
}

/** The import rules, as "why" strings for every offending edge. */
export function layerViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [file, deps] of graph) {
    const from = groupOf(file);
    if (from === 'unplaced') problems.push(`${file} is in no layer (add it to a stage, a leaf or an edge)`);
    for (const dep of deps) {
      const to = groupOf(dep);
      if (to === from) continue;
      const edge = `${file} -> ${dep}`;
      if (LEAVES.includes(from)) {
        if (!LEAVES.includes(to)) problems.push(`${edge}: a leaf imports only leaves`);
        continue;
      }
      if (LEAVES.includes(to)) continue;
      if (to === 'cli/') problems.push(`${edge}: nothing imports the CLI`);
      else if (PIPELINE.includes(from)) {
        if (EDGES.includes(to)) problems.push(`${edge}: the pipeline never imports an edge component`);
        else if (PIPELINE.indexOf(to) > PIPELINE.indexOf(from)) problems.push(`${edge}: points back up the pipeline`);
        else if (NARROWER[from] && !NARROWER[from].includes(to)) problems.push(`${edge}: ${from} may import only ${NARROWER[from].join(', ') || 'leaves'}`);
      }
    }
  }
  return problems;
}

/** Module-level mutable state in a generator: a top-level `let`, or a top-level Map/Set/WeakMap/WeakSet/WeakRef. */
export function moduleStateIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:export\s+)?(?:let\s+\w+|(?:const|var)\s+\w+[^=\n]*=\s*new\s+(?:Weak)?(?:Map|Set|Ref)\b)/gm)) {
    found.push(m[0]);
  }
  return found;
}

/**
 * Module-level Maps, Sets and lets in src/ that are not caches, by "file: name": lookup tables
 * filled once at load and never written again, and the Envoy protos parsed on first use (the same
 * for every instance). Anything else at module level is a cache, and caches belong to instances.
 */
const MODULE_CONSTANTS: ReadonlySet<string> = new Set([
  'webhook/sidecar.ts: KEEP_REFERENCES', 'webhook/decision.ts: OUR_VOLUMES', 'webhook/decision.ts: OUR_CONTAINERS',
  'webhook/decision.ts: RESERVED_PORTS', 'webhook/decision.ts: WARNED_SKIPS', 'webhook/connection-guards.ts: BODY_TOO_LARGE',
  'agent/sds-server.ts: EMPTY', 'agent/sds-server.ts: SECRET_TYPES', 'agent/xds-proxy.ts: DROPPED_HEADERS',
  'xds/server/grpc/wire.ts: STATUS_NAMES', 'xds/server/subscription.ts: EMPTY_SET',
  'sources/registry/registry-source.ts: REGISTRATION_FIELDS', 'sources/registry/registry-source.ts: ID_FIELDS',
  'xds/server/codec.ts: types', 'xds/protos.ts: cached',
]);

/** The name a module-level declaration found by moduleStateIn declares. */
function declaredName(declaration: string): string {
  return /(?:let|const|var)\s+(\w+)/.exec(declaration)?.[1] ?? declaration;
}

describe('architecture: the pipeline is one-way', () => {
  const graph = importGraph();

  it('no import points back up the pipeline (sources -> store -> model -> generate -> cache -> server)', () => {
    assert.deepEqual(layerViolations(graph), []);
  });

  it('there is no import cycle in src/', () => {
    assert.deepEqual(importCycles(graph), []);
  });

  /** Module-level state in the files under `folder`, as "file: declaration". */
  const stateUnder = (folder: string): string[] => [...graph.keys()].filter((file) => file.startsWith(folder))
    .flatMap((file) => moduleStateIn(readFileSync(path.join(REPO_ROOT, 'src', file), 'utf8')).map((s) => `${file}: ${s}`));

  it('generators hold no module-level mutable state', () => {
    assert.deepEqual(stateUnder('xds/generate/'), []);
  });

  it('the cache holds no module-level mutable state (its caches belong to instances)', () => {
    assert.deepEqual(stateUnder('xds/cache/'), []);
  });

  it('nothing in src/ keeps a module-level cache (only the listed constant tables)', () => {
    const found = [...graph.keys()].flatMap((file) => moduleStateIn(readFileSync(path.join(REPO_ROOT, 'src', file), 'utf8'))
      .map((s) => `${file}: ${declaredName(s)}`));
    assert.deepEqual(found.filter((d) => !MODULE_CONSTANTS.has(d)), []);
    // The lists name only what is there, so a removed table or a moved cache is taken off them.
    assert.deepEqual([...MODULE_CONSTANTS].filter((d) => !found.includes(d)), []);
  });

  describe('the checks themselves catch what they are for', () => {
    const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));

    it('the cache importing the server, the server importing the model, generate importing the cache', () => {
      const problems = layerViolations(g({
        'xds/cache/a.ts': ['xds/server/b.ts'],
        'xds/server/b.ts': ['model/c.ts'],
        'xds/generate/d.ts': ['xds/cache/a.ts'],
        'model/c.ts': ['store/e.ts'],
        'store/e.ts': ['cli/f.ts'],
        'cli/f.ts': [],
      }));
      assert.equal(problems.length, 5, problems.join('\n'));
      assert.match(problems[0], /xds\/cache\/a\.ts -> xds\/server\/b\.ts: points back up/);
      assert.match(problems[1], /xds\/server\/b\.ts -> model\/c\.ts: xds\/server\/ may import only leaves/);
    });

    it('a cycle of two files and a self-import', () => {
      assert.deepEqual(importCycles(g({ 'a.ts': ['b.ts'], 'b.ts': ['a.ts'], 'c.ts': ['c.ts'] })), [['a.ts', 'b.ts'], ['c.ts']]);
    });

    it('module-level caches and lets, but not constants or function-local maps', () => {
      const text = 'const memo = new WeakMap<object, string>();\nlet last = 0;\nexport const A = 1;\nfunction f() {\n  const m = new Map();\n}\n';
      assert.deepEqual(moduleStateIn(text), ['const memo = new WeakMap', 'let last']);
    });
  });
});
