// The Git source's configuration and results. The agent's and the hub's
// configuration loaders validate the YAML; these are the shapes they hand over.

/** Credentials for the fleet repository. Secrets are always read from files, never inlined. */
export interface GitCredentials {
  /** https: a token sent as the Basic-auth password (username: `username`, default `x-access-token`). */
  tokenFile?: string;
  /** https: the Basic-auth user (with passwordFile or tokenFile). */
  username?: string;
  /** https: the Basic-auth password. */
  passwordFile?: string;
  /** ssh: the deploy key (private key, no passphrase). */
  sshKeyFile?: string;
  /** ssh: the pinned known_hosts file; the only host keys accepted. */
  knownHostsFile?: string;
}

/** Commit signature verification: when set, only heads with a good, trusted signature are applied. */
export interface GitVerify {
  /** SSH signatures: an allowed_signers file (ssh-keygen(1) ALLOWED SIGNERS). */
  allowedSigners?: string;
  /** OpenPGP signatures: a keyring file (binary or armored); every key in it is trusted. */
  gpgKeyring?: string;
}

export interface GitSourceConfig {
  /** https://, http://, ssh://, scp-style user@host:path, git://, file:// or a local path. */
  repo: string;
  /** A branch, a tag, a full ref name (refs/heads/x) or a full commit id. */
  ref: string;
  /** The fleet tree inside the repository ('.' = the root). */
  path: string;
  git?: GitCredentials;
  verify?: GitVerify;
  /** Accept a head that does not descend from the last applied revision (force-push, rollback by reset). */
  allowNonDescendant?: boolean;
}

export interface Snapshot {
  /** The full commit id. */
  revision: string;
  /** Absolute path of the fleet tree inside the read-only snapshot of this revision. */
  treeDir: string;
  /** Committer date, ISO 8601. */
  committedAt: string;
  /** The commit's subject line. */
  subject: string;
}
