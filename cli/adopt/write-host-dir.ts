// The host directory `gitfleet adopt` writes: host.yaml (adopt: true), then
// one layer file per kind of thing found, and secrets.sops.yaml for the
// values that must not be plaintext. Built as text first (so --dry-run prints
// exactly what would be written), then written; an existing host directory is
// kept unless --force.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { encryptSops, GITFLEET_ENCRYPTED_REGEX } from '../../repo/secrets/sops.ts';
import type { ContainerLayers } from './container-layers.ts';
import { escapeNative } from './escape-values.ts';
import type { AdoptedFile } from './inspect-files.ts';
import type { AdoptedUnit } from './inspect-units.ts';
import { holdsPrivateKey, secretVariable, type SecretItem } from './secrets-split.ts';

export interface HostDirInput {
  host: string;
  containers: ContainerLayers | null;
  units: Record<string, AdoptedUnit> | null;
  files: Record<string, AdoptedFile> | null;
  /** age recipients: secrets go to secrets.sops.yaml; none: they are left out and listed. */
  recipients: string[];
  /** Variable names already used (the containers' secret vars). */
  taken: Set<string>;
}

export interface HostDirOutput {
  /** File name in the host directory → its text, in the order they are written. */
  files: Map<string, string>;
  /** Secrets written encrypted (recipients given) or left out (none). */
  secrets: SecretItem[];
  encrypted: boolean;
}

function yamlText(header: string, doc: unknown): string {
  return `${header}\n${stringify(doc, { lineWidth: 0 })}`;
}

export async function buildHostDir(input: HostDirInput): Promise<HostDirOutput> {
  const out = new Map<string, string>();
  const secrets: SecretItem[] = [...(input.containers?.secrets ?? [])];
  const encrypt = input.recipients.length > 0;
  const secretFiles: Record<string, AdoptedFile> = {};

  out.set(
    'host.yaml',
    yamlText(
      `# ${input.host}, adopted from the running host by gitfleet adopt (docs/adopt.md).\n# adopt: true — resources that already match are taken over as they are, not recreated.`,
      { adopt: true },
    ),
  );
  if (input.containers?.native) out.set('containers.yaml', yamlText('# Containers started with docker run (only what differs from their images).', input.containers.native));
  if (input.containers?.compose) out.set('compose.yaml', yamlText('# Containers of Compose projects, with the networks and volumes under their Docker names.', input.containers.compose));
  if (input.units && Object.keys(input.units).length > 0) {
    out.set('units.yaml', yamlText('# Units from /etc/systemd/system that no package installed; drop-in-only entries for the distribution\'s units.', { units: escapeNative(input.units) }));
  }
  if (input.files) {
    const plain: Record<string, AdoptedFile> = {};
    for (const [path, file] of Object.entries(input.files)) {
      if (holdsPrivateKey(file.content)) {
        secrets.push({ resource: `file/${path}`, key: 'content', variable: secretVariable(['file', path], input.taken), value: file.content });
        secretFiles[path] = file;
      } else plain[path] = file;
    }
    if (Object.keys(plain).length > 0) out.set('files.yaml', yamlText('# Files named on the command line, with their mode and owner.', { files: escapeNative(plain) }));
  }
  if (encrypt && secrets.length > 0) {
    const vars = Object.fromEntries(secrets.filter((s) => s.key !== 'content').map((s) => [s.variable, s.value]));
    const doc: Record<string, unknown> = {};
    if (Object.keys(vars).length > 0) doc.vars = vars;
    if (Object.keys(secretFiles).length > 0) doc.files = secretFiles;
    out.set('secrets.sops.yaml', await encryptSops(escapeNative(doc), input.recipients, { encryptedRegex: GITFLEET_ENCRYPTED_REGEX }));
  }
  return { files: out, secrets, encrypted: encrypt };
}

/**
 * Refuses an existing, non-empty host directory unless `force`; with force, its
 * layer files (*.yaml, *.yml) are replaced and anything else there (a README) stays.
 */
export function writeHostDir(dir: string, files: Map<string, string>, force: boolean): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!force) throw new HostDirExistsError(dir);
    for (const name of readdirSync(dir)) if (/\.ya?ml$/.test(name)) rmSync(join(dir, name), { recursive: true });
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(dir, name), text, { mode: 0o644 });
}

export class HostDirExistsError extends Error {
  constructor(readonly dir: string) {
    super(`${dir} already exists and is not empty; nothing was written (--force replaces it)`);
  }
}
