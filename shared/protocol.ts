// The agent–hub wire protocol: the one definition both sides import. Every
// frame, in either direction, is parsed by parseAgentMessage/parseHubMessage
// and nowhere else. A schema and its inferred type share one name.
//
// Delivery: the agent numbers each status and event with one increasing `seq`
// (persisted with its queue). The hub stores the highest seq it has applied per
// host, ignores anything at or below it (so a resend after a reconnect is
// harmless) and tells the agent what it has stored, in `welcome.lastSeq` and in
// `ack` frames; the agent drops from its on-disk queue only what was acked.
import { z } from 'zod';
import { GitfleetError } from './errors.ts';
import { HostStatus } from './status.ts';

/**
 * Bumped on any change an older peer could not understand; the newest version this build speaks.
 * 2: the hub's `release` message (staged rollouts, docs/rollouts.md), sent only to agents that speak 2.
 * 3: the `OutOfSync` sync state in statuses (an older hub gets it as `Drifted`).
 */
export const PROTOCOL_VERSION = 3;
/**
 * The oldest version this build still speaks, as hub or as agent. A hello
 * carries the agent's range (`minProtocol`…`protocol`); the hub answers with
 * the highest version both speak (negotiateProtocol) or refuses with a named
 * reason, and the agent accepts any chosen version inside its own range.
 */
export const MIN_PROTOCOL_VERSION = 1;
/** Largest frame either side accepts, in bytes; larger frames close the socket. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** The WebSocket path agents dial. */
export const AGENT_PATH = '/agent';

/**
 * Bounds on what an agent reports about itself (docs/security.md, "Limits on
 * what an agent sends"). The hub expands every tag into its ancestors for the
 * tag tree, so depth and length are bounded as well as the count: the work per
 * host is at most tags × depth × length characters, a constant.
 */
export const TAG_LIMITS = {
  /** Tags in a hello. */
  count: 64,
  /** Characters in one tag. */
  length: 256,
  /** Path segments in one tag (`prod/eu/web` is 3). */
  depth: 16,
} as const;

/** Segments of a tag path, counted without building any array (linear in its length). */
export function tagDepth(tag: string): number {
  let depth = 1;
  for (let i = 0; i < tag.length; i++) if (tag.charCodeAt(i) === 47) depth++;
  return depth;
}

export const ReportedTag = z
  .string()
  .max(TAG_LIMITS.length)
  .refine((t) => tagDepth(t) <= TAG_LIMITS.depth, { message: `a tag has at most ${TAG_LIMITS.depth} path segments` });

/**
 * Tags stored by an older hub may exceed today's bounds: keep the ones that
 * fit, at most TAG_LIMITS.count, so a hostile hello stored before an upgrade
 * cannot cost the hub at every start.
 */
export function boundTags(tags: readonly string[]): string[] {
  const kept: string[] = [];
  for (const t of tags) {
    if (kept.length >= TAG_LIMITS.count) break;
    if (typeof t === 'string' && t.length <= TAG_LIMITS.length && tagDepth(t) <= TAG_LIMITS.depth) kept.push(t);
  }
  return kept;
}

/** Why two peers cannot talk; both sides log the same name. */
export const IncompatibilityReason = z.enum(['agent-too-old', 'hub-too-old']);
export type IncompatibilityReason = z.infer<typeof IncompatibilityReason>;

export const HostId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, 'a host id: letters, digits, ".", "_", "-", at most 253 characters');
export type HostId = z.infer<typeof HostId>;

const text = (max: number) => z.string().max(max);
const nullableText = (max: number) => z.string().max(max).nullable();
const count = z.number().int().nonnegative();

