// One notification, as every sink receives it (the generic webhook sends it
// as is: its JSON schema is documented in docs/notifications.md), and its
// one-line title.
import { randomBytes } from 'node:crypto';
import type { NotifyEvent } from './notify-config.ts';
import type { ProblemKind } from './host-problems.ts';

export const MESSAGE_SCHEMA = 'gitfleet.notification/v1';
/** Hosts listed by name in one message; the rest are counted. */
export const MAX_LISTED_HOSTS = 20;

export interface NotifyMessage {
  schema: typeof MESSAGE_SCHEMA;
  /** Unique per message (also the X-Gitfleet-Delivery header): a receiver can drop a retried duplicate. */
  id: string;
  rule: string;
  event: NotifyEvent;
  /** For `recovered`: the problem that ended. */
  recoveredFrom: ProblemKind | null;
  /** True for the reminder sent every repeatInterval while hosts stay in the state. */
  repeat: boolean;
  revision: string | null;
  /** The tag of the rule the hosts matched; "" when the rule covers every host. */
  tag: string;
  title: string;
  /** Hosts this message is about, at most MAX_LISTED_HOSTS, each with a bounded message. */
  hosts: Array<{ id: string; message: string }>;
  /** How many hosts this message is about (hosts may list fewer). */
  hostCount: number;
  /** How many hosts are in this state under the tag in all (more than hostCount when earlier messages named the others). */
  totalInState: number;
  /** The web view's page for the revision, when notify.webUrl is set. */
  url: string | null;
  sentAt: string;
}

export function shortRev(revision: string | null): string {
  return revision === null ? 'an unknown revision' : revision.slice(0, 7);
}

const verbs: Record<ProblemKind, (rev: string | null) => string> = {
  failed: (rev) => `failed on ${shortRev(rev)}`,
  refused: (rev) => `refused ${shortRev(rev)}`,
  rolledBack: (rev) => `rolled back ${shortRev(rev)}`,
  drifted: (rev) => `drifted from ${shortRev(rev)}`,
  offline: (rev) => `went offline${rev ? ` (last applied ${shortRev(rev)})` : ''}`,
};

function subject(count: number, firstHost: string | undefined, tag: string, more: boolean): string {
  const where = tag === '' ? '' : ` under ${tag}`;
  if (count === 1 && firstHost !== undefined && !more) return `${firstHost}${tag === '' ? '' : ` (${tag})`}`;
  return `${count} ${more ? 'more ' : ''}host${count === 1 ? '' : 's'}${where}`;
}

export interface ProblemMessageInput {
  rule: string;
  kind: ProblemKind;
  revision: string | null;
  tag: string;
  hosts: Array<{ id: string; message: string }>;
  totalInState: number;
  phase: 'new' | 'repeat' | 'recovered';
  /** `new`: some hosts of this state were named in an earlier message. */
  more: boolean;
  webUrl: string | undefined;
  now: Date;
}

export function problemMessage(i: ProblemMessageInput): NotifyMessage {
  const count = i.hosts.length;
  const who = subject(count, i.hosts[0]?.id, i.tag, i.more);
  const what = verbs[i.kind](i.revision);
  const title =
    i.phase === 'recovered'
      ? `${who} recovered: no longer ${what}`
      : i.phase === 'repeat'
        ? `still: ${who} ${what}`
        : `${who} ${what}${i.more ? ` (${i.totalInState} in all)` : ''}`;
  return base(i.rule, i.phase === 'recovered' ? 'recovered' : i.kind, i.revision, i.tag, title, i.hosts, i.webUrl, i.now, {
    recoveredFrom: i.phase === 'recovered' ? i.kind : null,
    repeat: i.phase === 'repeat',
    totalInState: i.phase === 'recovered' ? 0 : i.totalInState,
  });
}

export function headAppliedMessage(rule: string, revision: string, tag: string, hostCount: number, webUrl: string | undefined, now: Date): NotifyMessage {
  const title = `${shortRev(revision)} applied on ${hostCount === 1 ? 'the only host' : `all ${hostCount} hosts`}${tag === '' ? '' : ` under ${tag}`}`;
  return base(rule, 'headApplied', revision, tag, title, [], webUrl, now, { hostCount, totalInState: hostCount });
}

export function rolloutHaltedMessage(rule: string, e: { rollout: string; revision: string | null; tag: string; reason: string; hosts: Array<{ id: string; message: string }> }, webUrl: string | undefined, now: Date): NotifyMessage {
  const title = `rollout ${e.rollout} halted on ${shortRev(e.revision)}${e.tag === '' ? '' : ` under ${e.tag}`}: ${e.reason}`;
  return base(rule, 'rolloutHalted', e.revision, e.tag, title, e.hosts, webUrl, now, {});
}

function base(
  rule: string,
  event: NotifyEvent,
  revision: string | null,
  tag: string,
  title: string,
  hosts: Array<{ id: string; message: string }>,
  webUrl: string | undefined,
  now: Date,
  extra: Partial<Pick<NotifyMessage, 'recoveredFrom' | 'repeat' | 'hostCount' | 'totalInState'>>,
): NotifyMessage {
  return {
    schema: MESSAGE_SCHEMA,
    id: `n-${randomBytes(8).toString('hex')}`,
    rule,
    event,
    recoveredFrom: extra.recoveredFrom ?? null,
    repeat: extra.repeat ?? false,
    revision,
    tag,
    title,
    hosts: hosts.slice(0, MAX_LISTED_HOSTS),
    hostCount: extra.hostCount ?? hosts.length,
    totalInState: extra.totalInState ?? hosts.length,
    url: webUrl && revision ? `${webUrl}/#/commits/${encodeURIComponent(revision)}` : webUrl ? `${webUrl}/#/` : null,
    sentAt: now.toISOString(),
  };
}

/** The message as plain text lines (ntfy, the chat sinks): the title, then one line per listed host. */
export function messageLines(m: NotifyMessage): string[] {
  const lines = m.hosts.map((h) => `${h.id}: ${h.message}`);
  if (m.hostCount > m.hosts.length) lines.push(`… and ${m.hostCount - m.hosts.length} more`);
  return lines;
}
