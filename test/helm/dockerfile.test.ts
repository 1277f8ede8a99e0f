// The Dockerfile cannot be built here (no container engine), so what can be checked statically is:
// it builds with npm and ships only production dependencies, starts the same entry point as
// package.json's "bin", runs as the uid the chart's securityContext sets, exposes the ports the
// chart uses, and contains what the injected init step runs (sh, iptables-restore).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PORT_WEBHOOK, PORT_XDS } from '../../src/webhook/injection-names.js';
import { DEFAULT_REDIRECT, initContainer } from '../../src/webhook/redirect.js';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { REPO_ROOT } from '../support/pilotfish-process.js';
import { one, render, type K8sObject } from './chart.js';

interface Instruction { readonly op: string; readonly args: string; readonly stage: number }

/** Dockerfile instructions (continuation lines joined, comments dropped), tagged with their stage. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(t);
    assert.ok(m, `unparsable Dockerfile line: ${t}`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2].replace(/\s+/g, ' '), stage });
  }
  return out;
}

const dockerfile = instructions(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const lastStage = Math.max(...dockerfile.map((i) => i.stage));
const runtime = dockerfile.filter((i) => i.stage === lastStage);
const build = dockerfile.filter((i) => i.stage === 0);
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: { pilotfish: string }; scripts: Record<string, string> };

type PodDeployment = K8sObject & {
  spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot: boolean }; containers: Array<{ ports: Array<{ containerPort: number }> }> } } };
};

describe('Dockerfile', () => {
  it('runs node with the flags pilotfish is measured with, as npm run serve and the demo (npm start) do', () => {
    assert.ok(NODE_FLAGS.length > 0);
    assert.ok(pkg.scripts.serve.includes(`node ${NODE_FLAGS.join(' ')} ${pkg.bin.pilotfish.replace(/^\.\//, '')}`), pkg.scripts.serve);
    const demo = readFileSync(path.join(REPO_ROOT, 'examples/greeter/demo.mjs'), 'utf8');
    assert.ok(demo.includes(`${NODE_FLAGS.map((f) => `'${f}'`).join(', ')}, pilotfish,`), 'examples/greeter/demo.mjs starts serve with NODE_FLAGS');
  });

  it('is multi-stage: npm ci, the build script and a production-only prune in the build stage', () => {
    assert.ok(lastStage >= 1, 'a build stage and a runtime stage');
    const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
    assert.match(runs, /npm ci\b/);
    assert.match(runs, /npm run build\b/);
    assert.match(runs, /npm prune --omit=dev\b/);
    assert.ok(!runtime.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args)), 'the runtime stage installs no npm packages');
  });

  it('starts package.json\'s "bin" entry point, from the compiled output it copies', () => {
    const entry = runtime.find((i) => i.op === 'ENTRYPOINT');
    assert.ok(entry, 'an ENTRYPOINT');
    const argv = JSON.parse(entry.args) as string[];
    const workdir = runtime.filter((i) => i.op === 'WORKDIR').map((i) => i.args).pop() ?? '/';
    assert.deepEqual(argv, ['node', ...NODE_FLAGS, path.posix.join(workdir, pkg.bin.pilotfish)]);
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    const binDir = path.posix.dirname(pkg.bin.pilotfish).split('/').slice(0, 2).join('/'); // dist/src
    assert.ok(copies.some((c) => c.includes(`/${binDir} `) && c.startsWith('--from=')), `runtime copies ${binDir} from the build stage: ${copies.join('; ')}`);
    assert.ok(copies.some((c) => /node_modules/.test(c)), 'runtime copies the pruned node_modules');
    assert.ok(copies.some((c) => /package\.json/.test(c)), 'runtime copies package.json ("type": "module" is needed to load dist/)');
  });

  it('runs as the non-root uid/gid the chart\'s securityContext sets', async () => {
    const user = runtime.filter((i) => i.op === 'USER').map((i) => i.args).pop();
    const pod = one<PodDeployment>(await render(), 'Deployment').spec.template.spec;
    assert.equal(user, `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    assert.equal(pod.securityContext.runAsNonRoot, true);
  });

  it('exposes the ports the chart\'s container declares', async () => {
    const exposed = runtime.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(' ').map(Number)).sort();
    const pod = one<PodDeployment>(await render(), 'Deployment').spec.template.spec;
    assert.deepEqual(exposed, pod.containers[0].ports.map((p) => p.containerPort).sort());
    assert.ok(exposed.includes(PORT_XDS) && exposed.includes(PORT_WEBHOOK));
  });

  it('has what the injected init step runs with this image (sh, iptables-restore)', () => {
    const init = initContainer({ image: 'x', redirect: DEFAULT_REDIRECT });
    assert.equal(init.command?.[0], 'sh');
    assert.match(init.command?.join(' ') ?? '', /iptables-restore/);
    const from = dockerfile.filter((i) => i.op === 'FROM').map((i) => i.args);
    assert.ok(!from.some((f) => /distroless/.test(f)), 'a distroless runtime would have no sh');
    assert.ok(runtime.some((i) => i.op === 'RUN' && /apt-get install .*\biptables\b/.test(i.args)), 'the runtime stage installs iptables');
  });

  it('.dockerignore sends exactly what the build stage copies', () => {
    const rules = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(rules[0], '*', 'everything excluded by default');
    const included = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, '')).sort();
    const copied = build.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(' ').slice(0, -1)).map((s) => s.replace(/\/$/, '')).sort();
    assert.deepEqual(included, copied);
  });
});
