// Issue 21, item 2: an ordinary mistake on the command line is one line on
// stderr and exit 2 — never Node's stack trace, never "internal error", never
// a hang — and a typo names what was probably meant.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitfleet, type CliResult } from '../helpers/gitfleet-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-cli-usage-'));
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** One line on stderr, nothing on stdout, no stack frame, exit 2. */
function oneLineUsage(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `more than one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at |TypeError|ERR_PARSE_ARGS/);
  assert.match(r.stderr, pattern);
}

test('an option without its value: one line naming the option', async () => {
  oneLineUsage(await gitfleet(['render', 'examples/fleet', '--host']), /^gitfleet render: --host needs a value/);
  oneLineUsage(await gitfleet(['plan', '--repo']), /^gitfleet plan: --repo needs a value/);
  oneLineUsage(await gitfleet(['render', '--host', '--json', 'examples/fleet']), /--host needs a value \(a value starting with "-" is written --host=VALUE\)/);
});

test('unknown options and commands: one line with "did you mean"', async () => {
  oneLineUsage(await gitfleet(['plan', '--hots', 'web-01']), /^gitfleet plan: unknown option --hots \(did you mean --host\?\)/);
  oneLineUsage(await gitfleet(['validate', '--nope']), /^gitfleet validate: unknown option --nope; see gitfleet validate --help$/m);
  oneLineUsage(await gitfleet(['valdiate']), /^gitfleet: unknown command "valdiate" \(did you mean "validate"\?\)/);
  oneLineUsage(await gitfleet(['statsu']), /did you mean "status"\?/);
  oneLineUsage(await gitfleet(['frobnicate']), /^gitfleet: unknown command "frobnicate"; gitfleet help lists the commands$/m);
  oneLineUsage(await gitfleet(['version', 'extra']), /^gitfleet version: takes no arguments, got "extra"/);
});

test('a config-key typo names the key meant', async () => {
  const config = join(scratch, 'agent.yaml');
  writeFileSync(config, 'repo: /srv/fleet\nstatedir: /tmp/x\n');
  oneLineUsage(await gitfleet(['plan', '--config', config]), /unknown config key "statedir".*did you mean "stateDir"\?/);
  writeFileSync(config, 'repo: /srv/fleet\ngit:\n  tokenfile: /x\n');
  oneLineUsage(await gitfleet(['plan', '--config', config]), /unknown config key "git\.tokenfile".*did you mean "git\.tokenFile"\?/);
  writeFileSync(config, 'repo: /srv/fleet\nhealthTimeuot: 10s\n');
  oneLineUsage(await gitfleet(['agent', '--once', '--config', config]), /did you mean "healthTimeout"\?/);
  const hubConfig = join(scratch, 'hub.yaml');
  writeFileSync(hubConfig, 'heartbaet: 10s\n');
  oneLineUsage(await gitfleet(['hub', '--config', hubConfig]), /^gitfleet: hub config: heartbaet: not a hub configuration key; did you mean "heartbeat"\?$/m);
});

test('a state directory under /proc fails at once instead of hanging', async () => {
  const r = await gitfleet(['plan', '--repo', 'examples/fleet', '--host', 'web-stage-01', '--state-dir', '/proc/nope'], { timeoutMs: 20_000 });
  oneLineUsage(r, /state directory \/proc\/nope cannot be created \(ENOENT at \/proc\/nope\)/);
  assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
  oneLineUsage(await gitfleet(['agent', '--once', '--repo', 'examples/fleet', '--host', 'web-stage-01', '--state-dir', '/etc/hostname/x']), /\/etc\/hostname is not a directory/);
});

test('a non-root plan without --state-dir says to run as root or pass --state-dir', async (t) => {
  if (process.getuid?.() !== 0) {
    // Already not root: the default /var/lib/gitfleet is not ours either.
    oneLineUsage(await gitfleet(['plan', '--repo', 'examples/fleet', '--host', 'web-stage-01']), /run as root, or give a directory you can write with --state-dir DIR/);
    return;
  }
  t.diagnostic('as uid 65534 (nobody)');
  const r = await gitfleet(['plan', '--repo', join(process.cwd(), 'examples/fleet'), '--host', 'web-stage-01'], { uid: 65534, gid: 65534, cwd: scratch, env: { HOME: scratch } });
  oneLineUsage(r, /^gitfleet: state directory \/var\/lib\/gitfleet (cannot be created \(EACCES|is not writable by this user).*run as root, or give a directory you can write with --state-dir DIR/);
});

test('gitfleet help COMMAND prints that command\'s help; help of an unknown command is a usage error', async () => {
  const viaHelp = await gitfleet(['help', 'validate']);
  const viaFlag = await gitfleet(['validate', '--help']);
  assert.equal(viaHelp.code, 0);
  assert.match(viaHelp.stdout, /^usage: gitfleet validate/);
  assert.equal(viaHelp.stdout, viaFlag.stdout);
  oneLineUsage(await gitfleet(['help', 'valdate']), /did you mean "validate"\?/);
});

test('validate on an empty or wrong directory fails: no host found', async () => {
  const empty = mkdtempSync(join(scratch, 'empty-'));
  const r = await gitfleet(['validate', empty]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no host found in .*a host is a directory with a host\.yaml/);
  const wrong = await gitfleet(['validate', '--repo', 'docs']);
  assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
  assert.match(wrong.stderr, /no host found/);
  const ok = await gitfleet(['validate', '--repo', 'examples/fleet']);
  assert.equal(ok.code, 0, ok.stdout);
  oneLineUsage(await gitfleet(['validate', '--repo', 'examples/fleet', 'examples/fleet']), /--repo and a directory argument are the same thing/);
});

test('a hub command against nothing: could not tell (3), one line; a ws:// URL gets a hint', async () => {
  const r = await gitfleet(['hosts', '--hub', 'http://127.0.0.1:9', '--token', 'x']);
  assert.equal(r.code, 3);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /cannot reach the hub at http:\/\/127\.0\.0\.1:9/);
  oneLineUsage(await gitfleet(['status', '--hub', 'wss://hub.example.com/agent', '--token', 'x']), /the agents' WebSocket address; give the hub's base URL \(https:\/\/hub\.example\.com\)/);
  oneLineUsage(await gitfleet(['hosts', '--hub', 'http://127.0.0.1:9'], { env: { GITFLEET_API_TOKEN: '', GITFLEET_HUB_TOKEN: '' } }), /no hub token: run gitfleet login HUB_URL/);
});
