// One behaviour suite for the UnitDriver interface, run against the in-memory
// twin always and against the real driver driving a booted systemd host (in CI
// a host that cannot boot fails the suite). What the twin promises is what
// real systemd does, or this file fails.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import type { LiveUnit, UnitDriver } from '../../agent/drivers/types.ts';
import { MemoryUnitDriver } from '../../agent/drivers/memory/units.ts';
import { createSystemctlUnitDriver } from '../../agent/drivers/systemd/index.ts';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';

interface UnitsTarget {
  driver: UnitDriver;
  /** An operator's changes on the host. */
  hand: {
    edit(name: string, content: string): Promise<void>;
    /** rm the unit file, then `systemctl mask` (a unit file in /etc cannot be masked otherwise). */
    mask(name: string): Promise<void>;
    /** Names of the entries in the unit directory. */
    listUnitDir(): Promise<string[]>;
    /** A unit file the distribution ships (/usr/lib/systemd/system), outside the agent's unit directory. */
    vendor(name: string, content: string): Promise<void>;
    /** A drop-in a package or an operator put into `<unit>.d/`. */
    dropin(name: string, file: string, content: string): Promise<void>;
  };
}

const service = (exec: string, extra = '', install = true) =>
  `[Unit]\nDescription=gitfleet contract ${exec}\n[Service]\nExecStart=${exec}\n${extra}${install ? '[Install]\nWantedBy=multi-user.target\n' : ''}`;

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, mentions?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isGitfleetError(error, code), `expected ${code}, got ${String(error)}`);
    if (mentions) assert.match(error.message, new RegExp(mentions.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  });
}

async function observeOne(driver: UnitDriver, name: string): Promise<LiveUnit> {
  const [unit] = await driver.observe([name]);
  assert.ok(unit);
  return unit;
}

