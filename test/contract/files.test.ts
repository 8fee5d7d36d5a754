// One behaviour suite for the FileDriver interface, run against the in-memory
// twin always and against the real driver on a booted systemd host's
// filesystem (its own /etc/passwd, its own root), so confinement and
// attributes are checked where they matter. In CI a host that cannot boot
// fails the suite.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isGitfleetError, type ErrorCode } from '../../shared/errors.ts';
import type { FileDriver, LiveFile } from '../../agent/drivers/types.ts';
import { MemoryFileDriver } from '../../agent/drivers/memory/files.ts';
import { createFsFileDriver } from '../../agent/drivers/files/fs-file-driver.ts';
import { requireComponent } from '../harness/require.ts';
import { bootHost, systemdHostsAvailable, type SystemdHost } from '../harness/nspawn.ts';

interface FilesTarget {
  driver: FileDriver;
  /** A fresh directory under the allow list for this test. */
  base: string;
  /** An operator's changes on the host; paths are host paths. */
  hand: {
    write(path: string, content: string): void;
    chmod(path: string, mode: number): void;
    symlink(path: string, target: string): void;
    exists(path: string): boolean;
    /** Mode of a directory the driver created (octal string). */
    dirMode(path: string): string;
    list(dir: string): string[];
  };
}

const ALLOW = ['/srv', '/etc/gf-contract'];
let counter = 0;

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, mentions?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isGitfleetError(error, code), `expected ${code}, got ${String(error)}`);
    if (mentions) assert.ok(error.message.includes(mentions), `message "${error.message}" should name ${mentions}`);
    return true;
  });
}

/** The observed files without the numeric ids (the names are what these tests set). */
function byName(files: LiveFile[]): Omit<LiveFile, 'uid' | 'gid'>[] {
  return files.map(({ uid: _uid, gid: _gid, ...named }) => named);
}

