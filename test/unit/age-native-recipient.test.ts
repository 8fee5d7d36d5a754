// The agent derives its age public key with OpenSSL (repo/secrets/native-x25519.ts)
// so that it need not load age-encryption: the result must be exactly what
// age-encryption computes, for any identity, and nothing for a malformed one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { nativeRecipient } from '../../repo/secrets/native-x25519.ts';
import { parseIdentities } from '../../repo/secrets/age-key.ts';

test('the native public key equals age-encryption\'s for 50 fresh identities', async () => {
  for (let i = 0; i < 50; i++) {
    const identity = await generateX25519Identity();
    assert.equal(nativeRecipient(identity), await identityToRecipient(identity));
  }
});

test('a malformed identity has no native public key', async () => {
  assert.equal(nativeRecipient('AGE-SECRET-KEY-1QQQQ'), null);
  assert.equal(nativeRecipient('not a key'), null);
  // A valid key with one character changed fails the bech32 checksum.
  const identity = await generateX25519Identity();
  assert.notEqual(nativeRecipient(identity), null);
  const last = identity.at(-1) === 'Q' ? 'P' : 'Q';
  assert.equal(nativeRecipient(identity.slice(0, -1) + last), null);
});

test('an identity file reports the same public keys as before', async () => {
  const a = await generateX25519Identity();
  const b = await generateX25519Identity();
  const parsed = await parseIdentities(`# created: now\n${a}\n\n${b}\n`, 'age.key');
  assert.deepEqual(parsed.recipients, [await identityToRecipient(a), await identityToRecipient(b)]);
});
