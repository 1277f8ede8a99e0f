// Writes src/xds/envoy-types.ts (`npm run gen:envoy-types`). Compiled with scripts/tsconfig.json,
// which leaves out the rest of the tree, so a stale or broken envoy-types.ts can always be rebuilt.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { envoyRoot } from '../src/xds/protos.js';
import { renderEnvoyTypes } from './envoy-types.js';

/** This file runs as dist/scripts/gen-envoy-types.js. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(REPO_ROOT, 'src/xds/envoy-types.ts');

const text = renderEnvoyTypes(envoyRoot());
writeFileSync(OUT, text);
process.stdout.write(`${path.relative(process.cwd(), OUT)}: ${text.split('\n').length - 1} lines\n`);
