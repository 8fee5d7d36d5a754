// The production seam: the real unit and file drivers running ON a systemd
// host, as the agent does (systemctl via execFile, files on '/'), with node and
// the project bound into a booted host. The contract suites drive a host from
// outside; this proves the defaults work from inside.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';
import { waitFor } from './hub-harness.ts';

let host: SystemdHost | null = null;
after(async () => {
  await host?.poweroff();
});

const script = `
const { createSystemctlUnitDriver } = await import('/opt/gitfleet/agent/drivers/systemd/index.ts');
const { createFsFileDriver } = await import('/opt/gitfleet/agent/drivers/files/fs-file-driver.ts');
const units = createSystemctlUnitDriver();
const files = createFsFileDriver({ rootDir: '/', allow: ['/etc/gf-app'] });
await files.write('/etc/gf-app/app.env', { content: 'GREETING=hello from gitfleet\\n', mode: '0640', owner: 'root', group: 'adm' });
await units.write('gf-app.service', '[Service]\\nEnvironmentFile=/etc/gf-app/app.env\\nExecStart=/bin/sh -c "echo $GREETING > /run/gf-app.out; exec sleep infinity"\\n[Install]\\nWantedBy=multi-user.target\\n', { '10-nice.conf': '[Service]\\nNice=3\\n' });
await units.daemonReload();
await units.enable('gf-app.service');
await units.start('gf-app.service');
let refused = '';
try { await files.write('/etc/passwd', { content: 'x' }); } catch (e) { refused = e.code; }
console.log(JSON.stringify({ units: await units.observe(['gf-app.service']), files: await files.observe(['/etc/gf-app/app.env']), refused }));
`;

test('the real drivers with production defaults converge a unit and a file from inside a host', async (t) => {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return;
  host = await bootHost(`gf-onhost-${process.pid}`, { bindDocker: false });
  const r = await host.exec(
    ['node', '--import', '/opt/gitfleet/node_modules/tsx/dist/esm/index.mjs', '--input-type=module', '-e', script],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { units: { activeState: string; unitFileState: string; dropins: Record<string, string> }[]; files: { mode: string; group: string }[]; refused: string };
  assert.deepEqual([out.units[0]?.activeState, out.units[0]?.unitFileState, Object.keys(out.units[0]?.dropins ?? {})], ['active', 'enabled', ['10-nice.conf']]);
  assert.deepEqual([out.files[0]?.mode, out.files[0]?.group], ['0640', 'adm']);
  assert.equal(out.refused, 'PATH_NOT_ALLOWED');
  // The unit really ran with the file's content, and the drop-in took effect.
  // systemd starts it on its own time: 20 s, as a loaded machine may need (and no busy loop while the file is empty).
  const outFile = join(host.rootDir, 'run/gf-app.out');
  const written = await waitFor('the unit to write run/gf-app.out', () => {
    try {
      return readFileSync(outFile, 'utf8');
    } catch {
      return null; // not there yet
    }
  }, 20_000);
  assert.equal(written, 'hello from gitfleet\n');
  const nice = await host.exec(['systemctl', 'show', '-p', 'Nice', '--value', 'gf-app.service']);
  assert.equal(nice.stdout.trim(), '3');
});
