// `pilotfish serve` without Kubernetes must not load @kubernetes/client-node: its generated API
// clients cost ~70 MiB of RSS (their source text and code) in a process that never calls them.
// Checked on the built modules, where type-only imports are gone: the static imports reachable
// from the serve command (dynamic `import()` is how the Kubernetes paths load it when used).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const STATIC_IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;

/** The built modules reachable by static imports from `entry` that statically import `pkg` itself. */
function staticImportersOf(entry: string, pkg: string): string[] {
  const seen = new Set([entry]);
  const queue = [entry];
  const importers: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const spec = m[1];
      if (spec === pkg) importers.push(path.relative(DIST_SRC, file));
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return importers;
}

describe('serve: loads client-node only when Kubernetes is used', () => {
  const entry = (name: string): string => {
    const file = path.join(DIST_SRC, 'cli', name);
    assert.ok(existsSync(file), `${file} is missing: run npm run build first`);
    return file;
  };

  it('nothing the serve command imports statically imports @kubernetes/client-node', () => {
    assert.deepEqual(staticImportersOf(entry('serve.js'), '@kubernetes/client-node'), []);
  });

  it('the check finds such an import (the controller, which always talks to Kubernetes)', () => {
    assert.notDeepEqual(staticImportersOf(entry('controller.js'), '@kubernetes/client-node'), []);
  });
});
