// Snapshots of every command's help: a change to an option, an exit code or
// a wording shows up here and in review, and docs/cli.md is checked to name
// every command. UPDATE_SNAPSHOTS=1 rewrites the snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitfleet, repoRoot } from '../helpers/gitfleet-cli.ts';

const snapshots = join(repoRoot, 'test/fixtures/cli-help');
const commands = ['agent', 'plan', 'check', 'render', 'validate', 'diff', 'init', 'adopt', 'hub', 'status', 'hosts', 'reconcile', 'host', 'login', 'token', 'rollout', 'version', 'completion'];

test('gitfleet help (global) matches its snapshot and lists every command', async () => {
  const r = await gitfleet(['help']);
  assert.equal(r.code, 0);
  for (const c of commands) assert.match(r.stdout, new RegExp(`^ {2}${c} `, 'm'), `global help lists ${c}`);
  compare('gitfleet.txt', r.stdout);
});

for (const command of commands) {
  test(`gitfleet help ${command} matches its snapshot and is gitfleet ${command} --help`, async () => {
    const [viaHelp, viaFlag] = await Promise.all([gitfleet(['help', command]), gitfleet([command, '--help'])]);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.match(viaHelp.stdout, new RegExp(`^usage: gitfleet ${command}`));
    compare(`${command}.txt`, viaHelp.stdout);
  });
}

test('docs/cli.md has a section for every command', () => {
  const doc = readFileSync(join(repoRoot, 'docs/cli.md'), 'utf8');
  for (const c of commands) assert.match(doc, new RegExp(`^### \`gitfleet ${c}\\b`, 'm'), `docs/cli.md documents gitfleet ${c}`);
});

function compare(name: string, actual: string): void {
  const file = join(snapshots, name);
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(file)) {
    writeFileSync(file, actual);
    if (process.env.UPDATE_SNAPSHOTS !== '1') assert.fail(`no snapshot ${name} yet: written; check it and commit it`);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `help changed: check it, then UPDATE_SNAPSHOTS=1 node --import tsx --test test/component/cli-help.test.ts`);
}
