// The real FleetRepoView: the fleet repo read through the same Git source as
// the agents use (repo/git), its tree read by the repo's own loader (passed
// (repo/tree's validateTree; `readTree` replaces it in tests).
import type { Logger } from 'pino';
import { GitSource } from '../../repo/git/index.ts';
import type { GitSourceConfig } from '../../repo/git/index.ts';
import { formatIssue, validateTree } from '../../repo/tree/index.ts';
import type { DeclaredHost, FleetHead, FleetRepoView } from './fleet-repo-view.ts';

export interface TreeReading {
  hosts: DeclaredHost[];
  tags: string[];
  issues: string[];
}

export type ReadTree = (treeDir: string) => Promise<TreeReading>;

export const readTreeWithValidate: ReadTree = async (treeDir) => {
  const summary = await validateTree(treeDir);
  return { hosts: summary.hosts, tags: summary.tags, issues: summary.issues.map(formatIssue) };
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

  async refresh(): Promise<FleetHead> {
    const snapshot = await this.#source.sync({ lastApplied: null });
    if (this.#last?.revision === snapshot.revision) return this.#last;
    const tree = await this.#readTree(snapshot.treeDir);
    this.#last = { revision: snapshot.revision, committedAt: snapshot.committedAt, subject: snapshot.subject, ...tree };
    await this.#source.prune([snapshot.revision]).catch(() => undefined);
    return this.#last;
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
