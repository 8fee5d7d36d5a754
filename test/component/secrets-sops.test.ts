// The SOPS format (repo/secrets/sops.ts): our files against a file crafted
// here from the public format with node:crypto alone, the real age CLI in both
// directions, a fixture from the getsops/sops repository, and every refusal
// (wrong key, moved value, edited value, removed value, foreign key types).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { armor, Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { parse, stringify } from 'yaml';
import { isGitfleetError } from '../../shared/errors.ts';
import { parseIdentities, readIdentityFile } from '../../repo/secrets/age-key.ts';
import { identityBytes, nativeIdentity } from '../../repo/secrets/native-x25519.ts';
import { decryptSops, encryptSops, parseSops } from '../../repo/secrets/sops.ts';
import { requireComponent } from '../harness/require.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-sops-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const plain = {
  vars: { db_password: 'hunter2-correct-horse', port: 5432, debug: false, note_unencrypted: 'visible' },
  containers: { db: { image: 'local/busybox:1', env: { PASSWORD: '${db_password}' }, command: ['sleep', '3600'] } },
};

async function newIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

async function expectCode(p: Promise<unknown>, code: string, includes: string[] = []): Promise<string> {
  try {
    await p;
  } catch (error) {
    assert.ok(isGitfleetError(error), `expected a GitfleetError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const s of includes) assert.ok(error.message.includes(s), `"${error.message}" should include ${s}`);
    return error.message;
  }
  assert.fail(`expected ${code}`);
}

test('round trip: values and types come back, ENC everywhere but _unencrypted, secrets listed', async () => {
  const k = await newIdentity();
  const text = await encryptSops(plain, [k.recipient]);
  assert.ok(!text.includes('hunter2'), 'no plaintext in the encrypted file');
  const enc = parse(text) as { vars: Record<string, unknown>; sops: Record<string, unknown> };
  assert.match(String(enc.vars.db_password), /^ENC\[AES256_GCM,data:.+,iv:.+,tag:.+,type:str\]$/);
  assert.match(String(enc.vars.port), /type:int\]$/);
  assert.match(String(enc.vars.debug), /type:bool\]$/);
  assert.equal(enc.vars.note_unencrypted, 'visible');
  assert.equal(enc.sops.unencrypted_suffix, '_unencrypted');
  const out = await decryptSops('x.sops.yaml', text, [k.identity]);
  assert.deepEqual(out.doc.toJS(), plain);
  assert.ok(out.secrets.includes('hunter2-correct-horse'));
  assert.ok(out.secrets.includes('5432') && out.secrets.includes('False'));
  assert.ok(!out.secrets.includes('visible'));
});

test('encrypted_regex: only matching keys are encrypted, and the file still authenticates', async () => {
  const k = await newIdentity();
  const text = await encryptSops(plain, [k.recipient], { encryptedRegex: '^(env|db_password)$' });
  const enc = parse(text) as { vars: Record<string, unknown>; containers: { db: { image: string; env: Record<string, string> } }; sops: Record<string, unknown> };
  assert.equal(enc.containers.db.image, 'local/busybox:1');
  assert.equal(enc.vars.port, 5432);
  assert.match(enc.containers.db.env.PASSWORD!, /^ENC\[/);
  assert.match(String(enc.vars.db_password), /^ENC\[/);
  assert.equal(enc.sops.encrypted_regex, '^(env|db_password)$');
  const out = await decryptSops('x.sops.yaml', text, [k.identity]);
  assert.deepEqual(out.doc.toJS(), plain);
  assert.deepEqual(out.secrets.sort(), ['${db_password}', 'hunter2-correct-horse'].sort());
  // A plaintext value edited under the MAC is refused too.
  await expectCode(decryptSops('x.sops.yaml', text.replace('local/busybox:1', 'evil/image:1'), [k.identity]), 'SECRET_TAMPERED', ['x.sops.yaml', 'MAC']);
});

/** A SOPS file written from the public format only (node:crypto + age), independent of repo/secrets. */
async function craftByHand(recipient: string): Promise<string> {
  const key = randomBytes(32);
  const seal = (text: string, aad: string, type: string) => {
    const iv = randomBytes(32);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(aad));
    const data = Buffer.concat([c.update(text), c.final()]);
    return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
  };
  // Leaves in document order: vars.token, files./etc/app.conf.content, files./etc/app.conf.mode, list items under vars.list
  const mac = createHash('sha512').update('tok-123456').update('a').update('b').update('secret=1\n').update('0600').digest('hex').toUpperCase();
  const lastmodified = '2026-01-02T03:04:05Z';
  const e = new Encrypter();
  e.addRecipient(recipient);
  const doc = {
    vars: { token: seal('tok-123456', 'vars:token:', 'str'), list: [seal('a', 'vars:list:', 'str'), seal('b', 'vars:list:', 'str')] },
    files: { '/etc/app.conf': { content: seal('secret=1\n', 'files:/etc/app.conf:content:', 'str'), mode: seal('0600', 'files:/etc/app.conf:mode:', 'str') } },
    sops: { age: [{ recipient, enc: armor.encode(await e.encrypt(key)) }], lastmodified, mac: seal(mac, lastmodified, 'str'), unencrypted_suffix: '_unencrypted', version: '3.9.0' },
  };
  return stringify(doc);
}

test('a file crafted by hand from the public format decrypts (path as additional data, list items share the path, MAC over values)', async () => {
  const k = await newIdentity();
  const text = await craftByHand(k.recipient);
  const out = await decryptSops('hand.sops.yaml', text, [k.identity]);
  assert.deepEqual(out.doc.toJS(), { vars: { token: 'tok-123456', list: ['a', 'b'] }, files: { '/etc/app.conf': { content: 'secret=1\n', mode: '0600' } } });
  // Swapping two values moves them to another path: their additional data no longer matches.
  const swapped = text.replace(/token: (ENC\[[^\]]+\])/, 'token: PLACEHOLDER');
  const token = /token: (ENC\[[^\]]+\])/.exec(text)![1]!;
  const mode = /mode: (ENC\[[^\]]+\])/.exec(text)![1]!;
  await expectCode(decryptSops('hand.sops.yaml', swapped.replace(mode, token).replace('PLACEHOLDER', mode), [k.identity]), 'SECRET_TAMPERED', ['hand.sops.yaml']);
  // Removing a value (a list item) leaves every other value valid: only the MAC catches it.
  const doc = parse(text) as { vars: { list: string[] } };
  doc.vars.list.pop();
  await expectCode(decryptSops('hand.sops.yaml', stringify(doc), [k.identity]), 'SECRET_TAMPERED', ['MAC']);
});

test('wrong key: refused naming the file, its recipients and our public key; the message holds no plaintext', async () => {
  const owner = await newIdentity();
  const other = await newIdentity();
  const text = await encryptSops(plain, [owner.recipient]);
  const message = await expectCode(decryptSops('prod/db.sops.yaml', text, [other.identity], [other.recipient]), 'SECRET_NOT_RECIPIENT', ['prod/db.sops.yaml', owner.recipient, other.recipient]);
  assert.ok(!message.includes('hunter2'));
  assert.ok(!message.includes(other.identity));
});

test('structure: checked without keys; foreign key types alone are refused with a clear error', async () => {
  const k = await newIdentity();
  const text = await encryptSops(plain, [k.recipient]);
  assert.equal(parseSops('a.sops.yaml', text).meta.age.length, 1);
  const doc = parse(text) as { sops: Record<string, unknown>; vars: Record<string, unknown> };
  assert.throws(() => parseSops('a.sops.yaml', stringify({ ...doc, sops: { ...doc.sops, age: undefined, pgp: [{ fp: 'X', enc: 'Y' }] } })), /only for pgp keys/);
  assert.throws(() => parseSops('a.sops.yaml', stringify({ ...doc, sops: undefined })), /top-level "sops:"/);
  assert.throws(() => parseSops('a.sops.yaml', stringify({ ...doc, vars: { ...doc.vars, db_password: 'plain' } })), /vars\.db_password is not encrypted/);
  // pgp next to a matching age stanza: ignored.
  const mixed = stringify({ ...doc, sops: { ...doc.sops, pgp: [{ fp: 'X', enc: 'Y', created_at: 'Z' }] } });
  assert.deepEqual((await decryptSops('a.sops.yaml', mixed, [k.identity])).doc.toJS(), plain);
});

test("the getsops/sops repository's age fixture (age/keysource_test.go) decrypts with its identity", async () => {
  // Test key material published in getsops/sops, not a secret.
  const identity = 'AGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7';
  const encrypted = `-----BEGIN AGE ENCRYPTED FILE-----
YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBvY2t2NkdLUGRvY3l2OGNy
MVJWcUhCOEZrUG8yeCtnRnhxL0I5NFk4YjJFCmE4SVQ3MEdyZkFqRWpSa2F0NVhF
VDUybzBxdS9nSGpHSVRVMUI0UEVqZkkKLS0tIGJjeGhNQ0Y5L2VZRVVYSm90djFF
bzdnQ3UwTGljMmtrbWNMV1MxYkFzUFUK4xjOZOTGdcbzuwUY/zeBXhcF+Md3e5PQ
EylloI7MNGbadPGb
-----END AGE ENCRYPTED FILE-----`;
  const d = new Decrypter();
  d.addIdentity(identity);
  assert.equal(await d.decrypt(armor.decode(encrypted), 'text'), 'data');
  assert.equal(await identityToRecipient(identity), 'age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun');
});

function ageCli(t: TestContext): boolean {
  let missing: string | null = null;
  try {
    execFileSync('age', ['--version']);
  } catch {
    missing = 'the age CLI (Debian package age) is not installed';
  }
  return requireComponent(t, 'age CLI', missing);
}

test('real age CLI: a key from age-keygen decrypts the data key of our file, and our identity reads a data key age wrapped', async (t) => {
  if (!ageCli(t)) return;
  const keyFile = join(dir, 'keygen.key');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
  const keys = await readIdentityFile(keyFile);
  const recipient = keys.recipients[0]!;
  assert.ok(readFileSync(keyFile, 'utf8').includes(`# public key: ${recipient}`), 'our public key derivation matches age-keygen');
  const text = await encryptSops(plain, [recipient]);
  const enc = (parse(text) as { sops: { age: { enc: string }[] } }).sops.age[0]!.enc;
  writeFileSync(join(dir, 'datakey.age'), enc);
  const dataKey = execFileSync('age', ['-d', '-i', keyFile, join(dir, 'datakey.age')]);
  assert.equal(dataKey.length, 32);
  assert.deepEqual((await decryptSops('x.sops.yaml', text, keys.identities)).doc.toJS(), plain);

  // The other way: our identity file, age CLI encrypts a data key for it, a file is built around it.
  const ours = await newIdentity();
  const key = randomBytes(32);
  const armored = execFileSync('age', ['-a', '-r', ours.recipient], { input: key }).toString();
  const built = parse(await encryptSops(plain, [ours.recipient], {}, key)) as { sops: { age: { recipient: string; enc: string }[] } };
  built.sops.age = [{ recipient: ours.recipient, enc: armored }];
  const parsedIds = await parseIdentities(`# a comment\n${ours.identity}\n`, 'mem');
  assert.deepEqual((await decryptSops('x.sops.yaml', stringify(built), parsedIds.identities)).doc.toJS(), plain);
});

test('native X25519 identity: same public key, decrypts the same files; a bad checksum is refused', async () => {
  const k = await newIdentity();
  const native = await nativeIdentity(k.identity);
  assert.ok(native, 'Node 20 imports X25519 keys');
  assert.equal(await identityToRecipient(native), k.recipient);
  const text = await encryptSops(plain, [k.recipient]);
  assert.deepEqual((await decryptSops('x.sops.yaml', text, [native])).doc.toJS(), plain);
  const last = k.identity.at(-1) === 'Q' ? 'P' : 'Q';
  assert.equal(identityBytes(k.identity.slice(0, -1) + last), null);
  assert.equal(identityBytes('AGE-PLUGIN-X-1QQQQQQ'), null);
  assert.ok((await parseIdentities(k.identity, 'mem')).native?.length === 1);
});
