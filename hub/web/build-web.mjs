// Bundles the web view into hub/web/dist (app.js, app.css, index.html), which
// the hub serves at `/`. Called by scripts/build.mjs, so `npm ci` (prepare)
// builds it on a fresh clone. Everything the page needs is in dist: the page
// loads nothing from the network at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;

export async function buildWeb({ outDir = join(here, 'dist'), minify = true } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify,
    // No source map: it would publish the sources to anyone who can reach the hub (the hub refuses *.map too).
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(here, 'app.css'), join(outDir, 'app.css'));
  const bytes = Object.entries(result.metafile.outputs).find(([f]) => f.endsWith('app.js'))?.[1].bytes ?? 0;
  return { outDir, jsBytes: bytes };
}
