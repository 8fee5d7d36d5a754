// Bundles the CLI (agent, hub and tools) with esbuild: dist/gitfleet.mjs and the
// chunks it loads per command. Native or optional modules stay external and are
// loaded from node_modules.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isBuiltin } from 'node:module';
import { buildWeb } from '../hub/web/build-web.mjs';

// dockerode loads gRPC and protobuf for BuildKit sessions and builds, and
// docker-modem loads ssh2 (with a 16 MiB WebAssembly heap) for ssh:// engines;
// gitfleet uses neither (it talks to the local socket), and together they cost
// ~20 MiB of the agent's resident memory. The bundle gets stubs that say so if
// they are ever called.
const withoutUnusedDockerTransports = {
  name: 'without-unused-docker-transports',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) => (args.importer.includes('/dockerode/lib/') ? { path: args.path.slice(2), namespace: 'gitfleet-stub' } : undefined));
    b.onResolve({ filter: /^\.\/ssh$/ }, (args) => (args.importer.includes('/docker-modem/lib/') ? { path: 'ssh', namespace: 'gitfleet-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-stub' }, (args) => ({
      contents: `module.exports = function unavailable() { throw new Error('${args.path === 'ssh' ? 'ssh:// Docker engines are' : 'BuildKit sessions and builds are'} not available in the gitfleet bundle'); };`,
      loader: 'js',
    }));
  },
};

