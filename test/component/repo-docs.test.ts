// The examples in docs/fleet-repo.md are real: every resource, vars and
// host.yaml example there loads as a host's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDesiredState } from '../../repo/tree/index.ts';
import { makeTree } from './repo-fixture.ts';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/fleet-repo.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('the documented examples load together as one host', async (t) => {
  const files: Record<string, string> = { 'tags/monitoring/': '', 'tags/gpu/': '' };
  let resources = 0;
  for (const [i, block] of blocks.entries()) {
    if (/^tags:/.test(block)) files['a/h1/host.yaml'] = block;
    else if (/^vars:/.test(block)) files[`a/doc-${i}.yaml`] = block; // a layer above the host: it declares containers.web too
    else if (/^(containers|units|files):/.test(block)) {
      files[`a/h1/doc-${i}.yaml`] = block;
      resources++;
    }
  }
  assert.ok(resources >= 3 && files['a/h1/host.yaml'], 'the docs hold the resource and host.yaml examples');
  const root = makeTree(t, files);
  const s = await loadDesiredState(root, { host: 'h1' });
  assert.deepEqual(s.resources.map((r) => r.id), ['file//etc/hello/config.toml', 'unit/hello.service', 'container/web']);
  const web = s.resources.find((r) => r.id === 'container/web');
  assert.equal(web?.kind === 'container' && web.spec.hostname, 'h1');
  assert.deepEqual(s.tags, ['a', 'monitoring', 'gpu']);
  assert.equal(s.resources.every((r) => r.drift === (r.spec.drift ?? 'report')), true);
});
