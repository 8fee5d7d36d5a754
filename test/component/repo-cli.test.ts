// `gitfleet validate` and `gitfleet render` as a user runs them: output
// format, --json, exit codes. Every command starts at once (each is a Node
// process) and the tests then check their results.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeTree } from './repo-fixture.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const example = resolve(repoRoot, 'examples/fleet');
const broken = mkdtempSync(join(tmpdir(), 'gitfleet-cli-'));
writeTree(broken, {
  'a/h1/host.yaml': 'tags: [gpux]\n',
  'tags/gpu/g.yaml': 'containers:\n  cuda:\n    imagee: x\n',
  'a/r.yaml': 'files:\n  etc/x: {content: "${nope}"}\n',
});
after(() => rmSync(broken, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function gitfleet(args: string[], cwd = repoRoot): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts'), ...args], { cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const commands = {
  validateBroken: [['validate', broken]],
  validateBrokenJson: [['validate', '--json', broken]],
  validateExampleCwd: [['validate'], example],
  validateExampleJson: [['validate', '--json', example]],
  validateMissing: [['validate', '/nonexistent/fleet']],
  validateBadOption: [['validate', '--nope']],
  renderWeb02: [['render', '--host', 'web-02', example]],
  renderKiosk: [['render', '--json', '--host', 'kiosk-7', '--place', 'prod/kiosks', example]],
  renderUnknown: [['render', '--host', 'web-03', example]],
  renderNoHost: [['render', example]],
  renderInvalid: [['render', '--host', 'h1', broken]],
} satisfies Record<string, [string[]] | [string[], string]>;
const results = {} as Record<keyof typeof commands, Result>;

before(async () => {
  await Promise.all(
    Object.entries(commands).map(async ([name, [args, cwd]]: [string, [string[], string?]]) => {
      results[name as keyof typeof commands] = await gitfleet(args, cwd);
    }),
  );
});

test('validate prints every error as file:line:column  CODE  message, a summary, and exits 1', () => {
  const r = results.validateBroken;
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, -1).map((l) => l.split('  ').slice(0, 2).join('  ')), [
    'a/h1/host.yaml:1:8  UNKNOWN_TAG',
    'a/r.yaml:2:3  INVALID_PATH',
    'tags/gpu/g.yaml:2:3  MISSING_KEY',
    'tags/gpu/g.yaml:3:5  UNKNOWN_KEY',
  ]);
  assert.match(lines[3]!, /unknown key "imagee" in container "cuda" — did you mean "image"\?$/);
  assert.match(lines.at(-1)!, /^4 error\(s\) in 3 file\(s\) \(1 host\(s\), 2 tag\(s\)/);
});

test('validate --json prints an array of {file, line, column, code, message}', () => {
  const r = results.validateBrokenJson;
  assert.equal(r.code, 1);
  const issues = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.equal(issues.length, 4);
  for (const i of issues) assert.deepEqual(Object.keys(i), ['file', 'line', 'column', 'code', 'message']);
  assert.deepEqual(issues[0], { file: 'a/h1/host.yaml', line: 1, column: 8, code: 'UNKNOWN_TAG', message: issues[0]!.message });
});

test('validate exits 0 on the example fleet; DIR defaults to the current directory', () => {
  const r = results.validateExampleCwd;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok: no errors \(5 host\(s\), 6 tag\(s\), 1 place-only group\(s\) checked\)\n$/);
  const j = results.validateExampleJson;
  assert.deepEqual([j.code, JSON.parse(j.stdout)], [0, []]);
});

test('validate: a missing directory or a wrong option is a usage error (exit 2)', () => {
  assert.equal(results.validateMissing.code, 2);
  assert.match(results.validateMissing.stderr, /not a directory/);
  assert.equal(results.validateBadOption.code, 2);
});

test('render shows tags, variables with their source, and each resource with file:line', () => {
  const r = results.renderWeb02;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^host {8}web-02$/m);
  assert.match(r.stdout, /^tags {8}prod, prod\/eu$/m);
  assert.match(r.stdout, /^ {2}web_port += +"8082" +prod\/eu\/web-02\/host\.yaml:2$/m);
  assert.match(r.stdout, /^ {2}host += +"web-02" +built-in$/m);
  assert.match(r.stdout, /^ {2}container\/web +drift: correct +from prod\/eu\/web-02\/web\.yaml:3$/m);
  assert.match(r.stdout, /^ {8}- "8082"$/m);
});

test('render --json prints the desired state; --place renders a place-only host', () => {
  const r = results.renderKiosk;
  assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse(r.stdout) as { host: string; place: string; tags: string[]; resources: { id: string; spec: { hostname?: string } }[] };
  assert.deepEqual([state.host, state.place, state.tags], ['kiosk-7', 'prod/kiosks', ['prod', 'prod/kiosks']]);
  assert.equal(state.resources.find((x) => x.id === 'container/kiosk-ui')?.spec.hostname, 'kiosk-7');
});

test('render: an unknown host exits 1 naming the nearest ids; no --host exits 2; an invalid tree exits 1 with its errors', () => {
  const unknown = results.renderUnknown;
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no host directory named "web-03".*nearest: web-01, web-02.*\[UNKNOWN_HOST\]/);
  assert.equal(results.renderNoHost.code, 2);
  assert.match(results.renderNoHost.stderr, /--host is required/);
  const invalid = results.renderInvalid;
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /^a\/h1\/host\.yaml:1:8 {2}UNKNOWN_TAG/m);
  // The entry with an invalid path is not substituted, so its ${nope} adds no second error.
  assert.match(invalid.stderr, /the tree is invalid for host h1: 2 error\(s\)/);
});
