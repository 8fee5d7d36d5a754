// gitfleet adopt writing a host directory, run as a user runs it (the CLI in
// its own process) against a host root built in a temporary directory: units
// (custom with drop-in and enable link, vendor unit with a local drop-in,
// package-owned and masked units, links), files with mode and owner, secrets
// left out or encrypted. The result must validate and render back to the exact
// text that was on the "host".
import assert from 'node:assert/strict';
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { containerLayers } from '../../cli/adopt/container-layers.ts';
import type { EngineFacts } from '../../cli/adopt/docker-facts.ts';
import { buildHostDir, writeHostDir } from '../../cli/adopt/write-host-dir.ts';
import { createIdentityFile, readIdentityFile } from '../../repo/secrets/age-key.ts';
import { explainDesiredState } from '../../repo/tree/index.ts';
import { gitfleet } from '../helpers/gitfleet-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'gitfleet-adopt-'));
after(() => rmSync(work, { recursive: true, force: true }));

const appUnit = '[Unit]\nDescription=app\n[Service]\nEnvironment=DIR=/srv\nExecStart=/bin/sh -c \'echo ${DIR} $MAINPID; sleep infinity\'\n[Install]\nWantedBy=multi-user.target\n';
const appDropin = '[Service]\nEnvironment=LEVEL=debug\n';
const sshDropin = '[Service]\nEnvironment=SSHD_OPTS=-4\n';
const appConf = 'listen = "127.0.0.1:8080"\npath = "${HOME}/data"\n';
const keyPem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

