// The hub's configuration (docs/hub.md): a YAML file, every key also from a
// GITFLEET_HUB_* environment variable (the variable wins). A wrong or missing
// value fails at start with one line naming the key. Secrets can come from
// files (`…File` keys) so they stay out of the config and the environment.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { GitfleetError, messageOf } from '../shared/errors.ts';
import { databaseUrlProblem } from './store/postgres-url.ts';
import { durationMs, durationPattern } from '../shared/durations.ts';
import { DEFAULT_AUDIT_ENTRIES } from './store/fleet-records.ts';
import { DEFAULT_TRACKED_TAGS } from './fleet/tracked-tags.ts';
import { compileTrustedProxies } from './client-address.ts';
import { NotifyFileConfig, resolveNotifyConfig } from './notify/notify-config.ts';
import type { NotifyConfig } from './notify/notify-config.ts';
import { CommitStatusFileConfig, resolveCommitStatusConfig } from './forge-status/forge-config.ts';
import type { CommitStatusConfig } from './forge-status/forge-config.ts';

export const hubConfigDefaults = {
  listen: '127.0.0.1:8080',
  dataDir: '/var/lib/gitfleet-hub',
  ref: 'main',
  path: '.',
  heartbeat: '30s',
  pollInterval: '60s',
  eventsPerHost: 500,
  attemptsPerHost: 100,
  logLevel: 'info',
  /** Enrollment attempts per minute (docs/security.md, Enrollment). */
  enrollPerAddress: 60,
  enrollPerToken: 600,
} as const;

/** Config key → environment variable. */
export const hubEnv: Record<string, string> = {
  listen: 'GITFLEET_HUB_LISTEN',
  dataDir: 'GITFLEET_HUB_DATA_DIR',
  database: 'GITFLEET_HUB_DATABASE',
  repo: 'GITFLEET_HUB_REPO',
  ref: 'GITFLEET_HUB_REF',
  path: 'GITFLEET_HUB_PATH',
  'git.tokenFile': 'GITFLEET_HUB_GIT_TOKEN_FILE',
  'git.username': 'GITFLEET_HUB_GIT_USERNAME',
  'git.passwordFile': 'GITFLEET_HUB_GIT_PASSWORD_FILE',
  'git.sshKeyFile': 'GITFLEET_HUB_GIT_SSH_KEY_FILE',
  'git.knownHostsFile': 'GITFLEET_HUB_GIT_KNOWN_HOSTS_FILE',
  'verify.allowedSigners': 'GITFLEET_HUB_VERIFY_ALLOWED_SIGNERS',
  'verify.gpgKeyring': 'GITFLEET_HUB_VERIFY_GPG_KEYRING',
  enrollmentToken: 'GITFLEET_HUB_ENROLLMENT_TOKEN',
  enrollmentTokenFile: 'GITFLEET_HUB_ENROLLMENT_TOKEN_FILE',
  adminToken: 'GITFLEET_HUB_ADMIN_TOKEN',
  adminTokenFile: 'GITFLEET_HUB_ADMIN_TOKEN_FILE',
  viewerToken: 'GITFLEET_HUB_VIEWER_TOKEN',
  viewerTokenFile: 'GITFLEET_HUB_VIEWER_TOKEN_FILE',
  webhookSecret: 'GITFLEET_HUB_WEBHOOK_SECRET',
  webhookSecretFile: 'GITFLEET_HUB_WEBHOOK_SECRET_FILE',
  commitUrl: 'GITFLEET_HUB_COMMIT_URL',
  'tls.cert': 'GITFLEET_HUB_TLS_CERT',
  'tls.key': 'GITFLEET_HUB_TLS_KEY',
  heartbeat: 'GITFLEET_HUB_HEARTBEAT',
  pollInterval: 'GITFLEET_HUB_POLL_INTERVAL',
  'retention.eventsPerHost': 'GITFLEET_HUB_RETENTION_EVENTS_PER_HOST',
  'retention.attemptsPerHost': 'GITFLEET_HUB_RETENTION_ATTEMPTS_PER_HOST',
  'retention.auditEntries': 'GITFLEET_HUB_RETENTION_AUDIT_ENTRIES',
  'enrollRate.perAddress': 'GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS',
  'enrollRate.perToken': 'GITFLEET_HUB_ENROLL_RATE_PER_TOKEN',
  logLevel: 'GITFLEET_HUB_LOG_LEVEL',
  'metrics.perHost': 'GITFLEET_HUB_METRICS_PER_HOST',
  trackedTags: 'GITFLEET_HUB_TRACKED_TAGS',
  trustedProxies: 'GITFLEET_HUB_TRUSTED_PROXIES',
};

const durationText = z.string().regex(durationPattern, 'a duration like 30s, 1m or 500ms');
const secretValue = z.string().min(16, 'at least 16 characters');