export const HostFacts = z.object({
  hostname: nullableText(253),
  os: z.object({ platform: nullableText(64), distro: nullableText(128), release: nullableText(128), codename: nullableText(128) }),
  kernel: nullableText(128),
  arch: nullableText(32),
  cpu: z.object({ model: nullableText(256), cores: count.nullable() }),
  memory: z.object({ totalBytes: count.nullable() }),
  disks: z.array(z.object({ mount: text(1024), fs: text(256), sizeBytes: count, usedBytes: count })).max(64),
  addresses: z.array(z.object({ iface: text(64), address: text(64), family: z.enum(['IPv4', 'IPv6']) })).max(64),
  uptimeSeconds: z.number().nonnegative().nullable(),
  docker: z.object({ version: text(64) }).nullable(),
  systemd: z.object({ version: text(64) }).nullable(),
  /** The host's age public key, what encrypted layers are encrypted for (docs/secrets.md); absent from older agents. */
  age: z.object({ recipient: z.string().regex(/^age1[0-9a-z]{20,120}$/) }).nullable().optional(),
  /** The engine on the agent's container socket (`docker` or `podman`, a bounded string so newer names pass); absent from older agents. */
  containerEngine: z.object({ name: text(32), version: text(64) }).nullable().optional(),
  collectedAt: text(40),
});
export type HostFacts = z.infer<typeof HostFacts>;

// ---------------------------------------------------------------- agent → hub

export const Hello = z.object({
  type: z.literal('hello'),
  /** The newest protocol version the agent speaks. */
  protocol: z.number().int().positive(),
  /** The oldest it speaks; absent from agents that speak only `protocol`. */
  minProtocol: z.number().int().positive().optional(),
  host: HostId,
  agentVersion: text(64),
  place: text(1024),
  tags: z.array(ReportedTag).max(TAG_LIMITS.count),
  facts: HostFacts,
  /** First contact: the fleet-wide enrollment token. */
  enrollmentToken: z.string().min(1).max(512).optional(),
  /** Every later contact: the credential the hub issued to this host. */
  credential: z.string().min(1).max(512).optional(),
  /** Events this agent has dropped from its full queue, ever (a total, so a resend is harmless). */
  droppedEvents: count,
});
export type Hello = z.infer<typeof Hello>;

export const StatusReport = z.object({
  type: z.literal('status'),
  seq: count,
  status: HostStatus,
});
export type StatusReport = z.infer<typeof StatusReport>;

export const EventLevel = z.enum(['info', 'warning', 'error']);
export type EventLevel = z.infer<typeof EventLevel>;

export const EventReport = z.object({
  type: z.literal('event'),
  seq: count,
  time: text(40),
  level: EventLevel,
  resource: text(1024).optional(),
  reason: text(100),
  message: text(4096),
});
export type EventReport = z.infer<typeof EventReport>;

