// `pilotfish inject -f FILE|-`: multi-document YAML in, YAML out, pod templates of every workload
// kind injected with the webhook's mutation, and the results valid Kubernetes objects.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { parseAllDocuments } from 'yaml';
import { runInject } from '../../src/cli/inject.js';
import { UsageError } from '../../src/cli/flags.js';
import { compareGolden, INJECT_GOLDEN_DIR, REPO_ROOT } from '../support/golden.js';
import { podProblems } from './pod-schema.js';

const EXAMPLES = path.join(REPO_ROOT, 'examples/inject');

async function inject(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => { stdout += c.toString(); });
  err.on('data', (c: Buffer) => { stderr += c.toString(); });
  const code = await runInject(args, { stdin: Readable.from([stdin]), stdout: out, stderr: err });
  return { code, stdout, stderr };
}

type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown>; items?: Doc[] };

function templateOf(doc: Doc): V1PodTemplateSpec {
  const spec = doc.spec as { template?: V1PodTemplateSpec; jobTemplate?: { spec: { template: V1PodTemplateSpec } } };
  return doc.kind === 'CronJob' ? spec.jobTemplate!.spec.template : spec.template!;
}

function asPod(t: V1PodTemplateSpec): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: t.metadata, spec: t.spec };
}

function docs(text: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, [], 'output must be valid YAML');
    return d.toJS() as Doc;
  });
}

const names = (p: V1Pod): string[] => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);

describe('pilotfish inject (offline)', () => {
  it('a Deployment and a CronJob in one file: valid YAML with the sidecar in both templates', async () => {
    const r = await inject(['-f', path.join(EXAMPLES, 'deployment-and-cronjob.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const [deployment, cronjob, service] = docs(r.stdout);
    for (const d of [deployment, cronjob]) {
      const pod = asPod(templateOf(d));
      assert.ok(names(pod).includes('pilotfish-proxy'), `${d.kind} has the sidecar`);
      assert.ok(names(pod).includes('pilotfish-init'));
      assert.deepEqual(podProblems(pod), [], `${d.kind} template is a valid Pod`);
    }
    new Deployment(deployment as unknown as ConstructorParameters<typeof Deployment>[0]).validate();
    new CronJob(cronjob as unknown as ConstructorParameters<typeof CronJob>[0]).validate();
    assert.equal(service.kind, 'Service');
    assert.equal(r.stderr, 'pilotfish inject: Deployment shop/web: injected\npilotfish inject: CronJob shop/report: injected\n');
  });

  it('reads stdin with -f -, and injecting its own output again changes nothing', async () => {
    const input = readFileSync(path.join(EXAMPLES, 'deployment-and-cronjob.yaml'), 'utf8');
    const once = await inject(['-f', '-'], input);
    assert.equal(once.code, 0, once.stderr);
    const twice = await inject(['-f', '-'], once.stdout);
    assert.equal(twice.stdout, once.stdout);
  });

  it('skips what the decision skips, and says why', async () => {
    const r = await inject(['-f', path.join(EXAMPLES, 'workloads.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /DaemonSet monitoring\/node-agent: skipped: hostNetwork pod/);
    assert.match(r.stderr, /Deployment shop\/legacy: skipped: pod label sidecar.pilotfish.io\/inject=false/);
    const out = docs(r.stdout);
    const input = docs(readFileSync(path.join(EXAMPLES, 'workloads.yaml'), 'utf8'));
    assert.deepEqual(out[3], input[3], 'the skipped DaemonSet is unchanged');
    for (const d of out.slice(0, 3)) assert.deepEqual(podProblems(asPod(templateOf(d))), []);
  });

  it('regular sidecars with --native-sidecars=false', async () => {
    const r = await inject(['-f', path.join(EXAMPLES, 'pod.yaml'), '--native-sidecars=false']);
    const [pod] = docs(r.stdout) as unknown as V1Pod[];
    assert.deepEqual(pod.spec!.containers.slice(0, 2).map((c) => c.name), ['pilotfish-agent', 'pilotfish-proxy']);
    assert.deepEqual(podProblems(pod), []);
  });

  it('bad input fails with the document and the reason; bad flags are usage errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pf-inject-'));
    try {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, 'kind: ConfigMap\n---\nkind: Deployment\nspec: [unclosed\n');
      const r = await inject(['-f', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /bad\.yaml: document 2: /);
      writeFileSync(file, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\nspec: {}\n');
      const noTemplate = await inject(['-f', file]);
      assert.equal(noTemplate.code, 1);
      assert.match(noTemplate.stderr, /Deployment default\/x has no pod template/);
      const missing = await inject(['-f', path.join(dir, 'nope.yaml')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await assert.rejects(inject([]), UsageError);
    await assert.rejects(inject(['-f', 'x', '--native-sidecars=maybe']), UsageError);
    await assert.rejects(inject(['-f', 'x', '--bogus']), UsageError);
    await assert.rejects(inject(['-f', 'x', '--xds-address', 'nope']), /--xds-address/);
    await assert.rejects(inject(['-f', 'x', '--ca-address', 'http://plain:15012']), /--ca-address must be https:\/\/HOST:PORT/);
    await assert.rejects(inject(['-f', 'x', '--agent-memory', 'lots']), /--agent-memory/);
  });

  it('the agent dials the TLS port of the --xds-address host, or --ca-address', async () => {
    const caOf = async (flags: string[]): Promise<string> => {
      const r = await inject(['-f', path.join(EXAMPLES, 'pod.yaml'), ...flags]);
      assert.equal(r.code, 0, r.stderr);
      const [pod] = docs(r.stdout) as unknown as V1Pod[];
      const args = pod.spec!.initContainers!.find((c) => c.name === 'pilotfish-agent')!.args!;
      return args[args.indexOf('--ca-address') + 1];
    };
    assert.equal(await caOf(['--xds-address', 'pf.mesh.svc:15010']), 'https://pf.mesh.svc:15012');
    assert.equal(await caOf(['--ca-address', 'https://10.0.0.9:9443']), 'https://10.0.0.9:9443');
  });

  it('golden: every example in examples/inject', async () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort();
    assert.ok(files.length >= 4);
    for (const f of files) {
      const r = await inject(['-f', path.join(EXAMPLES, f)]);
      assert.equal(r.code, 0, r.stderr);
      compareGolden(path.join(INJECT_GOLDEN_DIR, 'examples', f.replace(/\.yaml$/, '.golden.yaml')), r.stdout);
    }
  });

  it('works as a separate process on real stdin/stdout', async () => {
    const url = pathToFileURL(path.join(REPO_ROOT, 'dist/src/cli/inject.js')).href;
    const child = spawn(process.execPath, ['-e',
      `import(${JSON.stringify(url)}).then(async (m) => { process.exitCode = await m.runInject(process.argv.slice(1), process); })`,
      '--', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stdin.end(readFileSync(path.join(EXAMPLES, 'list.yaml')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    const [list] = docs(stdout);
    assert.ok(names(asPod(templateOf(list.items![0]))).includes('pilotfish-proxy'));
  });
});
