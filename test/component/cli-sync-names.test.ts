// Issue 21, item 4 (one way to name things) in the CLI: `gitfleet plan` calls
// a file changed in Git (not applied yet) OutOfSync and the same file changed
// by hand Drifted — the API's names (docs/api.md, "States").
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitfleet } from '../helpers/gitfleet-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-sync-names-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const fleet = join(scratch, 'fleet');
const target = join(scratch, 'target');
mkdirSync(join(fleet, 'lab/h1'), { recursive: true });
mkdirSync(target);
writeFileSync(join(fleet, 'lab/h1/host.yaml'), '{}\n');
const declare = (content: string) => writeFileSync(join(fleet, 'lab/h1/files.yaml'), `files:\n  ${target}/app.conf:\n    content: "${content}\\n"\n`);
const common = ['--repo', fleet, '--host', 'h1', '--state-dir', join(scratch, 'state'), '--files-allow', target];
const env = { GITFLEET_DOCKER_SOCKET: join(scratch, 'no-docker.sock') };
const syncOf = async () => {
  const r = await gitfleet(['plan', '--json', ...common], { env });
  return (JSON.parse(r.stdout) as { resources: Array<{ id: string; sync: string }> }).resources.find((x) => x.id === `file/${target}/app.conf`)?.sync;
};

test('plan: a Git change is OutOfSync, a hand change is Drifted (text and --json)', async () => {
  declare('v1');
  assert.equal((await gitfleet(['agent', '--once', ...common], { env })).code, 0);
  declare('v2');
  assert.equal(await syncOf(), 'OutOfSync');
  const text = await gitfleet(['plan', ...common], { env });
  const id = `file/${target}/app.conf`;
  assert.ok(text.stdout.split('\n').some((l) => l.trim().startsWith(id) && /\sOutOfSync\s/.test(l)), text.stdout);
  assert.equal((await gitfleet(['agent', '--once', ...common], { env })).code, 0);
  writeFileSync(join(target, 'app.conf'), 'by hand\n');
  assert.equal(await syncOf(), 'Drifted');
});
