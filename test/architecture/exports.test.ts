// No dead exports: every name src/ exports is imported somewhere (src/, test/, bench/ or scripts/).
// An export nobody imports is either dead code or something that should not be exported; both
// hide what a module's real interface is. Entry points (the CLI's main) and generated code are exempt.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './import-graph.js';

const ENTRY_POINTS = new Set(['src/cli/main.ts']);
/** Generated from the Envoy protos as a whole (scripts/gen-envoy-types.ts): it exports every message on purpose. */
const GENERATED = new Set(['src/xds/envoy-types.ts']);

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') tsFiles(p, out);
    } else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

/** Names a file exports by declaration or export list (not re-exports, which src/ does not use). */
export function exportedNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm)) {
    names.add(m[1]);
  }
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*;/gm)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop();
      if (name) names.add(name);
    }
  }
  return [...names];
}

/** (resolved file, imported name) pairs of one file's relative imports, `*` for a namespace import. */
export function importedNames(file: string, text: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?([^'";]*?)\s+from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[2] ?? m[3];
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    if (m[3] !== undefined || /^\*\s+as\s/.test(m[1] ?? '')) {
      out.push([target, '*']);
      continue;
    }
    const clause = m[1] ?? '';
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) {
      for (const part of braces[1].split(',')) {
        const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0];
        if (name) out.push([target, name]);
      }
    }
    const def = /^([A-Za-z_$][\w$]*)\s*(?:,|$)/.exec(clause.trim());
    if (def && !clause.trim().startsWith('{')) out.push([target, 'default']);
  }
  return out;
}

describe('architecture: no dead exports', () => {
  it('every export of src/ is imported by some file', () => {
    const all = ['src', 'test', 'bench', 'scripts'].flatMap((d) => {
      try {
        return tsFiles(path.join(REPO_ROOT, d));
      } catch {
        return [];
      }
    });
    const used = new Set<string>();
    for (const f of all) for (const [target, name] of importedNames(f, readFileSync(f, 'utf8'))) used.add(`${target}#${name}`);
    const dead: string[] = [];
    for (const f of all) {
      const rel = path.relative(REPO_ROOT, f).split(path.sep).join('/');
      if (!rel.startsWith('src/') || ENTRY_POINTS.has(rel) || GENERATED.has(rel)) continue;
      if (used.has(`${f}#*`)) continue;
      const text = readFileSync(f, 'utf8');
      for (const name of exportedNames(text)) {
        // Used in its own file and exported only for a type position elsewhere is still an export
        // nobody imports: report it.
        if (!used.has(`${f}#${name}`)) dead.push(`${rel}: ${name}`);
      }
    }
    assert.deepEqual(dead, [], `exports nobody imports (remove the export, or the code):\n${dead.join('\n')}`);
  });

  it('the scanner sees declarations, export lists, named, renamed, type and namespace imports', () => {
    assert.deepEqual(exportedNames('export const A = 1;\nexport function f() {}\nexport interface I {}\nexport type T = 1;\nconst b = 2;\nexport { b };\n'), ['A', 'f', 'I', 'T', 'b']);
    const f = '/r/src/x.ts';
    assert.deepEqual(importedNames(f, "import { a, type B, c as d } from './y.js';\nimport * as z from './z.js';\nconst m = await import('./w.js');\n"), [
      ['/r/src/y.ts', 'a'], ['/r/src/y.ts', 'B'], ['/r/src/y.ts', 'c'], ['/r/src/z.ts', '*'], ['/r/src/w.ts', '*'],
    ]);
  });
});
