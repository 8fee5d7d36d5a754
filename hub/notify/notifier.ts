// Notifications (docs/notifications.md): turns host problem transitions,
// "a new head is applied fleet-wide" and "a rollout halted" into messages
// per rule (grouped by RuleGrouper) and hands them to the delivery queue,
// one job per sink. Nothing here waits on a receiver.
import type { Logger } from 'pino';
import type { FleetIndex } from '../fleet/fleet-index.ts';
import { inTag } from '../fleet/rollup.ts';
import type { HostProblemTracker, ProblemTransition } from './host-problems.ts';
import type { NotifyConfig, RuleConfig, SinkConfig } from './notify-config.ts';
import { RuleGrouper } from './grouper.ts';
import type { GroupState } from './grouper.ts';
import type { NotifyState } from './notify-state.ts';
import { headAppliedMessage, rolloutHaltedMessage } from './message.ts';
import type { NotifyMessage } from './message.ts';
import type { DeliveryQueue } from './delivery-queue.ts';
import { revisionProgress } from './revision-progress.ts';
import { boundText } from './bound-text.ts';
import { sendWebhook } from './sinks/webhook-sink.ts';
import { sendSlack } from './sinks/slack-sink.ts';
import { sendNtfy } from './sinks/ntfy-sink.ts';
import { runCommand } from './sinks/command-sink.ts';

/** A rollout that stopped itself (hub/rollout calls Notifier.rolloutHalted). */
export interface RolloutHalted {
  rollout: string;
  revision: string | null;
  /** The tag the rollout covers ("" for the whole fleet). */
  tag: string;
  reason: string;
  /** Hosts that made it halt, with why (bounded and redacted here; without a message, their reported problem's). */
  hosts?: Array<{ id: string; message?: string | undefined }>;
}

/** How often at most the hub checks whether the head is applied everywhere (a pass over every host). */
const HEAD_CHECK_INTERVAL_MS = 5000;

export function sinkLane(name: string): string {
  return `sink:${name}`;
}

/** notify_state keys: a rule's open group, and the last head a rule announced. */
const groupPrefix = (rule: string) => `group:${JSON.stringify(rule)}:`;
const headKey = (rule: string) => `head:${JSON.stringify(rule)}`;

function deliver(s: SinkConfig, m: NotifyMessage): Promise<void> {
  switch (s.type) {
    case 'webhook':
      return sendWebhook(s, m);
    case 'slack':
      return sendSlack(s, m);
    case 'ntfy':
      return sendNtfy(s, m);
    case 'command':
      return runCommand(s, m);
  }
}

export class Notifier {
  readonly #config: NotifyConfig;
  readonly #index: FleetIndex;
  readonly #tracker: HostProblemTracker;
  readonly #queue: DeliveryQueue;
  readonly #log: Logger;
  readonly #sinks: Map<string, SinkConfig>;
  readonly #groupers = new Map<string, RuleGrouper>();
  /** Per rule with headApplied: the last revision announced. */
  readonly #headAnnounced = new Map<string, string>();
  #headTimer: NodeJS.Timeout | null = null;
  /** The head the last check looked at. */
  #lastHead: string | null = null;
  readonly #unsubscribe: () => void;
  #sent = 0;

  readonly #state: NotifyState | null;

