// The real UnitDriver: unit files and drop-ins written atomically into the
// unit directory, everything else through systemctl (argument vectors only).
// Observation asks systemd over the D-Bus system bus for all units' state
// (bus-unit-properties.ts), or runs one `systemctl show` for them when the bus
// cannot be asked, plus reading the files.
//
// The seam: `unitDir` is the unit directory as this process sees it and `run`
// executes a command where systemd is. On a host: '/etc/systemd/system' and
// runLocalCommand. In tests: a booted host's /proc/PID1/root/etc/systemd/system
// and host.exec.
import { join } from 'node:path';
import { GitfleetError, isGitfleetError } from '../../../shared/errors.ts';
import type { LiveUnit, UnitDriver } from '../types.ts';
import { runLocalCommand, type CommandResult, type CommandRunner } from './command-runner.ts';
import { signalName } from '../signal-names.ts';
import { lastExit, parseShow, showProperties } from './systemctl-show.ts';
import { busUnitProperties } from './bus-unit-properties.ts';
import { BusConnection, SYSTEM_BUS_SOCKET } from './dbus-connection.ts';
import { assertDropinName, assertUnitName, isTemplateName } from './unit-names.ts';
import { readDropins, readRegularFile, removeUnitFiles, syncDropins, syncOwnDropins, writeAtomically } from './unit-files.ts';

export interface SystemctlUnitDriverOptions {
  /** Default /etc/systemd/system. */
  unitDir?: string;
  /** Default: runs the command on this machine. */
  run?: CommandRunner;
  /** The systemctl binary as `run` finds it. Default 'systemctl'. */
  systemctl?: string;
  /** The journalctl binary as `run` finds it. Default 'journalctl'. */
  journalctl?: string;
  /**
   * The D-Bus system bus socket to read the units' state through, as this
   * process sees it; null reads it with `systemctl show` only. Default: the
   * system bus of this machine when `run` is not given, else null.
   */
  busSocket?: string | null;
  /** How long one look at the units waits for the bus before it runs systemctl instead. Default 10 s. */
  busTimeoutMs?: number;
}

/** After the bus failed a look, the looks in this time ask systemctl. */
const BUS_RETRY_MS = 10 * 60_000;

/** stderr of a verb aimed at a unit systemd does not know: for stop/disable/reset-failed that is already done. */
const goneUnit = /not loaded|does not exist|not found/i;

function firstLines(text: string, n = 6): string {
  return text.trim().split('\n').slice(0, n).join(' / ');
}

