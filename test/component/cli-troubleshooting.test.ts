// Issue 21, item 6: docs/troubleshooting.md has an entry for every error code
// of the registry, and no entry for a code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCodes } from '../../shared/errors.ts';
import { repoRoot } from '../helpers/gitfleet-cli.ts';

const page = readFileSync(join(repoRoot, 'docs/troubleshooting.md'), 'utf8');
const entries = [...page.matchAll(/^### ([A-Z_]+)$/gm)].map((m) => m[1]!);

test('every error code has an entry with its retry behaviour and a fix', () => {
  const missing = Object.keys(errorCodes).filter((code) => !entries.includes(code));
  assert.deepEqual(missing, [], `docs/troubleshooting.md lacks ${missing.join(', ')}`);
  for (const [code, { retryable }] of Object.entries(errorCodes)) {
    const body = page.split(`### ${code}\n`)[1]!.split('\n### ')[0]!.split('\n## ')[0]!;
    assert.match(body, retryable ? /^Retried\./ : /^Not retried/, `${code}: says whether it is retried, as the registry does`);
  }
});

test('no entry for a code that is not in the registry', () => {
  assert.deepEqual(entries.filter((e) => !(e in errorCodes)), []);
});
