// The tag hierarchy with each tag's roll-up: worst state and counts per state.
// Native <details>, so it opens and closes by keyboard without any script.
import { h } from 'preact';
import type { TagNode } from '../types.ts';
import { hostsHref } from '../route.ts';
import { SyncBadge, syncLabel } from './badges.ts';

function counts(node: TagNode) {
  const parts = Object.entries(node.sync)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([s, n]) => `${n} ${syncLabel(s)}`);
  return h('span', { class: 'muted tag-counts' }, parts.join(' · '));
}

function TagRow({ node }: { node: TagNode }) {
  return h(
    'span',
    { class: 'tag-row' },
    h('a', { href: hostsHref({ tag: node.tag }), 'data-tag': node.tag, title: `hosts in ${node.tag}` }, node.name),
    ' ',
    h(SyncBadge, { state: node.worst }),
    ' ',
    h('span', { class: 'tag-total' }, `${node.total} host${node.total === 1 ? '' : 's'}`),
    ' ',
    counts(node),
  );
}

function TagBranch({ node, depth }: { node: TagNode; depth: number }) {
  if (node.children.length === 0) return h('li', null, h(TagRow, { node }));
  return h(
    'li',
    null,
    h(
      'details',
      { open: depth < 1 },
      h('summary', null, h(TagRow, { node })),
      h('ul', { class: 'tag-tree' }, node.children.map((c) => h(TagBranch, { key: c.tag, node: c, depth: depth + 1 }))),
    ),
  );
}

export function TagTree({ tags, crossTags }: { tags: TagNode[]; crossTags: string[] }) {
  const cross = new Set(crossTags);
  const pathRoots = tags.filter((t) => !cross.has(t.tag));
  const crossRoots = tags.filter((t) => cross.has(t.tag));
  return h(
    'div',
    { class: 'tag-trees' },
    h('section', { 'aria-label': 'directory tags' }, h('h3', null, 'Directories'), pathRoots.length === 0 ? h('p', { class: 'muted' }, 'No tags yet.') : h('ul', { class: 'tag-tree', 'data-testid': 'tag-tree' }, pathRoots.map((n) => h(TagBranch, { key: n.tag, node: n, depth: 0 })))),
    h(
      'section',
      { 'aria-label': 'cross-cutting tags' },
      h('h3', null, 'Cross-cutting tags'),
      crossRoots.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('ul', { class: 'tag-tree', 'data-testid': 'cross-tags' }, crossRoots.map((n) => h('li', { key: n.tag }, h(TagRow, { node: n })))),
    ),
  );
}
