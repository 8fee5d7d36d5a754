// The Git source's pure parts as tables: URL redaction and parsing, refs,
// failure classification, signature verdicts, backoff, the ancestry loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, classifyGitFailure, normalizeFleetPath, parseRemote, redactUrl } from '../../repo/git/index.ts';
import { parseRef, resolveRef } from '../../repo/git/ref-spec.ts';
import { parseSignatureLine, requireTrusted } from '../../repo/git/signature.ts';
import { scrubGitOutput } from '../../repo/git/classify-failure.ts';
import { primaryFingerprints } from '../../repo/git/gpg-home.ts';
import { descendsFrom, type AncestryOps } from '../../repo/git/ancestry.ts';
import { sshCommand } from '../../repo/git/git-env.ts';
import { isGitfleetError } from '../../shared/errors.ts';

test('redactUrl hides passwords, https user names (may be tokens) and query strings; keeps ssh users', () => {
  const table: Array<[string, string]> = [
    ['https://user:s3cret@git.example.com/fleet.git', 'https://***:***@git.example.com/fleet.git'],
    ['https://ghp_TOKEN@github.com/o/r.git', 'https://***@github.com/o/r.git'],
    ['https://git.example.com/fleet.git?private_token=abc', 'https://git.example.com/fleet.git?***'],
    ['ssh://git@git.example.com:2222/fleet.git', 'ssh://git@git.example.com:2222/fleet.git'],
    ['ssh://git:pw@host/x', 'ssh://git:***@host/x'],
    ['git@github.com:o/r.git', 'git@github.com:o/r.git'],
    ['fatal: unable to access \'https://a:b@h/x/\': 401', 'fatal: unable to access \'https://***:***@h/x/\': 401'],
    ['/srv/git/fleet.git', '/srv/git/fleet.git'],
  ];
  for (const [input, expected] of table) assert.equal(redactUrl(input), expected, input);
});

