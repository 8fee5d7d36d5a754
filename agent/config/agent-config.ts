// The agent's configuration (docs/agent.md): /etc/gitfleet/agent.yaml, every
// key also settable by a GITFLEET_* environment variable (env wins). A wrong
// or missing value fails at start with one line naming the key.
import { isLoopbackHost, splitHostPort } from './host-address.ts';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import cron from 'node-cron';
import { readRenamedEnv } from '../../shared/renamed-env.ts';
import { GitfleetError } from '../../shared/errors.ts';
import { Duration } from '../../shared/resources.ts';
import { durationMs } from '../../shared/durations.ts';

const absolutePath = z.string().refine((p) => isAbsolute(p), 'must be an absolute path');

export const AgentConfigSchema = z.strictObject({
  repo: z.string().min(1),
  ref: z.string().min(1).default('main'),
  path: z.string().min(1).default('.'),
  host: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'a hostname label (letters, digits, -)').default(() => hostname().split('.')[0]!.toLowerCase()),
  place: z.string().optional(),
  /** A duration, or a cron expression (5 or 6 fields) for polling on a schedule. */
  interval: z
    .union([Duration, z.string().refine((v) => /\s/.test(v.trim()) && cron.validate(v))], { error: 'must be a duration like 60s or a cron expression like "*/5 * * * *"' })
    .default('60s'),
  driftInterval: Duration.default('30s'),
  healthTimeout: Duration.default('60s'),
  /** How long a new revision must stay healthy before it counts as applied. */
  healthSettle: Duration.default('2s'),
  /** The first retry of a revision that failed on the host; doubles per failure up to 30 min. */
  retryInterval: Duration.default('1m'),
  stateDir: z.string().default('/var/lib/gitfleet'),
  hub: z.string().regex(/^wss?:\/\//, 'a ws:// or wss:// URL').optional(),
  /** Allows a ws:// hub that is not on loopback (the credential and reports then travel unencrypted). */
  hubInsecure: z.boolean().default(false),
  token: z.string().min(1).optional(),
  tokenFile: absolutePath.optional(),
  allowNonDescendant: z.boolean().default(false),
  /** Take over what already runs on the host when it matches its declaration (docs/adopt.md); host.yaml `adopt: true` does it per host. */
  adopt: z.boolean().default(false),
  git: z
    .strictObject({
      tokenFile: absolutePath.optional(),
      username: z.string().optional(),
      passwordFile: absolutePath.optional(),
      sshKeyFile: absolutePath.optional(),
      knownHostsFile: absolutePath.optional(),
    })
    .default({}),
  verify: z.strictObject({ allowedSigners: absolutePath.optional(), gpgKeyring: absolutePath.optional() }).optional(),
  docker: z.strictObject({ socket: z.string().default('/var/run/docker.sock') }).default({ socket: '/var/run/docker.sock' }),
  systemd: z.strictObject({ unitDir: absolutePath.default('/etc/systemd/system') }).default({ unitDir: '/etc/systemd/system' }),
  /**
   * The file driver's fence: file resources are written only below these directories.
   * The host policy's `files.allow` narrows it (docs/policy.md); this key stays as its alias.
   */
  files: z.strictObject({ allow: z.array(absolutePath).min(1).default(['/etc', '/srv', '/opt']) }).default({ allow: ['/etc', '/srv', '/opt'] }),
  /** The host policy file (docs/policy.md), owned by the host's administrator, never taken from Git; re-read on every reconcile. */
  policy: absolutePath.default('/etc/gitfleet/policy.yaml'),
  /** The host's age identity for encrypted layers (docs/secrets.md); created by the installer, 0600. */
  age: z.strictObject({ identityFile: absolutePath.default('/etc/gitfleet/age.key') }).default({ identityFile: '/etc/gitfleet/age.key' }),
  /**
   * Staged rollouts (docs/rollouts.md): while the hub cannot be reached, an agent under a rollout
   * policy holds the last revision the hub released (hold, the default) or, with proceed, follows
   * the head once the hub has been unreachable for proceedAfter.
   */
  rollout: z
    .strictObject({ whenHubUnreachable: z.enum(['hold', 'proceed']).default('hold'), proceedAfter: Duration.default('1h') })
    .default({ whenHubUnreachable: 'hold', proceedAfter: '1h' }),
  /** The agent's own Prometheus metrics (docs/metrics.md): a textfile for node_exporter and/or a /metrics endpoint. */
  metrics: z
    .strictObject({
      textfileDir: absolutePath.optional(),
      listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s\[\]]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:9464').optional(),
      /** Serving metrics beyond loopback is a choice: they name the host, its revision and its resources' states. */
      allowRemote: z.boolean().default(false),
    })
    .optional(),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** Environment variable → config key path. Documented in docs/agent.md. */
export const agentEnv: Record<string, string[]> = {
  GITFLEET_REPO: ['repo'],
  GITFLEET_REF: ['ref'],
  GITFLEET_PATH: ['path'],
  GITFLEET_HOST: ['host'],
  GITFLEET_PLACE: ['place'],
  GITFLEET_INTERVAL: ['interval'],
  GITFLEET_DRIFT_INTERVAL: ['driftInterval'],
  GITFLEET_HEALTH_TIMEOUT: ['healthTimeout'],
  GITFLEET_HEALTH_SETTLE: ['healthSettle'],
  GITFLEET_RETRY_INTERVAL: ['retryInterval'],
  GITFLEET_STATE_DIR: ['stateDir'],
  // Not GITFLEET_HUB_*: that is the hub server's configuration (the old names still work, with a warning: shared/renamed-env.ts).
  GITFLEET_AGENT_HUB: ['hub'],
  GITFLEET_AGENT_HUB_INSECURE: ['hubInsecure'],
  GITFLEET_TOKEN: ['token'],
  GITFLEET_TOKEN_FILE: ['tokenFile'],
  GITFLEET_ALLOW_NON_DESCENDANT: ['allowNonDescendant'],
  GITFLEET_ADOPT: ['adopt'],
  GITFLEET_GIT_TOKEN_FILE: ['git', 'tokenFile'],
  GITFLEET_GIT_USERNAME: ['git', 'username'],
  GITFLEET_GIT_PASSWORD_FILE: ['git', 'passwordFile'],
  GITFLEET_GIT_SSH_KEY_FILE: ['git', 'sshKeyFile'],
  GITFLEET_GIT_KNOWN_HOSTS_FILE: ['git', 'knownHostsFile'],
  GITFLEET_VERIFY_ALLOWED_SIGNERS: ['verify', 'allowedSigners'],
  GITFLEET_VERIFY_GPG_KEYRING: ['verify', 'gpgKeyring'],
  GITFLEET_DOCKER_SOCKET: ['docker', 'socket'],
  GITFLEET_SYSTEMD_UNIT_DIR: ['systemd', 'unitDir'],
  GITFLEET_FILES_ALLOW: ['files', 'allow'],
  GITFLEET_POLICY: ['policy'],
  GITFLEET_AGE_IDENTITY_FILE: ['age', 'identityFile'],
  GITFLEET_METRICS_TEXTFILE_DIR: ['metrics', 'textfileDir'],
  GITFLEET_METRICS_LISTEN: ['metrics', 'listen'],
  GITFLEET_METRICS_ALLOW_REMOTE: ['metrics', 'allowRemote'],
};

function envValue(key: string[], raw: string): unknown {
  const last = key[key.length - 1];
  if (last === 'allow') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (last === 'adopt') return raw === 'true' || raw === '1';
  if (last === 'allowNonDescendant' || last === 'hubInsecure' || last === 'allowRemote') return raw === 'true' || raw === '1';
  return raw;
}

function setPath(target: Record<string, unknown>, key: string[], value: unknown): void {
  let node = target;
  for (const part of key.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[key[key.length - 1]!] = value;
}

/** Reads the file (when given and present), applies environment overrides and command-line overrides, validates. */
export function loadAgentConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown>; requireFile?: boolean; warn?: (message: string) => void }): AgentConfig {
  const given = options.env ?? process.env;
  const warn = options.warn ?? ((message: string) => void process.stderr.write(`gitfleet: warning: ${message}\n`));
  // The renamed variables are read under their old names too (with a warning).
  const env: NodeJS.ProcessEnv = { ...given };
  for (const name of ['GITFLEET_AGENT_HUB', 'GITFLEET_AGENT_HUB_INSECURE'] as const) env[name] = readRenamedEnv(given, name, warn);
  let raw: Record<string, unknown> = {};
  if (options.file) {
    let text: string | undefined;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      if (options.requireFile !== false || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new GitfleetError('CONFIG_INVALID', `cannot read config file ${options.file}: ${(error as Error).message}`, { cause: error });
      }
    }
    if (text !== undefined) {
      try {
        const parsed: unknown = parse(text, { maxAliasCount: 100 });
        if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('the top level must be a map of keys');
        raw = (parsed ?? {}) as Record<string, unknown>;
      } catch (error) {
        throw new GitfleetError('CONFIG_INVALID', `config file ${options.file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, { cause: error });
      }
    }
  }
  for (const [name, key] of Object.entries(agentEnv)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, key, envValue(key, value));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) setPath(raw, key.split('.'), value);

  const result = AgentConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = options.file ? ` (in ${options.file} or its GITFLEET_ variable)` : '';
    if (issue.code === 'unrecognized_keys') {
      throw new GitfleetError('CONFIG_INVALID', `unknown config key "${[...issue.path, issue.keys[0]].join('.')}"${where}`);
    }
    const key = issue.path.join('.') || '(top level)';
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    const phrased = /^(must|is|cannot|expected) /i.test(message) ? message : `must be ${message}`;
    throw new GitfleetError('CONFIG_INVALID', `config key "${key}" ${phrased}${where}`);
  }
  const config = result.data;
  if (config.token !== undefined && config.tokenFile !== undefined) throw new GitfleetError('CONFIG_INVALID', 'config keys "token" and "tokenFile" are exclusive; set one');
  const plain = config.hub === undefined ? null : unencryptedRemoteHub(config.hub);
  if (plain !== null && !config.hubInsecure) {
    throw new GitfleetError(
      'CONFIG_INVALID',
      `config key "hub": ws:// to ${plain} is unencrypted and not loopback (the enrollment token, the host credential and every report would cross the network in clear); use wss://, or set "hubInsecure: true" (GITFLEET_AGENT_HUB_INSECURE=true) to accept that`,
    );
  }
  const metricsListen = config.metrics?.listen;
  if (metricsListen !== undefined) {
    const { host, port } = splitHostPort(metricsListen);
    if (port > 65535) throw new GitfleetError('CONFIG_INVALID', 'config key "metrics.listen": the port must be at most 65535');
    if (!isLoopbackHost(host) && !config.metrics?.allowRemote) {
      throw new GitfleetError('CONFIG_INVALID', `config key "metrics.listen": ${host} is not loopback; the metrics name the host, its revision and its resources' states — set "metrics.allowRemote: true" to serve them there`);
    }
  }
  return config;
}

/** The host of a ws:// URL that is not on loopback, or null (wss://, or loopback). */
export function unencryptedRemoteHub(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // the schema already refused what is not a URL
  }
  if (u.protocol !== 'ws:') return null;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return isLoopbackHost(host) ? null : host;
}

export function intervalMs(value: Duration): number {
  return durationMs(value);
}
