// Which tags get series of their own in /metrics and points in the history.
// Agents report their own tags (up to 64 tags of 16 path segments each,
// docs/security.md), so per-tag work must not grow with what agents choose:
// ten hostile hosts would otherwise make every scrape tens of thousands of
// series and every history minute ten thousand rows.
import type { TagNode } from './rollup.ts';

/** Tags tracked by default (hub config `trackedTags`). */
export const DEFAULT_TRACKED_TAGS = 500;

/** Every tag node with its depth (1 for `prod`, 2 for `prod/eu`). */
function flatten(nodes: readonly TagNode[], depth: number, into: { node: TagNode; depth: number }[]): typeof into {
  for (const node of nodes) {
    into.push({ node, depth });
    flatten(node.children, depth + 1, into);
  }
  return into;
}

/**
 * The tracked tags: the ones with the most hosts first, then the shallower,
 * then by name — so the repository's directories (which hold many hosts)
 * outrank a tag one host reports, and the choice is stable from one minute to
 * the next. `omitted` counts the tags left out.
 */
export function trackedTags(tree: readonly TagNode[], max: number): { kept: TagNode[]; omitted: number } {
  const all = flatten(tree, 1, []);
  if (all.length <= max) return { kept: all.map((t) => t.node), omitted: 0 };
  all.sort((a, b) => b.node.total - a.node.total || a.depth - b.depth || (a.node.tag < b.node.tag ? -1 : a.node.tag > b.node.tag ? 1 : 0));
  return { kept: all.slice(0, max).map((t) => t.node), omitted: all.length - max };
}
