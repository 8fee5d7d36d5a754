// The Git source: the one place that talks to the fleet repository's remote.
export { GitSource, normalizeFleetPath, type GitSourceOptions } from './git-source.ts';
export type { GitCredentials, GitVerify, GitSourceConfig, Snapshot } from './types.ts';
export { redactUrl, parseRemote, type Remote, type RemoteKind } from './remote-url.ts';
export { backoffDelay, type BackoffOptions } from '../../shared/backoff.ts';
export { classifyGitFailure } from './classify-failure.ts';
