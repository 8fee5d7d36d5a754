// The host facts the agent reports, read from this machine: they fit the
// protocol's schema and say what the os module, os-release and the mount
// table say (the values a reader of the hub's host page checks by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem, uptime } from 'node:os';
import { collectFacts } from '../../agent/facts.ts';
import { HostFacts } from '../../shared/protocol.ts';

test('facts fit the protocol schema and match the os module', async () => {
  const facts = await collectFacts(3000);
  HostFacts.parse(facts);
  assert.equal(facts.os.platform, 'linux');
  assert.equal(facts.kernel, release());
  assert.equal(facts.arch, arch());
  assert.equal(facts.cpu.cores, cpus().length);
  assert.equal(facts.memory.totalBytes, totalmem());
  assert.ok(Math.abs(facts.uptimeSeconds! - uptime()) < 10, `uptime ${facts.uptimeSeconds} vs ${uptime()}`);
});

test('the distribution comes from os-release', async () => {
  const text = readFileSync('/etc/os-release', 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.replace(/^"(.*)"$/, '$1') ?? null;
  const facts = await collectFacts(3000);
  assert.equal(facts.os.distro, value('NAME'));
  assert.equal(facts.os.release, value('VERSION_ID'));
});

test('disks: block devices once each, with used ≤ size', async () => {
  const facts = await collectFacts(3000);
  const devices = facts.disks.map((d) => d.fs);
  assert.equal(new Set(devices).size, devices.length, `a device listed twice: ${devices.join(', ')}`);
  for (const d of facts.disks) {
    assert.match(d.fs, /^\/dev\//);
    assert.ok(d.usedBytes <= d.sizeBytes, JSON.stringify(d));
  }
  const root = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[1] === '/');
  if (root?.[0]?.startsWith('/dev/') && root[2] !== 'overlay' && root[2] !== 'squashfs') {
    assert.ok(facts.disks.some((d) => d.fs === root[0]), `the root device ${root[0]} is missing from ${devices.join(', ')}`);
  }
});
