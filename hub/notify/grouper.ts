// Grouping and de-duplication for one rule: hosts entering the same problem
// on the same revision under the same tag within the group window become one
// message ("12 hosts under prod/eu failed on abc1234"), not twelve. While
// hosts stay in the state a reminder goes out every repeat interval; when
// the last one leaves, one recovery message (if the rule asks for it). A
// host that enters and leaves within the window is never announced (a flap),
// and a recovery waits one window too, so a host that fails again at once
// does not produce "recovered" then "failed". Each group's state can be
// saved (snapshot, onDirty) and restored, so the replica that sends next
// (after a restart or a leader change) does not announce again the hosts
// already named, and announces the recovery of those that recovered meanwhile.
import type { ProblemKind } from './host-problems.ts';
import type { RuleConfig } from './notify-config.ts';
import { problemMessage } from './message.ts';
import type { NotifyMessage } from './message.ts';

/** What a group keeps across a restart or a leader change (hub/notify/notify-state.ts). */
export interface GroupState {
  kind: ProblemKind;
  revision: string | null;
  tag: string;
  /** Hosts in the state, with their message (announced or still within the window). */
  members: Array<[string, string]>;
  /** Hosts named in a message whose recovery has not been announced yet. */
  named: string[];
}

interface Group {
  kind: ProblemKind;
  revision: string | null;
  tag: string;
  /** Hosts in the state now, with their message. */
  members: Map<string, string>;
  /** Members already named in a sent message. */
  announced: Set<string>;
  /** Announced hosts that have left the state (for the recovery message). */
  recovered: Map<string, string>;
  windowTimer: NodeJS.Timeout | null;
  repeatTimer: NodeJS.Timeout | null;
  recoveryTimer: NodeJS.Timeout | null;
}

export class RuleGrouper {
  readonly #rule: RuleConfig;
  readonly #send: (m: NotifyMessage) => void;
  readonly #webUrl: string | undefined;
  readonly #now: () => Date;
  readonly #groups = new Map<string, Group>();
  /** host + kind → the group it is in: a host leaves the group it entered, even if its tags changed since. */
  readonly #memberOf = new Map<string, string>();
  readonly #onDirty: (key: string) => void;

  /** `onDirty(key)`: the group's snapshot changed (saved later, debounced; null snapshot: the group is gone). */
  constructor(rule: RuleConfig, send: (m: NotifyMessage) => void, webUrl: string | undefined, now: () => Date = () => new Date(), onDirty: (key: string) => void = () => {}) {
    this.#rule = rule;
    this.#send = send;
    this.#webUrl = webUrl;
    this.#now = now;
    this.#onDirty = onDirty;
  }

  snapshot(key: string): GroupState | null {
    const g = this.#groups.get(key);
    if (!g) return null;
    return { kind: g.kind, revision: g.revision, tag: g.tag, members: [...g.members], named: [...new Set([...g.announced, ...g.recovered.keys()])] };
  }

