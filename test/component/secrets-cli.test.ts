// `gitfleet secret` as a user runs it (the CLI entry, real files, the real age
// CLI for the operator's key): encrypt for recipients, decrypt (exit 1 on a
// wrong key or a tampered file), updatekeys to add a host, edit through $EDITOR.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { createIdentityFile } from '../../repo/secrets/age-key.ts';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'gf-secret-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function gitfleet(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('encrypt → decrypt → updatekeys (add a host) → edit; wrong key and tampering exit 1', async () => {
  const op = join(dir, 'operator.key');
  const host = join(dir, 'host.key');
  const other = join(dir, 'other.key');
  const opKey = await createIdentityFile(op);
  const hostKey = await createIdentityFile(host);
  await createIdentityFile(other);
  const plain = join(dir, 'db.yaml');
  writeFileSync(plain, 'vars:\n  db_password: s3cr3t-pass-word\ncontainers:\n  db:\n    image: postgres:16\n    env:\n      POSTGRES_PASSWORD: ${db_password}\n');

  const enc = gitfleet(['secret', 'encrypt', '--recipient', opKey, plain]);
  assert.equal(enc.code, 0, enc.stderr);
  const out = join(dir, 'db.sops.yaml');
  const text = readFileSync(out, 'utf8');
  assert.ok(!text.includes('s3cr3t'), 'encrypted file holds no plaintext');
  assert.equal((parse(text) as { containers: { db: { image: string } } }).containers.db.image, 'postgres:16', 'keys outside vars/env/content stay readable');

  const dec = gitfleet(['secret', 'decrypt', '--identity', op, out]);
  assert.equal(dec.code, 0, dec.stderr);
  assert.deepEqual(parse(dec.stdout), parse(readFileSync(plain, 'utf8')));

  // The host is not a recipient yet: exit 1, the message names the file and the recipients, never a value.
  const denied = gitfleet(['secret', 'decrypt', '--identity', host, out]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /db\.sops\.yaml/);
  assert.ok(denied.stderr.includes(opKey));
  assert.ok(!denied.stderr.includes('s3cr3t') && denied.stdout === '');

  // Add the host: updatekeys with both keys; the host reads it now.
  const up = gitfleet(['secret', 'updatekeys', '--identity', op, '--recipient', opKey, '--recipient', hostKey, out]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(gitfleet(['secret', 'decrypt', '--identity', host, out]).code, 0);
  assert.equal(gitfleet(['secret', 'decrypt', '--identity', other, out]).code, 1);

  // Tampered: a value replaced by hand.
  const tampered = join(dir, 'tampered.sops.yaml');
  writeFileSync(tampered, readFileSync(out, 'utf8').replace('image: postgres:16', 'image: postgres:15'));
  const t = gitfleet(['secret', 'decrypt', '--identity', op, tampered]);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /MAC/);

  // edit: the editor (argv, no shell) changes the plaintext; the file is re-encrypted for the same recipients.
  const ed = gitfleet(['secret', 'edit', '--identity', op, out], { EDITOR: 'sed -i s/s3cr3t-pass-word/n3w-pass-word-2/', VISUAL: '' });
  assert.equal(ed.code, 0, ed.stderr);
  const after = gitfleet(['secret', 'decrypt', '--identity', host, out]);
  assert.match(after.stdout, /n3w-pass-word-2/);
  assert.ok(!readFileSync(out, 'utf8').includes('n3w-pass'));
  // The real age CLI reads the data key with the operator's key file.
  const stanza = (parse(readFileSync(out, 'utf8')) as { sops: { age: { recipient: string; enc: string }[] } }).sops.age.find((a) => a.recipient === opKey)!;
  writeFileSync(join(dir, 'k.age'), stanza.enc);
  if (existsSync('/usr/bin/age')) assert.equal(execFileSync('age', ['-d', '-i', op, join(dir, 'k.age')]).length, 32);

  assert.equal(gitfleet(['secret', 'encrypt', plain]).code, 2, 'no recipient: usage error');
  assert.equal(gitfleet(['secret', 'encrypt', '--recipient', 'not-a-key', plain]).code, 2);
});

