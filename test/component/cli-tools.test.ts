// Issue 21, items 3 and 6: the tool commands as a user runs them — init makes
// a repo that validates and renders, check names what is wrong on a host,
// version and completion (each completion script parsed by its own shell
// when that shell is installed; bash always is).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitfleet } from '../helpers/gitfleet-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-cli-tools-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('init starts a fleet repo that validates and renders, and never overwrites', async () => {
  const repo = join(scratch, 'fleet');
  const r = await gitfleet(['init', repo, '--host', 'edge-01', '--tag', 'prod/eu']);
  assert.equal(r.code, 0, r.stderr);
  const valid = await gitfleet(['validate', '--repo', repo]);
  assert.equal(valid.code, 0, valid.stdout + valid.stderr);
  assert.match(valid.stdout, /1 host\(s\), 2 tag\(s\)/);
  const rendered = await gitfleet(['render', '--repo', repo, '--host', 'edge-01']);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.match(rendered.stdout, /edge-01 is managed by gitfleet \(tags: prod,prod\/eu\)|edge-01 is managed by gitfleet/);
  const again = await gitfleet(['init', repo, '--host', 'edge-01', '--tag', 'prod/eu']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exist\(s\); nothing was written/);
  const bad = await gitfleet(['init', repo, '--host', 'bad_name']);
  assert.equal(bad.code, 2);
});

test('check: one line per check; a host missing from the repo and an unreachable hub fail it', async () => {
  const repo = join(scratch, 'fleet-check');
  assert.equal((await gitfleet(['init', repo, '--host', 'web-01'])).code, 0);
  const config = join(scratch, 'agent.yaml');
  writeFileSync(config, `repo: ${repo}\nhost: web-09\nstateDir: ${join(scratch, 'state')}\nhub: ws://127.0.0.1:9/\ndocker:\n  socket: ${join(scratch, 'none.sock')}\n`);
  const r = await gitfleet(['check', '--config', config]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok {4}config {8}host web-09/m);
  assert.match(r.stdout, /^warn {2}docker {8}cannot use .*none\.sock/m);
  assert.match(r.stdout, /^FAIL {2}this host {5}no host directory named "web-09".*nearest: web-01/m);
  assert.match(r.stdout, /^FAIL {2}hub {11}ws:\/\/127\.0\.0\.1:9\/ does not end in \/agent/m);
  assert.match(r.stdout, /^FAIL {2}hub {11}cannot reach http:\/\/127\.0\.0\.1:9/m);
  assert.match(r.stdout, /check\(s\) failed$/m);
  const good = await gitfleet(['check', '--repo', repo, '--host', 'web-01', '--state-dir', join(scratch, 'state2')]);
  assert.equal(good.code, 0, good.stdout);
  assert.match(good.stdout, /^ok {4}this host {5}web-01 is declared/m);
});

test('version names the release, the protocol and the runtime; --json is parseable', async () => {
  const r = await gitfleet(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^gitfleet \d+\.\d+\.\d+\nprotocol \d+(–\d+)?\nnode v\d+/);
  const json = JSON.parse((await gitfleet(['version', '--json'])).stdout) as { protocol: { min: number; max: number } };
  assert.ok(json.protocol.max >= json.protocol.min);
  assert.equal((await gitfleet(['--version'])).stdout, r.stdout);
});

test('completion scripts parse in their shells and name the commands', async () => {
  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    const r = await gitfleet(['completion', shell]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /reconcile/);
    const file = join(scratch, `completion.${shell}`);
    writeFileSync(file, r.stdout);
    const installed = spawnSync(shell, ['--version']).status === 0;
    if (!installed) {
      assert.notEqual(shell, 'bash', 'bash is always there');
      continue;
    }
    const parsed = spawnSync(shell, shell === 'fish' ? ['--no-execute', file] : ['-n', file]);
    assert.equal(parsed.status, 0, `${shell}: ${parsed.stderr.toString()}`);
  }
  const bashOut = spawnSync('bash', ['-c', `source ${join(scratch, 'completion.bash')}; COMP_WORDS=(gitfleet rec); COMP_CWORD=1; _gitfleet; echo "\${COMPREPLY[@]}"`]);
  assert.equal(bashOut.stdout.toString().trim(), 'reconcile');
});