const FileConfig = z.strictObject({
  listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:8080').optional(),
  dataDir: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
  repo: z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
  path: z.string().min(1).optional(),
  git: z
    .strictObject({
      tokenFile: z.string().optional(),
      username: z.string().optional(),
      passwordFile: z.string().optional(),
      sshKeyFile: z.string().optional(),
      knownHostsFile: z.string().optional(),
    })
    .optional(),
  verify: z.strictObject({ allowedSigners: z.string().optional(), gpgKeyring: z.string().optional() }).optional(),
  enrollmentToken: secretValue.optional(),
  enrollmentTokenFile: z.string().optional(),
  adminToken: secretValue.optional(),
  adminTokenFile: z.string().optional(),
  viewerToken: secretValue.optional(),
  viewerTokenFile: z.string().optional(),
  webhookSecret: secretValue.optional(),
  webhookSecretFile: z.string().optional(),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Link for a revision in the web view, e.g. https://git.example.com/ops/fleet/commit/{rev}. */
  commitUrl: z.string().regex(/^https?:\/\/\S+\{rev\}\S*$/, 'an http(s) URL containing {rev}').optional(),
  heartbeat: durationText.optional(),
  pollInterval: durationText.optional(),
  retention: z
    .strictObject({ eventsPerHost: z.number().int().min(10).optional(), attemptsPerHost: z.number().int().min(10).optional(), auditEntries: z.number().int().min(100).max(10_000_000).optional() })
    .optional(),
  /** Enrollment attempts per minute: from one remote address, and new enrollments with one token. */
  enrollRate: z.strictObject({ perAddress: z.number().int().min(1).max(1_000_000).optional(), perToken: z.number().int().min(1).max(1_000_000).optional() }).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** Notification sinks and rules (docs/notifications.md). */
  notify: NotifyFileConfig.optional(),
  /** Commit status write-back to GitHub, GitLab or Gitea (docs/notifications.md). */
  commitStatus: CommitStatusFileConfig.optional(),
  /** perHost: one series per host in /metrics (off: at 10,000 hosts that is 20,000 series; docs/metrics.md). */
  metrics: z.strictObject({ perHost: z.boolean().optional() }).optional(),
  /** Load balancers whose X-Forwarded-For names the client (docs/hub.md): addresses, CIDR ranges, `loopback`… */
  trustedProxies: z.array(z.string().min(1).max(64)).max(64).optional(),
  /** How many tags get per-tag /metrics series and history points (the ones with the most hosts; docs/metrics.md). */
  trackedTags: z.number().int().min(0).max(100_000).optional(),
});

export interface HubConfig {
  listen: { host: string; port: number };
  dataDir: string;
  /** postgres:// URL (holds the password: log it only through redactDatabaseUrl). */
  database?: string | undefined;
  repo?: { url: string; ref: string; path: string; git: Record<string, string>; verify: Record<string, string> } | undefined;
  /** The fleet-wide enrollment token; optional: scoped tokens (created through the API) may be the only ones. */
  enrollmentToken?: string | undefined;
  /** Enrollment attempts per minute allowed per remote address and per token. */
  enrollRate: { perAddress: number; perToken: number };
  adminToken: string;
  viewerToken?: string | undefined;
  webhookSecret?: string | undefined;
  tls?: { cert: string; key: string } | undefined;
  commitUrl?: string | undefined;
  heartbeatMs: number;
  pollIntervalMs: number;
  retention: { eventsPerHost: number; attemptsPerHost: number; auditEntries: number };
  logLevel: string;
  notify?: NotifyConfig | undefined;
  commitStatus?: CommitStatusConfig | undefined;
  metrics: { perHost: boolean };
  /** Tags with per-tag series and history (the largest first): agents report tags, so their count must not be theirs to choose. */
  trackedTags: number;
  /** Proxies trusted to name the client (X-Forwarded-For); [] trusts none. */
  trustedProxies: string[];
}

/** The list as given, once proxy-addr accepts every entry (a typo must not silently trust nobody, or everybody). */
function trustedProxiesOf(list: string[]): string[] {
  for (const entry of list) {
    try {
      compileTrustedProxies([entry]);
    } catch {
      throw invalid('trustedProxies', `"${entry}" is not an IP address, a CIDR range, or loopback, linklocal or uniquelocal`);
    }
  }
  return list;
}

function invalid(key: string, why: string): GitfleetError {
  const env = hubEnv[key];
  return new GitfleetError('CONFIG_INVALID', `hub config: ${key}: ${why}${env ? ` (file key ${key} or ${env})` : ''}`);
}

// One duration parser for agent and hub (shared/durations.ts).
export { durationMs };

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof at[p] !== 'object' || at[p] === null) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = value;
}

