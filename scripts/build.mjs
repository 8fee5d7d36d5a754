// Bundles the CLI (agent, hub and tools) with esbuild: dist/gitfleet.mjs and the
// chunks it loads per command. Native or optional modules stay external and are
// loaded from node_modules.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
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

// zod re-exports its ~40 translations of error messages as namespaces (z.locales,
// z.core.locales); a namespace used as a value cannot be tree-shaken, so every
// one was bundled and run at start (300 KB of the agent's code). gitfleet only
// uses the English messages, which zod loads by itself.
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const stripped = source.replace(/^export \* as locales from "\.\.\/(\.\.\/)?locales\/index\.js";$/m, '');
      if (stripped === source) throw new Error(`${args.path}: zod no longer re-exports its locales this way; update scripts/build.mjs`);
      return { contents: stripped, loader: 'js', resolveDir: dirname(args.path) };
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
  plugins: [withoutUnusedDockerTransports, withoutZodLocales, lazyExternals],
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