function filesContract(label: string, target: (t: TestContext) => Promise<FilesTarget | null>): void {
  describe(`FileDriver contract: ${label}`, () => {
    test('write creates parents (0755), applies mode, owner and group; observe round-trips', async (t) => {
      const x = await target(t);
      if (!x) return;
      const path = `${x.base}/deep/er/app.toml`;
      await x.driver.write(path, { content: 'port = 8080\nname = "ü"\n', mode: '0640', owner: 'www-data', group: 'adm' });
      assert.deepEqual(byName(await x.driver.observe([path])), [
        { path, exists: true, content: 'port = 8080\nname = "ü"\n', mode: '0640', owner: 'www-data', group: 'adm' },
      ]);
      assert.equal(x.hand.dirMode(`${x.base}/deep`), '0755');
      assert.equal(x.hand.dirMode(`${x.base}/deep/er`), '0755');
      assert.deepEqual(x.hand.list(`${x.base}/deep/er`), ['app.toml'], 'no temp file left behind');
    });

    test('defaults: a new file is 0644 root:root; a rewrite without attributes keeps the existing ones', async (t) => {
      const x = await target(t);
      if (!x) return;
      const path = `${x.base}/plain.txt`;
      await x.driver.write(path, { content: '' });
      assert.deepEqual(byName(await x.driver.observe([path])), [{ path, exists: true, content: '', mode: '0644', owner: 'root', group: 'root' }]);
      await x.driver.write(path, { content: 'a', mode: '600', owner: 'daemon', group: 'daemon' });
      await x.driver.write(path, { content: 'b' });
      assert.deepEqual(byName(await x.driver.observe([path])), [{ path, exists: true, content: 'b', mode: '0600', owner: 'daemon', group: 'daemon' }]);
    });

    test('an edit and a chmod by hand are observed; setAttributes fixes mode without rewriting', async (t) => {
      const x = await target(t);
      if (!x) return;
      const path = `${x.base}/conf`;
      await x.driver.write(path, { content: 'declared\n', mode: '0640' });
      x.hand.chmod(path, 0o666);
      x.hand.write(path, 'edited by hand\n');
      let [live] = await x.driver.observe([path]);
      assert.deepEqual([live?.content, live?.mode], ['edited by hand\n', '0666']);
      await x.driver.setAttributes(path, { content: 'declared\n', mode: '0640', owner: 'bin' });
      [live] = await x.driver.observe([path]);
      assert.deepEqual([live?.content, live?.mode, live?.owner], ['edited by hand\n', '0640', 'bin']);
      // By id (a container secret's uid): the file is owned by that id, whatever the host calls it.
      await x.driver.setAttributes(path, { content: 'declared\n', owner: '4242', group: '0' });
      [live] = await x.driver.observe([path]);
      assert.deepEqual([live?.owner, live?.uid, live?.group, live?.gid], ['4242', 4242, 'root', 0]);
      await rejectsWith(x.driver.setAttributes(`${x.base}/missing`, { content: '', mode: '0600' }), 'FILE_FAILED', `${x.base}/missing`);
    });

    test('observe of a missing file, or one under a missing directory, says exists: false', async (t) => {
      const x = await target(t);
      if (!x) return;
      const none = { exists: false, content: null, mode: null, owner: null, group: null };
      assert.deepEqual(byName(await x.driver.observe([`${x.base}/nope`, `${x.base}/no/dir/file`])), [
        { path: `${x.base}/nope`, ...none },
        { path: `${x.base}/no/dir/file`, ...none },
      ]);
    });

    test('a symlink planted anywhere in the path is refused, and nothing lands behind it', async (t) => {
      const x = await target(t);
      if (!x) return;
      x.hand.symlink(`${x.base}/link`, '/root');
      await rejectsWith(x.driver.write(`${x.base}/link/planted`, { content: 'x' }), 'UNSAFE_PATH', `${x.base}/link`);
      await rejectsWith(x.driver.write(`${x.base}/link/sub/planted`, { content: 'x' }), 'UNSAFE_PATH', `${x.base}/link`);
      await rejectsWith(x.driver.observe([`${x.base}/link/planted`]), 'UNSAFE_PATH');
      assert.equal(x.hand.exists('/root/planted'), false);
      assert.equal(x.hand.exists('/root/sub'), false);
      // The file itself as a symlink (to a file outside the allow list).
      x.hand.symlink(`${x.base}/target.conf`, '/etc/hostname-not-ours');
      await rejectsWith(x.driver.write(`${x.base}/target.conf`, { content: 'x' }), 'UNSAFE_PATH', `${x.base}/target.conf`);
      await rejectsWith(x.driver.setAttributes(`${x.base}/target.conf`, { content: 'x', mode: '0777' }), 'UNSAFE_PATH');
      await rejectsWith(x.driver.observe([`${x.base}/target.conf`]), 'UNSAFE_PATH');
      assert.equal(x.hand.exists('/etc/hostname-not-ours'), false);
      // A regular file where a directory should be.
      x.hand.write(`${x.base}/afile`, 'x');
      await rejectsWith(x.driver.write(`${x.base}/afile/below`, { content: 'x' }), 'UNSAFE_PATH', `${x.base}/afile`);
    });

    test('paths outside the allow list are refused (PATH_NOT_ALLOWED), prefix tricks too', async (t) => {
      const x = await target(t);
      if (!x) return;
      for (const path of ['/root/x', '/srvx/y', '/etc/passwd', '/etc/gf-contractX/a', '/srv']) {
        await rejectsWith(x.driver.write(path, { content: 'x' }), 'PATH_NOT_ALLOWED', path);
        await rejectsWith(x.driver.observe([path]), 'PATH_NOT_ALLOWED');
        await rejectsWith(x.driver.remove(path), 'PATH_NOT_ALLOWED');
      }
      assert.equal(x.hand.exists('/srvx/y'), false);
    });

    test('relative, "..", "." and unnormalized paths are refused (INVALID_PATH)', async (t) => {
      const x = await target(t);
      if (!x) return;
      for (const path of ['srv/x', `${x.base}/../../etc/passwd`, `${x.base}/./a`, `${x.base}//a`, `${x.base}/a/`, '', '/', `${x.base}/a\0b`]) {
        await rejectsWith(x.driver.write(path, { content: 'x' }), 'INVALID_PATH');
        await rejectsWith(x.driver.observe([path]), 'INVALID_PATH');
        await rejectsWith(x.driver.setAttributes(path, { content: 'x' }), 'INVALID_PATH');
      }
    });

    test('an unknown owner or group, or a bad mode, fails clearly and writes nothing', async (t) => {
      const x = await target(t);
      if (!x) return;
      const path = `${x.base}/owned`;
      await rejectsWith(x.driver.write(path, { content: 'x', owner: 'no-such-user-gf' }), 'FILE_FAILED', 'no-such-user-gf');
      await rejectsWith(x.driver.write(path, { content: 'x', group: 'no-such-group-gf' }), 'FILE_FAILED', 'no-such-group-gf');
      await rejectsWith(x.driver.write(path, { content: 'x', mode: '0999' }), 'INVALID_VALUE', '0999');
      assert.equal(x.hand.exists(path), false);
      assert.equal(x.hand.exists(x.base), false, 'not even the parent directory');
    });

    test('remove deletes the file; removing it again is fine', async (t) => {
      const x = await target(t);
      if (!x) return;
      const path = `${x.base}/gone`;
      await x.driver.write(path, { content: 'x' });
      await x.driver.remove(path);
      assert.equal((await x.driver.observe([path]))[0]?.exists, false);
      assert.equal(x.hand.exists(path), false);
      await x.driver.remove(path);
      await x.driver.remove(`${x.base}/never/existed`);
    });
  });
}