function put(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function hostRoot(): string {
  const root = mkdtempSync(join(work, 'root-'));
  const etc = 'etc/systemd/system';
  put(root, `${etc}/app.service`, appUnit);
  put(root, `${etc}/app.service.d/10-env.conf`, appDropin);
  mkdirSync(join(root, etc, 'multi-user.target.wants'), { recursive: true });
  symlinkSync('/etc/systemd/system/app.service', join(root, etc, 'multi-user.target.wants/app.service'));
  symlinkSync('/lib/systemd/system/ssh.service', join(root, etc, 'sshd.service')); // an alias: not a unit of its own
  put(root, 'usr/lib/systemd/system/ssh.service', '[Service]\nExecStart=/usr/sbin/sshd -D\n');
  put(root, `${etc}/ssh.service.d/local.conf`, sshDropin);
  put(root, `${etc}/pkg.service`, '[Service]\nExecStart=/bin/true\n');
  put(root, 'var/lib/dpkg/info/pkg.list', `/etc/systemd/system/pkg.service\n/usr/bin/pkg\n`);
  symlinkSync('/dev/null', join(root, etc, 'apt-daily.timer'));
  put(root, `${etc}/ghost.service.d/x.conf`, '[Service]\n');
  put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n');
  put(root, 'etc/group', 'root:x:0:\napp:x:1000:\n');
  put(root, 'etc/app/app.conf', appConf);
  chmodSync(join(root, 'etc/app/app.conf'), 0o640);
  chownSync(join(root, 'etc/app/app.conf'), 1000, 1000);
  put(root, 'etc/app/id_ed25519', keyPem);
  chmodSync(join(root, 'etc/app/id_ed25519'), 0o600);
  return root;
}

const fileArgs = ['--files', '/etc/app/app.conf', '--files', '/etc/app/id_ed25519'];

test('units and files of a host root: written, validated, and rendered back to the text on the host', async () => {
  const root = hostRoot();
  const fleet = mkdtempSync(join(work, 'fleet-'));
  const r = await gitfleet(['adopt', '--host', 'app-01', '--into', fleet, '--place', 'lab', '--units', ...fileArgs, '--root', root]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*lab\/app-01: host\.yaml, units\.yaml, files\.yaml/);
  assert.match(r.stderr, /1 secret value\(s\) left out/);
  assert.match(r.stderr, /file\/\/etc\/app\/id_ed25519: the file's content \(it holds a private key\)/);
  assert.match(r.stderr, /drop-ins for ghost\.service: no such unit/);
  assert.doesNotMatch(readFileSync(join(fleet, 'lab/app-01/files.yaml'), 'utf8'), /PRIVATE KEY/);
  assert.match(readFileSync(join(fleet, 'lab/app-01/host.yaml'), 'utf8'), /^adopt: true$/m);

  assert.equal((await gitfleet(['validate', fleet])).code, 0);
  const { state } = await explainDesiredState(fleet, { host: 'app-01' });
  const byId = new Map(state.resources.map((res) => [res.id, res.spec]));
  assert.deepEqual([...byId.keys()].sort(), ['file//etc/app/app.conf', 'unit/app.service', 'unit/apt-daily.timer', 'unit/ssh.service']);
  assert.deepEqual(byId.get('unit/app.service'), { content: appUnit, dropins: { '10-env.conf': appDropin }, enabled: true });
  assert.deepEqual(byId.get('unit/ssh.service'), { dropins: { 'local.conf': sshDropin } });
  assert.deepEqual(byId.get('unit/apt-daily.timer'), { state: 'masked' });
  assert.deepEqual(byId.get('file//etc/app/app.conf'), { content: appConf, mode: '0640', owner: 'app', group: 'app' });

  const duplicate = await gitfleet(['adopt', '--host', 'app-01', '--into', fleet, '--place', 'prod', '--units', '--root', root]);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /host app-01 already has a directory in the tree, lab\/app-01\/; nothing was written/);
  assert.equal(existsSync(join(fleet, 'prod')), false);
  const again = await gitfleet(['adopt', '--host', 'app-01', '--into', fleet, '--place', 'lab', '--units', '--root', root]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists and is not empty; nothing was written \(--force replaces it\)/);
  writeFileSync(join(fleet, 'lab/app-01/NOTES.md'), 'kept\n');
  const forced = await gitfleet(['adopt', '--host', 'app-01', '--into', fleet, '--place', 'lab', '--units', '--root', root, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(existsSync(join(fleet, 'lab/app-01/files.yaml')), false, 'the old layer files are replaced');
  assert.equal(readFileSync(join(fleet, 'lab/app-01/NOTES.md'), 'utf8'), 'kept\n');
});

test('--dry-run writes nothing and prints the files; --json carries the same files, which validate once written', async () => {
  const root = hostRoot();
  const fleet = mkdtempSync(join(work, 'fleet-'));
  const dry = await gitfleet(['adopt', '--host', 'app-02', '--into', fleet, '--units', ...fileArgs, '--root', root, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(existsSync(join(fleet, 'app-02')), false);
  assert.match(dry.stdout, new RegExp(`^# --- ${fleet}/app-02/units.yaml$`, 'm'));
  const json = await gitfleet(['adopt', '--host', 'app-02', '--into', fleet, '--units', ...fileArgs, '--root', root, '--dry-run', '--json']);
  const out = JSON.parse(json.stdout) as { written: boolean; files: Record<string, string>; secrets: { encrypted: boolean; items: { resource: string; key: string }[] } };
  assert.equal(out.written, false);
  assert.deepEqual(out.secrets, { encrypted: false, items: [{ resource: 'file//etc/app/id_ed25519', key: 'content' }] });
  for (const [name, text] of Object.entries(out.files)) {
    put(fleet, `app-02/${name}`, text);
    assert.ok(dry.stdout.includes(text), `the dry run printed ${name} as --json has it`);
  }
  const v = await gitfleet(['validate', fleet]);
  assert.equal(v.code, 0, v.stdout);
});

test('with --recipient the secrets go to secrets.sops.yaml: the host decrypts them, the plaintext layers never hold them', async () => {
  const root = hostRoot();
  const fleet = mkdtempSync(join(work, 'fleet-'));
  const keyFile = join(work, `age-${Date.now()}.key`);
  const recipient = await createIdentityFile(keyFile);
  const engine: EngineFacts = {
    containers: [
      {
        facts: {
          Id: 'a'.repeat(64),
          Name: '/api',
          State: { Running: true },
          Config: { Image: 'local/busybox:1', Hostname: 'a'.repeat(12), Env: ['PATH=/bin', 'DB_PASSWORD=pa$${s}word', 'LOG=info'], Cmd: ['sleep', '1d'] },
          HostConfig: { NetworkMode: 'default' },
        },
        image: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      },
    ],
    networks: new Map(),
    volumes: new Map(),
    defaultLogDriver: 'json-file',
  };
  const r = await gitfleet(['adopt', '--host', 'app-03', '--into', fleet, '--units', ...fileArgs, '--root', root, '--recipient', recipient]);
  assert.equal(r.code, 0, r.stderr);
  // The containers part without a Docker engine: the same builder the command uses.
  const taken = new Set<string>();
  const built = await buildHostDir({ host: 'app-04', containers: containerLayers(engine, true, taken), units: null, files: null, recipients: [recipient], taken });
  writeHostDir(join(fleet, 'app-04'), built.files, false);

  for (const dir of ['app-03', 'app-04']) {
    for (const name of ['host.yaml', 'units.yaml', 'files.yaml', 'containers.yaml']) {
      const path = join(fleet, dir, name);
      if (existsSync(path)) assert.doesNotMatch(readFileSync(path, 'utf8'), /PRIVATE KEY|pa\$/, `${dir}/${name} holds no secret`);
    }
    assert.doesNotMatch(readFileSync(join(fleet, dir, 'secrets.sops.yaml'), 'utf8'), /PRIVATE KEY|b3BlbnNz|pa\$/);
  }
  assert.equal((await gitfleet(['validate', fleet])).code, 0);
  const keys = await readIdentityFile(keyFile);
  const three = await explainDesiredState(fleet, { host: 'app-03', keys });
  const key = three.state.resources.find((x) => x.id === 'file//etc/app/id_ed25519');
  assert.deepEqual(key?.spec, { content: keyPem, mode: '0600', owner: 'root', group: 'root' });
  const four = await explainDesiredState(fleet, { host: 'app-04', keys });
  const api = four.state.resources.find((x) => x.id === 'container/api');
  assert.deepEqual(api?.spec, { image: 'local/busybox:1', command: ['sleep', '1d'], env: { LOG: 'info', DB_PASSWORD: 'pa$${s}word' } });
});

test('usage errors are one line, exit 2', async () => {
  for (const [args, message] of [
    [['adopt', '--into', '/tmp'], /give --host ID/],
    [['adopt', '--host', 'Web_1', '--into', '/tmp'], /--host: "Web_1" is not a host id/],
    [['adopt', '--host', 'w1', '--into', '/tmp', '--place', 'tags/x'], /--place: tags\/ holds cross-cutting tags/],
    [['adopt', '--host', 'w1', '--into', '/tmp', '--recipient', 'nope'], /--recipient: "nope" is not an age public key/],
    [['adopt', '--factor', '/tmp', '--host', 'w1'], /--factor works on a fleet tree alone/],
  ] as const) {
    const r = await gitfleet([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
