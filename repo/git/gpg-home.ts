// OpenPGP verification needs a GNUPGHOME. The source builds a private one from
// the configured keyring and marks every primary key in it as ultimately
// trusted: the keyring *is* the trust decision. Rebuilt when the keyring
// file's content changes, so a rotated keyring needs no restart.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitfleetError } from '../../shared/errors.ts';

const run = promisify(execFile);

/** Returns the GNUPGHOME directory for this keyring, creating it if needed. */
export async function gpgHomeFor(keyringFile: string, parentDir: string): Promise<string> {
  let keyring: Buffer;
  try {
    keyring = await readFile(keyringFile);
  } catch (cause) {
    throw new GitfleetError('CONFIG_INVALID', `verify.gpgKeyring: cannot read ${keyringFile} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  }
  const digest = createHash('sha256').update(keyring).digest('hex').slice(0, 16);
  const home = join(parentDir, `gnupg-${digest}`);
  if (existsSync(join(home, 'ready'))) return home;
  const building = `${home}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(building, { recursive: true, mode: 0o700 });
  try {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GNUPGHOME: building, LC_ALL: 'C' };
    await writeFile(join(building, 'keyring.in'), keyring);
    await run('gpg', ['--batch', '--quiet', '--no-autostart', '--import', join(building, 'keyring.in')], { env });
    const { stdout } = await run('gpg', ['--batch', '--with-colons', '--fingerprint', '--list-keys'], { env });
    const primaries = primaryFingerprints(stdout);
    if (primaries.length === 0) throw new GitfleetError('CONFIG_INVALID', `verify.gpgKeyring: ${keyringFile} holds no public keys`);
    const trust = primaries.map((f) => `${f}:6:\n`).join('');
    await importOwnertrust(env, trust);
    await writeFile(join(building, 'ready'), `${primaries.join('\n')}\n`);
    await rm(home, { recursive: true, force: true });
    await rename(building, home);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    if (error instanceof GitfleetError) throw error;
    throw new GitfleetError('CONFIG_INVALID', `verify.gpgKeyring: ${keyringFile} could not be imported: ${(error as { stderr?: string }).stderr?.trim() || String(error)}`, { cause: error });
  }
  return home;
}

/** Fingerprints of primary keys in `gpg --with-colons --list-keys` output (not subkeys). */
export function primaryFingerprints(colons: string): string[] {
  const out: string[] = [];
  let afterPub = false;
  for (const line of colons.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === 'pub') afterPub = true;
    else if (fields[0] === 'fpr' && afterPub) {
      if (fields[9]) out.push(fields[9]);
      afterPub = false;
    } else if (fields[0] === 'sub') afterPub = false;
  }
  return out;
}

function importOwnertrust(env: Record<string, string>, trust: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('gpg', ['--batch', '--quiet', '--import-ownertrust'], { env }, (error) => (error ? reject(error) : resolve()));
    child.stdin?.end(trust);
  });
}
