#!/usr/bin/env node
// The installed entry point: runs the bundle built by `npm run build` (done by
// `npm ci` through the `prepare` script). Developers can run the sources with
// `node --import tsx agent/cli/main.ts` instead.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'gitfleet.mjs');
if (!existsSync(bundle)) {
  process.stderr.write(`gitfleet: ${bundle} is missing; run "npm run build" in ${root}\n`);
  process.exit(70);
}
await import(pathToFileURL(bundle).href);