test('render: without a key «secret»; with the host key still «secret»; --reveal in clear; a wrong key is refused', async () => {
  const key = join(root, 'examples/keys/THROWAWAY-secrets-demo-01.age.key');
  const value = 'example-token-NOT-A-REAL-SECRET-7f3a';
  const args = ['render', '--repo', join(root, 'examples/fleet'), '--host', 'secrets-demo-01'];
  for (const extra of [[], ['--identity', key], ['--identity', key, '--json']]) {
    const r = gitfleet([...args, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(value) && r.stdout.includes('«secret»'), extra.join(' '));
  }
  const shown = gitfleet([...args, '--identity', key, '--reveal']);
  assert.equal(shown.code, 0);
  assert.ok(shown.stdout.includes(`API_TOKEN=${value}`));
  assert.equal(gitfleet([...args, '--reveal']).code, 2);
  // plan as the host: the steps carry the specs (file content, env) — masked, in text and JSON.
  for (const json of [[], ['--json']]) {
    const planned = gitfleet(['plan', '--repo', join(root, 'examples/fleet'), '--host', 'secrets-demo-01', '--state-dir', join(dir, 'plan-state'), '--files-allow', '/etc/gitfleet-demo', ...json], { GITFLEET_AGE_IDENTITY_FILE: key, GITFLEET_POLICY: join(dir, 'no-policy.yaml') });
    assert.ok(planned.stdout.includes('file.write'), planned.stdout + planned.stderr);
    assert.ok(!planned.stdout.includes(value) && !planned.stderr.includes(value), `plan ${json.join('')} shows the secret`);
  }
  const other = join(dir, 'stranger.key');
  await createIdentityFile(other);
  const refused = gitfleet([...args, '--identity', other]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /SECRET_NOT_RECIPIENT/);
  assert.ok(!refused.stderr.includes(value));
});

test('validate: encrypted files checked without keys; --recipients names the hosts that could not decrypt', async () => {
  const fleet = join(dir, 'fleet');
  cpSync(join(root, 'examples/fleet'), fleet, { recursive: true });
  const file = join(fleet, 'staging/secrets-demo-01/api.sops.yaml');
  const good = readFileSync(file, 'utf8');
  const owner = 'age135rzgm5t2rp40p7efs22vzvwegmk6n9vl027ky2c5xvfzvpc39xsnkd4d4';
  const list = join(dir, 'recipients.txt');
  writeFileSync(list, `# from gitfleet secret recipients\nsecrets-demo-01  ${owner}\n`);
  assert.equal(gitfleet(['validate', '--repo', fleet, '--recipients', list]).code, 0);
  writeFileSync(list, `secrets-demo-01  age1fu0sfuzk4wv5h6e9ndhslyt5ar9h802h0mhh5khr2hmflxdp253qmr5zel\nweb-01  (no key reported)\n`);
  const denied = gitfleet(['validate', '--repo', fleet, '--recipients', list]);
  assert.equal(denied.code, 1);
  assert.match(denied.stdout, /staging\/secrets-demo-01\/api\.sops\.yaml:1:1 +SECRET_NOT_RECIPIENT +host\(s\) secrets-demo-01 /);
  // Structure without keys: a value in plaintext where the rules say encrypted, a missing sops block.
  writeFileSync(file, good.replace(/api_token: ENC\[[^\]]+\]/, 'api_token: plain-text'));
  const plainValue = gitfleet(['validate', '--repo', fleet]);
  assert.equal(plainValue.code, 1);
  assert.match(plainValue.stdout, /SECRET_FORMAT .*vars\.api_token is not encrypted/);
  writeFileSync(file, 'vars:\n  a: b\n');
  assert.match(gitfleet(['validate', '--repo', fleet]).stdout, /SECRET_FORMAT .*needs a top-level "sops:" map/);
});

test('a multi-line secret (a key file) is masked whole in render text and JSON and in plan JSON', async () => {
  const fleet = join(dir, 'multi');
  const key = join(dir, 'multi.key');
  const recipient = await createIdentityFile(key);
  const pem = '-----BEGIN TEST KEY-----\nAAAAline1secretmaterial\nBBBBline2secretmaterial\n-----END TEST KEY-----\n';
  mkdirSync(join(fleet, 'lab', 'm-1'), { recursive: true });
  writeFileSync(join(fleet, 'lab', 'm-1', 'host.yaml'), '{}\n');
  writeFileSync(join(fleet, 'lab', 'plain.yaml'), stringify({ files: { [join(dir, 'out', 'tls.key')]: { content: pem, mode: '0600' } } }));
  const enc = gitfleet(['secret', 'encrypt', '--recipient', recipient, join(fleet, 'lab', 'plain.yaml')]);
  assert.equal(enc.code, 0, enc.stderr);
  rmSync(join(fleet, 'lab', 'plain.yaml'));
  const leaks = (out: string) => ['line1secretmaterial', 'line2secretmaterial'].filter((s) => out.includes(s));
  for (const extra of [[], ['--json']]) {
    const r = gitfleet(['render', '--repo', fleet, '--host', 'm-1', '--identity', key, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(leaks(r.stdout), [], `render ${extra.join('')}`);
  }
  const planned = gitfleet(['plan', '--repo', fleet, '--host', 'm-1', '--state-dir', join(dir, 'multi-state'), '--files-allow', join(dir, 'out'), '--json'], { GITFLEET_AGE_IDENTITY_FILE: key, GITFLEET_POLICY: join(dir, 'no-policy.yaml') });
  assert.ok(planned.stdout.includes('file.write'), planned.stderr);
  assert.deepEqual(leaks(planned.stdout + planned.stderr), []);
});

test('keygen on a fresh host creates the key\'s directory (0700) and the key (0600), and prints the same public key again', () => {
  const key = join(dir, 'fresh-etc', 'gitfleet', 'age.key');
  const first = gitfleet(['secret', 'keygen', '--output', key]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^age1[0-9a-z]+\n$/);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'fresh-etc', 'gitfleet')).mode & 0o777, 0o700);
  const again = gitfleet(['secret', 'keygen', '--output', key]);
  assert.equal(again.stdout, first.stdout, 'an existing key is never overwritten');
});
