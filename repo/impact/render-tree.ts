// Renders every declared host of a fleet tree in one pass (each directory's
// layer read once, as validate does) and keeps each host's desired state, for
// both revisions of an impact preview. Encrypted layers are read without any
// key: their values stay «secret» placeholders and are never decrypted.
import type { DesiredState } from '../../shared/resources.ts';
import type { ValidationIssue } from '../tree/index.ts';
import { validateTree } from '../tree/index.ts';
import { markSecret } from '../tree/load.ts';

export interface RenderedHost {
  id: string;
  dir: string;
  /** Path tags, then cross-cutting tags. */
  tags: string[];
  state: DesiredState;
}

export interface RenderedTree {
  /** By host id. Empty when `issues` is not. */
  hosts: Map<string, RenderedHost>;
  /** The tree's validation issues: a tree with any cannot be rendered (its agents refuse it). */
  issues: ValidationIssue[];
}

export async function renderTree(treeDir: string): Promise<RenderedTree> {
  const hosts = new Map<string, RenderedHost>();
  const summary = await validateTree(treeDir, {
    onHost: (declared, evaluation, layers) => {
      if (evaluation.state === null) return;
      markSecret(evaluation.state, layers, []);
      hosts.set(declared.id, { id: declared.id, dir: declared.dir, tags: [...declared.pathTags, ...declared.crossTags], state: evaluation.state });
    },
  });
  if (summary.issues.length > 0) return { hosts: new Map(), issues: summary.issues };
  return { hosts, issues: [] };
}
