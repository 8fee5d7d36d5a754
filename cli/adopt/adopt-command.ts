// `gitfleet adopt`: describe a running host in the fleet repo (docs/adopt.md).
//   adopt --host ID --into FLEET_DIR …   inspect this host, write FLEET_DIR/PLACE/ID/
//   adopt --factor FLEET_DIR [--write]   move resources every host under a tag shares into the tag's layer
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommandArgs, UsageError } from '../../repo/cli/args.ts';
import { formatIssue, validateTree } from '../../repo/tree/index.ts';
import { hostNameProblem } from '../../shared/resources.ts';
import { terminalText } from '../../shared/terminal-text.ts';
import { containerLayers, type ContainerLayers } from './container-layers.ts';
import { runFactor } from './factor-command.ts';
import { inspectEngine } from './inspect-containers.ts';
import { inspectFiles } from './inspect-files.ts';
import { inspectUnits } from './inspect-units.ts';
import { missingSecretLines } from './secrets-split.ts';
import { buildHostDir, HostDirExistsError, writeHostDir } from './write-host-dir.ts';

export const usage = `usage: gitfleet adopt --host ID --into FLEET_DIR [--place DIR] [--containers] [--units] [--files PATH…]
                      [--recipient AGE_PUBLIC_KEY…] [--dry-run] [--force] [--json]
                      [--docker-socket PATH] [--root DIR]
       gitfleet adopt --factor FLEET_DIR [--write] [--json]

Describes this running host in the fleet repository: writes FLEET_DIR/DIR/ID/ with
host.yaml (adopt: true) and its containers, units and files, so the agent takes them
over without recreating anything (docs/adopt.md). Run it as root on the host.

      --host ID        the host id (its directory name in the fleet repo)
      --into FLEET_DIR the fleet tree to write into
      --place DIR      the tag directory the host goes in (default: the tree root), e.g. prod/eu
      --containers     adopt the Docker containers (with their networks and volumes; Compose
                       projects become compose.yaml)
      --units          adopt the units in /etc/systemd/system that no package installed, and
                       local drop-ins of the distribution's units
      --files PATH     adopt this file with its mode and owner (repeatable)
                       (without --containers, --units or --files: containers and units)
      --recipient KEY  encrypt secret values (env names with PASSWORD, TOKEN, SECRET, KEY;
                       files holding a private key) into secrets.sops.yaml for this age key
                       (repeatable); without it they are left out and listed
      --dry-run        print what would be written; write nothing
      --force          replace the layer files of an existing host directory
      --json           print {dir, files, secrets, notes} as JSON
      --docker-socket PATH  the engine to read (default $DOCKER_HOST's unix socket, /var/run/docker.sock)
      --root DIR       read units and files under DIR instead of / (a mounted host or container root)
      --factor FLEET_DIR  print a plan moving resources identical on every host under a tag
                       directory into that directory's layer
      --write          with --factor: apply the plan (refused unless every host renders the same)

exit codes: 0 done (secrets left out are listed, not an error), 1 the host directory exists, the
host id has a directory elsewhere in the tree, or the result does not validate, 2 usage error`;

