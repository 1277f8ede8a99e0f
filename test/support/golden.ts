// Golden files: compared byte for byte; rewritten only when UPDATE_GOLDEN=1 is set, so a change
// in generated output is always a reviewed diff.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/support/golden.js -> the repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Injected Pods (test/webhook). */
export const INJECT_GOLDEN_DIR = path.join(REPO_ROOT, 'test/golden/inject');
/** Generated xDS, one directory per case (test/xds/generate; layout in its README.md). */
export const XDS_GOLDEN_DIR = path.join(REPO_ROOT, 'test/golden/xds');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

export function compareGolden(file: string, actual: string): void {
  if (UPDATE) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) {
    assert.fail(`golden file ${path.relative(REPO_ROOT, file)} is missing; run with UPDATE_GOLDEN=1 to create it, then review it`);
  }
  const expected = readFileSync(file, 'utf8');
  assert.equal(actual, expected, `output differs from ${path.relative(REPO_ROOT, file)} (UPDATE_GOLDEN=1 rewrites it)`);
}
