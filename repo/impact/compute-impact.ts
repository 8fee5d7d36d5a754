// The impact of going from one rendered tree to another: every host compared,
// only the affected ones listed, with counts per tag and per resource. Pure
// (no I/O); yields to the event loop every few hundred hosts so a hub
// computing it for a 10,000-host fleet keeps answering.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { processSecrets } from '../../shared/secrets/mask.ts';
import type { RenderedHost, RenderedTree } from './render-tree.ts';
import { diffResources } from './resource-diff.ts';
import { groupCounts, tagCounts } from './tag-counts.ts';
import type { Change, HostImpact, Impact, PerHostCount, ResourceSummary } from './types.ts';
import { IMPACT_SCHEMA } from './types.ts';

const YIELD_EVERY = 250;

export interface ImpactInput {
  from: { revision: string; tree: RenderedTree };
  to: { revision: string; tree: RenderedTree };
  /** Tree-relative paths changed between the revisions, when known (flags encrypted values that may differ). */
  changedFiles?: ReadonlySet<string>;
}

function hostImpact(before: RenderedHost | undefined, after: RenderedHost | undefined, changedFiles?: ReadonlySet<string>): HostImpact | null {
  const shown = (after ?? before)!;
  const resources = diffResources(before?.state ?? null, after?.state ?? null, changedFiles);
  const change: Change = !before ? 'added' : !after ? 'removed' : 'changed';
  if (change === 'changed' && resources.length === 0) return null;
  return { host: shown.id, dir: shown.dir, tags: shown.tags, change, resources };
}

function perHostCounts(hosts: readonly HostImpact[]): PerHostCount[] {
  const acc = new Map<string, PerHostCount>();
  for (const h of hosts) {
    const mine = new Map<string, number>();
    for (const r of h.resources) mine.set(`${r.kind}\0${r.change}`, (mine.get(`${r.kind}\0${r.change}`) ?? 0) + 1);
    for (const [key, n] of mine) {
      const [kind, change] = key.split('\0') as [PerHostCount['kind'], Change];
      const c = acc.get(key);
      if (c) {
        c.hosts++;
        c.min = Math.min(c.min, n);
        c.max = Math.max(c.max, n);
      } else {
        acc.set(key, { kind, change, hosts: 1, min: n, max: n });
      }
    }
  }
  return [...acc.values()].sort((a, b) => b.hosts - a.hosts || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.change < b.change ? -1 : 1));
}

function resourceSummaries(hosts: readonly HostImpact[]): ResourceSummary[] {
  const acc = new Map<string, ResourceSummary & { fieldSet: Set<string> }>();
  for (const h of hosts) {
    for (const r of h.resources) {
      const key = `${r.id}\0${r.change}`;
      let s = acc.get(key);
      if (!s) acc.set(key, (s = { id: r.id, change: r.change, hosts: 0, fields: [], fieldSet: new Set() }));
      s.hosts++;
      for (const f of r.fields ?? []) s.fieldSet.add(f.path);
      if (r.encryptedChanged) s.fieldSet.add('(encrypted values)');
    }
  }
  return [...acc.values()]
    .map(({ fieldSet, ...s }) => ({ ...s, fields: [...fieldSet].sort() }))
    .sort((a, b) => b.hosts - a.hosts || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.change < b.change ? -1 : 1));
}

export async function computeImpact(input: ImpactInput): Promise<Impact> {
  const before = input.from.tree.hosts;
  const after = input.to.tree.hosts;
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
  const hosts: HostImpact[] = [];
  let n = 0;
  for (const id of ids) {
    if (++n % YIELD_EVERY === 0) await yieldToEventLoop();
    const h = hostImpact(before.get(id), after.get(id), input.changedFiles);
    if (h) hosts.push(h);
  }
  // Every host of both revisions, at its newest place, for the totals per tag.
  const all = new Map<string, RenderedHost>([...before, ...after]);
  const impact: Impact = {
    schema: IMPACT_SCHEMA,
    from: { revision: input.from.revision, hosts: before.size },
    to: { revision: input.to.revision, hosts: after.size },
    affected: hosts.length,
    total: all.size,
    groups: groupCounts(hosts, all),
    tags: tagCounts(hosts, all),
    perHost: perHostCounts(hosts),
    resources: resourceSummaries(hosts),
    hosts,
  };
  // Nothing decrypted reaches here (no keys), but a value registered elsewhere in this process stays masked.
  return processSecrets.size > 0 ? processSecrets.maskDeep(impact) : impact;
}
