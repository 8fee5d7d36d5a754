// The tag tree page: the whole hierarchy with roll-ups; a tag links to the
// hosts table filtered to its subtree.
import { h } from 'preact';
import { TagTree } from '../components/tag-tree.ts';
import { useFetch } from '../use-fetch.ts';
import type { PageProps } from './context.ts';

export function TagsPage(p: PageProps) {
  const tags = useFetch(() => p.api.tags(), [p.tick]);
  return h(
    'div',
    { class: 'page tags' },
    h('h1', null, 'Tags'),
    h('p', { class: 'muted' }, 'Each tag shows the worst state of the hosts in its subtree and how many hosts are in each state.'),
    tags.data ? h(TagTree, { tags: tags.data.tags, crossTags: tags.data.crossTags ?? [] }) : h('p', { class: tags.error ? 'error' : 'muted' }, tags.error ?? 'Loading…'),
  );
}
