// CPU time of processes from /proc, for benchmarks on a machine shared with
// other work: statuses per CPU-second does not change with the load average
// the way statuses per wall-second does.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** utime + stime of one process in ms (with `reaped`, also of its children that ended), or 0 when it is gone. */
export function processCpuMs(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The PostgreSQL server listening on `port` and all its processes (backends, WAL writer, checkpointer…). */
export function postgresPids(port: number): number[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parentOf = new Map<number, number>();
  let postmaster = 0;
  for (const pid of all) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('/postgres') && argv.some((a, i) => (a === '-p' && argv[i + 1] === String(port)) || a === `-p ${port}` || a.includes(`-p ${port} `))) postmaster = pid;
    } catch {
      // The process ended while being read.
    }
  }
  if (postmaster === 0) throw new Error(`no PostgreSQL server on port ${port} among this machine's processes`);
  return [postmaster, ...[...parentOf].filter(([, parent]) => parent === postmaster).map(([pid]) => pid)];
}

/** CPU ms used so far by the server on `port`: its processes, and the backends that ended (the postmaster reaped them). */
export function postgresCpuMs(port: number): number {
  const [postmaster, ...children] = postgresPids(port);
  return children.reduce((sum, pid) => sum + processCpuMs(pid), processCpuMs(postmaster!, true));
}

/** This process's CPU ms so far (user + system). */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
