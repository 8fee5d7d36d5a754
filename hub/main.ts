// The hub's composition root: builds the store, the fleet index, the agent
// gateway, the Git head tracker and the HTTP API, wires them, and listens.
// Everything with effects is passed in or built here; nothing is global.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { GitfleetError, messageOf } from '../shared/errors.ts';
import type { HubConfig } from './config.ts';
import { ApiAuth } from './auth/api-auth.ts';
import { installAccessControl } from './auth/access-control.ts';
import type { RouteEntry } from './auth/access-control.ts';
import { HEADERS_TIMEOUT_MS, IDLE_CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUT_MS, setSecurityHeaders, TIMEOUT_CHECK_INTERVAL_MS } from './auth/http-hardening.ts';
import { SqliteFleetStore } from './store/sqlite-store.ts';
import { PostgresFleetStore } from './store/postgres-store.ts';
import { redactDatabaseUrl } from './store/postgres-url.ts';
import type { FleetStore } from './store/fleet-store.ts';
import { FleetIndex } from './fleet/fleet-index.ts';
import type { HostSummary } from './fleet/fleet-index.ts';
import { ChangeFeed } from './fleet/change-feed.ts';
import { Reconciler } from './fleet/reconcile.ts';
import { Cluster } from './cluster/cluster.ts';
import { clientAddressOf } from './client-address.ts';
import { ClusterRolloutLink } from './cluster/rollout-link.ts';
import { AgentGateway } from './gateway/agent-gateway.ts';
import { HeadTracker } from './git/head-tracker.ts';
import type { FleetRepoView } from './git/fleet-repo-view.ts';
import { PushHandler } from './webhook/push-handler.ts';
import { HubMetrics } from './metrics.ts';
import type { ApiContext } from './api/context.ts';
import { sendError } from './api/context.ts';
import { registerReadRoutes } from './api/read-routes.ts';
import { registerActionRoutes } from './api/action-routes.ts';
import { registerWebhookRoute } from './api/webhook-route.ts';
import { clientErrorHandler } from './api/client-error.ts';
import { registerEventStreamRoute } from './api/event-stream-route.ts';
import { registerOpsRoutes } from './api/ops-routes.ts';
import { registerStaticRoute } from './api/static-route.ts';
import { registerEnrollmentRoutes } from './api/enrollment-routes.ts';
import { registerHostAdminRoutes } from './api/host-admin-routes.ts';
import { registerAuditRoutes } from './api/audit-routes.ts';
import { AuditLog } from './audit/audit-log.ts';
import { registerHistoryRoutes } from './api/history-routes.ts';
import { HistorySampler } from './history/history-sampler.ts';
import { registerImpactRoutes } from './api/impact-routes.ts';
import { registerRolloutRoutes } from './api/rollout-routes.ts';
import { RolloutCoordinator } from './rollout/coordinator.ts';
import type { AdminAction } from './rollout/rollout-engine.ts';
import { Notifications } from './notify/notifications.ts';
import { registerNotificationRoutes } from './api/notification-routes.ts';

/**
 * Where the web view's build is, served at `/` when present: beside this file
 * (sources: hub/web/dist; installed bundle: /usr/lib/gitfleet/web/dist), or in
 * the project tree when the bundle runs from the checkout's dist/.
 */
export const webRootCandidates = [join(import.meta.dirname, 'web', 'dist'), join(import.meta.dirname, '..', 'hub', 'web', 'dist')];
export const defaultWebRoot = webRootCandidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? webRootCandidates[0]!;

export interface StartHubOptions {
  config: HubConfig;
  logger: Logger;
  /** The fleet repo as the hub reads it; null for a hub without Git awareness. */
  repoView: FleetRepoView | null;
  store?: FleetStore;
  webRoot?: string | null;
  /** How often running rollouts advance (default 1 s; tests make it short). */
  rolloutTickMs?: number;
}

