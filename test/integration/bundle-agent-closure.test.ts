// The built bundle loads per command (scripts/build.mjs splits it): what
// `gitfleet agent` loads at start — its chunk and every chunk that chunk
// imports statically — must not carry the hub's server, its database drivers,
// the SOPS/age code or a host-facts library. Each of those once cost the idle
// agent megabytes of resident memory (docs/edge.md, "Footprint").
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const dist = join(root, 'dist');

before(() => {
  if (!existsSync(join(dist, 'gitfleet.mjs'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root });
});

/** The chunk files a module imports statically (`import … from "./x.mjs"`, `import "./x.mjs"`), not `import("./x.mjs")`. */
function staticImports(source: string): string[] {
  return [...source.matchAll(/(?:^|[;\n}])\s*import\s*(?:[^"'()]*?from\s*)?["']\.\/(gitfleet-[^"']+\.mjs)["']/g)].map((m) => m[1]!);
}

function closure(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    const source = readFileSync(join(dist, name), 'utf8');
    seen.set(name, source);
    queue.push(...staticImports(source));
  }
  return seen;
}

test('the agent command loads none of the hub, SQLite, PostgreSQL, SOPS/age or systeminformation code', () => {
  const entry = readdirSync(dist).find((n) => /^gitfleet-agent-command-.+\.mjs$/.test(n));
  assert.ok(entry, 'no agent-command chunk in dist/: the bundle is not split per command');
  const loaded = closure(entry);
  assert.ok(loaded.size > 1, 'the agent chunk imports no chunk: the import scan is broken');
  const text = [...loaded.values()].join('\n');
  // Strings each of those libraries carries in its code (error codes, module names).
  const markers: [string, RegExp][] = [
    ['fastify (the hub server)', /FST_ERR_/],
    ['better-sqlite3', /better-sqlite3/],
    ['pg (PostgreSQL client)', /pg-native|SCRAM-SHA-256-PLUS/],
    ['age-encryption', /age-encryption\.org\/v1/],
    ['systeminformation', /systeminformation/],
  ];
  for (const [what, marker] of markers) assert.doesNotMatch(text, marker, `${what} is in what the agent loads at start (${[...loaded.keys()].join(', ')})`);
  // The markers are real: the whole bundle does carry each of them.
  const all = readdirSync(dist).filter((n) => n.endsWith('.mjs')).map((n) => readFileSync(join(dist, n), 'utf8')).join('\n');
  for (const [what, marker] of markers.filter(([w]) => w !== 'systeminformation')) assert.match(all, marker, `${what}'s marker is not in the bundle at all`);
});

test('the bundle carries no tar-stream, thread-stream or readable-stream code, and loads TLS, zlib and assert lazily for the libraries that asked for them at start', () => {
  const all = readdirSync(dist).filter((n) => n.endsWith('.mjs')).map((n) => readFileSync(join(dist, n), 'utf8')).join('\n');
  // Strings each library's own code carries; checked against node_modules so the markers are real.
  const gone: [string, string, string][] = [
    ['tar-stream', 'node_modules/tar-stream/headers.js', 'ustar'],
    ['thread-stream', 'node_modules/pino/lib/transport.js', 'thread-stream'],
    ['readable-stream', 'node_modules/readable-stream/lib/_stream_readable.js', 'ReadableState'],
  ];
  for (const [what, file, marker] of gone) {
    assert.ok(readFileSync(join(root, file), 'utf8').includes(marker), `${what}: the marker ${marker} is not in ${file}`);
    assert.ok(!all.includes(marker), `${what} (${marker}) is in the bundle`);
  }
  // Loading what the agent loads at start (its chunks, and the one with the hub link's WebSocket
  // client) must not load these modules of Node's: each is loaded at its first use, if ever.
  const agentChunk = readdirSync(dist).find((n) => /^gitfleet-agent-command-.+\.mjs$/.test(n))!;
  const wsChunk = readdirSync(dist).find((n) => n.endsWith('.mjs') && readFileSync(join(dist, n), 'utf8').includes('permessage-deflate'));
  assert.ok(wsChunk, 'no chunk carries the WebSocket client (ws)');
  const script = `Promise.all([import(${JSON.stringify(join(dist, agentChunk))}), import(${JSON.stringify(join(dist, wsChunk))})]).then(() => process.stdout.write(process.moduleLoadList.join('\\n')))`;
  // stdio piped: debug and supports-color ask at start whether stdout and stderr are terminals, and node:tty must not be loaded for the "no".
  const loaded = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n');
  assert.ok(loaded.includes('NativeModule child_process') && loaded.includes('NativeModule http'), 'the chunks did not load: the module list is not the agent\'s');
  for (const module of ['https', 'tls', 'zlib', 'assert', 'worker_threads', 'internal/crypto/webcrypto', 'tty', 'perf_hooks']) {
    assert.ok(!loaded.includes(`NativeModule ${module}`), `loading the agent loads node:${module}`);
  }
});

test("docker-modem's per-request debug formatting (util.inspect of the options) runs only when its debug line is on", () => {
  const original = readFileSync(join(root, 'node_modules/docker-modem/lib/modem.js'), 'utf8');
  assert.match(original, /^\s*debug\('Sending: %s', util\.inspect\(options, \{/m, 'docker-modem formats its debug line unconditionally (the marker is real)');
  const modemChunks = readdirSync(dist).filter((n) => n.endsWith('.mjs') && readFileSync(join(dist, n), 'utf8').includes('"Sending: %s"'));
  assert.equal(modemChunks.length, 1, 'exactly one chunk carries docker-modem');
  const text = readFileSync(join(dist, modemChunks[0]!), 'utf8');
  const calls = [...text.matchAll(/([\w$]+)\.enabled&&\1\("Sending: %s"/g)];
  assert.equal(calls.length, 1, 'the "Sending" debug call is guarded by its debug instance being enabled');
  assert.equal(text.split('"Sending: %s"').length - 1, 1, 'and there is no other, unguarded one');
});

test("Node's built-in modules are shared, not copied getter by getter into each module of the agent that imports them", () => {
  // esbuild's CommonJS interop gave every importing module its own copy of a
  // built-in's exports, one getter closure per export: 29 copies of node:fs's
  // ~100 exports alone, about 0.5 MiB of the idle agent's heap. The build's
  // shim makes each copy an empty object whose prototype is the module.
  const agentChunk = readdirSync(dist).find((n) => /^gitfleet-agent-command-.+\.mjs$/.test(n))!;
  const script = `
    import { Session } from 'node:inspector/promises';
    await import(${JSON.stringify(join(dist, agentChunk))});
    const session = new Session();
    session.connect();
    let text = '';
    session.on('HeapProfiler.addHeapSnapshotChunk', (m) => { text += m.params.chunk; });
    await session.post('HeapProfiler.takeHeapSnapshot');
    const snapshot = JSON.parse(text);
    const fields = snapshot.snapshot.meta.edge_fields;
    const nameAt = fields.indexOf('name_or_index');
    const typeAt = fields.indexOf('type');
    const property = snapshot.snapshot.meta.edge_types[0].indexOf('property');
    const counts = {};
    for (let e = 0; e < snapshot.edges.length; e += fields.length) {
      if (snapshot.edges[e + typeAt] !== property) continue;
      const name = snapshot.strings[snapshot.edges[e + nameAt]];
      if (name === 'get readFileSync' || name === 'readFileSync' || name === 'get spawn' || name === 'spawn') counts[name] = (counts[name] ?? 0) + 1;
    }
    process.stdout.write(JSON.stringify(counts));
  `;
  const counts = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Record<string, number>;
  assert.ok((counts.readFileSync ?? 0) >= 1 && (counts.spawn ?? 0) >= 1, `node:fs and node:child_process are not in the snapshot at all: the count is not looking at them (${JSON.stringify(counts)})`);
  assert.ok((counts['get readFileSync'] ?? 0) <= 1, `${counts['get readFileSync']} copies of node:fs's exports as getters`);
  assert.ok((counts['get spawn'] ?? 0) <= 1, `${counts['get spawn']} copies of node:child_process's exports as getters`);
});