// ------------------------------------------------------------ the twin

filesContract('in-memory', async () => {
  const driver = new MemoryFileDriver({ allow: ALLOW });
  return {
    driver,
    base: `/srv/gf-contract-${++counter}`,
    hand: {
      write: (p, c) => driver.hand.write(p, c),
      chmod: (p, m) => driver.hand.chmod(p, m),
      symlink: (p, to) => driver.hand.symlink(p, to),
      exists: (p) => driver.hand.exists(p),
      dirMode: (p) => driver.hand.dirMode(p),
      list: (d) => driver.hand.list(d),
    },
  };
});

// ------------------------------------------------------------ the real driver on a host's root

let host: Promise<SystemdHost> | null = null;
after(async () => {
  if (host) await (await host).poweroff();
});

filesContract('filesystem of a booted host', async (t) => {
  if (!requireComponent(t, 'a systemd host (systemd-nspawn)', systemdHostsAvailable())) return null;
  host ??= bootHost(`gf-files-${process.pid}`, { bindProject: false, bindDocker: false });
  const h = await host;
  const at = (p: string) => join(h.rootDir, p);
  return {
    driver: createFsFileDriver({ rootDir: h.rootDir, allow: ALLOW }),
    base: `/srv/gf-contract-${++counter}`,
    hand: {
      write: (p, c) => {
        mkdirSync(dirname(at(p)), { recursive: true });
        writeFileSync(at(p), c);
      },
      chmod: (p, m) => chmodSync(at(p), m),
      symlink: (p, to) => {
        mkdirSync(dirname(at(p)), { recursive: true });
        rmSync(at(p), { force: true });
        symlinkSync(to, at(p));
      },
      exists: (p) => existsSync(at(p)) || (() => { try { lstatSync(at(p)); return true; } catch { return false; } })(),
      dirMode: (p) => (lstatSync(at(p)).mode & 0o7777).toString(8).padStart(4, '0'),
      list: (d) => readdirSync(at(d)).sort(),
    },
  };
});
