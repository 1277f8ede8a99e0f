// Where test/cluster/build.sh put the control-plane binaries. The cache directory is computed by
// build.sh itself (--print-bin-dir) so the pinned versions live only in test/cluster/go/go.mod.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/pilotfish-process.js';

export const BUILD_SCRIPT = path.join(REPO_ROOT, 'test', 'cluster', 'build.sh');

export interface ControlPlaneBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
}

const HOW_TO_BUILD = `run \`${path.relative(process.cwd(), BUILD_SCRIPT) || BUILD_SCRIPT}\` (needs Go >= 1.24 and the Go module proxy; `
  + 'the first build takes a while, later runs reuse the cache; `npm run test:cluster` runs it for you)';

/** The binaries' paths; throws a message saying how to build them when one is missing. */
export function controlPlaneBinaries(): ControlPlaneBinaries {
  let binDir: string;
  try {
    binDir = execFileSync('bash', [BUILD_SCRIPT, '--print-bin-dir'], { encoding: 'utf8' }).trim();
  } catch (err) {
    throw new Error(`could not ask ${BUILD_SCRIPT} where the binaries are: ${(err as Error).message}`);
  }
  const bins: ControlPlaneBinaries = {
    etcd: path.join(binDir, 'etcd'),
    kubeApiserver: path.join(binDir, 'kube-apiserver'),
    kubeControllerManager: path.join(binDir, 'kube-controller-manager'),
  };
  for (const file of Object.values(bins)) {
    try {
      accessSync(file, constants.X_OK);
    } catch {
      throw new Error(`${path.basename(file)} is not built (no executable ${file}): ${HOW_TO_BUILD}`);
    }
  }
  return bins;
}

/** The k8s.io/kubernetes version test/cluster/go/go.mod pins, e.g. v1.34.4. */
export function pinnedKubernetesVersion(): string {
  const goMod = path.join(REPO_ROOT, 'test', 'cluster', 'go', 'go.mod');
  const match = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(readFileSync(goMod, 'utf8'));
  if (!match) throw new Error(`${goMod} does not require k8s.io/kubernetes`);
  return match[1]!;
}
