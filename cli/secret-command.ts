// `gitfleet secret …`: SOPS/age files for the fleet repo (docs/secrets.md).
//   encrypt  a plaintext layer for hosts (--tag, from a hub) and people (--recipient)
//   decrypt  print a SOPS YAML file decrypted, as `sops -d` does (MAC verified)
//   recipients  the age public keys of every host under a tag (from a hub)
//   updatekeys  re-encrypt a file for a new set of recipients (fresh data key)
//   edit     decrypt to a private temporary file, run $EDITOR, encrypt again
// Lives in cli/ because it composes repo/secrets with the hub's API.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { callHub, hubOptionHelp, hubOptionSpec, resolveHub, type HubTarget } from '../hub/cli/hub-api.ts';
import { createIdentityFile, DEFAULT_IDENTITY_FILE, readIdentityFile } from '../repo/secrets/age-key.ts';
import { decryptSops, encryptSops, GITFLEET_ENCRYPTED_REGEX, parseSops, type EncryptRules } from '../repo/secrets/sops.ts';
import { GitfleetError } from '../shared/errors.ts';
import { terminalText } from '../shared/terminal-text.ts';
import { parseCommandArgs, UsageError } from '../repo/cli/args.ts';

export const usage = `usage: gitfleet secret encrypt (--tag TAG | --recipient AGE_PUBLIC_KEY)… [--encrypted-regex RE] [--output OUT] FILE
       gitfleet secret decrypt [--identity KEYFILE] FILE
       gitfleet secret recipients --tag TAG… [hub options]
       gitfleet secret updatekeys (--tag TAG | --recipient AGE_PUBLIC_KEY)… [--identity KEYFILE] FILE
       gitfleet secret edit [--identity KEYFILE] FILE
       gitfleet secret keygen [--output KEYFILE]

Encrypted layers are *.sops.yaml files in the SOPS format with age keys (docs/secrets.md).

  encrypt     encrypts the plaintext layer FILE for every host under each --tag (their
              public keys from the hub) and each --recipient (e.g. your own key, so you
              can edit it); writes NAME.sops.yaml beside NAME.yaml, or --output.
              By default the values under vars, env, content, secrets and dropins are
              encrypted (--encrypted-regex '.*' encrypts every value).
  decrypt     prints FILE decrypted; exit 1 when the key cannot open it or it was tampered with.
  recipients  prints HOST RECIPIENT for every host under each --tag.
  updatekeys  re-encrypts FILE in place for exactly the given recipients (new data key).
  edit        opens FILE decrypted in $EDITOR and encrypts it again for the same recipients.
  keygen      creates an age identity file (0600; default ${DEFAULT_IDENTITY_FILE}) unless it
              exists, and prints its public key (the installer runs it for every agent).

      --identity KEYFILE  an age identity file (default $GITFLEET_AGE_IDENTITY_FILE,
                          $SOPS_AGE_KEY_FILE, then ${DEFAULT_IDENTITY_FILE})
${hubOptionHelp}

exit codes: 0 done, 1 cannot decrypt (not a recipient, tampered) or a host has no key, 2 usage error,
3 the hub could not tell`;

