// The hub's JSON API from the browser: every call carries the session's
// bearer token; a 401 ends the session (the token was wrong or rotated).
import type { HostDetail, HostPage, FleetSummary, ReconcileOutcome, Role, TagsResponse } from './types.ts';
import type { EnrollmentTokenView } from '../../api/enrollment-routes.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface HostQuery {
  tag?: string;
  state?: string[];
  q?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

/** A scoped enrollment token as the hub lists it; `token` (the secret) only in the answer to its creation. */
export type EnrollmentToken = EnrollmentTokenView & { token?: string };

export class Api {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
    const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      if (res.status === 401) this.onUnauthorized();
      throw new ApiError(res.status, data?.error?.code ?? 'HTTP', data?.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
    }
    return data as T;
  }

  whoami(): Promise<{ role: Role; commitUrl?: string | null }> {
    return this.request('GET', '/api/v1/whoami');
  }

  summary(): Promise<FleetSummary> {
    return this.request('GET', '/api/v1/summary');
  }

  hosts(query: HostQuery, signal?: AbortSignal): Promise<HostPage> {
    return this.request('GET', `/api/v1/hosts?${hostQueryString(query)}`, undefined, signal);
  }

  host(id: string, signal?: AbortSignal): Promise<HostDetail> {
    return this.request('GET', `/api/v1/hosts/${encodeURIComponent(id)}`, undefined, signal);
  }

  tags(): Promise<TagsResponse> {
    return this.request('GET', '/api/v1/tags');
  }

  reconcileHost(id: string): Promise<ReconcileOutcome> {
    return this.request('POST', `/api/v1/hosts/${encodeURIComponent(id)}/reconcile`, {});
  }

  enrollmentTokens(signal?: AbortSignal): Promise<{ tokens: EnrollmentToken[] }> {
    return this.request('GET', '/api/v1/enrollment-tokens', undefined, signal);
  }

  createEnrollmentToken(body: { name: string; expiresIn?: string; maxUses?: number; hostPattern?: string; tag?: string }): Promise<EnrollmentToken> {
    return this.request('POST', '/api/v1/enrollment-tokens', body);
  }

  revokeEnrollmentToken(id: string): Promise<{ id: string; revoked: boolean }> {
    return this.request('DELETE', `/api/v1/enrollment-tokens/${encodeURIComponent(id)}`);
  }
}

export function hostQueryString(q: HostQuery): string {
  const p = new URLSearchParams();
  if (q.tag) p.set('tag', q.tag);
  if (q.state && q.state.length > 0) p.set('state', q.state.join(','));
  if (q.q) p.set('q', q.q);
  if (q.sort) p.set('sort', q.sort);
  if (q.order) p.set('order', q.order);
  if (q.offset) p.set('offset', String(q.offset));
  if (q.limit) p.set('limit', String(q.limit));
  return p.toString();
}
