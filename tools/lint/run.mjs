// `npm run lint`: eslint with typescript-eslint over src/, test/, bench/ and scripts/; any warning fails.
// The linter lives in its own package (tools/lint/package.json says why) and is installed on first use.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const eslint = path.join(here, 'node_modules', '.bin', 'eslint');
if (!existsSync(eslint)) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--prefix', here], { stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('lint: could not install the linter (npm ci in tools/lint); it needs the npm registry once.');
    process.exit(1);
  }
}
const dirs = ['src', 'test', 'bench', 'scripts'].filter((d) => existsSync(path.join(root, d)));
const run = spawnSync(eslint, ['-c', path.join(here, 'eslint.config.js'), '--max-warnings', '0', ...dirs], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
