// The `commitStatus:` section of the hub config (docs/notifications.md,
// "Commit status in the forge"): which forge, where its API is, which
// repository, and the token (from a file, never inline).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { durationMs, durationPattern } from '../../shared/durations.ts';
import { messageOf } from '../../shared/errors.ts';

export const forges = ['github', 'gitlab', 'gitea'] as const;
export type Forge = (typeof forges)[number];

const duration = z.string().regex(durationPattern, 'a duration like 30s, 1m or 500ms');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/?#]+[^\s?#]*$/, 'an http(s) URL without query');

export const CommitStatusFileConfig = z.strictObject({
  forge: z.enum(forges),
  /** The API root: https://api.github.com, https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1. */
  baseUrl: httpUrl,
  /** owner/name on GitHub and Gitea; the numeric project id or the full path (group/project) on GitLab. */
  repository: z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$|^\d+$/, 'owner/name (or a GitLab project id or path)'),
  tokenFile: z.string().min(1),
  /** The web view's address: target_url is <webUrl>/#/commits/<sha>. */
  webUrl: httpUrl,
  context: z.string().regex(/^[\x20-\x7e]{1,100}$/, 'printable ASCII, at most 100 characters').optional(),
  /** Wait this long after a change before posting (many hosts report within seconds of each other). */
  debounce: duration.optional(),
  /** At least this long between two posts to the forge (its rate limit). */
  minInterval: duration.optional(),
  timeout: duration.optional(),
  retry: z.strictObject({ attempts: z.number().int().min(1).max(20).optional(), initialDelay: duration.optional(), maxDelay: duration.optional() }).optional(),
});
export type CommitStatusFileConfig = z.infer<typeof CommitStatusFileConfig>;

export interface CommitStatusConfig {
  forge: Forge;
  baseUrl: string;
  repository: string;
  token: string;
  webUrl: string;
  context: string;
  debounceMs: number;
  minIntervalMs: number;
  timeoutMs: number;
  retry: { attempts: number; initialDelayMs: number; maxDelayMs: number };
}

export function resolveCommitStatusConfig(c: CommitStatusFileConfig, invalid: (key: string, why: string) => Error, hasRepo: boolean): CommitStatusConfig {
  if (!hasRepo) throw invalid('commitStatus', 'needs repo: statuses are set on the head of the repo the hub follows');
  let token: string;
  try {
    token = readFileSync(c.tokenFile, 'utf8').trim();
  } catch (cause) {
    throw invalid('commitStatus.tokenFile', `cannot read ${c.tokenFile}: ${messageOf(cause)}`);
  }
  if (token === '' || /[\s]/.test(token)) throw invalid('commitStatus.tokenFile', `${c.tokenFile} must hold one token (no spaces)`);
  if (c.forge !== 'gitlab' && !c.repository.includes('/')) throw invalid('commitStatus.repository', `owner/name on ${c.forge}`);
  return {
    forge: c.forge,
    baseUrl: c.baseUrl.replace(/\/+$/, ''),
    repository: c.repository,
    token,
    webUrl: c.webUrl.replace(/\/+$/, ''),
    context: c.context ?? 'gitfleet',
    debounceMs: durationMs(c.debounce ?? '5s'),
    minIntervalMs: durationMs(c.minInterval ?? '1s'),
    timeoutMs: durationMs(c.timeout ?? '10s'),
    retry: { attempts: c.retry?.attempts ?? 5, initialDelayMs: durationMs(c.retry?.initialDelay ?? '1s'), maxDelayMs: durationMs(c.retry?.maxDelay ?? '5m') },
  };
}
