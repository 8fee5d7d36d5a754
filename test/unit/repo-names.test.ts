// Name rules for host ids and tags, Docker container names, systemd unit
// names and file resource paths, as tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerNameProblem, filePathProblem, hostNameProblem, unitNameProblem } from '../../shared/resources.ts';

const ok = (check: (s: string) => string | null, names: string[]) => {
  for (const n of names) assert.equal(check(n), null, `${JSON.stringify(n)} should be accepted`);
};
const bad = (check: (s: string) => string | null, names: string[]) => {
  for (const n of names) assert.notEqual(check(n), null, `${JSON.stringify(n)} should be refused`);
};

test('host ids and tag names are lowercase hostnames', () => {
  ok(hostNameProblem, ['web-01', 'a', 'db1.eu.example.com', '0x', 'x'.repeat(63), ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.')]);
  bad(hostNameProblem, ['', 'Web-01', 'web_01', 'a/b', '..', 'a..b', '.a', 'a.', '-a', 'a-', 'a b', 'é', 'x'.repeat(64), 'a'.repeat(254)]);
  assert.match(hostNameProblem('a/b')!, /'\/'/);
  assert.match(hostNameProblem('a..b')!, /'\.\.'/);
});

test('container names follow Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+', () => {
  ok(containerNameProblem, ['web', 'Web_1.a-b', 'a1']);
  bad(containerNameProblem, ['a', '-web', '_web', 'we b', 'web/x', '', 'a'.repeat(256)]);
});

test('unit names are NAME.TYPE or NAME@INSTANCE.TYPE of a type the agent can write', () => {
  ok(unitNameProblem, ['hello.service', 'getty@tty1.service', 'foo@.service', 'a.b-c:d_e.timer', 'srv-data.mount', 'x\\x2dy.service', 'app.socket', 'app.slice']);
  bad(unitNameProblem, ['hello', 'hello.scope', 'hello.device', '.service', 'a/b.service', 'a b.service', '../x.service', 'a'.repeat(250) + '.service']);
});

test('file paths are absolute and normalized', () => {
  ok(filePathProblem, ['/etc/x', '/srv/a b/c.conf', '/etc/.hidden', '/etc/x..y']);
  bad(filePathProblem, ['etc/x', './x', '/', '/etc/../x', '/etc/./x', '/etc//x', '/etc/x/', '/..', '/a\0b', '']);
});
