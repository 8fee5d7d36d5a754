// The SOPS file format (YAML flavour, age keys only), read and written by our
// own code after the public format (github.com/getsops/sops: aes/cipher.go,
// sops.go, stores/stores.go):
//
// - every leaf value (string, number, boolean) is `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`:
//   AES-256-GCM under one random 32-byte data key, a 32-byte IV, the key path
//   joined with ":" plus a trailing ":" as additional data (list items add no
//   path element), base64 everywhere; empty strings stay empty;
// - `sops.mac` is SHA-512 over the plaintext of every leaf (only the encrypted
//   ones with mac_only_encrypted), upper-case hex, itself encrypted with the data
//   key and `sops.lastmodified` as additional data: a changed, moved, added or
//   removed value is a MAC mismatch;
// - `sops.age[]` holds the data key encrypted for each recipient (an armored
//   age file whose plaintext is the 32 raw bytes of the data key);
// - which keys are encrypted: unencrypted_suffix (default `_unencrypted`),
//   encrypted_suffix, unencrypted_regex, encrypted_regex — each matched against
//   every key on the path, as sops does.
//
// Errors never carry a decrypted value; they name the file and the recipients.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { armor, Decrypter, Encrypter } from 'age-encryption';
import { isMap, isScalar, isSeq, parseDocument, stringify } from 'yaml';
import type { Document } from 'yaml';
import { GitfleetError } from '../../shared/errors.ts';

/** sops's tag: files made by gitfleet say which format version they follow. */
export const SOPS_VERSION = '3.9.0';
export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';
/**
 * What `gitfleet secret encrypt` encrypts unless told otherwise: variables,
 * container env, file and unit content, container secrets. Keys such as
 * image, mode or drift stay readable, and (taint is by value) a plain "report"
 * or "0600" never becomes a secret that masks every other "report".
 */
export const GITFLEET_ENCRYPTED_REGEX = '^(vars|env|content|secrets|dropins)$';
/** More recipients than any fleet tag needs; bounds the work a hostile file can ask for. */
export const MAX_RECIPIENTS = 1000;

export interface AgeStanza {
  recipient: string;
  enc: string;
}

export interface SopsMetadata {
  age: AgeStanza[];
  lastmodified: string;
  mac: string;
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  macOnlyEncrypted: boolean;
  /** Key types other than age (pgp, kms…): ignored when an age stanza matches. */
  otherKeyTypes: string[];
  version: string;
}

export type Leaf = string | number | boolean;

/** The key path of a leaf as sops sees it: map keys only. */
export type SopsPath = string[];

const encPattern = /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:(str|int|float|bool|bytes|time|comment)\]$/;

export function isEncryptedValue(value: unknown): boolean {
  return typeof value === 'string' && encPattern.test(value);
}