export function createSystemctlUnitDriver(options: SystemctlUnitDriverOptions = {}): UnitDriver {
  const unitDir = options.unitDir ?? '/etc/systemd/system';
  const run = options.run ?? ((argv: string[]) => runLocalCommand(argv));
  const systemctlBin = options.systemctl ?? 'systemctl';
  const journalctlBin = options.journalctl ?? 'journalctl';
  const busSocket = options.busSocket !== undefined ? options.busSocket : options.run ? null : SYSTEM_BUS_SOCKET;

  const busTimeoutMs = options.busTimeoutMs ?? 10_000;
  let bus: BusConnection | null = null;
  let opening: Promise<BusConnection> | null = null;
  let busRetryAt = 0;

  /** The open bus connection, or a new one when there is none or it broke (looks at the same time share one). */
  function busConnection(socketPath: string): Promise<BusConnection> {
    if (bus?.usable) return Promise.resolve(bus);
    opening ??= BusConnection.open(socketPath, busTimeoutMs)
      .then((opened) => (bus = opened))
      .finally(() => (opening = null));
    return opening;
  }

  /** Each unit's showProperties, from the bus when it answers, else from `systemctl show`, in the order of `names`. */
  async function unitProperties(names: string[]): Promise<Record<string, string>[]> {
    if (busSocket !== null && Date.now() >= busRetryAt) {
      try {
        return await busUnitProperties(await busConnection(busSocket), names, busTimeoutMs);
      } catch {
        // No bus on this host (minimal images run systemd without dbus), or
        // it failed: systemctl asks systemd directly, and reports its own
        // error. A bus that hangs would cost every look its timeout, so it
        // is not asked again for a while.
        busRetryAt = Date.now() + BUS_RETRY_MS;
        bus?.close();
        bus = null;
      }
    }
    return parseShow((await systemctl(['show', '-p', showProperties.join(','), '--', ...names])).stdout);
  }

  async function systemctl(args: string[], tolerateGone = false, isAnswer?: (r: CommandResult) => boolean): Promise<CommandResult> {
    let result: CommandResult;
    try {
      result = await run([systemctlBin, ...args]);
    } catch (error) {
      throw new GitfleetError('SYSTEMD_FAILED', `cannot run systemctl ${args.join(' ')}: ${(error as Error).message}`, { cause: error });
    }
    if (result.code !== 0 && !(tolerateGone && goneUnit.test(result.stderr)) && !isAnswer?.(result)) {
      throw new GitfleetError('SYSTEMD_FAILED', `systemctl ${args.join(' ')} failed (exit ${result.code}): ${firstLines(result.stderr) || '(no message)'}`);
    }
    return result;
  }

  async function fileOp<T>(what: string, name: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (isGitfleetError(error)) throw error;
      throw new GitfleetError('SYSTEMD_FAILED', `cannot ${what} ${name} in ${unitDir}: ${(error as Error).message}`, { cause: error });
    }
  }

  const verb = (args: string[], tolerateGone = false) => async (names: string | string[]) => {
    const list = typeof names === 'string' ? [names] : names;
    list.forEach(assertUnitName);
    if (list.length > 0) await systemctl([...args, '--', ...list], tolerateGone);
  };

  return {
    async observe(names) {
      names.forEach(assertUnitName);
      if (names.length === 0) return [];
      // Templates cannot be loaded by `show` (it fails the whole call); their
      // file state comes from list-unit-files, and they never run themselves.
      const templates = names.filter(isTemplateName);
      const loadable = names.filter((n) => !isTemplateName(n));
      const props = new Map<string, Record<string, string>>();
      if (loadable.length > 0) {
        const shown = await unitProperties(loadable);
        if (shown.length !== loadable.length) {
          throw new GitfleetError('SYSTEMD_FAILED', `systemctl show returned ${shown.length} units for ${loadable.length} names`);
        }
        loadable.forEach((n, i) => props.set(n, shown[i]!));
      }
      if (templates.length > 0) {
        // list-unit-files exits 1 when none of the names has a file (a template
        // not written yet): that is an answer, not a failure.
        const listed = await systemctl(['list-unit-files', '--no-legend', '--no-pager', '--', ...templates], false, (r) => r.code === 1 && r.stdout.trim() === '');
        for (const line of listed.stdout.split('\n')) {
          const [unit, state] = line.trim().split(/\s+/);
          if (unit && state && templates.includes(unit)) props.set(unit, { UnitFileState: state, LoadState: 'loaded' });
        }
      }
      return fileOp('read', names.join(', '), () =>
        Promise.all(
          names.map(async (name): Promise<LiveUnit> => {
            const p = props.get(name) ?? {};
            return {
              name,
              content: await readRegularFile(join(unitDir, name)),
              dropins: await readDropins(join(unitDir, `${name}.d`)),
              unitFileState: p.UnitFileState ?? '',
              activeState: p.ActiveState ?? 'inactive',
              subState: p.SubState ?? 'dead',
              result: p.Result ?? 'success',
              nRestarts: Number(p.NRestarts ?? 0) || 0,
              loadState: p.LoadState ?? 'not-found',
              needDaemonReload: p.NeedDaemonReload === 'yes',
              serviceType: p.Type ?? '',
              remainAfterExit: p.RemainAfterExit === 'yes',
              triggeredBy: (p.TriggeredBy ?? '').split(/\s+/).filter(Boolean),
              ...lastExit(p, signalName),
              conditionMet: Number(p.ConditionTimestampMonotonic ?? 0) > 0 ? p.ConditionResult === 'yes' : null,
            };
          }),
        ),
      );
    },

    async write(name, content, dropins) {
      assertUnitName(name);
      for (const d of Object.keys(dropins)) assertDropinName(name, d);
      await fileOp('write', name, async () => {
        if (content === null) {
          // Not our unit: its file stays as it is, and so do drop-ins others put there.
          await syncOwnDropins(join(unitDir, `${name}.d`), dropins);
          return;
        }
        await writeAtomically(unitDir, name, content);
        await syncDropins(join(unitDir, `${name}.d`), dropins);
      });
    },

    async delete(name) {
      assertUnitName(name);
      await fileOp('delete', name, () => removeUnitFiles(unitDir, name));
    },

    async daemonReload() {
      await systemctl(['daemon-reload']);
    },
    enable: verb(['enable']),
    disable: verb(['disable'], true),
    async unmask(name) {
      assertUnitName(name);
      // A mask lives in /etc or in /run (--runtime); both go.
      await systemctl(['unmask', '--', name]);
      await systemctl(['unmask', '--runtime', '--', name]);
    },
    async mask(name) {
      assertUnitName(name);
      await systemctl(['mask', '--', name]);
    },
    async logs(name, lines) {
      assertUnitName(name);
      const count = Math.max(1, Math.min(1000, Math.trunc(lines)));
      let result: CommandResult;
      try {
        result = await run([journalctlBin, '-u', name, '-n', String(count), '--no-pager', '-o', 'cat', '-q']);
      } catch (error) {
        throw new GitfleetError('SYSTEMD_FAILED', `cannot run journalctl -u ${name}: ${(error as Error).message}`, { cause: error });
      }
      if (result.code !== 0) throw new GitfleetError('SYSTEMD_FAILED', `journalctl -u ${name} failed (exit ${result.code}): ${firstLines(result.stderr) || '(no message)'}`);
      return result.stdout.split('\n').filter((l) => l !== '').slice(-count);
    },
    start: verb(['start']),
    async stop(name) {
      assertUnitName(name);
      if (isTemplateName(name)) return; // nothing runs under a template's own name
      await systemctl(['stop', '--', name], true);
    },
    restart: verb(['restart']),
    resetFailed: verb(['reset-failed'], true),
  };
}
