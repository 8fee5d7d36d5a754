// The host's age identity: a file in age-keygen's format (comment lines, then
// one AGE-SECRET-KEY-1… line per identity), 0600, /etc/gitfleet/age.key by
// default. The public key (age1…) is what the fleet repo's files are encrypted
// for and what the agent reports to the hub; the identity never leaves the file.
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';
import { nativeIdentity, nativeRecipient } from './native-x25519.ts';

// age-encryption is loaded only to make a key or where OpenSSL cannot derive
// one: an idle agent reads its key at every evaluation, and that library costs
// it several MiB of resident memory (docs/edge.md, "Footprint").
const ageLibrary = () => import('age-encryption');

async function recipientOf(identity: string): Promise<string> {
  return nativeRecipient(identity) ?? (await ageLibrary()).identityToRecipient(identity);
}

export const DEFAULT_IDENTITY_FILE = '/etc/gitfleet/age.key';
const MAX_KEY_FILE_BYTES = 64 * 1024;
const identityLine = /^AGE-SECRET-KEY-1[0-9A-Z]+$/;

export interface AgeIdentity {
  /** AGE-SECRET-KEY-1… lines: secret, never logged. */
  identities: string[];
  /** Their public keys (age1…), in the same order. */
  recipients: string[];
  /** The same identities as native keys (fast unwrap), where the runtime allows; the strings are the fallback. */
  native?: CryptoKey[];
}

/** Parses age-keygen's format; throws SECRET_NO_KEY naming the file (never its content). */
export async function parseIdentities(text: string, file: string): Promise<AgeIdentity> {
  const identities = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (identities.length === 0 || identities.some((l) => !identityLine.test(l))) {
    throw new GitfleetError('SECRET_NO_KEY', `${file} is not an age identity file (age-keygen's format: one AGE-SECRET-KEY-1… line per key)`);
  }
  const recipients = await Promise.all(identities.map((i) => recipientOf(i)));
  const native = await Promise.all(identities.map((i) => nativeIdentity(i)));
  return native.every((k) => k !== null) ? { identities, recipients, native: native as CryptoKey[] } : { identities, recipients };
}

export async function readIdentityFile(file: string): Promise<AgeIdentity> {
  let text: string;
  try {
    const s = await stat(file);
    if (!s.isFile() || s.size > MAX_KEY_FILE_BYTES) throw new Error('not a small regular file');
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new GitfleetError('SECRET_NO_KEY', `the age identity file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  return parseIdentities(text, file);
}

/** Creates an identity file (0600, never overwritten); returns its public key. */
export async function createIdentityFile(file: string): Promise<string> {
  const { generateX25519Identity, identityToRecipient } = await ageLibrary();
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  // A fresh host has no /etc/gitfleet yet; 0700 because the directory holds the key.
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`);
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
  return recipient;
}

/** The host's keys for the loader: null when the file does not exist (encrypted layers are then refused). */
export async function loadHostKeys(file: string): Promise<AgeIdentity | null> {
  try {
    await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  }
  return readIdentityFile(file);
}
