// Why a unit or container failed, told in its status so nobody needs SSH: the
// last lines of its journal or log (bounded, control characters removed:
// shared/log-lines.ts), and how its last main process ended (exit code or
// signal). Only for resources that are failing (Failed, or Degraded), and at
// most MAX_DIAGNOSED per report: reading logs costs a journalctl or an engine
// call each. A log that cannot be read is left out; it never fails a report.
import { messageOf } from '../../shared/errors.ts';
import { boundLogLines, LOG_LIMITS } from '../../shared/log-lines.ts';
import { parseResourceId } from '../../shared/resources.ts';
import type { ResourceStatus } from '../../shared/status.ts';
import { signalName } from '../drivers/signal-names.ts';
import type { Drivers } from '../drivers/types.ts';
import type { LiveState } from './model.ts';

export const MAX_DIAGNOSED = 20;

const failing = (s: ResourceStatus): boolean => s.sync === 'Failed' || s.health === 'Degraded';

async function readLogs(read: () => Promise<string[]>): Promise<string[] | undefined> {
  try {
    const lines = boundLogLines(await read());
    return lines.length > 0 ? lines : undefined;
  } catch (error) {
    return [`(log not readable: ${messageOf(error)})`].map((l) => boundLogLines([l])[0]!);
  }
}

export async function diagnose(statuses: ResourceStatus[], live: LiveState, drivers: Drivers): Promise<ResourceStatus[]> {
  const chosen = new Set(statuses.filter(failing).slice(0, MAX_DIAGNOSED).map((s) => s.id));
  return Promise.all(
    statuses.map(async (s): Promise<ResourceStatus> => {
      if (!chosen.has(s.id)) return s;
      const { kind, name } = parseResourceId(s.id);
      if (kind === 'unit') {
        const unit = live.units.get(name);
        const logs = await readLogs(() => drivers.units.logs(name, LOG_LIMITS.lines));
        return {
          ...s,
          ...(logs ? { logs } : {}),
          ...(typeof unit?.exitCode === 'number' ? { exitCode: unit.exitCode } : {}),
          ...(unit?.signal ? { signal: unit.signal } : {}),
        };
      }
      if (kind === 'container') {
        const container = live.containers.get(name);
        const logsOf = drivers.containers.logs?.bind(drivers.containers);
        const logs = container && logsOf ? await readLogs(() => logsOf(container.id, LOG_LIMITS.lines)) : undefined;
        const exited = container && (container.state === 'exited' || container.state === 'dead') && container.exitCode !== null;
        // The engine reports a container killed by signal N as exit code 128+N.
        const signal = exited && container.exitCode! > 128 && container.exitCode! < 128 + 65 ? signalName(container.exitCode! - 128) : undefined;
        return { ...s, ...(logs ? { logs } : {}), ...(exited ? { exitCode: container.exitCode! } : {}), ...(signal ? { signal } : {}) };
      }
      return s;
    }),
  );
}
