// One host: state, conditions with reasons, each resource with sync and
// health, a field-by-field diff for every resource not in sync, the attempt
// history, the events timeline, facts, and "reconcile now" for admins.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Attempt, HostDetail, HostFacts, PolicyHold, ResourceStatus, RolloutHold, StoredEvent } from '../types.ts';
import { ago, bytes, diffValue, duration, shortRev } from '../format.ts';
import { hostsHref, rolloutHref } from '../route.ts';
import { HealthBadge, HostStateBadges, SyncBadge } from '../components/badges.ts';
import { RevisionTimeline } from '../components/revision-timeline.ts';
import { useFetch } from '../use-fetch.ts';
import type { PageProps } from './context.ts';

function ReconcileButton({ api, id }: { api: PageProps['api']; id: string }) {
  const [state, setState] = useState<{ busy: boolean; note: string | null }>({ busy: false, note: null });
  const click = () => {
    setState({ busy: true, note: null });
    api.reconcileHost(id).then(
      (o) => setState({ busy: false, note: o.reached.length > 0 ? 'Asked the agent to reconcile now.' : 'The agent is not connected; it reconciles on its own schedule.' }),
      (e: unknown) => setState({ busy: false, note: `Refused: ${e instanceof Error ? e.message : String(e)}` }),
    );
  };
  return h(
    'div',
    { class: 'actions' },
    h('button', { type: 'button', 'data-action': 'reconcile', disabled: state.busy, onClick: click }, state.busy ? 'Asking…' : 'Reconcile now'),
    state.note ? h('span', { class: 'muted', role: 'status' }, ` ${state.note}`) : null,
  );
}

