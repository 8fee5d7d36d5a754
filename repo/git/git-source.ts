// The fleet repository as seen by an agent or the hub: cheap polling, shallow
// fetches, signature and ancestry checks, one read-only snapshot per revision.
// Calls on one GitSource run one at a time; two sources must not share a
// cacheDir.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import { GitfleetError, isGitfleetError } from '../../shared/errors.ts';
import { descendsFrom, type AncestryOps } from './ancestry.ts';
import { remoteEnv, baseEnv, type ConfigEntries, type GitEnv } from './git-env.ts';
import { GitRunner } from './git-runner.ts';
import { gpgHomeFor } from './gpg-home.ts';
import { parseRef, resolveRef, type RefSpec } from './ref-spec.ts';
import { parseRemote, type Remote } from './remote-url.ts';
import { parseSignatureLine, requireTrusted } from './signature.ts';
import { needsGc, parseCountObjects, type MaintenancePolicy, type ObjectCounts } from './maintenance.ts';
import { SnapshotStore } from './snapshot-store.ts';
import { cloneFingerprint } from './clone-fingerprint.ts';
import type { GitSourceConfig, Snapshot } from './types.ts';
import { monotonicMs } from '../../shared/monotonic.ts';

export interface GitSourceOptions {
  /** Where the clone and the snapshots live (created, mode 0700). */
  cacheDir: string;
  logger?: Logger;
  /** A git command that prints nothing for this long is killed (GIT_UNREACHABLE). Default 60 s. */
  timeoutMs?: number;
  /** Bounds of the local clone before a `git gc` (maintenance.ts); false: never (for the benchmark's baseline). */
  maintenance?: MaintenancePolicy | false;
}

const fullSha = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/**
 * ls-remote prints nothing until it has the refs, and a poll is a few hundred bytes:
 * on a link that went silent it must give up long before a fetch's silence timeout,
 * or the agent's loop (which waits for it) stops enforcing the last good revision.
 */
export const LS_REMOTE_TIMEOUT_MS = 20_000;
const fetchedRef = 'refs/gitfleet/fetched';

export class GitSource {
  readonly #config: GitSourceConfig;
  readonly #remote: Remote;
  readonly #ref: RefSpec;
  readonly #cacheDir: string;
  readonly #repoDir: string;
  readonly #homeDir: string;
  readonly #snapshots: SnapshotStore;
  readonly #runner: GitRunner;
  readonly #logger: Logger | undefined;
  readonly #maintenance: MaintenancePolicy | false;
  readonly #pollTimeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #maintenanceQueued = false;
  /**
   * An idle agent polls every minute and the head rarely moves: once git opened
   * the clone and found the head in it, a poll of the same head runs ls-remote
   * only (not three gits) — while the clone's files are unchanged since then
   * (clone-fingerprint.ts). Forgotten when the clone is rebuilt or repacked.
   */
  #checked: string | null = null;
  #presentHead: string | null = null;

  constructor(config: GitSourceConfig, options: GitSourceOptions) {
    this.#config = config;
    this.#remote = parseRemote(config.repo);
    this.#ref = parseRef(config.ref);
    const fleetPath = normalizeFleetPath(config.path);
    this.#cacheDir = options.cacheDir;
    this.#repoDir = join(options.cacheDir, 'repo.git');
    this.#homeDir = join(options.cacheDir, 'home');
    this.#snapshots = new SnapshotStore(join(options.cacheDir, 'snapshots'), fleetPath);
    this.#logger = options.logger?.child({ component: 'git-source', repo: this.#remote.display, ref: config.ref });
    this.#runner = new GitRunner({ cwd: options.cacheDir, gitDir: this.#repoDir, logger: this.#logger, timeoutMs: options.timeoutMs });
    this.#maintenance = options.maintenance ?? {};
    this.#pollTimeoutMs = Math.min(options.timeoutMs ?? LS_REMOTE_TIMEOUT_MS, LS_REMOTE_TIMEOUT_MS);
  }

