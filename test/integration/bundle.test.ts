// The bundle as users run it (dist/gitfleet.mjs from a checkout, as the demo
// does): the CLI answers, and the hub serves the web view as well as the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../harness/git-servers.ts';

const root = resolve(import.meta.dirname, '../..');
const bundle = join(root, 'dist', 'gitfleet.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gf-bundle-'));
let hub: ChildProcess | null = null;

before(() => {
  if (!existsSync(bundle) || !existsSync(join(root, 'hub', 'web', 'dist', 'index.html'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root });
});
after(() => {
  hub?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('the bundled CLI prints its help and exits 0', () => {
  const out = execFileSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
  assert.match(out, /gitfleet <command>/);
  assert.match(out, /validate/);
});

test('the bundled hub, run from the checkout, serves the web view and the API', async () => {
  const port = await freePort();
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, `listen: 127.0.0.1:${port}\ndataDir: ${join(dir, 'data')}\nenrollmentToken: enroll-0123456789abcdef\nadminToken: admin-0123456789abcdef\n`);
  hub = spawn(process.execPath, [bundle, 'hub', '--config', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  let page: Response | null = null;
  while (Date.now() < deadline) {
    page = await fetch(`${url}/`).catch(() => null);
    if (page) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(page, 'the hub answered');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /<script[^>]+src=/);
  const summary = await fetch(`${url}/api/v1/summary`, { headers: { authorization: 'Bearer admin-0123456789abcdef' } });
  assert.equal(summary.status, 200);
  assert.equal(((await summary.json()) as { total: number }).total, 0);
});
