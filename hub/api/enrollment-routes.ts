// Scoped enrollment tokens (admin only): create (the secret is in the answer
// once and never again: the store keeps its SHA-256), list, revoke. Each
// token is bounded: it expires (at most a year ahead, a day by default), and
// may be limited to a number of enrollments, a host-id glob and a tag of the
// fleet repo. docs/security.md (Enrollment) says what is checked when.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { durationMs, durationPattern } from '../../shared/durations.ts';
import { hashSecret } from '../auth/secrets.ts';
import { hostPatternProblem } from '../auth/host-pattern.ts';
import type { EnrollmentTokenRecord } from '../store/fleet-store.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { ApiContext } from './context.ts';
import { sendError } from './context.ts';

export const DEFAULT_TOKEN_LIFETIME = '24h';
const MAX_LIFETIME_MS = 365 * 24 * 3_600_000;
/** Stored tokens, expired ones included (revoke those): a bound on what an admin session can fill the store with. */
export const MAX_ENROLLMENT_TOKENS = 1000;
/** Prefix of every secret, so secret scanners and people recognize a leaked one. */
export const TOKEN_PREFIX = 'gfe_';

const CreateBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresIn: z.string().regex(durationPattern, 'a duration like 30m, 24h or 720h').optional(),
  maxUses: z.number().int().min(1).max(1_000_000).optional(),
  hostPattern: z
    .string()
    .refine((p) => hostPatternProblem(p) === null, { message: hostPatternProblem('') ?? '' })
    .optional(),
  tag: z
    .string()
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'a tag of the fleet repo, e.g. prod/eu or monitoring')
    .max(1024)
    .optional(),
});

/** What the API shows of a token: never its secret or hash. */
export type EnrollmentTokenView = Omit<EnrollmentTokenRecord, 'secretHash'> & { state: 'active' | 'expired' | 'used-up' };

export function tokenView(t: EnrollmentTokenRecord, now: Date): EnrollmentTokenView {
  const state = t.expiresAt !== null && t.expiresAt <= now.toISOString() ? 'expired' : t.maxUses !== null && t.uses >= t.maxUses ? 'used-up' : 'active';
  return { id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, maxUses: t.maxUses, uses: t.uses, hostPattern: t.hostPattern, tag: t.tag, state };
}

export function registerEnrollmentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/v1/enrollment-tokens', { config: { access: 'admin' } }, async (req, reply) => {
    const body = CreateBody.safeParse(req.body ?? {});
    if (!body.success) {
      const i = body.error.issues[0]!;
      const what = i.code === 'unrecognized_keys' ? `unknown key ${i.keys.join(', ')}` : `${i.path.join('.') || 'body'}: ${i.message}`;
      return sendError(reply, 400, 'INVALID_VALUE', `${what} (body: {"name", "expiresIn"?, "maxUses"?, "hostPattern"?, "tag"?})`);
    }
    const b = body.data;
    const lifetime = durationMs(b.expiresIn ?? DEFAULT_TOKEN_LIFETIME);
    if (lifetime <= 0 || lifetime > MAX_LIFETIME_MS) return sendError(reply, 400, 'INVALID_VALUE', 'expiresIn: more than 0 and at most 8760h (a year)');
    if ((await ctx.store.listEnrollmentTokens()).length >= MAX_ENROLLMENT_TOKENS) {
      return sendError(reply, 409, 'INVALID_VALUE', `the hub holds ${MAX_ENROLLMENT_TOKENS} enrollment tokens, the most it keeps; revoke unused or expired ones first`);
    }
    const now = new Date();
    const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: EnrollmentTokenRecord = {
      id: `et-${randomBytes(6).toString('hex')}`,
      name: b.name,
      secretHash: hashSecret(secret),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + lifetime).toISOString(),
      maxUses: b.maxUses ?? null,
      uses: 0,
      hostPattern: b.hostPattern ?? null,
      tag: b.tag ?? null,
    };
    await ctx.store.createEnrollmentToken(record);
    ctx.logger.info({ token: record.id, name: record.name, expiresAt: record.expiresAt, maxUses: record.maxUses, hostPattern: record.hostPattern, tag: record.tag }, 'enrollment token created');
    const scope = [record.maxUses === null ? null : `max ${record.maxUses} uses`, record.hostPattern === null ? null : `hosts ${record.hostPattern}`, record.tag === null ? null : `tag ${record.tag}`].filter((s) => s !== null);
    recordAudit(ctx, req, { action: 'enrollment-token.create', target: `token ${record.id} (${record.name})`, detail: [`expires ${record.expiresAt}`, ...scope].join(', ') });
    return reply.code(201).send({ ...tokenView(record, now), token: secret });
  });

  app.get('/api/v1/enrollment-tokens', { config: { access: 'admin' } }, async () => {
    const now = new Date();
    return { tokens: (await ctx.store.listEnrollmentTokens()).map((t) => tokenView(t, now)) };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/enrollment-tokens/:id', { config: { access: 'admin' } }, async (req, reply) => {
    const id = req.params.id;
    if (!/^et-[0-9a-f]{12}$/.test(id) || !(await ctx.store.deleteEnrollmentToken(id))) return sendError(reply, 404, 'NOT_FOUND', `no enrollment token ${id.slice(0, 64)}`);
    ctx.logger.warn({ token: id }, 'enrollment token revoked: it enrolls nothing more (hosts it enrolled keep their credentials)');
    recordAudit(ctx, req, { action: 'enrollment-token.revoke', target: `token ${id}` });
    return { id, revoked: true };
  });
}
