// Bundles the CLI (agent, hub and tools in one file) with esbuild. Native or
// optional modules stay external and are loaded from node_modules.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { buildWeb } from '../hub/web/build-web.mjs';

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
  external: ['better-sqlite3', 'pg', 'pg-native', 'cpu-features', 'ssh2', 'playwright-core'],
  // Bundled CommonJS dependencies call require(); give ESM output a real one.
  banner: { js: "import { createRequire as __gfCreateRequire } from 'node:module'; const require = __gfCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
process.stdout.write(`built dist/gitfleet.mjs in ${Date.now() - started} ms\n`);

// The hub's web view (hub/web/dist), served by the hub at `/`.
const webStarted = Date.now();
const web = await buildWeb();
process.stdout.write(`built hub/web/dist (app.js ${Math.round(web.jsBytes / 1024)} KiB) in ${Date.now() - webStarted} ms\n`);
