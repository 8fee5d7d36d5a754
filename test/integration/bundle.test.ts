// The bundle as users run it (dist/gitfleet.mjs from a checkout, as the demo
// does): the CLI answers, and the hub serves the web view as well as the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../harness/git-servers.ts';
import { postgresMissing, startPostgres, type PostgresCluster } from '../harness/postgres.ts';
import { requireComponent } from '../harness/require.ts';

const root = resolve(import.meta.dirname, '../..');
const bundle = join(root, 'dist', 'gitfleet.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gf-bundle-'));
let hub: ChildProcess | null = null;
let pgHub: ChildProcess | null = null;
let cluster: PostgresCluster | null = null;

before(() => {
  if (!existsSync(bundle) || !existsSync(join(root, 'hub', 'web', 'dist', 'index.html'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root });
});
after(async () => {
  hub?.kill('SIGTERM');
  pgHub?.kill('SIGTERM');
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the bundled CLI prints its help and exits 0', () => {
  const out = execFileSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
  assert.match(out, /gitfleet <command>/);
  assert.match(out, /validate/);
});

async function startBundledHub(name: string, extra: string): Promise<{ child: ChildProcess; url: string; page: Response | null }> {
  const port = await freePort();
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, `listen: 127.0.0.1:${port}\ndataDir: ${join(dir, name)}\nenrollmentToken: enroll-0123456789abcdef\nadminToken: admin-0123456789abcdef\n${extra}`);
  const child = spawn(process.execPath, [bundle, 'hub', '--config', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  let page: Response | null = null;
  while (Date.now() < deadline && child.exitCode === null) {
    page = await fetch(`${url}/`).catch(() => null);
    if (page) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, page };
}

test('the bundled hub, run from the checkout, serves the web view and the API', async () => {
  const started = await startBundledHub('sqlite', '');
  hub = started.child;
  const { url, page } = started;
  assert.ok(page, 'the hub answered');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /<script[^>]+src=/);
  const summary = await fetch(`${url}/api/v1/summary`, { headers: { authorization: 'Bearer admin-0123456789abcdef' } });
  assert.equal(summary.status, 200);
  assert.equal(((await summary.json()) as { total: number }).total, 0);
});

test('the bundled hub runs on PostgreSQL (the driver is inside the bundle)', async (t) => {
  if (!requireComponent(t, 'PostgreSQL', postgresMissing())) return;
  cluster = await startPostgres();
  const database = await cluster.createDatabase();
  const started = await startBundledHub('pg', `database: "${database}"\n`);
  pgHub = started.child;
  assert.ok(started.page, `the hub answered (exit code ${started.child.exitCode})`);
  const summary = await fetch(`${started.url}/api/v1/summary`, { headers: { authorization: 'Bearer admin-0123456789abcdef' } });
  assert.equal(summary.status, 200);
});