/** Polls observe until `done` holds (real units change state asynchronously). */
async function eventually(driver: UnitDriver, name: string, done: (u: LiveUnit) => boolean, what: string, timeoutMs = 15_000): Promise<LiveUnit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const unit = await observeOne(driver, name);
    if (done(unit)) return unit;
    if (Date.now() > deadline) assert.fail(`${name} never became ${what}; last: ${JSON.stringify(unit)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function unitContract(label: string, target: (t: TestContext) => Promise<UnitsTarget | null>): void {
  describe(`UnitDriver contract: ${label}`, () => {
    test('invalid unit and drop-in names are refused before anything is touched', async (t) => {
      const x = await target(t);
      if (!x) return;
      const before = await x.hand.listUnitDir();
      for (const bad of ['../evil.service', 'a/b.service', 'noext', 'x.exe', '', '-x', 'sp ace.service', 'a@b@c.service']) {
        await rejectsWith(x.driver.write(bad, service('/bin/true'), {}), 'INVALID_NAME');
        await rejectsWith(x.driver.start(bad), 'INVALID_NAME');
        await rejectsWith(x.driver.observe(['ok.service', bad]), 'INVALID_NAME');
      }
      await rejectsWith(x.driver.write('ok-dropin.service', service('/bin/true'), { '../x.conf': '' }), 'INVALID_NAME');
      await rejectsWith(x.driver.write('ok-dropin.service', service('/bin/true'), { 'x.txt': '' }), 'INVALID_NAME');
      assert.deepEqual(await x.hand.listUnitDir(), before);
      const [ok] = await x.driver.observe(['ok-dropin.service']);
      assert.equal(ok?.content, null);
    });

    test('write, daemon-reload, enable, start: the unit runs enabled with its drop-ins', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-web.service';
      const content = service('/bin/sleep infinity');
      await x.driver.write(name, content, { '10-env.conf': '[Service]\nEnvironment=A=1\n', '20-nice.conf': '[Service]\nNice=5\n' });
      await x.driver.daemonReload();
      await x.driver.enable(name);
      await x.driver.start(name);
      const unit = await observeOne(x.driver, name);
      assert.deepEqual(
        { ...unit },
        {
          name,
          content,
          dropins: { '10-env.conf': '[Service]\nEnvironment=A=1\n', '20-nice.conf': '[Service]\nNice=5\n' },
          unitFileState: 'enabled',
          activeState: 'active',
          subState: 'running',
          result: 'success',
          nRestarts: 0,
          loadState: 'loaded',
          needDaemonReload: false,
          serviceType: 'simple',
          remainAfterExit: false,
          triggeredBy: [],
          exitCode: null,
          signal: null,
          conditionMet: true,
        },
      );
      // A second write drops the drop-in that is no longer listed; an empty set removes them all.
      await x.driver.write(name, content, { '10-env.conf': '[Service]\nEnvironment=A=2\n' });
      assert.deepEqual((await observeOne(x.driver, name)).dropins, { '10-env.conf': '[Service]\nEnvironment=A=2\n' });
      assert.equal((await observeOne(x.driver, name)).needDaemonReload, true);
      await x.driver.write(name, content, {});
      assert.deepEqual((await observeOne(x.driver, name)).dropins, {});
      await x.driver.daemonReload();
      assert.equal((await observeOne(x.driver, name)).needDaemonReload, false);
      assert.ok(!(await x.hand.listUnitDir()).some((n) => n.includes('.tmp')), 'no temp files left in the unit directory');
    });

    test('many units are observed in one call, in the order asked, unknown ones as not-found', async (t) => {
      const x = await target(t);
      if (!x) return;
      await x.driver.write('gf-many-a.service', service('/bin/sleep infinity'), {});
      await x.driver.write('gf-many-b.service', service('/bin/sleep infinity', '', false), {});
      await x.driver.daemonReload();
      const units = await x.driver.observe(['gf-many-b.service', 'gf-nothing-here.service', 'gf-many-a.service']);
      assert.deepEqual(units.map((u) => [u.name, u.loadState, u.unitFileState, u.content !== null]), [
        ['gf-many-b.service', 'loaded', 'static', true],
        ['gf-nothing-here.service', 'not-found', '', false],
        ['gf-many-a.service', 'loaded', 'disabled', true],
      ]);
      assert.deepEqual(await x.driver.observe([]), []);
    });

    test('an edit by hand is observed, and so is the pending daemon-reload of a running unit', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-edit.service';
      await x.driver.write(name, service('/bin/sleep infinity'), {});
      await x.driver.daemonReload();
      await x.driver.start(name);
      await x.hand.edit(name, service('/bin/sleep 1000'));
      const unit = await observeOne(x.driver, name);
      assert.equal(unit.content, service('/bin/sleep 1000'));
      assert.equal(unit.needDaemonReload, true);
      // An inactive, disabled unit is unloaded by systemd's garbage collection:
      // the next look reads the file afresh, so nothing is pending.
      const idle = 'gf-edit-idle.service';
      await x.driver.write(idle, service('/bin/sleep infinity'), {});
      await x.driver.daemonReload();
      await x.hand.edit(idle, service('/bin/sleep 1000'));
      const idleUnit = await observeOne(x.driver, idle);
      assert.deepEqual([idleUnit.content, idleUnit.needDaemonReload], [service('/bin/sleep 1000'), false]);
    });

    test('stop, disable and a mask by hand are observed; unmask and a rewrite bring it back', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-toggle.service';
      const content = service('/bin/sleep infinity');
      await x.driver.write(name, content, {});
      await x.driver.daemonReload();
      await x.driver.enable(name);
      await x.driver.start(name);
      await x.driver.stop(name);
      let unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.activeState, unit.subState, unit.unitFileState], ['inactive', 'dead', 'enabled']);
      await x.driver.disable(name);
      assert.equal((await observeOne(x.driver, name)).unitFileState, 'disabled');
      await x.driver.start(name);
      await x.hand.mask(name);
      unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.content, unit.unitFileState, unit.loadState], [null, 'masked', 'masked']);
      await x.driver.stop(name);
      await rejectsWith(x.driver.start(name), 'SYSTEMD_FAILED', name);
      await x.driver.write(name, content, {});
      await x.driver.unmask(name);
      await x.driver.daemonReload();
      await x.driver.enable(name);
      await x.driver.start(name);
      unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.content, unit.unitFileState, unit.loadState, unit.activeState], [content, 'enabled', 'loaded', 'active']);
    });

    test('a unit without [Install] is static: enable is a no-op, not an error', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-static.service';
      await x.driver.write(name, service('/bin/sleep infinity', '', false), {});
      await x.driver.daemonReload();
      await x.driver.enable(name);
      assert.equal((await observeOne(x.driver, name)).unitFileState, 'static');
    });

    test('a unit whose ExecStart fails is observed failed with Result exit-code; reset-failed clears it', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-fails.service';
      await x.driver.write(name, service('/bin/false'), {});
      await x.driver.daemonReload();
      await x.driver.start(name); // a simple service counts as started once forked
      const unit = await eventually(x.driver, name, (u) => u.activeState === 'failed', 'failed');
      assert.deepEqual([unit.subState, unit.result], ['failed', 'exit-code']);
      await x.driver.resetFailed(name);
      const reset = await observeOne(x.driver, name);
      assert.deepEqual([reset.activeState, reset.result, reset.nRestarts], ['inactive', 'success', 0]);
    });

    test('a oneshot whose ExecStart fails fails the start itself, naming the unit', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-oneshot.service';
      await x.driver.write(name, service('/bin/false', 'Type=oneshot\n'), {});
      await x.driver.daemonReload();
      await rejectsWith(x.driver.start(name), 'SYSTEMD_FAILED', name);
      const unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.activeState, unit.result], ['failed', 'exit-code']);
    });

    test('a flapping Restart=always unit counts its restarts, then hits the start limit', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-flap.service';
      await x.driver.write(name, service('/bin/false', 'Restart=always\nRestartSec=100ms\n'), {});
      await x.driver.daemonReload();
      await x.driver.start(name);
      await eventually(x.driver, name, (u) => u.nRestarts >= 3, 'restarted 3 times');
      const unit = await eventually(x.driver, name, (u) => u.activeState === 'failed', 'failed at the start limit');
      assert.ok(unit.nRestarts >= 3, `nRestarts ${unit.nRestarts}`);
      assert.equal(unit.result, 'exit-code');
    });

    test('restart of a running unit keeps it active on the new configuration', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-restart.service';
      await x.driver.write(name, service('/bin/sleep infinity'), {});
      await x.driver.daemonReload();
      await x.driver.start(name);
      await x.driver.write(name, service('/bin/sleep 99999'), {});
      await x.driver.daemonReload();
      await x.driver.restart(name);
      const unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.activeState, unit.needDaemonReload, unit.content], ['active', false, service('/bin/sleep 99999')]);
    });

    test('delete removes the file and drop-ins; after stop and reload the unit is not-found', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-gone.service';
      await x.driver.write(name, service('/bin/sleep infinity'), { 'a.conf': '[Unit]\n' });
      await x.driver.daemonReload();
      await x.driver.enable(name);
      await x.driver.start(name);
      await x.driver.stop(name);
      await x.driver.disable(name);
      await x.driver.delete(name);
      await x.driver.daemonReload();
      const unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.content, unit.dropins, unit.loadState, unit.unitFileState, unit.activeState], [null, {}, 'not-found', '', 'inactive']);
      assert.ok(!(await x.hand.listUnitDir()).some((n) => n.startsWith(name)), 'no file or drop-in directory left');
      await x.driver.delete(name); // already gone: fine
    });

    test('a template is observed by its file state; it does not start itself, its instances do', async (t) => {
      const x = await target(t);
      if (!x) return;
      const template = 'gf-tpl@.service';
      const content = service('/bin/sleep %i');
      await x.driver.write(template, content, {});
      await x.driver.daemonReload();
      const [tpl, inst, other] = await x.driver.observe([template, 'gf-tpl@4242.service', 'gf-nothing@.service']);
      assert.deepEqual([tpl?.content, tpl?.unitFileState, tpl?.loadState, tpl?.activeState], [content, 'disabled', 'loaded', 'inactive']);
      assert.deepEqual([inst?.content, inst?.loadState, inst?.activeState], [null, 'loaded', 'inactive']);
      assert.deepEqual([other?.content, other?.unitFileState], [null, '']);
      await rejectsWith(x.driver.start(template), 'SYSTEMD_FAILED', template);
      await rejectsWith(x.driver.enable(template), 'SYSTEMD_FAILED', template);
      await x.driver.stop(template);
      await x.driver.start('gf-tpl@4242.service');
      const [running] = await x.driver.observe(['gf-tpl@4242.service']);
      assert.deepEqual([running?.activeState, running?.unitFileState], ['active', 'disabled']);
    });

    test('a template with no file yet is observed as absent, alone or among others (not an error)', async (t) => {
      const x = await target(t);
      if (!x) return;
      const [alone] = await x.driver.observe(['gf-absent@.service']);
      assert.deepEqual([alone?.content, alone?.unitFileState], [null, '']);
      const [a, b] = await x.driver.observe(['gf-absent@.service', 'gf-absent.socket']);
      assert.deepEqual([a?.content, b?.loadState], [null, 'not-found']);
    });

    test("a unit the distribution ships: write(name, null) adds drop-ins, keeps its file and others' drop-ins, removes only marked ones", async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-vendor.service';
      await x.hand.vendor(name, service('/bin/sleep infinity'));
      await x.hand.dropin(name, '00-package.conf', '[Service]\nNice=1\n');
      const ours = (text: string) => `# Managed by gitfleet (unit/${name}): edits on the host are overwritten.\n${text}`;
      await x.driver.write(name, null, { '50-proxy.conf': ours('[Service]\nEnvironment=P=1\n'), '60-old.conf': ours('[Service]\nNice=2\n') });
      await x.driver.daemonReload();
      await x.driver.start(name);
      let unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.content, unit.activeState, Object.keys(unit.dropins)], [null, 'active', ['00-package.conf', '50-proxy.conf', '60-old.conf']]);
      await x.driver.write(name, null, { '50-proxy.conf': ours('[Service]\nEnvironment=P=2\n') });
      unit = await observeOne(x.driver, name);
      assert.deepEqual(unit.dropins, { '00-package.conf': '[Service]\nNice=1\n', '50-proxy.conf': ours('[Service]\nEnvironment=P=2\n') });
      await x.driver.write(name, null, {});
      unit = await observeOne(x.driver, name);
      assert.deepEqual(unit.dropins, { '00-package.conf': '[Service]\nNice=1\n' });
      assert.ok((await x.hand.listUnitDir()).every((n) => n !== name), 'the unit file was never written into the unit directory');
    });

    test('mask links a unit the distribution ships to /dev/null; it is refused over a real unit file; unmask restores it', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-kiosk-upgrade.timer';
      await x.hand.vendor(name, '[Unit]\nDescription=upgrade\n[Timer]\nOnCalendar=daily\nPersistent=true\n[Install]\nWantedBy=timers.target\n');
      await x.hand.vendor('gf-kiosk-upgrade.service', service('/bin/true', 'Type=oneshot\n', false));
      await x.driver.daemonReload();
      await x.driver.enable(name);
      await x.driver.start(name);
      await x.driver.stop(name);
      await x.driver.mask(name);
      let unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.content, unit.unitFileState, unit.loadState, unit.activeState], [null, 'masked', 'masked', 'inactive']);
      await rejectsWith(x.driver.start(name), 'SYSTEMD_FAILED', name);
      await x.driver.unmask(name);
      unit = await observeOne(x.driver, name);
      assert.deepEqual([unit.unitFileState, unit.loadState], ['enabled', 'loaded']);
      const own = 'gf-own-file.service';
      await x.driver.write(own, service('/bin/true'), {});
      await rejectsWith(x.driver.mask(own), 'SYSTEMD_FAILED', own);
    });

    test('a failed unit carries its exit code and journal lines; a killed one its signal', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-diag.service';
      await x.driver.write(name, service('/bin/false'), {});
      await x.driver.daemonReload();
      await x.driver.start(name);
      const unit = await eventually(x.driver, name, (u) => u.activeState === 'failed', 'failed');
      assert.deepEqual([unit.exitCode, unit.signal], [1, null]);
      // journald may store the line after the unit state changed: read until it is there (or 15 s pass).
      const saysFailed = (lines: string[]) => lines.some((l) => l.includes("Failed with result 'exit-code'"));
      let lines = await x.driver.logs(name, 20);
      for (const deadline = Date.now() + 15_000; !saysFailed(lines) && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 100));
        lines = await x.driver.logs(name, 20);
      }
      assert.ok(saysFailed(lines), `journal: ${JSON.stringify(lines)}`);
      assert.ok(lines.length <= 20);
      assert.deepEqual(await x.driver.logs('gf-never-logged.service', 20), []);
      await rejectsWith(x.driver.logs('../x.service', 20), 'INVALID_NAME');
    });

    test('a oneshot a timer activates: its type, its trigger, and exit code 0 after a run', async (t) => {
      const x = await target(t);
      if (!x) return;
      await x.driver.write('gf-job.service', service('/bin/true', 'Type=oneshot\n', false), {});
      await x.driver.write('gf-job.timer', '[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n', {});
      await x.driver.daemonReload();
      await x.driver.enable('gf-job.timer');
      await x.driver.start('gf-job.timer');
      await x.driver.start('gf-job.service');
      const unit = await observeOne(x.driver, 'gf-job.service');
      assert.deepEqual([unit.serviceType, unit.remainAfterExit, unit.triggeredBy, unit.activeState, unit.exitCode], ['oneshot', false, ['gf-job.timer'], 'inactive', 0]);
      const timer = await observeOne(x.driver, 'gf-job.timer');
      assert.deepEqual([timer.activeState, timer.unitFileState, timer.serviceType], ['active', 'enabled', '']);
    });

    test('stop, disable and reset-failed of an unknown unit are no-ops; start, restart and enable fail', async (t) => {
      const x = await target(t);
      if (!x) return;
      const name = 'gf-never-was.service';
      await x.driver.stop(name);
      await x.driver.disable(name);
      await x.driver.resetFailed(name);
      await rejectsWith(x.driver.start(name), 'SYSTEMD_FAILED', name);
      await rejectsWith(x.driver.restart(name), 'SYSTEMD_FAILED', name);
      await rejectsWith(x.driver.enable(name), 'SYSTEMD_FAILED', name);
    });
  });
}

