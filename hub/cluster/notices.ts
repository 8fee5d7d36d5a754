// The messages replicas send each other through PostgreSQL NOTIFY, and their
// parsers. A notice comes from the shared database, which only the replicas
// write to, but it is still bounded and checked: anything malformed is
// ignored, never thrown. Payloads stay under PostgreSQL's 8000-byte limit.
import { parseRolloutNotice } from './rollout-notices.ts';
import type { RolloutNotice } from './rollout-notices.ts';

/** Replicas' requests to each other (the change notices have their own channel). */
export const ACTION_CHANNEL = 'gitfleet_actions';
const MAX_PAYLOAD = 8000;
const MAX_IDS = 2000;

export interface ChangeNotice {
  replica: string;
  hosts: string[];
}

export type ClusterAction =
  /** Send reconcile-now to these hosts, which `to` holds the sessions of. */
  | { k: 'reconcile'; to: string; ids: string[]; reason: string; origin: 'api' | 'webhook' }
  /** The leader (or a replica answering a webhook) stored a new repo head. */
  | { k: 'head'; from: string; revision: string }
  /** Staged rollouts: the leader's coordinator and the other replicas (rollout-notices.ts). */
  | RolloutNotice;

const isString = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length <= max;
const isIds = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_IDS && v.every((x) => isString(x, 256));

function parse(payload: string): Record<string, unknown> | null {
  if (payload.length > MAX_PAYLOAD) return null;
  try {
    const v: unknown = JSON.parse(payload);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function parseChangeNotice(payload: string): ChangeNotice | null {
  const v = parse(payload);
  if (!v || !isString(v.r, 64) || !isIds(v.h)) return null;
  return { replica: v.r, hosts: v.h };
}

export function parseAction(payload: string): ClusterAction | null {
  const v = parse(payload);
  if (!v) return null;
  if (v.k === 'reconcile' && isString(v.to, 64) && isIds(v.ids) && isString(v.reason) && (v.origin === 'api' || v.origin === 'webhook')) {
    return { k: 'reconcile', to: v.to, ids: v.ids, reason: v.reason, origin: v.origin };
  }
  if (v.k === 'head' && isString(v.from, 64) && isString(v.revision, 128)) return { k: 'head', from: v.from, revision: v.revision };
  return parseRolloutNotice(v);
}

/** reconcile-now requests for one replica's hosts, each payload under the limit. */
export function reconcilePayloads(to: string, ids: readonly string[], reason: string, origin: 'api' | 'webhook'): string[] {
  const base = Buffer.byteLength(JSON.stringify({ k: 'reconcile', to, ids: [], reason, origin }));
  const out: string[] = [];
  let chunk: string[] = [];
  let size = base;
  for (const id of ids) {
    const n = Buffer.byteLength(JSON.stringify(id)) + 1;
    if ((size + n > MAX_PAYLOAD - 500 || chunk.length >= MAX_IDS) && chunk.length > 0) {
      out.push(JSON.stringify({ k: 'reconcile', to, ids: chunk, reason, origin }));
      chunk = [];
      size = base;
    }
    chunk.push(id);
    size += n;
  }
  if (chunk.length > 0) out.push(JSON.stringify({ k: 'reconcile', to, ids: chunk, reason, origin }));
  return out;
}
