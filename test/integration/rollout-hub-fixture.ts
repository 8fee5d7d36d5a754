// An in-process hub for the rollout tests and benchmark, on a fake fleet repo
// whose head the test sets: `commit()` makes a new head (with the rollout.yaml
// text given) and has the hub read it at once, as a webhook would.
import pino from 'pino';
import { startHub } from '../../hub/main.ts';
import type { RunningHub } from '../../hub/main.ts';
import { loadHubConfig } from '../../hub/config.ts';
import type { DeclaredHost, FleetHead, FleetRepoView } from '../../hub/git/fleet-repo-view.ts';
import { parseRolloutText } from '../../repo/rollout/rollout-files.ts';
import { SimFleet } from '../harness/rollout-sim-fleet.ts';
import type { SimFleetOptions } from '../harness/rollout-sim-fleet.ts';
import { ADMIN, ENROLL, VIEWER, waitFor } from './hub-harness.ts';

export class FakeFleetRepo implements FleetRepoView {
  head: FleetHead;
  constructor(revision: string, readonly hosts: DeclaredHost[]) {
    this.head = { revision, hosts, tags: [...new Set(hosts.flatMap((h) => h.pathTags))].sort(), issues: [] };
  }
  refresh(): Promise<FleetHead> {
    return Promise.resolve(this.head);
  }
  /** Every host's layers changed (a change at the tree root). */
  changedPaths(): Promise<string[] | null> {
    return Promise.resolve(['base.yaml']);
  }
  commit(revision: string, rolloutYaml: string | null, subject = `commit ${revision.slice(0, 7)}`): void {
    const scopes = [];
    if (rolloutYaml !== null) {
      const parsed = parseRolloutText('rollout.yaml', rolloutYaml);
      if (!parsed.policy) throw new Error(`bad rollout.yaml in the test: ${parsed.issues.map((i) => i.message).join('; ')}`);
      scopes.push({ dir: '', file: 'rollout.yaml', policy: parsed.policy });
    }
    this.head = { ...this.head, revision, subject, ...(scopes.length ? { rollouts: { scopes, invalid: [] } } : { rollouts: undefined }) };
  }
}

export function declaredHosts(ids: readonly string[]): DeclaredHost[] {
  return ids.map((id) => ({ id, dir: `prod/${id}`, pathTags: ['prod'], crossTags: [] }));
}

/** `database`: a postgres:// URL, for a replica of a cluster (every replica given the same URL and repo object). */
export async function startRolloutHub(o: { dataDir: string; repo: FleetRepoView; port?: number; tickMs?: number; webRoot?: string; database?: string }): Promise<RunningHub> {
  const env = {
    ...(o.database === undefined ? {} : { GITFLEET_HUB_DATABASE: o.database, GITFLEET_HUB_ENROLL_RATE_PER_ADDRESS: '100000' }),
    GITFLEET_HUB_LISTEN: `127.0.0.1:${o.port ?? 0}`,
    GITFLEET_HUB_DATA_DIR: o.dataDir,
    GITFLEET_HUB_ENROLLMENT_TOKEN: ENROLL,
    GITFLEET_HUB_ADMIN_TOKEN: ADMIN,
    GITFLEET_HUB_VIEWER_TOKEN: VIEWER,
    GITFLEET_HUB_HEARTBEAT: '5s',
    GITFLEET_HUB_POLL_INTERVAL: '1h',
    GITFLEET_HUB_ENROLL_RATE_PER_TOKEN: '100000',
  };
  return startHub({ config: loadHubConfig(undefined, env), logger: pino({ level: process.env.ROLLOUT_DEBUG ? 'info' : 'silent' }), repoView: o.repo, webRoot: o.webRoot ?? null, rolloutTickMs: o.tickMs ?? 100 });
}

/** Reads the new head now (what a push webhook does) and lets the coordinator plan its rollouts. */
export async function readHead(hub: RunningHub): Promise<void> {
  await hub.tracker!.refresh();
  // setHead runs on the coordinator's own queue; a tick after it is queued behind it.
  await hub.rollouts!.tick();
}

export async function api<T>(hub: RunningHub, method: string, path: string, token = ADMIN): Promise<{ status: number; body: T }> {
  const res = await fetch(`${hub.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

export interface RolloutFleet {
  repo: FakeFleetRepo;
  hub: RunningHub;
  fleet: SimFleet;
  /** The agents first, then the hub. */
  close(): Promise<void>;
}

/**
 * A rollout hub on a fake repo declaring `ids` at `initialRevision`, and a
 * simulated agent for each, returned once every agent has reported that
 * revision. Closes what it started itself when the agents do not all report.
 */
export async function startRolloutFleet(o: {
  dataDir: string;
  ids: readonly string[];
  initialRevision: string;
  webRoot?: string;
  fails?: SimFleetOptions['fails'];
  resources?: SimFleetOptions['resources'];
  reportTimeoutMs?: number;
}): Promise<RolloutFleet> {
  const repo = new FakeFleetRepo(o.initialRevision, declaredHosts(o.ids));
  const hub = await startRolloutHub({ dataDir: o.dataDir, repo, webRoot: o.webRoot });
  const fleet = new SimFleet({ url: hub.agentUrl, token: ENROLL, ids: o.ids, initialRevision: o.initialRevision, fails: o.fails, resources: o.resources });
  const close = async () => {
    await fleet.close();
    await hub.close();
  };
  try {
    await fleet.connectAll();
    await waitFor('every agent to report', () => o.ids.every((id) => hub.index.get(id)?.lastAppliedRevision === o.initialRevision), o.reportTimeoutMs ?? 15_000);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { repo, hub, fleet, close };
}

/**
 * Commits `revision` with `rolloutYaml` (whose first wave is the canary), has
 * the hub read it, and waits until the canary wave is done and the next one
 * soaks; returns the rollout's id.
 */
export async function rollOutToCanary(hub: RunningHub, repo: FakeFleetRepo, revision: string, rolloutYaml: string, subject?: string): Promise<string> {
  repo.commit(revision, rolloutYaml, subject);
  await readHead(hub);
  await waitFor('the canary wave done, the next one soaking', () => hub.rollouts!.list()[0]?.current === 1, 15_000);
  return hub.rollouts!.list()[0]!.id;
}
