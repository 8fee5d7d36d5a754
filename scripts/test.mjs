// Runs every test layer with node's test runner (its summary is what CI reads).
// Layers: unit → component → contract → security → integration → e2e. `--layers a,b` picks some.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const all = ['unit', 'component', 'contract', 'security', 'integration', 'e2e'];
const arg = process.argv.indexOf('--layers');
const layers = arg > 0 ? process.argv[arg + 1].split(',') : all;

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = layers.flatMap((layer) => find(join('test', layer)));
if (files.length === 0) {
  console.error(`no test files found in layers ${layers.join(', ')}`);
  process.exit(1);
}
const extra = process.env.GITFLEET_TEST_ARGS ? process.env.GITFLEET_TEST_ARGS.split(' ') : [];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
