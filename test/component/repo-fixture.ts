// Temporary fleet trees for the repo/tree tests: a map of path → content,
// written to a fresh directory that the test removes afterwards.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ValidationIssue } from '../../repo/tree/index.ts';
import { TreeInvalidError } from '../../repo/tree/index.ts';

export function makeTree(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'gitfleet-tree-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeTree(root, files);
  return root;
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    if (path.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

/** The issues of a rejected promise that must be a TreeInvalidError. */
export async function issuesOf(promise: Promise<unknown>): Promise<ValidationIssue[]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TreeInvalidError) return error.issues;
    throw error;
  }
  throw new Error('expected a TreeInvalidError, but the tree loaded');
}

/** `file:line:column CODE` of each issue, for compact assertions. */
export function brief(issues: ValidationIssue[]): string[] {
  return issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.code}`);
}
