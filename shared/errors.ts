// One error class with a closed registry of codes. Every code says whether a
// retry can help: retryable errors back off, the others stall until the next
// revision. The cause is always kept.

export const errorCodes = {
  // fleet repository (validation)
  YAML_SYNTAX: { retryable: false, summary: 'a file is not valid YAML' },
  YAML_ALIAS_LIMIT: { retryable: false, summary: 'a YAML file expands too many aliases' },
  FILE_TOO_LARGE: { retryable: false, summary: 'a file in the fleet tree is over the size limit' },
  SYMLINK_ESCAPE: { retryable: false, summary: 'a symlink points outside the repository' },
  UNKNOWN_KEY: { retryable: false, summary: 'a key that the schema does not know' },
  INVALID_VALUE: { retryable: false, summary: 'a value of the wrong type or form' },
  MISSING_KEY: { retryable: false, summary: 'a required key is missing' },
  INVALID_NAME: { retryable: false, summary: 'a host id, tag, unit or container name that is not allowed' },
  INVALID_PATH: { retryable: false, summary: 'a file resource path that is relative, not normalized or escapes' },
  DUPLICATE_HOST: { retryable: false, summary: 'two host directories with the same id' },
  DUPLICATE_RESOURCE: { retryable: false, summary: 'the same resource twice in one layer' },
  UNRESOLVED_VARIABLE: { retryable: false, summary: 'a ${var} that no layer defines' },
  EXPANSION_TOO_LARGE: { retryable: false, summary: 'a value grows over the size limit when ${var} references are substituted' },
  UNKNOWN_TAG: { retryable: false, summary: 'a cross-cutting tag with no directory under tags/' },
  UNKNOWN_HOST: { retryable: false, summary: 'no host directory for this id (and no place given)' },
  UNKNOWN_DEPENDENCY: { retryable: false, summary: 'depends_on or notify names a resource that is not declared' },
  DEPENDENCY_CYCLE: { retryable: false, summary: 'depends_on forms a cycle' },
  PATH_NOT_ALLOWED: { retryable: false, summary: 'a file resource outside the agent’s allowed directories' },
  LAYOUT_INVALID: { retryable: false, summary: 'a directory or host.yaml where the fleet layout does not allow one' },
  DUPLICATE_SETTING: { retryable: false, summary: 'the same variable or default set twice in one layer' },
  FILE_UNREADABLE: { retryable: false, summary: 'a file or directory in the fleet tree cannot be read' },
  UNKNOWN_PLACE: { retryable: false, summary: 'a place that is not a directory of the fleet tree' },
  COMPOSE_UNSUPPORTED: { retryable: false, summary: 'a Compose file uses a key gitfleet does not apply (build, develop, …); refused, never dropped (docs/compose.md)' },
  // configuration
  CONFIG_INVALID: { retryable: false, summary: 'a configuration key is missing or wrong' },
  // host policy (docs/policy.md)
  POLICY_VIOLATION: { retryable: false, summary: 'the revision declares something the host policy does not allow (refused as a whole)' },
  POLICY_WIDENED: { retryable: false, summary: 'a policy.yaml in the fleet repo tries to allow more than the policy above it' },
  POLICY_INVALID: { retryable: false, summary: 'a policy file (the host’s or a policy.yaml in the repo) is unreadable or not in the policy format' },
  // secrets (docs/secrets.md)
  SECRET_FORMAT: { retryable: false, summary: 'a *.sops.yaml file is not in the SOPS format gitfleet reads (structure, age recipients, rules)' },
  SECRET_NOT_RECIPIENT: { retryable: false, summary: 'this host’s age key is not a recipient of an encrypted file its layers need' },
  SECRET_TAMPERED: { retryable: false, summary: 'an encrypted file’s values do not authenticate (MAC mismatch): changed without its key' },
  SECRET_NO_KEY: { retryable: false, summary: 'the host’s layers hold encrypted files but no age identity is configured or readable (age.identityFile)' },
  // git source
  GIT_UNREACHABLE: { retryable: true, summary: 'the Git server cannot be reached' },
  GIT_AUTH: { retryable: true, summary: 'the Git server refused the credentials' },
  GIT_NOT_FOUND: { retryable: true, summary: 'the repository or ref does not exist' },
  GIT_CORRUPT: { retryable: true, summary: 'the local clone is corrupt (it is re-cloned)' },
  GIT_UNTRUSTED: { retryable: false, summary: 'the head commit is unsigned or not signed by a trusted key' },
  GIT_NOT_DESCENDANT: { retryable: false, summary: 'the new head does not descend from the applied revision' },
  GIT_FAILED: { retryable: true, summary: 'a Git command failed' },
  GIT_HOST_KEY: { retryable: false, summary: 'the SSH server’s host key is not the pinned one in knownHostsFile' },
  // engine and drivers
  DOCKER_UNAVAILABLE: { retryable: true, summary: 'the Docker daemon is not reachable' },
  DOCKER_FAILED: { retryable: true, summary: 'the Docker engine refused an operation' },
  IMAGE_NOT_FOUND: { retryable: true, summary: 'the image is neither local nor pullable' },
  NAME_CONFLICT: { retryable: false, summary: 'an unmanaged object already holds this name' },
  SYSTEMD_FAILED: { retryable: true, summary: 'a systemctl operation failed' },
  FILE_FAILED: { retryable: true, summary: 'a file could not be written or observed' },
  UNSAFE_PATH: { retryable: false, summary: 'a file path runs through a symlink or a non-directory on the host' },
  HEALTH_TIMEOUT: { retryable: false, summary: 'resources did not become healthy within the timeout' },
  EMPTY_STATE_REFUSED: { retryable: false, summary: 'the revision would remove every managed resource' },
  NOT_CONVERGED: { retryable: true, summary: 'the host did not converge within the pass limit' },
  STATE_WRITE_FAILED: { retryable: true, summary: 'a file in the agent’s state directory could not be written (full disk?); retried at the next save' },
  // hub and protocol
  PROTOCOL_INVALID: { retryable: false, summary: 'a message failed schema validation' },
  PROTOCOL_VERSION: { retryable: false, summary: 'agent and hub speak incompatible protocol versions' },
  AUTH_FAILED: { retryable: false, summary: 'a token was missing or wrong' },
  RATE_LIMITED: { retryable: true, summary: 'too many failed tokens from one address; wait for Retry-After' },
  HOST_CLAIMED: { retryable: false, summary: 'another credential already enrolled this host id' },
  SESSION_REPLACED: { retryable: true, summary: 'a newer connection with the same host credential replaced this one' },
  WEBHOOK_INVALID: { retryable: false, summary: 'a webhook request had a wrong signature or an unreadable body' },
  WEBHOOK_REPLAYED: { retryable: false, summary: 'a webhook delivery the hub has already received (same delivery id or signed body)' },
  HUB_UNREACHABLE: { retryable: true, summary: 'the hub cannot be reached' },
  STREAM_LIMIT: { retryable: true, summary: 'the hub already serves its maximum number of live-update streams; retry later' },
  ROLLOUT_HELD: { retryable: true, summary: 'a staged rollout has released no revision to this host yet; it waits for its wave (docs/rollouts.md)' },
  INTERNAL: { retryable: false, summary: 'an unexpected internal error' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof errorCodes;

export class GitfleetError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GitfleetError';
    this.code = code;
    this.retryable = errorCodes[code].retryable;
  }
}

export function isGitfleetError(value: unknown, code?: ErrorCode): value is GitfleetError {
  return value instanceof GitfleetError && (code === undefined || value.code === code);
}

/** The message of anything thrown, for reports; never a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