const options = {
  ...hubOptionSpec,
  tag: { type: 'string', multiple: true },
  recipient: { type: 'string', multiple: true },
  identity: { type: 'string' },
  output: { type: 'string' },
  'encrypted-regex': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

const recipientPattern = /^age1[0-9a-z]{20,120}$/;
const MAX_TAG_HOSTS = 5000;

function identityFile(values: Values): string {
  return values.identity ?? process.env.GITFLEET_AGE_IDENTITY_FILE ?? process.env.SOPS_AGE_KEY_FILE ?? DEFAULT_IDENTITY_FILE;
}

function readText(command: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(command, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

interface HostKey {
  host: string;
  recipient: string | null;
}

/** Every host under the tag, with the public key it reported (null: none yet). */
async function hostKeys(target: HubTarget, tag: string): Promise<HostKey[]> {
  const out: HostKey[] = [];
  let total = 0;
  do {
    const query = new URLSearchParams({ tag, limit: '500', offset: String(out.length) });
    const page = await callHub<{ total: number; hosts: { id: string }[] }>(target, 'GET', `/api/v1/hosts?${query}`);
    total = Number(page.total);
    if (page.hosts.length === 0) break;
    for (const h of page.hosts) {
      const detail = await callHub<{ facts: { age?: { recipient?: unknown } | null } | null }>(target, 'GET', `/api/v1/hosts/${encodeURIComponent(h.id)}`);
      const r = detail.facts?.age?.recipient;
      out.push({ host: h.id, recipient: typeof r === 'string' && recipientPattern.test(r) ? r : null });
    }
  } while (out.length < total && out.length < MAX_TAG_HOSTS);
  return out;
}

/** The recipients of --recipient and --tag; a host under a tag without a key refuses the whole command. */
async function recipientsOf(command: string, values: Values): Promise<string[]> {
  const direct = values.recipient ?? [];
  for (const r of direct) if (!recipientPattern.test(r)) throw new UsageError(command, `--recipient: "${terminalText(r).slice(0, 100)}" is not an age public key (age1…)`);
  const fromTags: string[] = [];
  if ((values.tag ?? []).length > 0) {
    const target = resolveHub(`secret ${command}`, values);
    for (const tag of values.tag ?? []) {
      const keys = await hostKeys(target, tag);
      if (keys.length === 0) throw new GitfleetError('SECRET_NO_KEY', `the hub knows no host under tag "${terminalText(tag)}"`);
      const without = keys.filter((k) => k.recipient === null).map((k) => terminalText(k.host));
      if (without.length > 0) {
        throw new GitfleetError('SECRET_NO_KEY', `host(s) under "${terminalText(tag)}" have not reported an age public key (agent without age.identityFile, or never connected): ${without.slice(0, 20).join(', ')}`);
      }
      fromTags.push(...keys.map((k) => k.recipient!));
    }
  }
  const all = [...new Set([...direct, ...fromTags])];
  if (all.length === 0) throw new UsageError(command, 'give --tag TAG or --recipient AGE_PUBLIC_KEY (repeatable)');
  return all;
}

function defaultOutput(file: string): string {
  const name = basename(file);
  const stem = name.replace(/\.ya?ml$/, '');
  return join(dirname(file), `${stem}.sops.yaml`);
}

async function decryptFile(values: Values, file: string) {
  const keys = await readIdentityFile(identityFile(values));
  return decryptSops(file, readText('decrypt', file), keys.identities, []);
}

function rulesOf(file: string, text: string): EncryptRules {
  const { meta } = parseSops(file, text);
  if (meta.encryptedSuffix || meta.unencryptedRegex || meta.macOnlyEncrypted) {
    throw new GitfleetError('SECRET_FORMAT', `${file} uses encrypted_suffix, unencrypted_regex or mac_only_encrypted, which gitfleet does not write; re-key it with sops`);
  }
  return meta.encryptedRegex ? { encryptedRegex: meta.encryptedRegex } : { unencryptedSuffix: meta.unencryptedSuffix ?? '' };
}

async function encrypt(values: Values, file: string): Promise<number> {
  const plain: unknown = parse(readText('encrypt', file));
  const recipients = await recipientsOf('encrypt', values);
  const out = values.output ?? defaultOutput(file);
  if (out === file) throw new UsageError('secret encrypt', `the output would overwrite ${file}; name it NAME.yaml (writes NAME.sops.yaml) or give --output`);
  writeFileSync(out, await encryptSops(plain, recipients, { encryptedRegex: values['encrypted-regex'] ?? GITFLEET_ENCRYPTED_REGEX }));
  process.stderr.write(`wrote ${out} for ${recipients.length} recipient(s); remove the plaintext ${file} before committing\n`);
  return 0;
}

async function updatekeys(values: Values, file: string): Promise<number> {
  const text = readText('updatekeys', file);
  const rules = rulesOf(file, text);
  const recipients = await recipientsOf('updatekeys', values);
  const { doc } = await decryptFile(values, file);
  writeFileSync(file, await encryptSops(doc.toJS(), recipients, rules));
  process.stderr.write(`re-encrypted ${file} for ${recipients.length} recipient(s) with a new data key\n`);
  return 0;
}

async function edit(values: Values, file: string): Promise<number> {
  const text = readText('edit', file);
  const rules = rulesOf(file, text);
  const { meta } = parseSops(file, text);
  const { doc } = await decryptFile(values, file);
  const editorLine = process.env.VISUAL || process.env.EDITOR || 'vi';
  const [editor, ...editorArgs] = editorLine.split(/\s+/).filter(Boolean);
  // A private directory (0700) for the plaintext, removed whatever happens.
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-secret-'));
  const tmp = join(dir, basename(file).replace(/\.sops\.yaml$/, '.yaml'));
  try {
    writeFileSync(tmp, doc.toString({ lineWidth: 0 }), { mode: 0o600 });
    const r = spawnSync(editor!, [...editorArgs, tmp], { stdio: 'inherit' });
    if (r.status !== 0) throw new GitfleetError('INTERNAL', `the editor ${editor} exited with ${r.status ?? r.signal}; ${file} is unchanged`);
    const edited: unknown = parse(readFileSync(tmp, 'utf8'));
    writeFileSync(file, await encryptSops(edited, meta.age.map((a) => a.recipient), rules));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stderr.write(`saved ${file}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${usage}\n`);
    return sub === undefined ? 2 : 0;
  }
  const { values, positionals } = parseCommandArgs(`secret ${sub}`, rest, options, 1);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (sub === 'recipients') {
    if ((values.tag ?? []).length === 0) throw new UsageError('secret recipients', 'give --tag TAG (repeatable)');
    const target = resolveHub('secret recipients', values);
    let missing = 0;
    for (const tag of values.tag ?? []) {
      for (const k of await hostKeys(target, tag)) {
        if (k.recipient === null) missing++;
        process.stdout.write(`${terminalText(k.host)}  ${k.recipient ?? '(no key reported)'}\n`);
      }
    }
    return missing > 0 ? 1 : 0;
  }
  if (sub === 'keygen') {
    const out = values.output ?? DEFAULT_IDENTITY_FILE;
    // Never overwritten: the hosts' files in the repo are encrypted for the key that is there.
    const existing = await readIdentityFile(out).catch(() => null);
    process.stdout.write(`${existing ? existing.recipients[0]! : await createIdentityFile(out)}\n`);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError(`secret ${sub}`, 'give the FILE');
  try {
    switch (sub) {
      case 'encrypt':
        return await encrypt(values, file);
      case 'decrypt': {
        const { doc } = await decryptFile(values, file);
        process.stdout.write(doc.toString({ lineWidth: 0 }));
        return 0;
      }
      case 'updatekeys':
        return await updatekeys(values, file);
      case 'edit':
        return await edit(values, file);
      default:
        throw new UsageError('secret', `unknown subcommand "${terminalText(sub).slice(0, 40)}" (encrypt, decrypt, recipients, updatekeys, edit)`);
    }
  } catch (error) {
    if (error instanceof GitfleetError && error.code.startsWith('SECRET_')) {
      process.stderr.write(`gitfleet secret ${sub}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
