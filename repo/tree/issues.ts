// Validation issues: what `gitfleet validate` prints and what a refused
// revision carries. Every issue has a position so an editor can jump to it.
import type { ErrorCode } from '../../shared/errors.ts';
import { GitfleetError } from '../../shared/errors.ts';

export interface ValidationIssue {
  /** Relative to the fleet tree root; a directory ends with '/'. */
  file: string;
  /** 1-based; 1:1 when the issue concerns a whole file or directory. */
  line: number;
  column: number;
  code: ErrorCode;
  message: string;
}

export interface Position {
  line: number;
  column: number;
}

export const wholeFile: Position = { line: 1, column: 1 };

export function issue(file: string, at: Position, code: ErrorCode, message: string): ValidationIssue {
  return { file, line: at.line, column: at.column, code, message };
}

export function formatIssue(i: ValidationIssue): string {
  return `${i.file}:${i.line}:${i.column}  ${i.code}  ${i.message}`;
}

export function compareIssues(a: ValidationIssue, b: ValidationIssue): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** Sorted, exact duplicates removed (the same file can be reached twice). */
export function normalizeIssues(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  const out: ValidationIssue[] = [];
  for (const i of [...issues].sort(compareIssues)) {
    const key = formatIssue(i);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(i);
  }
  return out;
}

/** A revision whose tree does not validate; `issues` holds every error found. */
export class TreeInvalidError extends GitfleetError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    const first = issues[0];
    if (first === undefined) throw new Error('TreeInvalidError needs at least one issue');
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(first.code, `the fleet tree is invalid: ${formatIssue(first)}${more}`);
    this.name = 'TreeInvalidError';
    this.issues = issues;
  }
}