test('parseRemote: kinds, credentials in URLs refused, command transports refused', () => {
  assert.equal(parseRemote('https://h/x.git').kind, 'https');
  assert.equal(parseRemote('http://127.0.0.1:8080/x.git').kind, 'http');
  assert.equal(parseRemote('ssh://git@h:22/x.git').kind, 'ssh');
  assert.equal(parseRemote('git@h:ops/x.git').kind, 'ssh');
  assert.equal(parseRemote('git://h/x.git').kind, 'git');
  assert.equal(parseRemote('/srv/x.git').kind, 'file');
  assert.equal(parseRemote('./x.git').url.startsWith('/'), true);
  assert.equal(parseRemote('file:///srv/x.git').kind, 'file');
  for (const bad of ['https://u:p@h/x', 'https://tok@h/x', 'ext::sh -c touch% /tmp/pwned', 'fd::3', 'ftp://h/x', '', '-uhelp', 'ssh://u:p@h/x']) {
    assert.throws(() => parseRemote(bad), (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID') && !/\bp@|tok@/.test(e.message), bad);
  }
});

test('parseRef and resolveRef: branches, tags (peeled), full names, commit ids, ambiguity', () => {
  assert.deepEqual(parseRef('A'.repeat(40)), { kind: 'commit', revision: 'a'.repeat(40) });
  assert.equal(parseRef('main').kind, 'name');
  assert.deepEqual((parseRef('refs/tags/v1') as { lsRemoteArgs: string[] }).lsRemoteArgs, ['--tags']);
  for (const bad of ['', '-x', 'a..b', 'a b', 'x:y', 'a~1', 'a^', 'x.lock', '/a', 'a/']) {
    assert.throws(() => parseRef(bad), (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID'), bad);
  }
  const ls = ['1111111111111111111111111111111111111111\trefs/heads/main', '2222222222222222222222222222222222222222\trefs/tags/v1',
    '3333333333333333333333333333333333333333\trefs/tags/v1^{}', '4444444444444444444444444444444444444444\trefs/heads/both',
    '5555555555555555555555555555555555555555\trefs/tags/both'].join('\n');
  assert.deepEqual(resolveRef(ls, 'main', 'R'), { remoteRef: 'refs/heads/main', revision: '1'.repeat(40) });
  assert.deepEqual(resolveRef(ls, 'v1', 'R'), { remoteRef: 'refs/tags/v1', revision: '3'.repeat(40) });
  assert.deepEqual(resolveRef(ls, 'refs/tags/both', 'R'), { remoteRef: 'refs/tags/both', revision: '5'.repeat(40) });
  assert.throws(() => resolveRef(ls, 'both', 'R'), (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID'));
  assert.throws(() => resolveRef(ls, 'gone', 'R'), (e: unknown) => isGitfleetError(e, 'GIT_NOT_FOUND') && e.message.includes('gone'));
});

test('classifyGitFailure: each real git message maps to its code', () => {
  const table: Array<[string, string]> = [
    ["fatal: unable to access 'https://h/x/': Could not resolve host: h", 'GIT_UNREACHABLE'],
    ["fatal: unable to access 'http://127.0.0.1:1/x/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server", 'GIT_UNREACHABLE'],
    ['ssh: connect to host 127.0.0.9 port 22: Connection refused\nfatal: Could not read from remote repository.', 'GIT_UNREACHABLE'],
    ['ssh: Could not resolve hostname nohost: Name or service not known', 'GIT_UNREACHABLE'],
    ['fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused', 'GIT_UNREACHABLE'],
    ['block timeout reached', 'GIT_UNREACHABLE'],
    ["fatal: Authentication failed for 'https://h/x/'", 'GIT_AUTH'],
    ["fatal: could not read Username for 'https://h': terminal prompts disabled", 'GIT_AUTH'],
    ['root@127.1.2.3: Permission denied (publickey).\nfatal: Could not read from remote repository.', 'GIT_AUTH'],
    ['Host key verification failed.\nfatal: Could not read from remote repository.', 'GIT_HOST_KEY'],
    ['No ED25519 host key is known for 127.1.2.3 and you have requested strict checking.\nHost key verification failed.', 'GIT_HOST_KEY'],
    ["fatal: repository 'http://h/gone.git/' not found", 'GIT_NOT_FOUND'],
    ["fatal: '/srv/gone.git' does not appear to be a git repository", 'GIT_NOT_FOUND'],
    ['fatal: remote error: access denied or repository not exported: /gone.git', 'GIT_NOT_FOUND'],
    ["fatal: couldn't find remote ref refs/heads/x", 'GIT_NOT_FOUND'],
    ["fatal: not a git repository: '/var/cache/repo.git'", 'GIT_CORRUPT'],
    ['error: inflate: data stream error (incorrect header check)\nfatal: loose object abc is corrupt', 'GIT_CORRUPT'],
    ['fatal: bad config line 1 in file /c/repo.git/config', 'GIT_CORRUPT'],
    ['fatal: something else entirely', 'GIT_FAILED'],
  ];
  for (const [stderr, code] of table) assert.equal(classifyGitFailure(stderr), code, stderr);
});

test('scrubGitOutput removes secrets, URL credentials and Authorization headers', () => {
  const out = scrubGitOutput("hint: x\nfatal: unable to access 'https://u:tok123@h/x/': 401\nAuthorization: Basic dTp0b2sxMjM=\nerror tok123", ['tok123', 'dTp0b2sxMjM=']);
  assert.ok(!out.includes('tok123') && !out.includes('dTp0b2sxMjM='), out);
  assert.ok(!out.includes('hint:'));
  assert.match(out, /unable to access/);
});

test('scrubGitOutput drops fetch --progress redraws, so the error is what is shown', () => {
  const progress = 'remote: Enumerating objects: 3, done.\nReceiving objects:  10% (1/10)\rReceiving objects:  20% (2/10), 64.00 KiB | 60.00 KiB/s\r';
  assert.equal(scrubGitOutput(`${progress}fatal: early EOF\nfatal: fetch-pack: invalid index-pack output\n`, []), 'fatal: early EOF | fatal: fetch-pack: invalid index-pack output');
});

test('signature verdicts: only G passes; every other %G? refuses with a reason', () => {
  const sha = 'a'.repeat(40);
  assert.doesNotThrow(() => requireTrusted(parseSignatureLine('G\0ABCD\0Signer <s@x>\n'), sha));
  for (const [v, reason] of [['U', /not trusted/], ['N', /not signed/], ['B', /bad signature/], ['E', /not in the trusted set/], ['X', /expired/], ['Y', /expired/], ['R', /revoked/], ['', /unknown/]] as const) {
    assert.throws(() => requireTrusted(parseSignatureLine(`${v}\0KEY\0`), sha), (e: unknown) => isGitfleetError(e, 'GIT_UNTRUSTED') && reason.test(e.message) && e.message.includes(sha), v);
  }
});

test('backoffDelay grows exponentially, stays within [c/2, c] and under max', () => {
  assert.equal(backoffDelay(0, { baseMs: 1000, random: () => 0 }), 500);
  assert.equal(backoffDelay(0, { baseMs: 1000, random: () => 1 }), 1000);
  assert.equal(backoffDelay(3, { baseMs: 1000, random: () => 1 }), 8000);
  assert.equal(backoffDelay(50, { baseMs: 1000, maxMs: 60_000, random: () => 1 }), 60_000);
  assert.equal(backoffDelay(5000, { baseMs: 1000, maxMs: 60_000, random: () => 0.5 }), 45_000);
  assert.equal(backoffDelay(-1, { baseMs: 100, random: () => 1 }), 100);
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const d = backoffDelay(4);
    assert.ok(d >= 8000 && d <= 16000, String(d));
    seen.add(d);
  }
  assert.ok(seen.size > 10, 'jitter spreads the delays');
});

test('normalizeFleetPath keeps the fleet tree inside the repository', () => {
  assert.equal(normalizeFleetPath('.'), '.');
  assert.equal(normalizeFleetPath(undefined), '.');
  assert.equal(normalizeFleetPath('fleet/'), 'fleet');
  assert.equal(normalizeFleetPath('./a//b'), 'a/b');
  for (const bad of ['..', '../x', 'a/../../x', '/etc']) assert.throws(() => normalizeFleetPath(bad), (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID'), bad);
});

test('primaryFingerprints ignores subkeys', () => {
  const colons = 'tru::1:0\npub:-:255:22:AAAA:1:::-:::scSC::::::23::0:\nfpr:::::::::PRIMARY1:\nuid:-::::1::X::Signer::::::::::0:\nsub:-:255:18:BBBB:1::::::e::::::23:\nfpr:::::::::SUBKEY1:\npub:-:255:22:CCCC:1:::-:::scSC::::::23::0:\nfpr:::::::::PRIMARY2:\n';
  assert.deepEqual(primaryFingerprints(colons), ['PRIMARY1', 'PRIMARY2']);
});

test('sshCommand pins the host key, never prompts, and quotes paths for the shell git runs it with', () => {
  const cmd = sshCommand("/keys/it's key", '/etc/known hosts');
  for (const opt of ['StrictHostKeyChecking=yes', 'BatchMode=yes', 'IdentitiesOnly=yes', 'GlobalKnownHostsFile=/dev/null', '-F /dev/null']) assert.ok(cmd.includes(opt), opt);
  assert.ok(cmd.includes(`'/keys/it'\\''s key'`), cmd);
  assert.ok(cmd.includes(`'UserKnownHostsFile=/etc/known hosts'`), cmd);
});

// A commit graph where some commits are shallow cuts until deepened.
function fakeGraph(parents: Record<string, string[]>, present: Set<string>, cuts: Set<string>): AncestryOps & { deepens: number } {
  const ops = {
    deepens: 0,
    hasCommit: async (r: string) => present.has(r),
    isAncestor: async (a: string, b: string) => {
      const stack = [b];
      const seen = new Set<string>();
      while (stack.length) {
        const c = stack.pop()!;
        if (c === a) return true;
        if (seen.has(c) || cuts.has(c)) continue;
        seen.add(c);
        stack.push(...(parents[c] ?? []).filter((p) => present.has(p)));
      }
      return false;
    },
    cutsInHistoryOf: async (r: string) => {
      let count = 0;
      const stack = [r];
      const seen = new Set<string>();
      while (stack.length) {
        const c = stack.pop()!;
        if (seen.has(c) || !present.has(c)) continue;
        seen.add(c);
        if (cuts.has(c)) { count++; continue; }
        stack.push(...(parents[c] ?? []));
      }
      return count;
    },
    deepen: async () => {
      ops.deepens++;
      for (const c of [...cuts]) {
        cuts.delete(c);
        for (const p of parents[c] ?? []) { if (!present.has(p)) { present.add(p); if ((parents[p] ?? []).length) cuts.add(p); } }
      }
    },
  };
  return ops;
}

test('descendsFrom deepens a shallow history until it can answer, and only as far as needed', async () => {
  const parents: Record<string, string[]> = { e: ['d'], d: ['c'], c: ['b'], b: ['a'], a: [], x: ['a'] };
  // Head e fetched with depth 1; lastApplied b not present: deepen until b appears.
  const g1 = fakeGraph(parents, new Set(['e']), new Set(['e']));
  assert.equal(await descendsFrom(g1, 'b', 'e'), true);
  assert.ok(g1.deepens >= 1);
  // Already connected: no deepening at all.
  const g2 = fakeGraph(parents, new Set(['e', 'd', 'c', 'b']), new Set(['b']));
  assert.equal(await descendsFrom(g2, 'c', 'e'), true);
  assert.equal(g2.deepens, 0);
  // x is on another line: the full history is fetched, then the answer is no.
  const g3 = fakeGraph(parents, new Set(['e', 'x']), new Set(['e', 'x']));
  assert.equal(await descendsFrom(g3, 'x', 'e'), false);
  assert.equal(await g3.cutsInHistoryOf('e'), 0);
  assert.equal(await descendsFrom(fakeGraph(parents, new Set(['a']), new Set()), 'a', 'a'), true);
});
