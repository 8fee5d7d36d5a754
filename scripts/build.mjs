// Bundles the CLI (agent, hub and tools in one file) with esbuild. Native or
// optional modules stay external and are loaded from node_modules.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { buildWeb } from '../hub/web/build-web.mjs';

// dockerode loads gRPC and protobuf at start-up for BuildKit sessions, and
// docker-modem loads ssh2 (with a 16 MiB WebAssembly heap) for ssh:// engines;
// gitfleet uses neither (it talks to the local socket), and together they cost
// ~20 MiB of the agent's resident memory. The bundle gets stubs that say so if
// they are ever called.
const withoutUnusedDockerTransports = {
  name: 'without-unused-docker-transports',
  setup(b) {
    b.onResolve({ filter: /^\.\/session$/ }, (args) => (args.importer.includes('/dockerode/lib/') ? { path: 'session', namespace: 'gitfleet-stub' } : undefined));
    b.onResolve({ filter: /^\.\/ssh$/ }, (args) => (args.importer.includes('/docker-modem/lib/') ? { path: 'ssh', namespace: 'gitfleet-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'gitfleet-stub' }, (args) => ({
      contents: `module.exports = function unavailable() { throw new Error('${args.path === 'ssh' ? 'ssh:// Docker engines are' : 'BuildKit sessions are'} not available in the gitfleet bundle'); };`,
      loader: 'js',
    }));
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

mkdirSync('dist', { recursive: true });
const started = Date.now();
await build({
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/gitfleet.mjs',
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
  plugins: [withoutUnusedDockerTransports, lazyExternals],
  logLevel: 'warning',
});
process.stdout.write(`built dist/gitfleet.mjs in ${Date.now() - started} ms\n`);

// The hub's web view (hub/web/dist), served by the hub at `/`.
const webStarted = Date.now();
const web = await buildWeb();
process.stdout.write(`built hub/web/dist (app.js ${Math.round(web.jsBytes / 1024)} KiB) in ${Date.now() - webStarted} ms\n`);