// Code the bundle never runs, replaced so that no command loads it: dockerode's
// build-context helpers (tar-fs, tar-stream, bl and @balena/dockerignore, for
// docker build, which gitfleet does not do) and pino's worker-thread transports
// (thread-stream; gitfleet logs to a file descriptor). docker-modem's hijacked
// streams get Node's own stream module instead of the readable-stream copy of
// it. ~170 KB of source the idle agent kept in memory (docs/edge.md, "Footprint").
const withoutUnusedLibraryCode = {
  name: 'without-unused-library-code',
  setup(b) {
    const stubs = [
      { request: /^(tar-fs|@balena\/dockerignore)$/, importer: '/dockerode/lib/', what: 'building images (docker build) is' },
      { request: /^\.\/(lib\/)?transport$/, importer: '/pino/', what: 'pino transports are' },
    ];
    b.onResolve({ filter: /^(tar-fs|@balena\/dockerignore|\.\/(lib\/)?transport)$/ }, (args) => {
      const stub = stubs.find((s) => s.request.test(args.path) && args.importer.includes(s.importer));
      return stub ? { path: args.path, namespace: 'gitfleet-unused', pluginData: stub.what } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-unused' }, (args) => ({
      // Called or used as a namespace (tar.pack(…)), it says why it is missing.
      contents: `const unavailable = () => { throw new Error('${args.pluginData} not available in the gitfleet bundle'); };
module.exports = new Proxy(unavailable, { get: (target, key) => (typeof key === 'string' ? unavailable : target[key]) });`,
      loader: 'js',
    }));
    // Node modules the libraries load at start for what gitfleet rarely or never does: TLS for
    // https:// Docker engines and wss:// hubs (docker-modem, ws), zlib for compressed WebSocket
    // frames and build contexts (ws, dockerode), assert for closing a log stream (sonic-boom).
    // Each is loaded at its first use instead. pino only asks whether it runs in a worker thread:
    // gitfleet never runs it in one.
    const lazyBuiltins = [
      { importer: '/docker-modem/lib/http.js', module: 'https' },
      { importer: '/ws/lib/websocket.js', module: 'https' },
      { importer: '/ws/lib/websocket.js', module: 'tls' },
      { importer: '/ws/lib/permessage-deflate.js', module: 'zlib' },
      { importer: '/dockerode/lib/util.js', module: 'zlib' },
      { importer: '/sonic-boom/index.js', module: 'assert' },
    ];
    b.onResolve({ filter: /^(https|tls|zlib|assert)$/ }, (args) => {
      const lazy = lazyBuiltins.find((l) => l.module === args.path && args.importer.endsWith(l.importer));
      return lazy ? { path: lazy.module, namespace: 'gitfleet-lazy-builtin' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-lazy-builtin' }, (args) => ({
      contents: `let loaded;
const load = () => (loaded ??= require('node:${args.path}'));
module.exports = new Proxy(function lazyBuiltin() {}, {
  get: (_target, key) => load()[key],
  has: (_target, key) => key in load(),
  apply: (_target, self, callArgs) => Reflect.apply(load(), self, callArgs),
});`,
      loader: 'js',
    }));
    // debug (docker-modem's) and supports-color only ask node:tty whether stdout or stderr is a
    // terminal, at start. A daemon's are a socket or a file, and node:tty would load its stream
    // classes for that "no": only a character device is asked node:tty (repo/cli/terminal.ts).
    b.onResolve({ filter: /^tty$/ }, (args) => (/[\\/](debug[\\/]src|supports-color)[\\/]/.test(args.importer) ? { path: 'tty', namespace: 'gitfleet-terminal-check' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-terminal-check' }, () => ({
      contents: `const { fstatSync } = require('node:fs');
exports.isatty = (fd) => {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return require('node:tty').isatty(fd);
};`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^worker_threads$/ }, (args) => (args.importer.endsWith('/pino/lib/tools.js') ? { path: 'worker_threads', namespace: 'gitfleet-main-thread' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-main-thread' }, () => ({ contents: 'module.exports = { isMainThread: true };', loader: 'js' }));
    b.onResolve({ filter: /^readable-stream$/ }, (args) => (args.importer.includes('/docker-modem/lib/') ? { path: 'gitfleet-node-stream', namespace: 'gitfleet-node-stream' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-node-stream' }, () => ({ contents: "module.exports = require('node:stream');", loader: 'js' }));
  },
};

// gitfleet's own modules (and node-cron) import Node's built-in modules as ES
// modules; in the bundle they are required instead. An ES module import of a built-in makes
// Node build its ES module facade, which reads every export — and a few are
// lazy getters that load whole subsystems: importing anything from node:crypto
// loaded the Web Crypto API, node:fs the promises API. Required, a built-in's
// exports are read where they are used.
const builtinsRequired = {
  name: 'builtins-required',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      args.kind === 'import-statement' && args.namespace === 'file' && isBuiltin(args.path) ? { path: args.path, namespace: 'gitfleet-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-builtin' }, (args) => {
      const required = `require(${JSON.stringify(args.path)})`;
      return {
        // esbuild's interop gives each importing module its own copy of a
        // CommonJS module's exports, one getter per export (node:fs's ~100,
        // copied into 29 modules). An empty object whose prototype is the
        // built-in reads the same and is copied for free. A function (events)
        // is passed as it is, and so is node:process, whose properties are
        // written (exitCode): a write to the copy would not reach it.
        contents: args.path.replace(/^node:/, '') === 'process' ? `module.exports = ${required};` : `const m = ${required};\nmodule.exports = typeof m === 'function' ? m : Object.create(m);`,
        loader: 'js',
      };
    });
  },
};

// zod re-exports parts gitfleet never calls through namespaces (z, z.core); a
// namespace used as a value cannot be tree-shaken, so each was bundled and run
// at start by every command: its ~40 translations of error messages (300 KB of
// the agent's code; gitfleet only uses the English messages, which zod loads by
// itself), the schema compiler `z.compile` and `z.fromJSONSchema`. Each cut
// must still match, so a zod update that moves them fails the build here.
const zodCuts = [
  { file: /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/, cut: /^export \* as locales from "\.\.\/locales\/index\.js";$/m, what: 'locales' },
  { file: /[\\/]zod[\\/]v4[\\/]core[\\/]index\.js$/, cut: /^export \* from "\.\/compile\.js";$/m, what: 'compile' },
  { file: /[\\/]zod[\\/]v4[\\/]classic[\\/]external\.js$/, cut: / INVALID, (toZod,) compile, withParser, ZodCompileAsyncError, ZodCompileUnsupportedError,/, keep: ' $1', what: 'compile' },
  { file: /[\\/]zod[\\/]v4[\\/]classic[\\/]external\.js$/, cut: /^export \{ fromJSONSchema \} from "\.\/from-json-schema\.js";$/m, what: 'fromJSONSchema' },
];
const withoutUnusedZod = {
  name: 'without-unused-zod',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/ }, async (args) => {
      let source = await readFile(args.path, 'utf8');
      for (const { file, cut, keep, what } of zodCuts.filter((c) => c.file.test(args.path))) {
        const stripped = source.replace(cut, keep ?? '');
        if (stripped === source) throw new Error(`${args.path}: zod no longer exports ${what} this way; update scripts/build.mjs`);
        source = stripped;
      }
      return { contents: source, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

// better-sqlite3 (native) stays outside the bundle (pg is plain JavaScript and
// bundled; only its optional native binding stays out), but an ESM `import` of
// an external is hoisted to the top of the bundle and loaded by every command —
// the agent would load the hub's database drivers at start. A CommonJS shim
// turns each into a require() that runs only when the hub's store module does.
const lazyExternals = {
  name: 'lazy-externals',
  setup(b) {
    b.onResolve({ filter: /^(better-sqlite3)$/ }, (args) => (args.namespace === 'lazy-external' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-external' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-external' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

// docker-modem formats every request's options with util.inspect (showHidden,
// unlimited depth) for a debug line that is off unless DEBUG=modem is set: the
// formatting ran on every Docker API call, a few ms of an idle agent's CPU
// each time (docs/edge.md, "Footprint"). Now it runs only when the line prints.
const dockerModemDebugOnDemand = {
  name: 'docker-modem-debug-on-demand',
  setup(b) {
    b.onLoad({ filter: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const lazy = source.replace("debug('Sending: %s', util.inspect(options, {", "debug.enabled && debug('Sending: %s', util.inspect(options, {");
      if (lazy === source) throw new Error(`${args.path}: docker-modem no longer formats its debug line this way; update scripts/build.mjs`);
      return { contents: lazy, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

mkdirSync('dist', { recursive: true });
const started = Date.now();
// Split at the CLI's lazy command imports: `gitfleet agent` loads its own code
// (dist/gitfleet.mjs and the gitfleet-*.mjs chunks it imports), not the hub's
// server, database drivers and web code — one file of everything cost the idle
// agent ~18 MiB of resident memory (docs/edge.md, "Footprint"). Chunks sit
// beside the entry so code that finds files from import.meta.dirname (the hub's
// web root) still finds them.
const result = await build({
  entryPoints: { gitfleet: 'cli/main.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'gitfleet-[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  metafile: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'none',
  // Minified: the agent parses the whole bundle at start, and a smaller source is a smaller resident heap.
  minify: true,
  external: ['better-sqlite3', 'pg-native', 'cpu-features', 'ssh2', 'playwright-core'],
  // Bundled CommonJS dependencies call require(); give ESM output a real one.
  banner: { js: "import { createRequire as __gfCreateRequire } from 'node:module'; const require = __gfCreateRequire(import.meta.url);" },
  plugins: [withoutUnusedDockerTransports, withoutUnusedLibraryCode, withoutUnusedZod, dockerModemDebugOnDemand, lazyExternals, builtinsRequired],
  logLevel: 'warning',
});
// Chunks of earlier builds (their names carry a content hash) would pile up and
// be installed; one written after this build started belongs to a concurrent build.
const outputs = new Set(Object.keys(result.metafile.outputs).map((p) => basename(p)));
for (const name of readdirSync('dist')) {
  if (!/^gitfleet-.+\.mjs(\.map)?$/.test(name) || outputs.has(name)) continue;
  if (statSync(`dist/${name}`).mtimeMs < started) rmSync(`dist/${name}`, { force: true });
}
process.stdout.write(`built dist/gitfleet.mjs and ${[...outputs].filter((n) => n.endsWith('.mjs')).length - 1} chunks in ${Date.now() - started} ms\n`);

// The hub's web view (hub/web/dist), served by the hub at `/`.
const webStarted = Date.now();
const web = await buildWeb();
process.stdout.write(`built hub/web/dist (app.js ${Math.round(web.jsBytes / 1024)} KiB) in ${Date.now() - webStarted} ms\n`);