  /** Loose objects, packs and their size in the local clone. */
  objectCounts(): Promise<ObjectCounts> {
    return this.#serial(async () => {
      await this.#ensureRepo();
      return parseCountObjects(await this.#local(['count-objects', '-v'], 'counting objects'));
    });
  }

  /** Settles once queued maintenance has run (for tests and benchmarks). */
  idle(): Promise<void> {
    return this.#serial(async () => undefined);
  }

  /** Cheapest possible check (ls-remote): the remote's current revision for ref. */
  remoteRevision(): Promise<string> {
    return this.#serial(async () => (await this.#resolve()).revision);
  }

  /**
   * Fetch (if needed) the ref's head, verify signature + ancestry against lastApplied, return its snapshot. Throws GitfleetError.
   * `revision`: that commit instead of the head (a staged rollout's release, docs/rollouts.md), with the same checks.
   */
  sync(options: { lastApplied: string | null; revision?: string }): Promise<Snapshot> {
    const lastApplied = options.lastApplied === null ? null : checkRevision(options.lastApplied, 'lastApplied');
    const pinned = options.revision === undefined ? null : checkRevision(options.revision, 'revision');
    return this.#serial(() => this.#withRecovery(() => this.#sync(lastApplied, pinned)));
  }

  /** A snapshot of a revision already fetched (for rolling back to the last good one). */
  snapshot(revision: string): Promise<Snapshot> {
    const rev = checkRevision(revision, 'revision');
    return this.#serial(async () => {
      if (!this.#snapshots.has(rev)) {
        await this.#ensureRepo();
        if (!(await this.#hasCommit(rev))) throw new GitfleetError('GIT_NOT_FOUND', `revision ${rev} has not been fetched from ${this.#remote.display}`);
        await this.#verifySignature(rev);
      }
      return this.#snapshotOf(rev);
    });
  }

  /** Paths (relative to the fleet tree) changed between two fetched revisions; for the hub's webhook targeting. */
  changedPaths(from: string, to: string): Promise<string[]> {
    const a = checkRevision(from, 'from');
    const b = checkRevision(to, 'to');
    return this.#serial(async () => {
      await this.#ensureRepo();
      for (const rev of [a, b]) {
        if (!(await this.#hasCommit(rev))) throw new GitfleetError('GIT_NOT_FOUND', `revision ${rev} has not been fetched from ${this.#remote.display}`);
      }
      const fleetPath = normalizeFleetPath(this.#config.path);
      const relative = fleetPath === '.' ? [] : [`--relative=${fleetPath}/`];
      const out = await this.#local(['diff', '--name-only', '-z', '--no-renames', '--no-ext-diff', ...relative, a, b, '--'], `diff ${a}..${b}`);
      return out.split('\0').filter((p) => p !== '').sort();
    });
  }

  /** Delete snapshots other than these revisions. */
  prune(keep: string[]): Promise<void> {
    const keepSet = new Set(keep.map((r) => checkRevision(r, 'keep')));
    return this.#serial(async () => {
      const removed = await this.#snapshots.prune(keepSet);
      if (removed.length > 0) this.#logger?.debug({ removed: removed.length }, 'pruned snapshots');
    });
  }

  // ---- internals ----

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work, work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #withRecovery<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!isGitfleetError(error, 'GIT_CORRUPT')) throw error;
      // The clone is a cache: rebuild it from the remote (snapshots stay valid).
      this.#logger?.warn({ err: error.message }, 'local clone is corrupt; re-cloning');
      this.#forgetClone();
      await rm(this.#repoDir, { recursive: true, force: true });
      return await work();
    }
  }

  /** After a fetch: behind the current call on the queue, so the caller has its snapshot first. */
  #queueMaintenance(): void {
    if (this.#maintenance === false || this.#maintenanceQueued) return;
    this.#maintenanceQueued = true;
    const policy = this.#maintenance;
    void this.#serial(async () => {
      this.#maintenanceQueued = false;
      try {
        const before = parseCountObjects(await this.#local(['count-objects', '-v'], 'counting objects'));
        if (!needsGc(before, policy)) return;
        this.#forgetClone();
        const started = monotonicMs();
        await this.#local(['gc', '--quiet'], 'gc of the local clone');
        const after = parseCountObjects(await this.#local(['count-objects', '-v'], 'counting objects'));
        this.#logger?.info({ before, after, ms: Math.round(monotonicMs() - started) }, 'local clone repacked');
      } catch (error) {
        // A failed gc leaves the clone as it was; the next fetch tries again.
        this.#logger?.warn({ err: (error as Error).message }, 'maintenance of the local clone failed');
      }
    });
  }

  async #sync(lastApplied: string | null, pinned: string | null = null): Promise<Snapshot> {
    await this.#ensureRepo();
    const resolved = pinned === null ? await this.#resolve() : { remoteRef: pinned, revision: pinned };
    let target = resolved.revision;
    const env = await this.#remoteEnv();
    const unchanged = this.#unchangedSinceChecked();
    if (!(unchanged && target === this.#presentHead) && !(await this.#hasCommit(target))) {
      // Without a local lastApplied there is nothing to negotiate against: take one commit only.
      const incremental = lastApplied !== null && (await this.#hasCommit(lastApplied));
      const depth = incremental ? [] : ['--depth=1'];
      // The fetched ref also tells the next fetch what we have (negotiation starts from refs).
      const refspec = `+${this.#ref.kind === 'commit' || pinned !== null ? target : resolved.remoteRef}:${fetchedRef}`;
      // --progress: git is silent on a pipe otherwise, and the runner's timeout is a silence timeout,
      // so a slow but moving fetch (an edge link) would be killed; progress lines keep it alive while bytes flow.
      await this.#runner.run(['fetch', '--progress', '--no-tags', '--no-write-fetch-head', ...depth, '--', this.#remote.url, refspec], {
        env: env.env, secrets: env.secrets, what: `fetch of ${this.#config.ref} from ${this.#remote.display}`,
      });
      // The remote may have moved since ls-remote: what was fetched is what counts.
      target = (await this.#local(['rev-parse', '--verify', `${fetchedRef}^{commit}`], 'reading the fetched head')).trim();
      if (!(await this.#hasCommit(target))) {
        throw new GitfleetError('GIT_NOT_FOUND', `${this.#remote.display} did not send revision ${target} for ${this.#config.ref}`);
      }
      this.#logger?.info({ revision: target, incremental }, 'fetched');
      this.#queueMaintenance();
    }
    this.#presentHead = target;
    this.#checked = cloneFingerprint(this.#repoDir);
    await this.#verifySignature(target);
    if (lastApplied !== null && !this.#config.allowNonDescendant) {
      const ok = await descendsFrom(this.#ancestryOps(resolved.remoteRef, target, env), lastApplied, target);
      if (!ok) {
        throw new GitfleetError('GIT_NOT_DESCENDANT',
          `refusing revision ${target} of ${this.#config.ref}: it does not descend from the last applied revision ${lastApplied} ` +
          '(history was rewritten, or an older commit was pushed); set allowNonDescendant: true to accept it');
      }
    }
    return this.#snapshotOf(target);
  }

  #ancestryOps(remoteRef: string, target: string, env: GitEnv): AncestryOps {
    return {
      hasCommit: (rev) => this.#hasCommit(rev),
      isAncestor: async (a, b) => {
        // a is an ancestor of b exactly when it is their only merge base. (Not
        // --is-ancestor: it answers by exit code alone, and a silent git costs
        // simple-git an extra 50 ms wait.)
        try {
          return (await this.#local(['merge-base', '--all', a, b], 'ancestry check')).trim() === a;
        } catch (error) {
          // Exit 1 without output: no common ancestor at all.
          if (isGitfleetError(error, 'GIT_FAILED') && /git exited with an error$/.test(error.message)) return false;
          throw error;
        }
      },
      cutsInHistoryOf: async (rev) => {
        const shallowFile = join(this.#repoDir, 'shallow');
        if (!existsSync(shallowFile)) return 0;
        const cuts = new Set((await readFile(shallowFile, 'utf8')).split('\n').filter((l) => l !== ''));
        const history = (await this.#local(['rev-list', rev, '--'], 'history walk')).split('\n');
        return history.filter((c) => cuts.has(c)).length;
      },
      deepen: async (by) => {
        const want = this.#ref.kind === 'commit' ? target : remoteRef;
        this.#logger?.debug({ by }, 'deepening history for the ancestry check');
        await this.#runner.run(['fetch', '--progress', '--no-tags', '--no-write-fetch-head', `--deepen=${by}`, '--', this.#remote.url, want], {
          env: env.env, secrets: env.secrets, what: `deepening ${this.#config.ref} from ${this.#remote.display}`,
        });
      },
    };
  }

  async #resolve(): Promise<{ remoteRef: string; revision: string }> {
    if (this.#ref.kind === 'commit') return { remoteRef: this.#ref.revision, revision: this.#ref.revision };
    const env = await this.#remoteEnv();
    await mkdir(this.#homeDir, { recursive: true, mode: 0o700 });
    const out = await this.#runner.run(['ls-remote', ...this.#ref.lsRemoteArgs, '--', this.#remote.url], {
      env: env.env, secrets: env.secrets, what: `ls-remote of ${this.#remote.display}`, timeoutMs: this.#pollTimeoutMs,
    });
    return resolveRef(out, this.#ref.name, this.#remote.display);
  }

  async #verifySignature(revision: string): Promise<void> {
    const verify = this.#config.verify;
    if (verify === undefined || (verify.allowedSigners === undefined && verify.gpgKeyring === undefined)) return;
    const config: ConfigEntries = [];
    const env: Record<string, string> = {};
    // Each kind is checked only against its own trust set; a kind not configured can never verify.
    config.push(['gpg.ssh.allowedSignersFile', verify.allowedSigners ?? '/dev/null']);
    if (verify.allowedSigners !== undefined && !existsSync(verify.allowedSigners)) {
      throw new GitfleetError('CONFIG_INVALID', `verify.allowedSigners: ${verify.allowedSigners} does not exist`);
    }
    env.GNUPGHOME = verify.gpgKeyring !== undefined ? await gpgHomeFor(verify.gpgKeyring, this.#cacheDir) : join(this.#cacheDir, 'gnupg-empty');
    if (verify.gpgKeyring === undefined) await mkdir(env.GNUPGHOME, { recursive: true, mode: 0o700 });
    const out = await this.#runner.run(['log', '-1', '--format=%G?%x00%GK%x00%GS', revision, '--'], {
      env: { ...baseEnv(this.#homeDir, config), ...env }, what: `signature check of ${revision}`,
    });
    const info = parseSignatureLine(out);
    requireTrusted(info, revision);
    this.#logger?.debug({ revision, key: info.keyId, signer: info.signer }, 'signature trusted');
  }

  async #snapshotOf(revision: string): Promise<Snapshot> {
    return this.#snapshots.get(revision, this.#runner, baseEnv(this.#homeDir, []));
  }

  async #ensureRepo(): Promise<void> {
    await mkdir(this.#cacheDir, { recursive: true, mode: 0o700 });
    await mkdir(this.#homeDir, { recursive: true, mode: 0o700 });
    if (!existsSync(join(this.#repoDir, 'HEAD'))) {
      this.#forgetClone();
      await rm(this.#repoDir, { recursive: true, force: true });
      await this.#local(['init', '--bare'], 'creating the local clone');
    }
    if (this.#unchangedSinceChecked()) return;
    // Fails on a damaged HEAD, config or object store layout: classified GIT_CORRUPT.
    await this.#local(['rev-parse', '--git-dir'], 'opening the local clone');
  }

  #unchangedSinceChecked(): boolean {
    return this.#checked !== null && cloneFingerprint(this.#repoDir) === this.#checked;
  }

  #forgetClone(): void {
    this.#checked = null;
    this.#presentHead = null;
  }

  async #hasCommit(revision: string): Promise<boolean> {
    try {
      return (await this.#local(['cat-file', '-t', `${revision}^{commit}`], 'object lookup')).trim() === 'commit';
    } catch (error) {
      if (isGitfleetError(error, 'GIT_CORRUPT') && !/not a valid object|bad object|unable to read|missing/i.test(error.message)) throw error;
      return false;
    }
  }

  #local(args: string[], what: string): Promise<string> {
    return this.#runner.run(args, { env: baseEnv(this.#homeDir, []), what: `${what} in ${this.#repoDir}` });
  }

  #remoteEnv(): Promise<GitEnv> {
    return remoteEnv(this.#remote, this.#config.git, this.#homeDir);
  }
}

function checkRevision(value: string, name: string): string {
  const rev = value.trim().toLowerCase();
  if (!fullSha.test(rev)) throw new GitfleetError('CONFIG_INVALID', `${name}: "${value.slice(0, 80)}" is not a full commit id`);
  return rev;
}

/** '.', 'fleet', 'a/b' — relative, normalized, never leaving the repository. */
export function normalizeFleetPath(path: string | undefined): string {
  const raw = (path ?? '.').trim() || '.';
  if (raw.includes('\0') || raw.startsWith('/')) throw new GitfleetError('CONFIG_INVALID', `path: "${raw}" must be a relative directory inside the repository`);
  const normal = posix.normalize(raw).replace(/\/+$/, '') || '.';
  if (normal === '..' || normal.startsWith('../')) throw new GitfleetError('CONFIG_INVALID', `path: "${raw}" leaves the repository`);
  return normal;
}