export interface RunningHub {
  /** http(s)://host:port of the API; the agents' URL is this with ws(s) and /agent. */
  url: string;
  agentUrl: string;
  app: FastifyInstance;
  index: FleetIndex;
  gateway: AgentGateway;
  tracker: HeadTracker | null;
  /** The staged-rollout coordinator; null without a repo. On a cluster only the leader's leads (docs/rollouts.md). */
  rollouts: RolloutCoordinator | null;
  /** This replica's part in a cluster (PostgreSQL store), else null. */
  cluster: Cluster | null;
  /** Notifications and commit statuses (null when the config has neither); hub/rollout calls rolloutHalted on it. */
  notifications: Notifications | null;
  /** Every HTTP route with the access it declares (HEAD twins of GET routes included). */
  routes: readonly RouteEntry[];
  close(): Promise<void>;
}

export async function startHub(o: StartHubOptions): Promise<RunningHub> {
  const { config } = o;
  const logger = o.logger;
  let store = o.store;
  if (!store && config.database !== undefined) {
    const storeLog = logger.child({ component: 'store' });
    store = await PostgresFleetStore.open(config.database, {
      retention: config.retention,
      onIdleError: (error) => storeLog.warn({ err: { message: error.message } }, 'an idle database connection failed; the pool replaces it'),
      onBatchError: (error, writes) => storeLog.warn({ err: { message: messageOf(error) }, writes }, 'a batch of writes failed; writing each on its own'),
      onPruneError: (error, host) => storeLog.warn({ err: { message: messageOf(error) }, host }, "pruning a host's events and attempts past the retention failed; tried again after 25 more of its writes"),
    });
  }
  if (!store) {
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new GitfleetError('CONFIG_INVALID', `hub config: dataDir: cannot create ${config.dataDir}: ${messageOf(cause)}`, { cause });
    }
    const storeLog = logger.child({ component: 'store' });
    store = new SqliteFleetStore(join(config.dataDir, 'hub.sqlite'), config.retention, {
      onBusy: (e) =>
        e.busy
          ? storeLog.warn('the database is locked by another process: writes wait and are retried, agents\' reports stay un-acked until stored')
          : storeLog.warn({ waitedMs: e.waitedMs, writes: e.writes }, `the database is writable again after ${e.waitedMs} ms`),
    });
  }
  const metrics = new HubMetrics({ perHost: config.metrics.perHost, trackedTags: config.trackedTags });
  const feed: ChangeFeed<HostSummary> = new ChangeFeed((id) => index.get(id));
  const index = new FleetIndex((id) => {
    feed.hostChanged(id);
    notifications?.hostChanged(id);
  });
  const notifications =
    config.notify || config.commitStatus
      ? new Notifications({ notify: config.notify, commitStatus: config.commitStatus, index, store, metrics, logger: logger.child({ component: 'notify' }), hubSecrets: [config.adminToken, config.viewerToken, config.enrollmentToken, config.webhookSecret].filter((s): s is string => s !== undefined) })
      : null;
  // On PostgreSQL the hub is a replica of a cluster: the change follower loads the index (lighter rows) and keeps it coherent.
  const pgStore = store instanceof PostgresFleetStore ? store : null;
  if (!pgStore) index.load(await store.listHosts());
  // A single hub sends notifications from the start (a cluster's leader does, below), picking up the saved state.
  if (!pgStore) await notifications?.start('local');
  let cluster: Cluster | null = null;
  // Staged rollouts (docs/rollouts.md): on a cluster the leader's coordinator leads, the others follow it through this link.
  let rollouts: RolloutCoordinator | null = null;
  const rolloutLink = pgStore ? new ClusterRolloutLink({ replica: pgStore.replicaId, publish: (p) => cluster?.publishAction(p) ?? Promise.resolve(), missingHead: (revision) => cluster?.catchUpHead(revision), logger }) : null;
  const gateway = new AgentGateway({
    store,
    index,
    metrics,
    logger,
    enrollmentToken: config.enrollmentToken,
    enrollRate: config.enrollRate,
    heartbeatMs: config.heartbeatMs,
    clientAddress: clientAddressOf(config.trustedProxies),
    onWelcome: (host: string) => rollouts?.welcomed(host),
    ...(pgStore ? { onSession: (host: string, online: boolean) => cluster?.sessionChanged(host, online) } : {}),
  });
  const reconciler = new Reconciler(gateway, store, metrics, logger.child({ component: 'reconcile' }), pgStore ? (hosts, reason, cause) => cluster?.reconcileRemote(hosts, reason, cause) ?? [] : null);
  const tracker = o.repoView
    ? new HeadTracker(o.repoView, logger, (head, origin) => {
        index.setHead(head);
        if (rollouts) void rollouts.setHead(head);
        pushes.baseline(head.revision);
        feed.headChanged(head.revision);
        notifications?.headChanged();
        if (origin === 'read') cluster?.shareHead(head);
      })
    : null;
  if (tracker && o.repoView) {
    const view = o.repoView;
    rollouts = new RolloutCoordinator({
      ...(rolloutLink ? { leading: false, onChanged: (revision: string | null) => rolloutLink.changed(revision), forward: (id: string, action: AdminAction, by: string) => rolloutLink.forward(id, action, by) } : {}),
      store,
      index,
      send: (host, release) => gateway.sendRelease(host, release),
      changedPaths: (from, to) => view.changedPaths(from, to),
      logger,
      ...(o.rolloutTickMs === undefined ? {} : { tickMs: o.rolloutTickMs }),
      onHalted: (r) => notifications?.rolloutHalted({ rollout: r.id, revision: r.revision, tag: r.scope, reason: r.haltReason ?? 'halted', hosts: r.failed.map((id) => ({ id })) }),
    });
    await rollouts.start();
    rolloutLink?.attach(rollouts);
  }
  const pushes = new PushHandler(index, tracker, reconciler, logger.child({ component: 'webhook' }));
  const webRoot = o.webRoot === undefined ? (existsSync(defaultWebRoot) ? defaultWebRoot : null) : o.webRoot;
  const auth = new ApiAuth({ adminToken: config.adminToken, viewerToken: config.viewerToken });
  const audit = new AuditLog(store, auth, logger.child({ component: 'audit' }));
  const ctx: ApiContext = {
    store,
    index,
    feed,
    reconciler,
    tracker,
    rollouts,
    metrics,
    auth,
    audit,
    logger: logger.child({ component: 'api' }),
    webhookSecret: config.webhookSecret,
    commitUrl: config.commitUrl,
    ref: config.repo?.ref,
    webRoot,
    startedAt: new Date(),
  };

  // Bounds on slow clients (docs/security.md): node checks them every TIMEOUT_CHECK_INTERVAL_MS (default 30 s).
  const serverTimeouts = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS };
  const app = Fastify({
    // Request lines are debug-level noise at 10,000 hosts; warnings and errors still show.
    loggerInstance: logger.child({ component: 'http' }, { level: logger.isLevelEnabled('debug') ? 'debug' : 'warn' }),
    forceCloseConnections: true,
    // req.ip is the client's behind a trusted proxy (audit, token throttle, logs); a header from anyone else is ignored.
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    clientErrorHandler,
    bodyLimit: 64 * 1024,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: IDLE_CONNECTION_TIMEOUT_MS,
    http: serverTimeouts,
    // A path the router cannot decode (/%zz) is refused before any hook runs: same error shape and headers as the rest.
    frameworkErrors: (_error, _req, reply) => {
      setSecurityHeaders(reply);
      void sendError(reply, 400, 'INVALID_VALUE', 'malformed path: a % that is not followed by two hex digits');
    },
    ...(config.tls ? { https: { ...serverTimeouts, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}),
  }) as unknown as FastifyInstance;

  // Before any route: it records every route and decides access on the matched one (default deny).
  const access = installAccessControl(app, { auth, logger: logger.child({ component: 'auth' }), onTokenRefused: (req) => void audit.loginFailed(req) });
  app.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) req.log.error({ err: error }, 'request failed');
    return sendError(reply, status, status === 500 ? 'INTERNAL' : 'INVALID_VALUE', status === 500 ? 'internal error' : error.message);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));

  registerReadRoutes(app, ctx);
  registerActionRoutes(app, ctx);
  registerWebhookRoute(app, ctx, pushes);
  registerEventStreamRoute(app, ctx);
  registerOpsRoutes(app, ctx);
  registerEnrollmentRoutes(app, ctx);
  registerHostAdminRoutes(app, ctx, gateway);
  registerAuditRoutes(app, ctx);
  registerHistoryRoutes(app, ctx);
  registerImpactRoutes(app, ctx);
  registerRolloutRoutes(app, ctx);
  registerNotificationRoutes(app, notifications);
  if (webRoot) registerStaticRoute(app, webRoot);

  // Only /agent upgrades (the gateway authenticates the agent itself); any other path is refused.
  app.server.on('upgrade', (req, socket, head: Buffer) => {
    if (!gateway.handleUpgrade(req, socket, head)) socket.destroy();
  });

  if (pgStore) {
    cluster = new Cluster({
      store: pgStore,
      index,
      logger,
      heartbeatMs: config.heartbeatMs,
      address: `${config.listen.host}:${config.listen.port}`,
      localSessions: () => gateway.connectedIds(),
      reconcileLocal: (hosts, reason, origin) => gateway.reconcileNow(hosts, reason, origin),
      tracker,
      pollIntervalMs: config.pollIntervalMs,
    });
    if (rolloutLink && rollouts) {
      const coordinator = rollouts;
      const link = rolloutLink;
      cluster.onRolloutNotice((n) => link.heard(n));
      cluster.leader.onLeadership(
        () => {
          link.leading();
          void coordinator.lead();
        },
        () => {
          link.following();
          coordinator.follow();
        },
      );
    }
    // Notifications and commit statuses: sent by the leader only, fed from the whole fleet (docs/notifications.md).
    if (notifications) {
      const n = notifications;
      cluster.leader.onLeadership(() => void n.start('fleet'), () => n.stop('lost'));
    }
    // The leader lock decides which replica polls the repo.
    await cluster.start();
    rolloutLink?.ask();
  } else if (tracker) {
    // The first head read happens before listening only if it is quick; a slow Git server must not delay the hub.
    tracker.start(config.pollIntervalMs);
  }
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (cause) {
    await cluster?.stop();
    await tracker?.stop();
    await store.close();
    throw new GitfleetError('CONFIG_INVALID', `hub config: listen: cannot listen on ${config.listen.host}:${config.listen.port}: ${messageOf(cause)}`, { cause });
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = config.tls ? 'https' : 'http';
  const url = `${scheme}://${host}:${address.port}`;
  const storage = config.database !== undefined ? { database: redactDatabaseUrl(config.database) } : { dataDir: config.dataDir };
  logger.info({ url, ...storage, repo: config.repo?.url ?? null, hosts: index.ids().length }, 'hub listening');
  // The fleet's history: a point a minute (docs/hub.md, History).
  const history = new HistorySampler(store, index, logger.child({ component: 'history' }), Date.now, config.trackedTags);
  // One sampler per cluster, the leader's: every replica's index is the whole fleet, one writer is enough.
  if (cluster) cluster.leader.onLeadership(() => history.start(), () => void history.stop());
  else history.start();

  let closing: Promise<void> | null = null;
  return {
    url,
    agentUrl: `${config.tls ? 'wss' : 'ws'}://${host}:${address.port}/agent`,
    app,
    index,
    gateway,
    tracker,
    rollouts,
    cluster,
    notifications,
    routes: access.routes,
    close() {
      closing ??= (async () => {
        await notifications?.close();
        await tracker?.stop();
        rolloutLink?.stop();
        await rollouts?.stop();
        await gateway.close();
        feed.close();
        await app.close();
        // Let the sockets' close handlers queue their last writes, then flush them.
        await new Promise((r) => setImmediate(r));
        await cluster?.stop();
        await history.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