// ------------------------------------------------------------ the twin

unitContract('in-memory', async () => {
  const driver = new MemoryUnitDriver();
  return {
    driver,
    hand: {
      edit: async (name, content) => driver.hand.edit(name, content),
      mask: async (name) => driver.hand.mask(name),
      listUnitDir: async () => [...driver.unitDirNames()],
      vendor: async (name, content) => driver.hand.vendor(name, content),
      dropin: async (name, file, content) => driver.hand.dropin(name, file, content),
    },
  };
});

// ------------------------------------------------------------ real systemd

/** One host per registration: each suite starts units the other would find running. */
const hosts = new Map<boolean, Promise<SystemdHost>>();
after(async () => {
  for (const host of hosts.values()) await (await host).poweroff();
});

/**
 * The real driver on a booted host. Over D-Bus: the units' state is read from
 * the host's system bus, and `systemctl show` is refused, so a driver that
 * quietly fell back to it fails the suite.
 */
async function realTarget(t: TestContext, stateOverBus: boolean): Promise<UnitsTarget | null> {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return null;
  if (!hosts.has(stateOverBus)) hosts.set(stateOverBus, bootHost(`gf-units${stateOverBus ? '-bus' : ''}-${process.pid}`, { bindProject: false, bindDocker: false }));
  const h = await hosts.get(stateOverBus)!;
  const unitDir = join(h.rootDir, 'etc/systemd/system');
  const mustExec = async (argv: string[]) => {
    const r = await h.exec(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  };
  const run = (argv: string[]) => {
    if (stateOverBus && argv[1] === 'show') return Promise.reject(new Error('systemctl show was run: the state was not read over the bus'));
    return h.exec(argv);
  };
  return {
    driver: createSystemctlUnitDriver({ unitDir, run, busSocket: stateOverBus ? join(h.rootDir, 'run/dbus/system_bus_socket') : null }),
    hand: {
      edit: async (name, content) => writeFileSync(join(unitDir, name), content),
      mask: async (name) => {
        rmSync(join(unitDir, name), { force: true });
        await mustExec(['systemctl', 'mask', name]);
      },
      listUnitDir: async () => readdirSync(unitDir).sort(),
      vendor: async (name, content) => writeFileSync(join(h.rootDir, 'usr/lib/systemd/system', name), content),
      dropin: async (name, file, content) => {
        mkdirSync(join(unitDir, `${name}.d`), { recursive: true });
        writeFileSync(join(unitDir, `${name}.d`, file), content);
      },
    },
  };
}

unitContract('systemd in a booted host (systemctl show)', (t) => realTarget(t, false));
unitContract('systemd in a booted host (state read over D-Bus)', (t) => realTarget(t, true));
