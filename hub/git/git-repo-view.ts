// The real FleetRepoView: the fleet repo read through the same Git source as
// the agents use (repo/git), its tree read by the repo's own loader (passed
// (repo/tree's validateTree; `readTree` replaces it in tests).
import type { Logger } from 'pino';
import { GitSource } from '../../repo/git/index.ts';
import type { GitSourceConfig } from '../../repo/git/index.ts';
import { formatIssue, validateTree } from '../../repo/tree/index.ts';
import { readRolloutPolicies } from '../../repo/rollout/rollout-files.ts';
import { computeImpact } from '../../repo/impact/compute-impact.ts';
import { renderTree } from '../../repo/impact/render-tree.ts';
import type { Impact } from '../../repo/impact/types.ts';
import type { DeclaredHost, FleetHead, FleetRepoView, HeadRollouts } from './fleet-repo-view.ts';

export interface TreeReading {
  hosts: DeclaredHost[];
  tags: string[];
  issues: string[];
  rollouts?: HeadRollouts | undefined;
}

export type ReadTree = (treeDir: string) => Promise<TreeReading>;

export const readTreeWithValidate: ReadTree = async (treeDir) => {
  const summary = await validateTree(treeDir);
  const rollouts = await readRolloutPolicies(treeDir, summary);
  return {
    hosts: summary.hosts,
    tags: summary.tags,
    issues: [...summary.issues, ...rollouts.issues].map(formatIssue),
    ...(rollouts.scopes.length + rollouts.invalid.length > 0 ? { rollouts: { scopes: rollouts.scopes, invalid: rollouts.invalid } } : {}),
  };
};

export class GitRepoView implements FleetRepoView {
  readonly #source: GitSource;
  readonly #readTree: ReadTree;
  #last: FleetHead | null = null;

  constructor(config: GitSourceConfig, options: { cacheDir: string; logger: Logger; readTree?: ReadTree }) {
    // The hub follows the head wherever it goes (force-pushes included): it observes, it does not apply.
    this.#source = new GitSource({ ...config, allowNonDescendant: true }, { cacheDir: options.cacheDir, logger: options.logger });
    this.#readTree = options.readTree ?? readTreeWithValidate;
  }

  refresh(): Promise<FleetHead> {
    return this.#exclusive(() => this.#refresh());
  }

  async #refresh(): Promise<FleetHead> {
    const snapshot = await this.#source.sync({ lastApplied: null });
    if (this.#last?.revision === snapshot.revision) return this.#last;
    const tree = await this.#readTree(snapshot.treeDir);
    this.#last = { revision: snapshot.revision, committedAt: snapshot.committedAt, subject: snapshot.subject, ...tree };
    await this.#source.prune([snapshot.revision]).catch(() => undefined);
    return this.#last;
  }

  /**
   * Every host rendered at both revisions and compared (repo/impact). Under the
   * same lock as refresh, whose prune would otherwise delete a snapshot being read.
   */
  impact(from: string, to: string): Promise<Impact> {
    return this.#exclusive(async () => {
      try {
        const before = await renderTree((await this.#source.snapshot(from)).treeDir);
        const after = await renderTree((await this.#source.snapshot(to)).treeDir);
        for (const [side, tree] of [['from', before], ['to', after]] as const) {
          if (tree.issues.length > 0) throw new Error(`the tree does not render at ${side} ${side === 'from' ? from.slice(0, 12) : to.slice(0, 12)}: ${tree.issues.slice(0, 3).map(formatIssue).join('; ')}${tree.issues.length > 3 ? ` (and ${tree.issues.length - 3} more)` : ''}`);
        }
        const changed = await this.changedPaths(from, to);
        return await computeImpact({ from: { revision: from, tree: before }, to: { revision: to, tree: after }, ...(changed ? { changedFiles: new Set(changed) } : {}) });
      } finally {
        await this.#source.prune(this.#last ? [this.#last.revision] : []).catch(() => undefined);
      }
    });
  }

  #queue: Promise<unknown> = Promise.resolve();
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async changedPaths(from: string, to: string): Promise<string[] | null> {
    try {
      return await this.#source.changedPaths(from, to);
    } catch {
      // A revision the shallow clone does not have: cannot tell, so everyone is affected.
      return null;
    }
  }
}
