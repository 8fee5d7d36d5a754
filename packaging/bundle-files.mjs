#!/usr/bin/env node
// Lists (or copies) the files of an installed gitfleet: the esbuild bundle (the
// entry and its per-command chunks), the web view's assets when built, and the
// closure of the modules the bundle keeps external that an installed gitfleet
// actually loads (better-sqlite3 for the hub's store). cpu-features, ssh2 and
// playwright-core stay out: the released configuration never loads them. Source
// maps stay out too: node reads them only with --enable-source-maps, and they
// were two thirds of the installed size (docs/edge.md, "Footprint").
//   node packaging/bundle-files.mjs [ROOT]             prints paths relative to ROOT
//   node packaging/bundle-files.mjs ROOT --copy DEST   copies them to DEST (layout: DEST/gitfleet.mjs, DEST/node_modules/…)
// install.sh, the .deb and the hub image all install exactly this list.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// ssh2 is not among them: the build replaces docker-modem's ssh:// transport
// with a stub (scripts/build.mjs), so nothing requires it.
const runtimeModules = ['better-sqlite3'];
// Build leftovers of native modules: sources, objects, test binaries.
const skipDirs = new Set(['deps', 'src', 'obj', 'obj.target', '.deps', 'test', 'tests', 'docs', 'benchmark', '.github', 'examples', 'util']);
const skipFiles = new Set(['binding.gyp', 'sqlite3.a', 'test_extension.node']);

// Of a native module's build/ directory only the compiled addon is needed.
const isBuildLeftover = (path) => /\/node_modules\/.+\/build\//.test(path) && !path.endsWith('.node');

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) walk(path, out);
    } else if (entry.isFile() && !skipFiles.has(entry.name) && !entry.name.endsWith('.md') && !isBuildLeftover(path)) {
      out.push(path);
    }
  }
  return out;
}

function moduleClosure(root, names) {
  const seen = new Set();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift();
    if (seen.has(name)) continue;
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) throw new Error(`${name} is not installed under ${root}/node_modules (run npm ci)`);
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    // prebuild-install only downloads binaries at npm install time.
    for (const dep of Object.keys(pkg.dependencies ?? {})) if (dep !== 'prebuild-install') queue.push(dep);
  }
  return [...seen].sort();
}

/** [source path relative to root, destination path relative to the install dir] */
export function bundleFiles(root) {
  const bundle = join(root, 'dist', 'gitfleet.mjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run "npm run build" first`);
  const pairs = [['dist/gitfleet.mjs', 'gitfleet.mjs']];
  // The chunks the entry imports per command (scripts/build.mjs removes stale ones).
  for (const name of readdirSync(join(root, 'dist')).sort()) {
    if (/^gitfleet-.+\.mjs$/.test(name)) pairs.push([`dist/${name}`, name]);
  }
  // The hub serves its web view from web/dist beside the bundle (hub/main.ts defaultWebRoot).
  const web = join(root, 'hub', 'web', 'dist');
  if (existsSync(web) && statSync(web).isDirectory()) {
    for (const f of walk(web, [])) pairs.push([relative(root, f), join('web', 'dist', relative(web, f))]);
  }
  for (const name of moduleClosure(root, runtimeModules)) {
    for (const f of walk(join(root, 'node_modules', name), [])) pairs.push([relative(root, f), relative(root, f)]);
  }
  return pairs;
}

const args = process.argv.slice(2);
const root = resolve(args[0] && !args[0].startsWith('--') ? args[0] : join(import.meta.dirname, '..'));
const copyTo = args.includes('--copy') ? args[args.indexOf('--copy') + 1] : undefined;
try {
  const pairs = bundleFiles(root);
  if (copyTo) {
    for (const [from, to] of pairs) {
      mkdirSync(dirname(join(copyTo, to)), { recursive: true });
      copyFileSync(join(root, from), join(copyTo, to));
    }
  } else {
    process.stdout.write(pairs.map(([from, to]) => `${from}\t${to}`).join('\n') + '\n');
  }
} catch (error) {
  process.stderr.write(`bundle-files: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
