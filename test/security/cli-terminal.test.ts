// `gitfleet status` prints text that agents and repo authors wrote. A real
// hub following a real Git repo whose head commit subject is hostile, a real
// agent-side client reporting a Ready message and a revision full of terminal
// escape sequences, bidi overrides and C1 controls, and the CLI spawned as a
// process: its output holds no such character, and shows them visibly
// escaped instead.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ENROLL, VIEWER, api, makeStatus, removeDir, root, startAgent, startHubProcess, tempDir, waitFor } from '../integration/hub-harness.ts';
import type { AgentProcess, HubProcess } from '../integration/hub-harness.ts';
import type { HostSummary } from '../../hub/fleet/fleet-index.ts';
import { requireComponent } from '../harness/require.ts';

const gitMissing = spawnSync('git', ['--version']).status === 0 ? null : 'the git command is not installed';

// Set the window title, clear the screen, a one-byte CSI (C1), bidi override and isolate, DEL.
const hostile = '\x1b]0;pwned\x07\x1b[2J\u009b31m\u202Eevil\u2066x\u2069\x7f\nfake line';
const dirs: string[] = [];
let hub: HubProcess;
let agent: AgentProcess;

before(async () => {
  if (gitMissing) return;
  const dataDir = tempDir('cli-terminal-hub');
  const stateDir = tempDir('cli-terminal-agent');
  const repo = tempDir('cli-terminal-repo');
  dirs.push(dataDir, stateDir, repo);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), 'fleet\n');
  git('add', '-A');
  git('commit', '-q', '-m', `subject \x1b]0;pwned\x07 \u009b2J \u202Ereversed`);
  hub = await startHubProcess({ dataDir, env: { GITFLEET_HUB_REPO: repo, GITFLEET_HUB_REF: 'main', GITFLEET_HUB_POLL_INTERVAL: '1h' } });
  await waitFor('the hub to read the head', async () => (await api<{ head: string | null }>(hub.url, '/healthz', { token: null })).body.head);
  agent = await startAgent({ hubUrl: hub.agentUrl, host: 'web-evil', stateDir, token: ENROLL });
  await waitFor('the agent to connect', () => agent.connected());
  const status = makeStatus('web-evil', { sync: 'Drifted', revision: `\x1b[2J\u202E${'a'.repeat(20)}` });
  status.conditions = [{ type: 'Ready', status: false, reason: 'Failed\x1b[1m', message: hostile, lastTransitionTime: new Date().toISOString() }];
  status.tags = [`t\x1b[31m\u202E`];
  agent.send({ status });
  await waitFor('the status to be stored', async () => (await api<{ summary: HostSummary }>(hub.url, '/api/v1/hosts/web-evil')).body.summary?.sync === 'Drifted');
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  dirs.forEach(removeDir);
});

function status(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'status', '--hub', hub.url, '--token', VIEWER, ...args], { cwd: root });
}

/** Every code point a terminal could act on or that reorders text; newline is the only control allowed. */
function unsafeIn(out: string): string[] {
  return [...out.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g)].map((m) => `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
}

test('gitfleet status: no control, C1 or bidi character reaches the terminal; they are shown escaped', (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const r = status([]);
  assert.equal(r.status, 1, r.stderr.toString());
  const out = r.stdout.toString('utf8');
  assert.deepEqual(unsafeIn(out), []);
  // Also at the byte level: no ESC, BEL or C1 lead bytes of a raw control.
  assert.equal(r.stdout.includes(0x1b), false);
  assert.equal(r.stdout.includes(0x07), false);
  assert.match(out, /needs attention \(1 of 1\):/);
  assert.ok(out.includes('  web-evil  Drifted  Online  applied \\x1b[2J\\u202eaaa'), out);
  assert.ok(out.includes('Ready=false Failed\\x1b[1m: \\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil\\u2066x\\u2069\\x7f\\x0afake line'), out);
  assert.ok(out.includes('subject \\x1b]0;pwned\\x07 \\x9b2J \\u202ereversed'), out);
  // The message's newline is escaped, so it cannot fake a line of its own.
  assert.equal(out.split('\n').some((l) => l.startsWith('fake line')), false);
});

test('gitfleet status --json: the same data as valid JSON, with nothing raw a terminal acts on', (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const r = status(['--json']);
  const out = r.stdout.toString('utf8');
  assert.deepEqual(unsafeIn(out.replace(/\n/g, '')), []);
  const summary = JSON.parse(out) as { head: { subject: string } };
  // JSON.stringify alone would leave U+009B and U+202E raw; the value is unchanged.
  assert.equal(summary.head.subject, 'subject \x1b]0;pwned\x07 \u009b2J \u202Ereversed');
});

test('gitfleet token list: a token name full of escapes is printed escaped, as text and as JSON', async (t) => {
  if (!requireComponent(t, 'git', gitMissing)) return;
  const created = await api(hub.url, '/api/v1/enrollment-tokens', { method: 'POST', body: { name: `batch \x1b]0;pwned\x07\u202Eevil\u009b2J` } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const json of [false, true]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'token', 'list', '--hub', hub.url, '--token', ADMIN, ...(json ? ['--json'] : [])], { cwd: root });
    assert.equal(r.status, 0, r.stderr.toString());
    const out = r.stdout.toString('utf8');
    assert.deepEqual(unsafeIn(out.replace(/\n/g, '')), [], out);
    if (json) assert.equal((JSON.parse(out) as { tokens: Array<{ name: string }> }).tokens[0]!.name, `batch \x1b]0;pwned\x07\u202Eevil\u009b2J`);
    else assert.ok(out.includes('batch \\x1b]0;pwned\\x07\\u202eevil\\x9b2J'), out);
  }
});
