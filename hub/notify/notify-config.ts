// The `notify:` section of the hub config (docs/notifications.md): sinks
// (where messages go) and rules (which events, under which tags, to which
// sinks). Parsed with the rest of the hub config; secrets come from files
// so they stay out of the config, and a wrong value fails at start naming
// its key.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { durationMs, durationPattern } from '../../shared/durations.ts';
import { messageOf } from '../../shared/errors.ts';

/** Every event a rule can name. `recovered` turns on the recovery message of the problems the rule names. */
export const notifyEvents = ['failed', 'refused', 'rolledBack', 'drifted', 'offline', 'recovered', 'rolloutHalted', 'headApplied'] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

const duration = z.string().regex(durationPattern, 'a duration like 30s, 1m or 500ms');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, 'an http(s) URL');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." and "-" (at most 63)');

const retry = z.strictObject({
  attempts: z.number().int().min(1).max(20).optional(),
  initialDelay: duration.optional(),
  maxDelay: duration.optional(),
});

const common = { timeout: duration.optional(), retry: retry.optional() };

const Sink = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), url: httpUrl, secretFile: z.string().min(1), ...common }),
  z.strictObject({ type: z.literal('slack'), urlFile: z.string().min(1), ...common }),
  z.strictObject({
    type: z.literal('ntfy'),
    url: httpUrl,
    topic: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an ntfy topic: letters, digits, "_" and "-" (at most 64)'),
    tokenFile: z.string().min(1).optional(),
    priority: z.number().int().min(1).max(5).optional(),
    ...common,
  }),
  z.strictObject({ type: z.literal('command'), command: z.array(z.string().min(1)).min(1).max(64), ...common }),
]);

const Rule = z.strictObject({
  name,
  events: z.array(z.enum(notifyEvents)).min(1),
  /** Tag prefixes: a host matches when one of its tags is one of these or below one. None: every host. */
  tags: z.array(z.string().min(1).max(1024)).max(64).optional(),
  sinks: z.array(name).min(1),
  groupWindow: duration.optional(),
  repeatInterval: duration.optional(),
});

export const NotifyFileConfig = z.strictObject({
  /** Link target for messages: the web view's address, e.g. https://hub.example.com. */
  webUrl: httpUrl.optional(),
  groupWindow: duration.optional(),
  repeatInterval: duration.optional(),
  queueSize: z.number().int().min(1).max(100_000).optional(),
  sinks: z.record(name, Sink),
  rules: z.array(Rule).min(1),
});
export type NotifyFileConfig = z.infer<typeof NotifyFileConfig>;

export const notifyDefaults = {
  groupWindow: '30s',
  repeatInterval: '4h',
  queueSize: 1000,
  timeout: '10s',
  attempts: 5,
  initialDelay: '1s',
  maxDelay: '5m',
} as const;

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

interface SinkBase {
  name: string;
  timeoutMs: number;
  retry: RetryPolicy;
}
export type SinkConfig =
  | (SinkBase & { type: 'webhook'; url: string; secret: string })
  | (SinkBase & { type: 'slack'; url: string })
  | (SinkBase & { type: 'ntfy'; url: string; topic: string; token?: string | undefined; priority?: number | undefined })
  | (SinkBase & { type: 'command'; command: string[] });

export interface RuleConfig {
  name: string;
  events: ReadonlySet<NotifyEvent>;
  tags: string[];
  sinks: string[];
  groupWindowMs: number;
  repeatIntervalMs: number;
}

export interface NotifyConfig {
  webUrl: string | undefined;
  queueSize: number;
  sinks: SinkConfig[];
  rules: RuleConfig[];
}

type Invalid = (key: string, why: string) => Error;

function readSecretFile(path: string, key: string, invalid: Invalid): string {
  let value: string;
  try {
    value = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    throw invalid(key, `cannot read ${path}: ${messageOf(cause)}`);
  }
  if (value === '') throw invalid(key, `${path} is empty`);
  return value;
}