const options = {
  host: { type: 'string' },
  into: { type: 'string' },
  place: { type: 'string' },
  containers: { type: 'boolean', default: false },
  units: { type: 'boolean', default: false },
  files: { type: 'string', multiple: true },
  recipient: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'docker-socket': { type: 'string' },
  root: { type: 'string' },
  factor: { type: 'string' },
  write: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const recipientPattern = /^age1[0-9a-z]{20,120}$/;

function dockerSocket(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

function placeProblem(place: string): string | null {
  const parts = place.split('/');
  if (parts[0] === 'tags') return 'tags/ holds cross-cutting tags, not hosts';
  for (const p of parts) {
    const problem = hostNameProblem(p);
    if (problem !== null) return `"${p}": ${problem}`;
  }
  return null;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('adopt', argv, options);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.factor !== undefined) {
    const hostOnly = (['host', 'into', 'place', 'files', 'recipient', 'root', 'docker-socket'] as const).filter((k) => values[k] !== undefined);
    if (hostOnly.length > 0 || values.containers || values.units || values['dry-run'] || values.force) {
      throw new UsageError('adopt', '--factor works on a fleet tree alone: give it only --write and --json');
    }
    return runFactor(resolve(values.factor), values.write, values.json);
  }
  if (values.write) throw new UsageError('adopt', '--write applies a --factor plan; adopting a host writes unless --dry-run');
  if (!values.host) throw new UsageError('adopt', 'give --host ID (the host id) and --into FLEET_DIR');
  if (!values.into) throw new UsageError('adopt', 'give --into FLEET_DIR (the fleet tree to write the host into)');
  const hostProblem = hostNameProblem(values.host);
  if (hostProblem !== null) throw new UsageError('adopt', `--host: "${terminalText(values.host).slice(0, 80)}" is not a host id: ${hostProblem}`);
  const place = (values.place ?? '').replace(/^\/+|\/+$/g, '');
  if (place !== '') {
    const problem = placeProblem(place);
    if (problem !== null) throw new UsageError('adopt', `--place: ${terminalText(problem)}`);
  }
  const recipients = values.recipient ?? [];
  for (const r of recipients) if (!recipientPattern.test(r)) throw new UsageError('adopt', `--recipient: "${terminalText(r).slice(0, 100)}" is not an age public key (age1…)`);
  const files = values.files ?? [];
  const everything = !values.containers && !values.units && files.length === 0;
  const root = resolve(values.root ?? '/');

  const taken = new Set<string>();
  const notes: string[] = [];
  let containers: ContainerLayers | null = null;
  if (everything || values.containers) {
    containers = containerLayers(await inspectEngine(dockerSocket(values['docker-socket'])), recipients.length > 0, taken);
    notes.push(...containers.notes);
  }
  let units = null;
  if (everything || values.units) {
    const found = await inspectUnits(root);
    units = found.units;
    notes.push(...found.notes);
  }
  let adoptedFiles = null;
  if (files.length > 0) {
    const found = await inspectFiles(root, files);
    adoptedFiles = found.files;
    notes.push(...found.notes);
  }
  const built = await buildHostDir({ host: values.host, containers, units, files: adoptedFiles, recipients, taken });
  const into = resolve(values.into);
  const dir = join(into, place, values.host);

  if (!values['dry-run']) {
    // The same id elsewhere in the tree would be two hosts with one id (DUPLICATE_HOST): refused before writing.
    const elsewhere = existsSync(into) ? (await validateTree(into)).hosts.find((h) => h.id === values.host && h.dir !== join(place, values.host)) : undefined;
    if (elsewhere) {
      process.stderr.write(`gitfleet adopt: host ${values.host} already has a directory in the tree, ${elsewhere.dir}/; nothing was written\n`);
      return 1;
    }
    try {
      writeHostDir(dir, built.files, values.force);
    } catch (error) {
      if (!(error instanceof HostDirExistsError)) throw error;
      process.stderr.write(`gitfleet adopt: ${error.message}\n`);
      return 1;
    }
  }
  const secretList = built.secrets.map(({ resource, key, variable }) => (built.encrypted ? { resource, key, variable } : { resource, key }));
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ host: values.host, dir, written: !values['dry-run'], files: Object.fromEntries(built.files), secrets: { encrypted: built.encrypted, items: secretList }, notes }, null, 2) + '\n',
    );
  } else if (values['dry-run']) {
    for (const [name, text] of built.files) process.stdout.write(`# --- ${join(dir, name)}\n${text}${text.endsWith('\n') ? '' : '\n'}`);
  } else {
    process.stdout.write(`wrote ${dir}: ${[...built.files.keys()].join(', ')}\n`);
  }
  // Notes and the secrets list go to stderr, so --dry-run's output is only the files.
  for (const note of notes) process.stderr.write(`note: ${terminalText(note)}\n`);
  if (built.secrets.length > 0 && !values.json) {
    if (built.encrypted) process.stderr.write(`${built.secrets.length} secret value(s) encrypted into secrets.sops.yaml for ${recipients.length} recipient(s)\n`);
    else {
      process.stderr.write(`${built.secrets.length} secret value(s) left out (no --recipient); provide them in an encrypted layer (docs/adopt.md):\n`);
      for (const line of missingSecretLines(built.secrets)) process.stderr.write(`  ${terminalText(line)}\n`);
    }
  }
  if (values['dry-run']) return 0;
  const summary = await validateTree(into);
  const host = values.host;
  const mine = summary.issues.filter((i) => i.file.startsWith(join(place, host)) || i.message.includes(host));
  if (mine.length > 0) {
    for (const i of mine) process.stderr.write(`${formatIssue(i)}\n`);
    process.stderr.write(`gitfleet adopt: the written directory does not validate (${mine.length} error(s)); fix them or report the case\n`);
    return 1;
  }
  return 0;
}
