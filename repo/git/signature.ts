// Commit signature policy. Git reports a verdict per commit as %G?; only "G"
// (good signature, key trusted) is accepted. In particular `git verify-commit`
// exits 0 for a good OpenPGP signature by a key that is present but not
// trusted (%G? = "U"), so the exit code is never consulted.
import { GitfleetError } from '../../shared/errors.ts';

const verdicts: Record<string, string> = {
  G: 'good and trusted',
  B: 'a bad signature (the commit was altered after signing)',
  U: 'signed by a key that is not trusted',
  X: 'a good signature that has expired',
  Y: 'signed by a key that has expired',
  R: 'signed by a revoked key',
  E: 'signed by a key that is not in the trusted set (or the signature cannot be checked)',
  N: 'not signed',
};

export interface SignatureInfo {
  verdict: string;
  keyId: string;
  signer: string;
}

/** Parses `git log -1 --format=%G?%x00%GK%x00%GS`. */
export function parseSignatureLine(output: string): SignatureInfo {
  const [verdict = '', keyId = '', signer = ''] = output.replace(/\n$/, '').split('\0');
  return { verdict: verdict.trim(), keyId: keyId.trim(), signer: signer.trim() };
}

/** Throws GIT_UNTRUSTED unless the verdict is G. */
export function requireTrusted(info: SignatureInfo, revision: string): void {
  if (info.verdict === 'G') return;
  const what = verdicts[info.verdict] ?? `an unknown verification result "${info.verdict}"`;
  const key = info.keyId !== '' ? ` (key ${info.keyId})` : '';
  throw new GitfleetError('GIT_UNTRUSTED', `refusing revision ${revision}: the commit is ${what}${key}; the host stays on its last good revision`);
}