/** The validated section with its secret files read; throws `invalid(key, why)` on the first problem. */
export function resolveNotifyConfig(c: NotifyFileConfig, invalid: Invalid): NotifyConfig {
  const sinks: SinkConfig[] = [];
  for (const [sinkName, s] of Object.entries(c.sinks)) {
    const key = `notify.sinks.${sinkName}`;
    const initialDelayMs = durationMs(s.retry?.initialDelay ?? notifyDefaults.initialDelay);
    const maxDelayMs = durationMs(s.retry?.maxDelay ?? notifyDefaults.maxDelay);
    if (maxDelayMs < initialDelayMs) throw invalid(`${key}.retry.maxDelay`, 'must be at least retry.initialDelay');
    const timeoutMs = durationMs(s.timeout ?? notifyDefaults.timeout);
    if (timeoutMs < 100 || timeoutMs > 300_000) throw invalid(`${key}.timeout`, 'between 100ms and 5m');
    const base: SinkBase = { name: sinkName, timeoutMs, retry: { attempts: s.retry?.attempts ?? notifyDefaults.attempts, initialDelayMs, maxDelayMs } };
    switch (s.type) {
      case 'webhook': {
        const secret = readSecretFile(s.secretFile, `${key}.secretFile`, invalid);
        if (secret.length < 16) throw invalid(`${key}.secretFile`, `the secret in ${s.secretFile} must be at least 16 characters`);
        sinks.push({ ...base, type: 'webhook', url: s.url, secret });
        break;
      }
      case 'slack': {
        const url = readSecretFile(s.urlFile, `${key}.urlFile`, invalid);
        if (!httpUrl.safeParse(url).success) throw invalid(`${key}.urlFile`, `${s.urlFile} must hold one http(s) URL`);
        sinks.push({ ...base, type: 'slack', url });
        break;
      }
      case 'ntfy':
        sinks.push({ ...base, type: 'ntfy', url: s.url.replace(/\/+$/, ''), topic: s.topic, token: s.tokenFile === undefined ? undefined : readSecretFile(s.tokenFile, `${key}.tokenFile`, invalid), priority: s.priority });
        break;
      case 'command':
        if (!s.command[0]!.startsWith('/')) throw invalid(`${key}.command`, 'the program must be an absolute path (an argument vector, run without a shell)');
        sinks.push({ ...base, type: 'command', command: s.command });
        break;
    }
  }
  const names = new Set(sinks.map((s) => s.name));
  const ruleNames = new Set<string>();
  const rules = c.rules.map((r, i): RuleConfig => {
    if (ruleNames.has(r.name)) throw invalid(`notify.rules.${i}.name`, `a second rule named ${r.name}`);
    ruleNames.add(r.name);
    for (const s of r.sinks) if (!names.has(s)) throw invalid(`notify.rules.${i}.sinks`, `no sink named ${s} under notify.sinks`);
    const groupWindowMs = durationMs(r.groupWindow ?? c.groupWindow ?? notifyDefaults.groupWindow);
    if (groupWindowMs > 3_600_000) throw invalid(`notify.rules.${i}.groupWindow`, 'at most 1h');
    const repeatIntervalMs = durationMs(r.repeatInterval ?? c.repeatInterval ?? notifyDefaults.repeatInterval);
    if (repeatIntervalMs !== 0 && repeatIntervalMs < 1000) throw invalid(`notify.rules.${i}.repeatInterval`, 'at least 1s, or 0s for no repeat');
    return { name: r.name, events: new Set(r.events), tags: (r.tags ?? []).map((t) => t.replace(/^\/+|\/+$/g, '')), sinks: r.sinks, groupWindowMs, repeatIntervalMs };
  });
  return { webUrl: c.webUrl?.replace(/\/+$/, ''), queueSize: c.queueSize ?? notifyDefaults.queueSize, sinks, rules };
}
