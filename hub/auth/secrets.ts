// Secrets at rest and in memory are SHA-256 hashes of high-entropy random
// values (no salt or slow KDF needed: they are not passwords); comparisons are
// constant-time so a wrong guess learns nothing from timing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new host credential: 32 random bytes, base64url. */
export function newCredential(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time check of a presented secret against a stored hash. */
export function secretMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