/** Reads the file (when given) and the environment; throws CONFIG_INVALID naming the first bad key. */
export function loadHubConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): HubConfig {
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new GitfleetError('CONFIG_INVALID', `hub config: cannot read ${file}: ${messageOf(cause)}`, { cause });
    }
    try {
      const parsed: unknown = parseYaml(text) ?? {};
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a map of keys');
      raw = parsed as Record<string, unknown>;
    } catch (cause) {
      throw new GitfleetError('CONFIG_INVALID', `hub config: ${file} is not valid YAML: ${messageOf(cause)}`, { cause });
    }
  }
  for (const [key, name] of Object.entries(hubEnv)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const typed = key === 'trustedProxies' ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : key === 'metrics.perHost' ? value === 'true' || value === '1' : (key.startsWith('retention.') || key.startsWith('enrollRate.') || key === 'trackedTags') && /^\d+$/.test(value) ? Number(value) : value;
    setPath(raw, key, typed);
  }
  const parsed = FileConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys].join('.') : issue.path.join('.');
    throw invalid(key || '(top level)', issue.code === 'unrecognized_keys' ? 'not a hub configuration key' : issue.message);
  }
  const c = parsed.data;
  const secret = (key: 'enrollmentToken' | 'adminToken' | 'viewerToken' | 'webhookSecret', required: boolean): string | undefined => {
    const fileKey = `${key}File` as const;
    if (c[key] !== undefined && c[fileKey] !== undefined) throw invalid(key, `set either ${key} or ${fileKey}, not both`);
    let value = c[key];
    const path = c[fileKey];
    if (path !== undefined) {
      try {
        value = readFileSync(path, 'utf8').trim();
      } catch (cause) {
        throw invalid(fileKey, `cannot read ${path}: ${messageOf(cause)}`);
      }
      if (value.length < 16) throw invalid(fileKey, `the secret in ${path} must be at least 16 characters`);
    }
    if (required && value === undefined) throw invalid(key, `required (or ${fileKey})`);
    return value;
  };
  const listen = c.listen ?? hubConfigDefaults.listen;
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (port > 65535) throw invalid('listen', 'the port must be at most 65535');
  if (c.database !== undefined) {
    // The message names the problem only: the URL itself may hold the password.
    const problem = databaseUrlProblem(c.database);
    if (problem !== null) throw invalid('database', problem);
  }
  if (c.tls) {
    for (const k of ['cert', 'key'] as const) {
      try {
        readFileSync(c.tls[k]);
      } catch (cause) {
        throw invalid(`tls.${k}`, `cannot read ${c.tls[k]}: ${messageOf(cause)}`);
      }
    }
  }
  const heartbeatMs = durationMs(c.heartbeat ?? hubConfigDefaults.heartbeat);
  if (heartbeatMs < 1000 || heartbeatMs > 3_600_000) throw invalid('heartbeat', 'between 1s and 1h');
  const pollIntervalMs = durationMs(c.pollInterval ?? hubConfigDefaults.pollInterval);
  if (pollIntervalMs < 1000) throw invalid('pollInterval', 'at least 1s');
  const enrollmentToken = secret('enrollmentToken', false);
  const adminToken = secret('adminToken', true)!;
  const viewerToken = secret('viewerToken', false);
  if (viewerToken !== undefined && viewerToken === adminToken) throw invalid('viewerToken', 'must differ from adminToken');
  return {
    listen: { host: listen.slice(0, colon).replace(/^\[|\]$/g, ''), port },
    dataDir: c.dataDir ?? hubConfigDefaults.dataDir,
    database: c.database,
    repo:
      c.repo === undefined
        ? undefined
        : {
            url: c.repo,
            ref: c.ref ?? hubConfigDefaults.ref,
            path: c.path ?? hubConfigDefaults.path,
            git: Object.fromEntries(Object.entries(c.git ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>,
            verify: Object.fromEntries(Object.entries(c.verify ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>,
          },
    enrollmentToken,
    enrollRate: { perAddress: c.enrollRate?.perAddress ?? hubConfigDefaults.enrollPerAddress, perToken: c.enrollRate?.perToken ?? hubConfigDefaults.enrollPerToken },
    adminToken,
    viewerToken,
    webhookSecret: secret('webhookSecret', false),
    tls: c.tls,
    heartbeatMs,
    pollIntervalMs,
    retention: {
      eventsPerHost: c.retention?.eventsPerHost ?? hubConfigDefaults.eventsPerHost,
      attemptsPerHost: c.retention?.attemptsPerHost ?? hubConfigDefaults.attemptsPerHost,
      auditEntries: c.retention?.auditEntries ?? DEFAULT_AUDIT_ENTRIES,
    },
    logLevel: c.logLevel ?? hubConfigDefaults.logLevel,
    commitUrl: c.commitUrl,
    notify: c.notify === undefined ? undefined : resolveNotifyConfig(c.notify, invalid),
    commitStatus: c.commitStatus === undefined ? undefined : resolveCommitStatusConfig(c.commitStatus, invalid, c.repo !== undefined),
    metrics: { perHost: c.metrics?.perHost ?? false },
    trackedTags: c.trackedTags ?? DEFAULT_TRACKED_TAGS,
    trustedProxies: trustedProxiesOf(c.trustedProxies ?? []),
  };
}