const otherKeys = ['pgp', 'kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'hckms'];

function fail(file: string, code: 'SECRET_FORMAT' | 'SECRET_TAMPERED', message: string): never {
  throw new GitfleetError(code, `${file}: ${message}`);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The `sops:` block, checked for structure only (no key needed): what `gitfleet validate` runs. */
export function readMetadata(file: string, sops: unknown): SopsMetadata {
  if (sops === null || typeof sops !== 'object' || Array.isArray(sops)) fail(file, 'SECRET_FORMAT', 'a *.sops.yaml file needs a top-level "sops:" map (encrypt it with `gitfleet secret encrypt` or sops)');
  const s = sops as Record<string, unknown>;
  if (s.key_groups !== undefined || s.shamir_threshold !== undefined) fail(file, 'SECRET_FORMAT', 'key groups (Shamir) are not supported; encrypt for age recipients directly');
  const age: AgeStanza[] = [];
  if (s.age !== undefined && s.age !== null) {
    if (!Array.isArray(s.age)) fail(file, 'SECRET_FORMAT', 'sops.age must be a list of {recipient, enc}');
    if (s.age.length > MAX_RECIPIENTS) fail(file, 'SECRET_FORMAT', `sops.age lists more than ${MAX_RECIPIENTS} recipients`);
    for (const [i, a] of (s.age as unknown[]).entries()) {
      const r = a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {};
      const recipient = str(r.recipient);
      const enc = str(r.enc);
      if (recipient === undefined || !/^age1[0-9a-z]+$/.test(recipient) || enc === undefined || !enc.includes('-----BEGIN AGE ENCRYPTED FILE-----')) {
        fail(file, 'SECRET_FORMAT', `sops.age[${i}] must have an age recipient (age1…) and an armored age "enc"`);
      }
      age.push({ recipient, enc });
    }
  }
  const otherKeyTypes = otherKeys.filter((k) => Array.isArray(s[k]) && (s[k] as unknown[]).length > 0);
  const lastmodified = str(s.lastmodified);
  const mac = str(s.mac);
  if (lastmodified === undefined) fail(file, 'SECRET_FORMAT', 'sops.lastmodified is missing');
  if (mac === undefined || !isEncryptedValue(mac)) fail(file, 'SECRET_FORMAT', 'sops.mac is missing or not an ENC[AES256_GCM,…] value');
  const meta: SopsMetadata = { age, lastmodified, mac, macOnlyEncrypted: s.mac_only_encrypted === true, otherKeyTypes, version: str(s.version) ?? '' };
  const rules = [
    ['unencrypted_suffix', 'unencryptedSuffix'],
    ['encrypted_suffix', 'encryptedSuffix'],
    ['unencrypted_regex', 'unencryptedRegex'],
    ['encrypted_regex', 'encryptedRegex'],
  ] as const;
  for (const [key, field] of rules) {
    const v = s[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' || v.length > 1000) fail(file, 'SECRET_FORMAT', `sops.${key} must be a string`);
    if (key.endsWith('regex')) {
      try {
        new RegExp(v);
      } catch {
        fail(file, 'SECRET_FORMAT', `sops.${key} is not a valid regular expression`);
      }
    }
    meta[field] = v;
  }
  if (s.unencrypted_comment_regex || s.encrypted_comment_regex) fail(file, 'SECRET_FORMAT', 'comment-based encryption rules (encrypted_comment_regex…) are not supported');
  if (age.length === 0) {
    fail(file, 'SECRET_FORMAT', otherKeyTypes.length > 0 ? `the file is encrypted only for ${otherKeyTypes.join(', ')} keys; gitfleet hosts decrypt with age keys (add age recipients: sops updatekeys or gitfleet secret updatekeys)` : 'sops.age lists no recipient');
  }
  return meta;
}

/** Whether the leaf at `path` is encrypted under the file's rules (sops.go shouldBeEncrypted). */
export function shouldBeEncrypted(meta: Pick<SopsMetadata, 'unencryptedSuffix' | 'encryptedSuffix' | 'unencryptedRegex' | 'encryptedRegex'>, path: SopsPath): boolean {
  let encrypted = true;
  if (meta.unencryptedSuffix && path.some((k) => k.endsWith(meta.unencryptedSuffix!))) encrypted = false;
  if (meta.encryptedSuffix) encrypted = path.some((k) => k.endsWith(meta.encryptedSuffix!));
  if (meta.unencryptedRegex) {
    const re = new RegExp(meta.unencryptedRegex);
    if (path.some((k) => re.test(k))) encrypted = false;
  }
  if (meta.encryptedRegex) {
    const re = new RegExp(meta.encryptedRegex);
    encrypted = path.some((k) => re.test(k));
  }
  return encrypted;
}

/** sops's ToBytes: what a value contributes to the MAC and what is encrypted. */
function leafText(v: Leaf): { text: string; type: 'str' | 'int' | 'float' | 'bool' } {
  if (typeof v === 'boolean') return { text: v ? 'True' : 'False', type: 'bool' };
  if (typeof v === 'number') return { text: String(v), type: Number.isInteger(v) ? 'int' : 'float' };
  return { text: v, type: 'str' };
}

function seal(text: string, key: Buffer, aad: string, type: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:${type}]`;
}

function encryptValue(plain: Leaf, key: Buffer, path: SopsPath): string {
  const { text, type } = leafText(plain);
  return text === '' ? '' : seal(text, key, `${path.join(':')}:`, type);
}

/** Decrypts one ENC[…] value; null when it does not authenticate (wrong key, tampered or moved). */
function decryptValue(value: string, key: Buffer, aad: string): Leaf | null {
  if (value === '') return '';
  const m = encPattern.exec(value);
  if (!m) return null;
  const iv = Buffer.from(m[2]!, 'base64');
  const tag = Buffer.from(m[3]!, 'base64');
  if (iv.length === 0 || tag.length !== 16) return null;
  let text: string;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(tag);
    text = Buffer.concat([d.update(Buffer.from(m[1]!, 'base64')), d.final()]).toString('utf8');
  } catch {
    return null;
  }
  switch (m[4]) {
    case 'int':
    case 'float': {
      const n = Number(text);
      return Number.isFinite(n) ? n : null;
    }
    case 'bool':
      return /^(1|t|T|TRUE|true|True)$/.test(text) ? true : /^(0|f|F|FALSE|false|False)$/.test(text) ? false : null;
    default:
      return text;
  }
}

/** Visits every leaf scalar node under `node` in document order, with its sops path. */
function walkNodes(node: unknown, path: SopsPath, visit: (scalar: { value: unknown }, path: SopsPath) => void, topLevel = false): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k: unknown = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof k !== 'string') throw new Error('only string keys are supported');
      if (topLevel && k === 'sops') continue;
      walkNodes(pair.value, [...path, k], visit);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) walkNodes(item, path, visit);
  } else if (isScalar(node)) {
    if (node.value !== null && node.value !== undefined) visit(node, path);
  }
}

export interface ParsedSops {
  file: string;
  doc: Document;
  meta: SopsMetadata;
}

/** Parses a SOPS YAML file and checks its structure; no key needed. */
export function parseSops(file: string, text: string): ParsedSops {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) fail(file, 'SECRET_FORMAT', `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) fail(file, 'SECRET_FORMAT', 'a SOPS YAML file is a map with a "sops:" key');
  const meta = readMetadata(file, doc.toJS({ maxAliasCount: 0 })?.sops);
  // Every value the rules say is encrypted must look encrypted: a plaintext one slipped in
  // would otherwise be read as if it came from the key holder.
  try {
    walkNodes(
      doc.contents,
      [],
      (s, path) => {
        if (shouldBeEncrypted(meta, path) && s.value !== '' && !isEncryptedValue(s.value)) {
          fail(file, 'SECRET_FORMAT', `the value at ${path.join('.') || '(top)'} is not encrypted although the file's rules say it must be`);
        }
      },
      true,
    );
  } catch (error) {
    if (error instanceof GitfleetError) throw error;
    fail(file, 'SECRET_FORMAT', error instanceof Error ? error.message : String(error));
  }
  return { file, doc, meta };
}

/** The identities' public keys, for messages (never the identities). */
export type RecipientLabel = string;

/** Unwraps the data key with any of the identities; throws SECRET_NOT_RECIPIENT naming the file, its recipients and ours. */
export async function dataKeyOf(parsed: ParsedSops, identities: readonly (string | CryptoKey)[], ours: readonly RecipientLabel[]): Promise<Buffer> {
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  for (const stanza of parsed.meta.age) {
    if (ours.length > 0 && !ours.includes(stanza.recipient)) continue;
    try {
      const key = await d.decrypt(armor.decode(stanza.enc));
      if (key.length === 32) return Buffer.from(key);
    } catch {
      // not ours, or damaged: try the next stanza
    }
  }
  const listed = parsed.meta.age.map((a) => a.recipient);
  const who = ours.length > 0 ? `this host's key ${ours.join(', ')}` : 'the given identity';
  throw new GitfleetError('SECRET_NOT_RECIPIENT', `${parsed.file}: ${who} cannot decrypt it; it is encrypted for ${listed.length} recipient(s): ${listed.slice(0, 5).join(', ')}${listed.length > 5 ? ', …' : ''} (add this host: gitfleet secret updatekeys, docs/secrets.md)`);
}

export interface Decrypted {
  doc: Document;
  /** The plaintext of every value that was encrypted (taint: these are secret). */
  secrets: string[];
}

/** Decrypts every encrypted value in place and verifies the MAC; the `sops` key is removed. */
export function decryptWithKey(parsed: ParsedSops, key: Buffer): Decrypted {
  const { file, doc, meta } = parsed;
  const hash = createHash('sha512');
  if (meta.macOnlyEncrypted) hash.update(Buffer.from(createHash('sha256').update('sops').digest()));
  const secrets: string[] = [];
  let bad: string | null = null;
  walkNodes(
    doc.contents,
    [],
    (scalar, path) => {
      if (bad !== null) return;
      const encrypted = shouldBeEncrypted(meta, path);
      let v = scalar.value as Leaf;
      if (encrypted) {
        const plain = decryptValue(String(scalar.value), key, `${path.join(':')}:`);
        if (plain === null) {
          bad = path.join('.');
          return;
        }
        v = plain;
        scalar.value = plain;
        const t = leafText(plain).text;
        if (t !== '') secrets.push(t);
      }
      if (!meta.macOnlyEncrypted || encrypted) hash.update(leafText(v).text, 'utf8');
    },
    true,
  );
  if (bad !== null) fail(file, 'SECRET_TAMPERED', `the value at ${bad} does not authenticate under the file's data key (edited or moved by hand?)`);
  const mac = decryptValue(meta.mac, key, meta.lastmodified);
  const computed = Buffer.from(hash.digest('hex').toUpperCase());
  if (typeof mac !== 'string' || mac.length !== computed.length || !timingSafeEqual(Buffer.from(mac), computed)) {
    fail(file, 'SECRET_TAMPERED', 'the MAC does not match the values: the file was changed without its key (values edited, added or removed); refused');
  }
  (doc.contents as { delete(key: string): boolean }).delete('sops');
  return { doc, secrets };
}

export async function decryptSops(file: string, text: string, identities: readonly (string | CryptoKey)[], ours: readonly RecipientLabel[] = []): Promise<Decrypted> {
  const parsed = parseSops(file, text);
  return decryptWithKey(parsed, await dataKeyOf(parsed, identities, ours));
}

export interface EncryptRules {
  unencryptedSuffix?: string;
  encryptedRegex?: string;
}

function encryptTree(value: unknown, key: Buffer, meta: EncryptRules, path: SopsPath, hash: ReturnType<typeof createHash>): unknown {
  if (Array.isArray(value)) return value.map((v) => encryptTree(v, key, meta, path, hash));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encryptTree(v, key, meta, [...path, k], hash);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    hash.update(leafText(value).text, 'utf8');
    return shouldBeEncrypted(meta, path) ? encryptValue(value, key, path) : value;
  }
  return value;
}

