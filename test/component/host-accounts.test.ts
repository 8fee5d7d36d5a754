// The file driver reads owner and group names from the host's account files on
// every pass, but re-reads a file only when its stat changed: a user added
// between passes (a package install, useradd rewriting the file, or an edit in
// place with the same size) must still be seen at the next pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAccounts } from '../../agent/drivers/files/host-accounts.ts';

test('account names follow every change of /etc/passwd and /etc/group between reads', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gf-accounts-'));
  try {
    mkdirSync(join(root, 'etc'));
    const passwd = join(root, 'etc/passwd');
    const group = join(root, 'etc/group');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(group, 'root:x:0:\n');

    let db = await readAccounts(root);
    assert.equal(db.uidOf('root'), 0);
    assert.equal(db.uidOf('app'), undefined);
    assert.equal(db.userName(1001), '1001');
    db = await readAccounts(root);
    assert.equal(db.uidOf('app'), undefined, 'unchanged files read the same');

    // useradd's way: a new file renamed over the old one.
    writeFileSync(`${passwd}+`, 'root:x:0:0:root:/root:/bin/sh\napp:x:1001:1001::/srv/app:/bin/false\n');
    renameSync(`${passwd}+`, passwd);
    writeFileSync(group, 'root:x:0:\napp:x:1001:\n');
    db = await readAccounts(root);
    assert.equal(db.uidOf('app'), 1001, 'a user added by replacing the file');
    assert.equal(db.gidOf('app'), 1001, 'a group added by rewriting the file in place');
    assert.equal(db.userName(1001), 'app');

    // An edit in place that keeps the size: only the times tell.
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nweb:x:1001:1001::/srv/app:/bin/false\n');
    db = await readAccounts(root);
    assert.equal(db.uidOf('web'), 1001, 'a same-size edit in place');
    assert.equal(db.uidOf('app'), undefined);

    // A file that goes away reads as empty; one that comes back is read again.
    rmSync(group);
    db = await readAccounts(root);
    assert.equal(db.gidOf('app'), undefined);
    writeFileSync(group, 'root:x:0:\napp:x:1001:\n');
    assert.equal((await readAccounts(root)).gidOf('app'), 1001);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
