// The host policy (docs/policy.md): its format, how repo policies narrow it,
// and the check of a desired state against it. Pure, shared by the agent
// (admission) and the CLI (`gitfleet validate --policy`, `gitfleet policy show`).
export type { Policy, PolicyRule } from './schema.ts';
export { PolicySchema, policyRules, sizeBytes } from './schema.ts';
export type { Narrowed, Widening } from './narrow.ts';
export { narrowPolicy, intersectDirs, dirCovers } from './narrow.ts';
export type { Violation } from './evaluate.ts';
export { evaluatePolicy, formatViolation, imageRepository } from './evaluate.ts';
export { globMatch, globCovers } from './glob.ts';