export const Heartbeat = z.object({
  type: z.literal('heartbeat'),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const AgentMessage = z.discriminatedUnion('type', [Hello, StatusReport, EventReport, Heartbeat]);
export type AgentMessage = z.infer<typeof AgentMessage>;

// ---------------------------------------------------------------- hub → agent

export const Welcome = z.object({
  type: z.literal('welcome'),
  /** The version the hub chose: the highest both speak. */
  protocol: z.number().int().positive(),
  /** Only on first enrollment: the host's own credential, to persist and use from now on. */
  hostCredential: z.string().min(1).max(512).optional(),
  serverTime: text(40),
  heartbeatMs: z.number().int().min(100).max(3_600_000),
  /** The highest seq the hub has stored for this host (0 when none). */
  lastSeq: count,
});
export type Welcome = z.infer<typeof Welcome>;

export const ReconcileNow = z.object({
  type: z.literal('reconcile-now'),
  reason: text(1024),
  /** `api`: a person asked (corrects even drift under `drift: report`, as a manual sync does); `webhook`: a push. */
  origin: z.enum(['api', 'webhook']).optional(),
});
export type ReconcileNow = z.infer<typeof ReconcileNow>;

export const Ack = z.object({
  type: z.literal('ack'),
  seq: count,
});
export type Ack = z.infer<typeof Ack>;

/** A full Git commit id (SHA-1 or SHA-256). */
export const CommitId = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id');

/**
 * Protocol 2 (docs/rollouts.md): whether a rollout policy applies to the host
 * and the newest revision it may apply. Sent after the welcome and whenever it
 * changes; the agent keeps the last one (across restarts) and never applies a
 * newer revision than it names. `revision` null with `underPolicy`: nothing is
 * released yet (the host keeps what it runs).
 */
export const Release = z.object({
  type: z.literal('release'),
  underPolicy: z.boolean(),
  revision: CommitId.nullable(),
  /** The rollout that decided it, for the agent's log. */
  rollout: text(300).optional(),
});
export type Release = z.infer<typeof Release>;

/** The first protocol version whose statuses may say `OutOfSync`. */
export const OUT_OF_SYNC_PROTOCOL = 3;

/** A status as a hub speaking `version` understands it: before 3, `OutOfSync` was called `Drifted`. */
export function statusForProtocol(status: HostStatus, version: number): HostStatus {
  if (version >= OUT_OF_SYNC_PROTOCOL || !status.resources.some((r) => r.sync === 'OutOfSync')) return status;
  return { ...status, resources: status.resources.map((r) => (r.sync === 'OutOfSync' ? { ...r, sync: 'Drifted' } : r)) };
}

/** The first protocol version that has the `release` message. */
export const RELEASE_PROTOCOL = 2;

/** Codes a hub may send before it closes the socket. */
export const HubErrorCode = z.enum(['PROTOCOL_INVALID', 'PROTOCOL_VERSION', 'AUTH_FAILED', 'HOST_CLAIMED', 'SESSION_REPLACED', 'INTERNAL']);
export type HubErrorCode = z.infer<typeof HubErrorCode>;

/** WebSocket close codes that go with each error (4000–4999 is the application range). */
export const closeCodes: Record<HubErrorCode, number> = {
  INTERNAL: 4000,
  AUTH_FAILED: 4001,
  HOST_CLAIMED: 4002,
  PROTOCOL_VERSION: 4003,
  PROTOCOL_INVALID: 4004,
  SESSION_REPLACED: 4005,
};

export const HubError = z.object({
  type: z.literal('error'),
  code: HubErrorCode,
  message: text(4096),
  reason: IncompatibilityReason.optional(),
  /** With `reason`: the newest version the hub speaks… */
  hubProtocol: z.number().int().positive().optional(),
  /** …and the oldest. */
  hubMinProtocol: z.number().int().positive().optional(),
});
export type HubError = z.infer<typeof HubError>;

export const HubMessage = z.discriminatedUnion('type', [Welcome, ReconcileNow, Ack, HubError, Release]);
export type HubMessage = z.infer<typeof HubMessage>;

// ---------------------------------------------------------------- compatibility

/** A range of protocol versions one peer speaks, oldest first. */
export interface ProtocolRange {
  min: number;
  max: number;
}

/** What this build speaks, as hub and as agent. */
export const OWN_PROTOCOL_RANGE: ProtocolRange = { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION };

/**
 * The hub's choice: the highest version both speak, min(agent max, hub max),
 * when that is at least both minimums. Otherwise the side whose range lies
 * entirely below the other's is the one to upgrade.
 */
export function negotiateProtocol(agent: ProtocolRange, hub: ProtocolRange = OWN_PROTOCOL_RANGE): { version: number } | { reason: IncompatibilityReason } {
  const version = Math.min(agent.max, hub.max);
  if (version < hub.min) return { reason: 'agent-too-old' };
  if (version < agent.min) return { reason: 'hub-too-old' };
  return { version };
}

/** The agent's view of the version a hub chose; null when it is inside the agent's range. */
export function hubIncompatibility(chosen: number, agent: ProtocolRange = OWN_PROTOCOL_RANGE): IncompatibilityReason | null {
  if (chosen < agent.min) return 'hub-too-old';
  if (chosen > agent.max) return 'agent-too-old';
  return null;
}

function describeRange(r: ProtocolRange): string {
  return r.min === r.max ? String(r.max) : `${r.min}–${r.max}`;
}

export function describeIncompatibility(reason: IncompatibilityReason, agent: ProtocolRange, hub: ProtocolRange): string {
  const which = reason === 'agent-too-old' ? 'upgrade the agent' : 'upgrade the hub';
  return `incompatible protocol (${reason}): agent speaks ${describeRange(agent)}, hub speaks ${describeRange(hub)} — ${which}`;
}

/** The range a hello declares (an agent without `minProtocol` speaks only `protocol`). */
export function helloRange(hello: { protocol: number; minProtocol?: number | undefined }): ProtocolRange {
  return { min: Math.min(hello.minProtocol ?? hello.protocol, hello.protocol), max: hello.protocol };
}

// ---------------------------------------------------------------- parsing

type Frame = string | Uint8Array | ArrayBuffer | Uint8Array[];

function frameBytes(frame: Frame): number {
  if (typeof frame === 'string') return new TextEncoder().encode(frame).length;
  if (Array.isArray(frame)) return frame.reduce((n, part) => n + part.byteLength, 0);
  return frame.byteLength;
}

function frameText(frame: Frame): string {
  if (typeof frame === 'string') return frame;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  if (Array.isArray(frame)) {
    const all = new Uint8Array(frameBytes(frame));
    let at = 0;
    for (const part of frame) {
      all.set(part, at);
      at += part.byteLength;
    }
    return decoder.decode(all);
  }
  return decoder.decode(frame instanceof ArrayBuffer ? new Uint8Array(frame) : frame);
}

function decode(frame: Frame): unknown {
  const size = frameBytes(frame);
  if (size > MAX_FRAME_BYTES) {
    throw new GitfleetError('PROTOCOL_INVALID', `frame of ${size} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
  }
  let body: string;
  try {
    body = frameText(frame);
  } catch (cause) {
    throw new GitfleetError('PROTOCOL_INVALID', 'frame is not UTF-8 text', { cause });
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (cause) {
    throw new GitfleetError('PROTOCOL_INVALID', 'frame is not JSON', { cause });
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`)
    .join('; ');
}

function typeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' ? type.slice(0, 40) : undefined;
}

/**
 * Parses one frame from an agent. Throws PROTOCOL_VERSION (with the reason in
 * the message) for a hello of an incompatible version — checked before the
 * schema, so a newer agent gets a version error rather than a schema error —
 * and PROTOCOL_INVALID for anything oversize, not JSON or off-schema.
 */
export function parseAgentMessage(frame: Frame): AgentMessage {
  const value = decode(frame);
  const type = typeOf(value);
  if (type === 'hello') {
    const { protocol, minProtocol } = value as { protocol?: unknown; minProtocol?: unknown };
    if (typeof protocol === 'number' && Number.isInteger(protocol)) {
      const agent = helloRange({ protocol, minProtocol: typeof minProtocol === 'number' && Number.isInteger(minProtocol) ? minProtocol : undefined });
      const chosen = negotiateProtocol(agent);
      if ('reason' in chosen) throw new ProtocolVersionError(chosen.reason, agent, OWN_PROTOCOL_RANGE);
    }
  }
  const parsed = AgentMessage.safeParse(value);
  if (!parsed.success) {
    throw new GitfleetError('PROTOCOL_INVALID', `invalid ${type ?? 'untyped'} message: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Parses one frame from the hub; a welcome of an incompatible version throws PROTOCOL_VERSION. */
export function parseHubMessage(frame: Frame): HubMessage {
  const value = decode(frame);
  const type = typeOf(value);
  if (type === 'welcome') {
    const protocol = (value as { protocol?: unknown }).protocol;
    if (typeof protocol === 'number' && Number.isInteger(protocol)) {
      const reason = hubIncompatibility(protocol);
      if (reason !== null) throw new ProtocolVersionError(reason, OWN_PROTOCOL_RANGE, { min: protocol, max: protocol });
    }
  }
  const parsed = HubMessage.safeParse(value);
  if (!parsed.success) {
    throw new GitfleetError('PROTOCOL_INVALID', `invalid ${type ?? 'untyped'} message: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** PROTOCOL_VERSION with the named reason attached, so both sides can log and send it. */
export class ProtocolVersionError extends GitfleetError {
  readonly reason: IncompatibilityReason;
  constructor(reason: IncompatibilityReason, agent: ProtocolRange, hub: ProtocolRange) {
    super('PROTOCOL_VERSION', describeIncompatibility(reason, agent, hub));
    this.reason = reason;
  }
}

/** Serializes a message; the parameter type is what keeps senders on-schema (parsing again would cost the hub at 10,000 agents). */
export function encodeMessage(message: AgentMessage | HubMessage): string {
  return JSON.stringify(message);
}