/** A plaintext YAML map, encrypted for `recipients` (age1…), as SOPS YAML text. */
export async function encryptSops(plain: unknown, recipients: readonly string[], rules: EncryptRules = {}, dataKey: Buffer = randomBytes(32)): Promise<string> {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw new GitfleetError('SECRET_FORMAT', 'only a YAML map can be encrypted');
  if ('sops' in plain) throw new GitfleetError('SECRET_FORMAT', 'the file is already SOPS-encrypted (it has a "sops" key); use gitfleet secret updatekeys');
  if (recipients.length === 0) throw new GitfleetError('SECRET_FORMAT', 'no recipients: give --recipient age1… or --tag');
  const meta: EncryptRules = rules.encryptedRegex ? { encryptedRegex: rules.encryptedRegex } : { unencryptedSuffix: rules.unencryptedSuffix ?? DEFAULT_UNENCRYPTED_SUFFIX };
  const hash = createHash('sha512');
  const tree = encryptTree(plain, dataKey, meta, [], hash) as Record<string, unknown>;
  const lastmodified = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const age: AgeStanza[] = [];
  for (const recipient of [...new Set(recipients)]) {
    const e = new Encrypter();
    e.addRecipient(recipient);
    age.push({ recipient, enc: armor.encode(await e.encrypt(dataKey)) });
  }
  // The MAC's additional data is lastmodified, not a path.
  const macValue = seal(hash.digest('hex').toUpperCase(), dataKey, lastmodified, 'str');
  const sops: Record<string, unknown> = {
    age,
    lastmodified,
    mac: macValue,
    ...(meta.encryptedRegex ? { encrypted_regex: meta.encryptedRegex } : { unencrypted_suffix: meta.unencryptedSuffix }),
    version: SOPS_VERSION,
  };
  return stringify({ ...tree, sops }, { lineWidth: 0 });
}