  /**
   * A group saved by the replica that sent before: its named hosts are not
   * announced again when they enter (feed the current problems after this),
   * then settle() says which recovered meanwhile.
   */
  restore(state: GroupState): void {
    const key = groupKey(state.kind, state.revision, state.tag);
    if (this.#groups.has(key)) return;
    // Named hosts count as recovered until they enter again (enter() takes them back silently, as within an episode).
    const messages = new Map(state.members);
    const recovered = new Map(state.named.map((h) => [h, messages.get(h) ?? '']));
    this.#groups.set(key, { kind: state.kind, revision: state.revision, tag: state.tag, members: new Map(), announced: new Set(), recovered, windowTimer: null, repeatTimer: null, recoveryTimer: null });
  }

  /**
   * After restore() and the current problems entered: a named host that is no
   * longer in its state recovered while no replica was watching (its recovery
   * goes out as usual); a group still open gets its reminder timer again.
   */
  settle(): void {
    for (const [key, g] of [...this.#groups]) {
      this.#onDirty(key);
      if (g.members.size === 0) {
        this.#groups.delete(key);
        if (g.recovered.size > 0 && this.#rule.events.has('recovered')) {
          this.#groups.set(key, g);
          g.recoveryTimer = this.timer(this.#rule.groupWindowMs, () => {
            this.#groups.delete(key);
            this.#onDirty(key);
            this.#send(this.message(g, [...g.recovered].map(([id, m]) => ({ id, message: m })), 'recovered', false));
          });
        }
        continue;
      }
      if (g.announced.size > 0 && g.repeatTimer === null && this.#rule.repeatIntervalMs > 0) this.scheduleRepeat(g);
    }
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  enter(host: string, kind: ProblemKind, revision: string | null, tag: string, message: string): void {
    const key = groupKey(kind, revision, tag);
    this.#onDirty(key);
    const previous = this.#memberOf.get(`${host}\0${kind}`);
    if (previous !== undefined && previous !== key) this.leave(host, kind, false);
    this.#memberOf.set(`${host}\0${kind}`, key);
    let g = this.#groups.get(key);
    if (!g) {
      g = { kind, revision, tag, members: new Map(), announced: new Set(), recovered: new Map(), windowTimer: null, repeatTimer: null, recoveryTimer: null };
      this.#groups.set(key, g);
    }
    g.members.set(host, message);
    // Back within the same episode (its recovery not yet announced): it was named already, say nothing new.
    if (g.recovered.delete(host)) g.announced.add(host);
    if (g.recoveryTimer !== null) {
      clearTimeout(g.recoveryTimer);
      g.recoveryTimer = null;
    }
    if (g.announced.has(host) || g.windowTimer !== null) return;
    const group = g;
    g.windowTimer = this.timer(this.#rule.groupWindowMs, () => {
      group.windowTimer = null;
      this.announce(group);
    });
  }

  /** `recovered`: the host is fine now (false: it only moved on to another revision or tag). */
  leave(host: string, kind: ProblemKind, recovered: boolean): void {
    const key = this.#memberOf.get(`${host}\0${kind}`);
    if (key === undefined) return;
    this.#memberOf.delete(`${host}\0${kind}`);
    const g = this.#groups.get(key);
    if (!g || !g.members.has(host)) return;
    this.#onDirty(key);
    const message = g.members.get(host)!;
    g.members.delete(host);
    if (g.announced.has(host)) {
      g.announced.delete(host);
      if (recovered) g.recovered.set(host, message);
    }
    if (g.members.size > 0) return;
    this.clearTimers(g);
    if (g.recovered.size === 0 || !this.#rule.events.has('recovered')) {
      this.#groups.delete(key);
      return;
    }
    g.recoveryTimer = this.timer(this.#rule.groupWindowMs, () => {
      this.#groups.delete(key);
      this.#onDirty(key);
      this.#send(this.message(g, [...g.recovered].map(([id, m]) => ({ id, message: m })), 'recovered', false));
    });
  }

  private announce(g: Group): void {
    const fresh = [...g.members].filter(([id]) => !g.announced.has(id));
    if (fresh.length === 0) return;
    const more = g.announced.size > 0;
    for (const [id] of fresh) g.announced.add(id);
    this.#onDirty(groupKey(g.kind, g.revision, g.tag));
    this.#send(this.message(g, fresh.map(([id, message]) => ({ id, message })), 'new', more));
    if (g.repeatTimer === null && this.#rule.repeatIntervalMs > 0) this.scheduleRepeat(g);
  }

  private scheduleRepeat(g: Group): void {
    g.repeatTimer = this.timer(this.#rule.repeatIntervalMs, () => {
      g.repeatTimer = null;
      if (g.members.size === 0) return;
      for (const id of g.members.keys()) g.announced.add(id);
      this.#onDirty(groupKey(g.kind, g.revision, g.tag));
      this.#send(this.message(g, [...g.members].map(([id, message]) => ({ id, message })), 'repeat', false));
      this.scheduleRepeat(g);
    });
  }

  private message(g: Group, hosts: Array<{ id: string; message: string }>, phase: 'new' | 'repeat' | 'recovered', more: boolean): NotifyMessage {
    const sorted = hosts.sort((a, b) => a.id.localeCompare(b.id));
    const m = problemMessage({ rule: this.#rule.name, kind: g.kind, revision: g.revision, tag: g.tag, hosts: sorted, totalInState: g.members.size, phase, more, webUrl: this.#webUrl, now: this.#now() });
    return m;
  }

  private timer(ms: number, run: () => void): NodeJS.Timeout {
    const t = setTimeout(run, ms);
    t.unref();
    return t;
  }

  private clearTimers(g: Group): void {
    for (const t of [g.windowTimer, g.repeatTimer, g.recoveryTimer]) if (t !== null) clearTimeout(t);
    g.windowTimer = g.repeatTimer = g.recoveryTimer = null;
  }

  stop(): void {
    for (const g of this.#groups.values()) this.clearTimers(g);
    this.#groups.clear();
    this.#memberOf.clear();
  }
}

/** A group's key within a rule: its kind, revision and tag (JSON, so no character of a tag can collide). */
export function groupKey(kind: ProblemKind, revision: string | null, tag: string): string {
  return JSON.stringify([kind, revision ?? '', tag]);
}
