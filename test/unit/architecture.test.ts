// The import boundaries of ARCHITECTURE.md, checked on every source file:
// shared/ imports no other layer and nothing Node-only; repo/ imports only
// shared/; agent/ and hub/ never import each other; only cli/ sees both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const layers = ['shared', 'repo', 'agent', 'hub', 'cli'] as const;
type Layer = (typeof layers)[number];
const allowed: Record<Layer, Layer[]> = {
  shared: [],
  repo: ['shared'],
  agent: ['shared', 'repo'],
  hub: ['shared', 'repo'],
  cli: ['shared', 'repo', 'agent', 'hub'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) found.push((m[1] ?? m[2] ?? m[3])!);
  return found;
}

function layerOf(path: string): Layer | undefined {
  const top = relative(root, path).split('/')[0];
  return layers.find((l) => l === top);
}

test('every layer imports only the layers it may', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const layer of layers) {
    for (const file of sources(join(root, layer))) {
      for (const spec of importsOf(file)) {
        checked++;
        if (!spec.startsWith('.')) {
          if (layer === 'shared' && (spec.startsWith('node:') || ['fs', 'path', 'child_process'].includes(spec))) {
            violations.push(`${relative(root, file)} imports Node-only "${spec}"`);
          }
          continue;
        }
        const target = layerOf(resolve(dirname(file), spec));
        if (target && target !== layer && !allowed[layer].includes(target)) {
          violations.push(`${relative(root, file)} (${layer}) imports ${target}/ via "${spec}"`);
        }
      }
    }
  }
  assert.ok(checked > 0, 'found no imports at all: the scan is broken');
  assert.deepEqual(violations, []);
});

test('the boundary check catches a forbidden import', () => {
  // Guards the checker itself: a hub file importing agent code must be flagged.
  const fake = join(root, 'hub', 'x.ts');
  assert.equal(layerOf(resolve(dirname(fake), '../agent/y.ts')), 'agent');
  assert.equal(allowed.hub.includes('agent'), false);
  assert.deepEqual(importsOf(join(root, 'cli', 'main.ts')).filter((s) => s.includes('/hub/')).length > 0, true);
});
