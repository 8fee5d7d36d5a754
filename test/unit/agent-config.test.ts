import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig, intervalMs } from '../../agent/config/agent-config.ts';
import { isGitfleetError } from '../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'gf-config-'));
function file(text: string): string {
  const p = join(dir, `${Math.random()}.yaml`);
  writeFileSync(p, text);
  return p;
}

function fails(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isGitfleetError(e, 'CONFIG_INVALID') && pattern.test(e.message));
}

test('config: defaults fill every optional key', () => {
  const c = loadAgentConfig({ file: file('repo: /srv/fleet\nhost: web-01\n'), env: {} });
  assert.equal(c.ref, 'main');
  assert.equal(c.path, '.');
  assert.equal(c.stateDir, '/var/lib/gitfleet');
  assert.deepEqual(c.files.allow, ['/etc', '/srv', '/opt']);
  assert.equal(intervalMs(c.interval), 60_000);
});

test('config: a GITFLEET_ variable overrides the file', () => {
  const c = loadAgentConfig({ file: file('repo: /srv/fleet\nhost: web-01\nref: main\n'), env: { GITFLEET_REF: 'v2', GITFLEET_FILES_ALLOW: '/srv, /opt/app', GITFLEET_GIT_TOKEN_FILE: '/etc/t' } });
  assert.equal(c.ref, 'v2');
  assert.deepEqual(c.files.allow, ['/srv', '/opt/app']);
  assert.equal(c.git.tokenFile, '/etc/t');
});

test('config: a missing required key is named', () => fails(() => loadAgentConfig({ file: file('host: a\n'), env: {} }), /"repo" is required/));
test('config: an unknown key is named', () => fails(() => loadAgentConfig({ file: file('repo: x\nhost: a\nintervall: 5s\n'), env: {} }), /unknown config key "intervall"/));
test('config: a wrong value is named', () => fails(() => loadAgentConfig({ file: file('repo: x\nhost: a\ninterval: soon\n'), env: {} }), /"interval"/));
test('config: a relative path is refused', () => fails(() => loadAgentConfig({ file: file('repo: x\nhost: a\ngit: { tokenFile: token }\n'), env: {} }), /"git.tokenFile" must be an absolute path/));
test('config: invalid YAML is one clear line', () => fails(() => loadAgentConfig({ file: file('repo: [\n'), env: {} }), /not valid YAML/));
test('config: a missing file is an error', () => fails(() => loadAgentConfig({ file: join(dir, 'nope.yaml'), env: {} }), /cannot read config file/));
test('config: token and tokenFile are exclusive', () => fails(() => loadAgentConfig({ file: file('repo: x\nhost: a\ntoken: t\ntokenFile: /t\n'), env: {} }), /exclusive/));
