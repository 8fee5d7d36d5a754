// Which adopted values are secrets, and where they go instead of plaintext:
// environment names with PASSWORD, TOKEN, SECRET or KEY in them (any case),
// and files holding a private key (PEM "PRIVATE KEY", OpenSSH). With
// recipients they become vars of an encrypted layer (secrets.sops.yaml) that
// the plain declaration refers to as ${var}; without, they are left out and
// listed for the operator to provide (docs/adopt.md).

const secretEnvName = /PASSWORD|TOKEN|SECRET|KEY/i;
const privateKeyMarker = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|-----BEGIN OPENSSH PRIVATE KEY-----/;

export function isSecretEnvName(name: string): boolean {
  return secretEnvName.test(name);
}

export function holdsPrivateKey(content: string): boolean {
  return privateKeyMarker.test(content);
}

/** One value kept out of the plaintext layers. */
export interface SecretItem {
  /** container/NAME or file//PATH */
  resource: string;
  /** The environment variable, or "content" for a file. */
  key: string;
  /** The variable of the encrypted layer that holds it (when encrypted). */
  variable: string;
  value: string;
}

/** A variable name for a secret: letters, digits and _ (the repo's vars grammar), unique within `taken`. */
export function secretVariable(parts: string[], taken: Set<string>): string {
  let base = parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  if (!/^[a-z_]/.test(base)) base = `s_${base}`;
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * Splits an environment into what may be written and the secrets. `resource`
 * names the container for the list; `parts` prefix the variable names.
 */
export function splitEnv(
  resource: string,
  env: Record<string, string> | undefined,
  prefix: string,
  taken: Set<string>,
): { plain: Record<string, string>; secrets: SecretItem[] } {
  const plain: Record<string, string> = {};
  const secrets: SecretItem[] = [];
  for (const [key, value] of Object.entries(env ?? {})) {
    if (isSecretEnvName(key)) secrets.push({ resource, key, variable: secretVariable([prefix, key], taken), value });
    else plain[key] = value;
  }
  return { plain, secrets };
}

/** The "what to provide" list, one line per secret left out. */
export function missingSecretLines(items: SecretItem[]): string[] {
  return items.map((s) => (s.key === 'content' ? `${s.resource}: the file's content (it holds a private key)` : `${s.resource}: environment ${s.key}`));
}