function Conditions({ d }: { d: HostDetail }) {
  const conditions = d.status?.conditions ?? [];
  if (conditions.length === 0) return h('p', { class: 'muted' }, 'No conditions reported yet.');
  return h(
    'table',
    { class: 'conditions' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Condition'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'Message'), h('th', { scope: 'col' }, 'Since'))),
    h(
      'tbody',
      null,
      conditions.map((c) =>
        h('tr', { key: c.type, 'data-condition': c.type }, h('th', { scope: 'row' }, c.type), h('td', null, c.status ? 'True' : 'False'), h('td', null, c.reason), h('td', { class: 'message' }, c.message), h('td', { title: c.lastTransitionTime }, ago(c.lastTransitionTime))),
      ),
    ),
  );
}

/** When the agent refuses the head or waits to retry a failed one, say so first: the host is not at the head. */
function HeadNotice({ d }: { d: HostDetail }) {
  const refused = d.status?.refused;
  const retryAt = d.status?.nextRetryAt;
  if (!refused && !retryAt) return null;
  return h(
    'div',
    { class: 'head-notice', 'data-testid': 'head-notice' },
    refused
      ? h(
          'p',
          { class: 'error', role: 'alert', 'data-refused': refused.revision ?? '' },
          'Refused head ',
          h('code', { title: refused.revision ?? '' }, shortRev(refused.revision)),
          ` (${refused.reason}, since ${ago(refused.since)}): `,
          h('span', { class: 'message' }, refused.message),
        )
      : null,
    retryAt ? h('p', { class: 'notice', 'data-retry-at': retryAt }, 'The failed revision is retried at ', h('time', { dateTime: retryAt }, new Date(retryAt).toLocaleString()), '.') : null,
  );
}

/** What each adoption state (docs/adopt.md) did to a resource the agent did not create, for the badge's tooltip. */
const adoptionTitles: Record<string, { label: string; title: string }> = {
  Adopted: { label: 'adopted', title: 'Adopted: found on the host matching its declaration and taken over as it was; nothing was recreated, rewritten, restarted or reloaded.' },
  Replace: { label: 'adopted: replace', title: 'Adopted by replacing: a container gitfleet did not create differed from its declaration and is replaced (the one adoption with downtime); the diff names the keys that differ.' },
  Rewrite: { label: 'adopted: rewrite', title: 'Adopted by rewriting: a unit or file gitfleet did not create differed from its declaration and is written as declared (a running unit is restarted).' },
};

function AdoptionBadge({ state }: { state: string }) {
  // A newer agent's state this view does not know is still shown, as text.
  const known = adoptionTitles[state] ?? { label: `adoption: ${state}`, title: `Adoption state ${state}, reported by the agent.` };
  return h('span', { class: `badge adoption adoption-${Object.hasOwn(adoptionTitles, state) ? state : 'other'}`, 'data-adoption': state, title: known.title }, known.label);
}

/** A host an active rollout holds back says so, with the rollout, its wave and what the host may run. */
function RolloutNotice({ hold }: { hold: RolloutHold | null | undefined }) {
  if (!hold) return null;
  return h(
    'p',
    { class: 'notice rollout-hold', 'data-testid': 'rollout-hold', 'data-held': String(hold.held) },
    hold.held ? 'Held by rollout ' : 'Released by rollout ',
    h('a', { href: rolloutHref(hold.id) }, hold.id),
    ` (wave ${hold.waveNumber} of ${hold.waves}${hold.wave !== `wave ${hold.waveNumber}` ? ` “${hold.wave}”` : ''}, released `,
    h('code', { title: hold.released ?? '' }, hold.released ? shortRev(hold.released) : 'unknown'),
    `). The rollout is ${hold.state}.`,
  );
}

/** A host held because a rollout.yaml above it is invalid: no wave will release it until the file is fixed. */
function PolicyHoldNotice({ hold }: { hold: PolicyHold | null | undefined }) {
  if (!hold) return null;
  return h(
    'p',
    { class: 'notice rollout-hold', 'data-testid': 'rollout-policy-invalid', 'data-held': 'true' },
    'Held: ',
    h('code', null, hold.file),
    ' is invalid at the head, so the hub keeps this host at ',
    h('code', { title: hold.released ?? '' }, hold.released ? shortRev(hold.released) : 'what it runs'),
    ' until the file is fixed (its validation issues are on the overview).',
  );
}

function Diff({ r }: { r: ResourceStatus }) {
  if (r.diff.length === 0) return h('p', { class: 'muted' }, r.sync === 'Missing' ? 'The resource does not exist on the host.' : 'No field-level difference reported.');
  return h(
    'table',
    { class: 'diff', 'aria-label': `differences of ${r.id}` },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Desired (Git)'), h('th', { scope: 'col' }, 'Live (host)'))),
    h(
      'tbody',
      null,
      r.diff.map((d, i) => h('tr', { key: i, 'data-field': d.field }, h('th', { scope: 'row' }, h('code', null, d.field)), h('td', { class: 'desired' }, h('pre', null, diffValue(d.desired))), h('td', { class: 'live' }, h('pre', null, diffValue(d.live))))),
    ),
  );
}

function Resources({ d }: { d: HostDetail }) {
  const resources = d.status?.resources ?? [];
  if (resources.length === 0) return h('p', { class: 'muted' }, 'No resources reported.');
  const notInSync = resources.filter((r) => r.sync !== 'InSync' && r.sync !== 'Ignored');
  return h(
    'div',
    null,
    h(
      'table',
      { class: 'resources' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Resource'), h('th', { scope: 'col' }, 'Sync'), h('th', { scope: 'col' }, 'Health'), h('th', { scope: 'col' }, 'Message'), h('th', { scope: 'col' }, 'Declared in'))),
      h(
        'tbody',
        null,
        resources.map((r) =>
          h('tr', { key: r.id, 'data-resource': r.id }, h('th', { scope: 'row' }, h('code', null, r.id), r.adoption ? [' ', h(AdoptionBadge, { state: r.adoption })] : null), h('td', null, h(SyncBadge, { state: r.sync })), h('td', null, h(HealthBadge, { state: r.health })), h('td', { class: 'message' }, r.message ?? ''), h('td', null, r.source ? h('code', null, r.source) : '')),
        ),
      ),
    ),
    notInSync.map((r) => h('section', { key: r.id, class: 'diff-block', 'data-diff': r.id }, h('h3', null, h('code', null, r.id), ' ', h(SyncBadge, { state: r.sync })), r.message ? h('p', { class: 'message' }, r.message) : null, h(Diff, { r }), h(Diagnosis, { r }))),
    // Failing but in sync (a unit that crashed, a timer's job that failed): the diagnosis alone.
    resources
      .filter((r) => (r.sync === 'InSync' || r.sync === 'Ignored') && hasDiagnosis(r))
      .map((r) => h('section', { key: r.id, class: 'diff-block', 'data-diff': r.id }, h('h3', null, h('code', null, r.id), ' ', h(HealthBadge, { state: r.health })), r.message ? h('p', { class: 'message' }, r.message) : null, h(Diagnosis, { r }))),
  );
}

const hasDiagnosis = (r: ResourceStatus): boolean => (r.logs?.length ?? 0) > 0 || r.exitCode !== undefined || r.signal !== undefined;

/** How a failing unit or container ended and its last journal/log lines, as the agent reported them (bounded, control characters removed). */
function Diagnosis({ r }: { r: ResourceStatus }) {
  if (!hasDiagnosis(r)) return null;
  const ended = [r.exitCode !== undefined ? `exit code ${r.exitCode}` : null, r.signal ? `killed by ${r.signal}` : null].filter(Boolean).join(', ');
  return h(
    'div',
    { class: 'diagnosis', 'data-logs': r.id },
    ended ? h('p', { class: 'exit' }, `Last run: ${ended}`) : null,
    (r.logs?.length ?? 0) > 0 ? h('pre', { class: 'logs', 'aria-label': `last log lines of ${r.id}` }, (r.logs ?? []).join('\n')) : null,
  );
}

function Changes({ label, steps }: { label: string; steps: string[] }) {
  if (steps.length === 0) return null;
  return h('details', null, h('summary', null, `${steps.length} ${label}`), h('ul', null, steps.map((s, i) => h('li', { key: i }, h('code', null, s)))));
}

function Attempts({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return h('p', { class: 'muted' }, 'No attempts recorded.');
  return h(
    'table',
    { class: 'attempts' },
    h('thead', null, h('tr', null, ['When', 'Trigger', 'Revision', 'Result', 'Changes', 'Duration'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      attempts.map((a, i) =>
        h(
          'tr',
          { key: `${a.startedAt}-${i}`, 'data-result': a.result },
          h('td', { title: a.startedAt }, ago(a.startedAt)),
          h('td', null, a.trigger),
          h('td', null, h('code', { title: a.revision }, shortRev(a.revision))),
          h('td', null, h('span', { class: `badge result-${a.result}` }, a.result), a.reason ? h('div', { class: 'muted' }, a.reason) : null, a.message ? h('div', { class: 'message' }, a.message) : null),
          h('td', null, a.intended.length + a.driftCorrected.length === 0 ? 'none' : null, h(Changes, { label: 'intended', steps: a.intended }), h(Changes, { label: 'drift-corrected', steps: a.driftCorrected })),
          h('td', { class: 'num' }, duration(a.durationMs)),
        ),
      ),
    ),
  );
}

function Events({ events }: { events: StoredEvent[] }) {
  if (events.length === 0) return h('p', { class: 'muted' }, 'No events.');
  return h(
    'ol',
    { class: 'timeline', 'data-testid': 'events' },
    events.map((e, i) =>
      h(
        'li',
        { key: `${e.time}-${e.seq ?? 'hub'}-${i}`, class: `event-${e.level}` },
        h('time', { dateTime: e.time, title: e.time }, ago(e.time)),
        ' ',
        h('span', { class: `badge level-${e.level}` }, e.level),
        ' ',
        h('strong', null, e.reason),
        e.resource ? h('span', null, ' ', h('code', null, e.resource)) : null,
        h('div', { class: 'message' }, e.message),
      ),
    ),
  );
}

function Facts({ facts }: { facts: HostFacts | null }) {
  if (!facts) return h('p', { class: 'muted' }, 'No facts reported.');
  const rows: Array<[string, string]> = [
    ['Hostname', facts.hostname ?? '—'],
    ['OS', [facts.os.distro, facts.os.release, facts.os.codename].filter(Boolean).join(' ') || (facts.os.platform ?? '—')],
    ['Kernel', facts.kernel ?? '—'],
    ['Architecture', facts.arch ?? '—'],
    ['CPU', `${facts.cpu.model ?? '—'}${facts.cpu.cores ? ` (${facts.cpu.cores} cores)` : ''}`],
    ['Memory', bytes(facts.memory.totalBytes)],
    ['Uptime', facts.uptimeSeconds === null ? '—' : duration(facts.uptimeSeconds * 1000)],
    ['Docker', facts.docker?.version ?? '—'],
    ['Container engine', facts.containerEngine ? `${facts.containerEngine.name} ${facts.containerEngine.version}` : '—'],
    ['systemd', facts.systemd?.version ?? '—'],
    ['Age public key', facts.age?.recipient ?? '—'],
    ['Addresses', facts.addresses.map((a) => `${a.iface} ${a.address}`).join(', ') || '—'],
    ['Disks', facts.disks.map((d) => `${d.mount} ${bytes(d.usedBytes)} / ${bytes(d.sizeBytes)}`).join(', ') || '—'],
    ['Collected', ago(facts.collectedAt)],
  ];
  return h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', { key: `k-${k}` }, k), h('dd', { key: `v-${k}`, 'data-fact': k }, v)]));
}

export function HostPageView(p: PageProps & { id: string }) {
  // Reload when this host is in a live change; other hosts' changes do not concern this page.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (p.changed.has(p.id)) setVersion((v) => v + 1);
  }, [p.tick]);
  const detail = useFetch((signal) => p.api.host(p.id, signal), [p.id, version]);
  if (detail.error && !detail.data) return h('div', { class: 'page' }, h('h1', null, p.id), h('p', { class: 'error', role: 'alert' }, detail.error));
  const d = detail.data;
  if (!d) return h('p', { 'aria-busy': 'true' }, 'Loading…');
  const s = d.summary;
  return h(
    'div',
    { class: 'page host', 'data-host-page': s.id, 'data-version': String(version) },
    h('h1', null, s.id, ' ', h(HostStateBadges, { host: s })),
    h(
      'dl',
      { class: 'host-meta' },
      h('dt', null, 'Place'),
      h('dd', null, s.place || '—'),
      h('dt', null, 'Tags'),
      h('dd', null, s.tags.length === 0 ? '—' : s.tags.map((t) => h('a', { key: t, class: 'tag', href: hostsHref({ tag: t }) }, t))),
      h('dt', null, 'Applied'),
      h('dd', null, h('code', { title: s.lastAppliedRevision ?? '' }, shortRev(s.lastAppliedRevision)), s.lastAttemptedRevision && s.lastAttemptedRevision !== s.lastAppliedRevision ? h('span', null, ' (last attempted ', h('code', null, shortRev(s.lastAttemptedRevision)), ')') : null),
      h('dt', null, 'Last seen'),
      h('dd', { title: s.lastSeenAt ?? '' }, ago(s.lastSeenAt)),
      h('dt', null, 'Agent'),
      h('dd', null, s.agentVersion ?? '—'),
    ),
    p.role === 'admin' ? h(ReconcileButton, { api: p.api, id: s.id }) : null,
    detail.error ? h('p', { class: 'error', role: 'alert' }, `Could not refresh: ${detail.error}`) : null,
    h(HeadNotice, { d }),
    h(RolloutNotice, { hold: d.rollout }),
    h(PolicyHoldNotice, { hold: d.rolloutPolicyInvalid }),
    h('section', { 'aria-labelledby': 'cond-h' }, h('h2', { id: 'cond-h' }, 'Conditions'), h(Conditions, { d })),
    h('section', { 'aria-labelledby': 'res-h' }, h('h2', { id: 'res-h' }, `Resources (${s.resources.notInSync} not in sync of ${s.resources.total})`), h(Resources, { d })),
    h('section', { 'aria-labelledby': 'att-h' }, h('h2', { id: 'att-h' }, 'Attempts'), h(RevisionTimeline, { attempts: d.attempts }), h(Attempts, { attempts: d.attempts })),
    h('section', { 'aria-labelledby': 'ev-h' }, h('h2', { id: 'ev-h' }, 'Events'), d.droppedEvents > 0 ? h('p', { class: 'muted' }, `${d.droppedEvents} event(s) dropped by the agent while its queue was full.`) : null, h(Events, { events: d.events })),
    h('section', { 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h' }, 'Facts'), h(Facts, { facts: d.facts })),
  );
}