  /** `state`: where groups and announced heads are saved (null: kept in memory only). */
  constructor(o: { config: NotifyConfig; index: FleetIndex; tracker: HostProblemTracker; queue: DeliveryQueue; logger: Logger; state?: NotifyState | null }) {
    this.#config = o.config;
    this.#index = o.index;
    this.#tracker = o.tracker;
    this.#queue = o.queue;
    this.#log = o.logger;
    this.#state = o.state ?? null;
    this.#sinks = new Map(o.config.sinks.map((s) => [s.name, s]));
    for (const s of o.config.sinks) o.queue.addLane(sinkLane(s.name), { retry: s.retry });
    for (const r of o.config.rules) {
      const g: RuleGrouper = new RuleGrouper(r, (m) => this.send(r, m), o.config.webUrl, undefined, (key) =>
        this.#state?.mark(groupPrefix(r.name) + key, () => {
          const s = g.snapshot(key);
          return s ? JSON.stringify(s) : null;
        }),
      );
      this.#groupers.set(r.name, g);
    }
    this.#unsubscribe = o.tracker.subscribe({ transition: (t) => this.transition(t), changed: () => this.scheduleHeadCheck() });
  }

  /**
   * Takes over what the previous sender saved: each rule's open groups (call
   * before feeding the current problems, then settle()) and last announced head.
   * Returns the saved groups' states (the offline hosts among them are fed again by the caller).
   */
  restore(saved: ReadonlyMap<string, string>): GroupState[] {
    const out: GroupState[] = [];
    for (const r of this.#config.rules) {
      const g = this.#groupers.get(r.name)!;
      const prefix = groupPrefix(r.name);
      for (const [key, body] of saved) {
        if (!key.startsWith(prefix)) continue;
        try {
          const s = JSON.parse(body) as GroupState;
          g.restore(s);
          out.push(s);
        } catch {
          this.#log.warn({ rule: r.name }, 'an unreadable saved notification group was ignored');
        }
      }
      const head = saved.get(headKey(r.name));
      if (head !== undefined) this.#headAnnounced.set(r.name, JSON.parse(head) as string);
    }
    return out;
  }

  /** After restore() and the current problems: named hosts no longer in their state recovered meanwhile. */
  settle(): void {
    for (const g of this.#groupers.values()) g.settle();
  }

  /** Messages handed to the queue since start (one per rule and message, whatever the number of sinks). */
  get sent(): number {
    return this.#sent;
  }

  /** The tag of `rule` a host falls under ("" for a rule without tags), or null when the rule does not cover it. */
  private ruleTag(rule: RuleConfig, hostTags: readonly string[]): string | null {
    if (rule.tags.length === 0) return '';
    return rule.tags.find((t) => inTag(hostTags, t)) ?? null;
  }

  private transition(t: ProblemTransition): void {
    const tags = this.#index.get(t.host)?.tags ?? [];
    for (const rule of this.#config.rules) {
      if (!rule.events.has(t.kind)) continue;
      const g = this.#groupers.get(rule.name)!;
      // Leaving does not depend on the host's tags now: it leaves the group it entered.
      if (t.before) g.leave(t.host, t.kind, t.after === null);
      const tag = this.ruleTag(rule, tags);
      if (t.after && tag !== null) g.enter(t.host, t.kind, t.after.revision, tag, t.after.message);
    }
  }

  /** Called by the rollout controller when a rollout halts; rules with `rolloutHalted` covering its tag hear of it. */
  rolloutHalted(e: RolloutHalted): void {
    const tag = e.tag.replace(/^\/+|\/+$/g, '');
    const hosts = (e.hosts ?? []).map((h) => ({ id: boundText(h.id, 253), message: boundText(h.message ?? '', 300) }));
    const event = { ...e, tag, reason: boundText(e.reason, 300), rollout: boundText(e.rollout, 100), hosts };
    for (const rule of this.#config.rules) {
      if (!rule.events.has('rolloutHalted')) continue;
      // A rule hears of a rollout whose hosts overlap its tags: the rollout's tag is within one of them, or contains one.
      if (rule.tags.length > 0 && tag !== '' && !rule.tags.some((t) => inTag([tag], t) || inTag([t], tag))) continue;
      this.send(rule, rolloutHaltedMessage(rule.name, event, this.#config.webUrl, new Date()));
    }
  }

  private scheduleHeadCheck(): void {
    if (this.#headTimer !== null || !this.#config.rules.some((r) => r.events.has('headApplied'))) return;
    this.#headTimer = setTimeout(() => {
      this.#headTimer = null;
      this.checkHead();
    }, HEAD_CHECK_INTERVAL_MS);
    this.#headTimer.unref();
  }

  /**
   * Head changed or hosts reported: announce, once per rule and revision, a
   * head every covered host has applied. The head before the current one is
   * looked at once more first: it may have reached every host just before a
   * newer one replaced it, between two checks.
   */
  checkHead(): void {
    const head = this.#index.head?.revision;
    if (!head) return;
    const previous = this.#lastHead;
    this.#lastHead = head;
    if (previous !== null && previous !== head) this.checkRevision(previous);
    this.checkRevision(head);
  }

  private checkRevision(revision: string): void {
    // The pass over every host only while some rule still waits for this revision.
    const waiting = this.#config.rules.filter((r) => r.events.has('headApplied') && this.#headAnnounced.get(r.name) !== revision);
    if (waiting.length === 0) return;
    const hosts = this.#index.all();
    for (const rule of waiting) {
      const covered = rule.tags.length === 0 ? hosts : hosts.filter((h) => rule.tags.some((t) => inTag(h.tags, t)));
      const p = revisionProgress(covered, revision, (id) => this.#tracker.problems(id));
      if (p.affected === 0 || p.applied < p.affected) continue;
      this.#headAnnounced.set(rule.name, revision);
      this.#state?.mark(headKey(rule.name), () => JSON.stringify(revision));
      this.send(rule, headAppliedMessage(rule.name, revision, rule.tags.length === 1 ? rule.tags[0]! : '', p.affected, this.#config.webUrl, new Date()));
    }
  }

  private send(rule: RuleConfig, m: NotifyMessage): void {
    this.#sent++;
    this.#log.info({ rule: rule.name, event: m.event, id: m.id, hosts: m.hostCount, sinks: rule.sinks }, `notification: ${m.title}`);
    for (const name of rule.sinks) {
      const sink = this.#sinks.get(name)!;
      this.#queue.enqueue(sinkLane(name), () => deliver(sink, m));
    }
  }

  stop(): void {
    this.#unsubscribe();
    if (this.#headTimer !== null) clearTimeout(this.#headTimer);
    for (const g of this.#groupers.values()) g.stop();
  }
}
