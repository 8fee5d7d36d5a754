// Shared by the footprint benchmarks: a process's resident memory from /proc.
import { readFileSync } from 'node:fs';

/** RSS, the process's own CPU, and the CPU of the children it waited for (git, systemctl). */
export function procStats(pid: number): { rssKiB: number; cpuTicks: number; childTicks: number } {
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rssKiB, cpuTicks: Number(fields[11]) + Number(fields[12]), childTicks: Number(fields[13]) + Number(fields[14]) };
}

/**
 * Resident memory by kind of mapping, from /proc/PID/smaps (KiB). Node's own
 * code is the `node` program file of a static build, or `libnode.so` of a
 * distribution's shared build (Debian's), which keeps OpenSSL and ICU in
 * separate shared libraries.
 */
export function residentByKind(pid: number): Record<string, number> {
  const kinds: Record<string, number> = { 'node program file': 0, 'anonymous (V8 heap, malloc, stacks)': 0, 'shared libraries': 0, other: 0 };
  let kind = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const path = mapping[1]!;
      kind = /\/node$|\/libnode\.so[.\d]*$/.test(path)
        ? 'node program file'
        : path === '' || path.startsWith('[heap]') || path.startsWith('[stack')
          ? 'anonymous (V8 heap, malloc, stacks)'
          : /\.so[.\d]*$/.test(path)
            ? 'shared libraries'
            : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kinds[kind]! += Number(rss[1]);
  }
  return kinds;
}
