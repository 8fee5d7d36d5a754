// A real Prometheus server (Debian's prometheus package) for the tests: its
// own config and data directory, on a free loopback port, scraping the
// targets it is given every second; promtool's lint for exposition text.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './git-servers.ts';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** null when prometheus and promtool are installed, else why not (for requireComponent). */
export function prometheusMissing(): string | null {
  const r = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${PROMTOOL} not found (Debian package prometheus)`;
  const p = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
  return p.error || p.status !== 0 ? `${PROMETHEUS} not found (Debian package prometheus)` : null;
}

/** `promtool check metrics` on exposition text: exit code and its complaints (exit 0 and no output when clean). */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

export interface ScrapeTarget {
  job: string;
  /** host:port */
  address: string;
  bearerToken?: string;
}

export interface PrometheusServer {
  url: string;
  /** An instant query's vector: labels and value of each series. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: readonly ScrapeTarget[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-prometheus-'));
  const port = await freePort();
  const jobs = targets.map((t) => {
    const lines = [`  - job_name: ${JSON.stringify(t.job)}`, '    scrape_interval: 1s', '    scrape_timeout: 900ms', `    static_configs: [{ targets: [${JSON.stringify(t.address)}] }]`];
    if (t.bearerToken !== undefined) {
      writeFileSync(join(dir, `${t.job}.token`), t.bearerToken, { mode: 0o600 });
      lines.push(`    authorization: { credentials_file: ${JSON.stringify(join(dir, `${t.job}.token`))} }`);
    }
    return lines.join('\n');
  });
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs.join('\n')}\n`);
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error ?? res.status}`);
      return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
