// The fleet repository model: the one entry point the agent, the hub and the
// CLI use to read a fleet tree. See docs/fleet-repo.md for the rules.
export type { ValidationIssue, Position } from './issues.ts';
export { TreeInvalidError, formatIssue } from './issues.ts';
export type { DeclaredHost, TreeSummary } from './validate.ts';
export { validateTree } from './validate.ts';
export type { LoadOptions, HostExplanation } from './load.ts';
export { loadDesiredState, explainDesiredState } from './load.ts';
export type { VarView, Removal } from './evaluate.ts';
export { MAX_FILE_BYTES } from './tree-fs.ts';
export { MAX_ALIAS_COUNT } from './yaml-source.ts';
