// Where a V8 CPU profile (node --cpu-prof) spent a time window: self time by
// script and by function, for the benchmarks that look for idle CPU.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const NOT_JAVASCRIPT = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/**
 * The window is `windowMs` long and ended `tailMs` before the profile did (the
 * process was stopped after it). Returns printable lines: the sampled busy
 * time, the top scripts and the top functions.
 */
export function cpuProfileSummary(file: string, windowMs: number, tailMs: number, top = 15): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const to = profile.endTime - tailMs * 1000;
  const from = to - windowMs * 1000;
  const byScript = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let at = profile.startTime;
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) continue;
    const frame = byId.get(profile.samples[i]!)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += delta;
    const script = frame.url ? frame.url.split('/').pop()! : frame.functionName || '(native)';
    byScript.set(script, (byScript.get(script) ?? 0) + delta);
    if (NOT_JAVASCRIPT.has(frame.functionName)) byFunction.set(frame.functionName, (byFunction.get(frame.functionName) ?? 0) + delta);
    else {
      const name = `${frame.functionName || '(anonymous)'} ${script}:${frame.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    }
  }
  const ms = (us: number) => `${(us / 1000).toFixed(1).padStart(7)} ms`;
  const ranked = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `    sampled busy time ${ms(busy).trim()} in ${(windowMs / 1000).toFixed(0)} s (${((busy / 1000 / windowMs) * 100).toFixed(3)} %)`,
    '    by script:',
    ...ranked(byScript).map(([k, v]) => `    ${ms(v)}  ${k}`),
    '    by function (self time):',
    ...ranked(byFunction).map(([k, v]) => `    ${ms(v)}  ${k}`),
  ];
}
