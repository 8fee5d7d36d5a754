// The login context of `gitfleet login`: the hub's base URL and a token file,
// in $GITFLEET_CONFIG_DIR (default $XDG_CONFIG_HOME/gitfleet or
// ~/.config/gitfleet), so day-2 commands need no environment variables. The
// directory is created 0700 and the token file 0600; a token file others can
// read is refused rather than used.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GitfleetError } from '../../shared/errors.ts';

export interface LoginContext {
  url: string;
  token: string;
}

export function contextDir(): string {
  if (process.env.GITFLEET_CONFIG_DIR) return process.env.GITFLEET_CONFIG_DIR;
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'gitfleet');
}

const contextFile = () => join(contextDir(), 'hub.json');
const tokenFile = () => join(contextDir(), 'hub.token');

/** The stored context, or null when there is none. A context that is damaged or readable by others is an error. */
export function readLoginContext(): LoginContext | null {
  const file = contextFile();
  if (!existsSync(file)) return null;
  let url: unknown;
  try {
    url = (JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown }).url;
  } catch (error) {
    throw new GitfleetError('CONFIG_INVALID', `the login context ${file} is not readable JSON (${(error as Error).message}); run gitfleet login HUB_URL again`);
  }
  if (typeof url !== 'string') throw new GitfleetError('CONFIG_INVALID', `the login context ${file} has no "url"; run gitfleet login HUB_URL again`);
  const tokenPath = tokenFile();
  let mode: number;
  try {
    mode = statSync(tokenPath).mode;
  } catch {
    throw new GitfleetError('CONFIG_INVALID', `the login context has no token file ${tokenPath}; run gitfleet login ${url} again`);
  }
  if ((mode & 0o077) !== 0) throw new GitfleetError('CONFIG_INVALID', `${tokenPath} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it or run gitfleet login again`);
  return { url, token: readFileSync(tokenPath, 'utf8').trim() };
}

/** Stores the context: the token file is created 0600 before the secret is written into it. */
export function writeLoginContext(context: LoginContext): { dir: string; tokenFile: string } {
  const dir = contextDir();
  // Created 0700; an existing directory keeps its mode (GITFLEET_CONFIG_DIR may name a shared one):
  // the token file itself is 0600 either way.
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tokenPath = tokenFile();
  const staged = `${tokenPath}.new`;
  rmSync(staged, { force: true }); // a leftover would keep its own mode
  writeFileSync(staged, `${context.token}\n`, { mode: 0o600 });
  chmodSync(staged, 0o600);
  renameSync(staged, tokenPath);
  writeFileSync(`${contextFile()}.new`, `${JSON.stringify({ url: context.url }, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${contextFile()}.new`, contextFile());
  return { dir, tokenFile: tokenPath };
}
