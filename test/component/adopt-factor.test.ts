// gitfleet adopt --factor: resources declared the same way by every host under
// a tag directory move into that directory's layer, and every host renders
// exactly as before (checked with repo/tree rendering, not by the command's
// word); a resource a layer in between also declares stays where it is.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { renderedHosts } from '../../cli/adopt/factor-command.ts';
import { planFactor } from '../../cli/adopt/factor.ts';
import { validateTree } from '../../repo/tree/index.ts';
import { gitfleet } from '../helpers/gitfleet-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'gitfleet-factor-'));
after(() => rmSync(work, { recursive: true, force: true }));

const motd = () => `files:\n  /etc/motd:\n    content: "welcome to \${host}\\n"\n    mode: "0644"\n`;
const ntp = 'units:\n  ntp-sync.service:\n    content: |\n      [Service]\n      ExecStart=/bin/sleep infinity\n    enabled: true\n';
const web = (port: number) => `containers:\n  web:\n    image: local/busybox:1\n    command: ["httpd", "-f", "-p", "${port}"]\n`;
const exporter = 'containers:\n  node-exporter:\n    image: local/busybox:1\n    command: ["sleep", "1d"]\n';

function fleet(): string {
  const root = mkdtempSync(join(work, 'fleet-'));
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  for (const [dir, port] of [['prod/eu/web-01', 80], ['prod/eu/web-02', 80], ['prod/us/web-03', 8080]] as const) {
    const host = dir.split('/').pop()!;
    put(`${dir}/host.yaml`, host === 'web-02' ? 'tags: [monitoring]\n' : '');
    put(`${dir}/files.yaml`, motd());
    put(`${dir}/units.yaml`, ntp);
    put(`${dir}/containers.yaml`, `${web(port)}  node-exporter:\n    image: local/busybox:1\n    command: ["sleep", "1d"]\n`);
  }
  // A cross-cutting tag of web-02 declares node-exporter its own way: moving it above would make that one win.
  put('tags/monitoring/exporter.yaml', exporter.replace('1d', '2d'));
  return root;
}

test('the plan moves what every host under a tag shares, shallowest first, and nothing a layer in between shadows', async () => {
  const root = fleet();
  const { hosts, issues } = await validateTree(root);
  assert.deepEqual(issues, []);
  const moves = planFactor(root, hosts);
  assert.deepEqual(
    moves.map((m) => [m.resource, `${m.to}/${m.file}`, m.from.length]),
    [
      ['file//etc/motd', 'prod/files.yaml', 3],
      ['unit/ntp-sync.service', 'prod/units.yaml', 3],
      // Same on the two eu hosts, but web-02's cross-cutting tag declares it too: not moved.
      // container/web differs between eu (80) and us (8080): it moves only within eu.
      ['container/web', 'prod/eu/containers.yaml', 2],
    ],
  );
});

test('--factor prints the plan and changes nothing; --write applies it and every host renders as before', async () => {
  const root = fleet();
  const { hosts } = await validateTree(root);
  const before = await renderedHosts(root, hosts);
  const plan = await gitfleet(['adopt', '--factor', root]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /^move file\/\/etc\/motd → prod\/files\.yaml {2}\(from 3 hosts: /m);
  assert.match(plan.stdout, /^3 resource\(s\) to move$/m);
  assert.match(plan.stdout, /\(plan only: --write applies it\)/);
  assert.equal(existsSync(join(root, 'prod/files.yaml')), false);

  const write = await gitfleet(['adopt', '--factor', root, '--write']);
  assert.equal(write.code, 0, write.stderr);
  assert.match(write.stdout, /applied: 3 resource\(s\) moved; every host renders as before/);
  assert.equal(existsSync(join(root, 'prod/eu/web-01/files.yaml')), false, 'a host file emptied by the move is removed');
  assert.equal(existsSync(join(root, 'prod/eu/web-01/units.yaml')), false);
  assert.match(readFileSync(join(root, 'prod/eu/web-01/containers.yaml'), 'utf8'), /node-exporter/);
  assert.doesNotMatch(readFileSync(join(root, 'prod/eu/web-01/containers.yaml'), 'utf8'), /^ {2}web:/m);
  assert.match(readFileSync(join(root, 'prod/files.yaml'), 'utf8'), /welcome to \$\{host\}/);

  assert.equal((await gitfleet(['validate', root])).code, 0);
  const after = await renderedHosts(root, hosts);
  for (const h of hosts) assert.equal(after.get(h.id), before.get(h.id), `${h.id} renders as before`);
  // Where a resource comes from did change: web-01's motd now comes from prod/.
  const again = await gitfleet(['adopt', '--factor', root, '--json']);
  assert.deepEqual(JSON.parse(again.stdout), { moves: [], written: false, renderChanged: [] });
});

test('--factor refuses a tree with errors', async () => {
  const root = fleet();
  writeFileSync(join(root, 'prod/eu/web-01/broken.yaml'), 'containers: [\n');
  const r = await gitfleet(['adopt', '--factor', root, '--write']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the tree has \d+ error\(s\); fix them first/);
});
