// The change follower's reads (docs/hub.md, Several replicas), against a real
// PostgreSQL: a replica's index must never go back in the past because of a
// read it took of the database. Two ways it did, both seen as a staged
// rollout that stopped (the leader's own canary shown still applying, its
// wave never closed) while the feed connections were being cut:
// - a catch-up read under way while this replica stored a newer status of one
//   of its own hosts (its index takes a status once stored; the row read may
//   be older) put that host back to the older status, for good, since a
//   replica does not read its own writes back;
// - a catch-up read and the read of a host another replica noticed, both
//   under way, applied in the order they answered: the older one last.
// Each read here is a real read whose answer is held back, as a loaded
// database or network holds it, by a gate on the store the test opens.
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import pino from 'pino';
import { ChangeFollower } from '../../hub/cluster/change-follower.ts';
import { FleetIndex } from '../../hub/fleet/fleet-index.ts';
import { PostgresFleetStore } from '../../hub/store/postgres-store.ts';
import { requireComponent } from '../harness/require.ts';
import { postgresMissing, startPostgres } from '../harness/postgres.ts';
import type { PostgresCluster } from '../harness/postgres.ts';
import { makeStatus, waitFor } from './hub-harness.ts';

const missing = postgresMissing();
let server: PostgresCluster | null = null;
const closing: Array<() => Promise<unknown>> = [];

before(async () => {
  if (missing === null) server = await startPostgres();
});
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
  await server?.stop();
});

const REV = (n: number) => String(n).repeat(40);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gate on the catch-up read's answer: shut, the read runs but its answer waits until opened. */
class Gate {
  #open: (() => void) | null = null;
  #shut: Promise<void> | null = null;
  /** Catch-up reads whose answer came back from the database. */
  answered = 0;
  shut(): void {
    this.#shut = new Promise((r) => (this.#open = r));
  }
  open(): void {
    this.#open?.();
    this.#shut = null;
  }
  async pass(): Promise<void> {
    this.answered++;
    await this.#shut;
  }
}

async function replicas(t: TestContext) {
  const database = await server!.createDatabase();
  const a = await PostgresFleetStore.open(database, { replicaId: 'replica-a' });
  const b = await PostgresFleetStore.open(database, { replicaId: 'replica-b' });
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  const gate = new Gate();
  // Replica A's follower reads through this: the catch-up's answer passes the gate (methods run on the store itself).
  const gated = new Proxy(a, {
    get(target, prop) {
      if (prop === 'changedSince') {
        return async (...args: Parameters<PostgresFleetStore['changedSince']>) => {
          const answer = await target.changedSince(...args);
          await gate.pass();
          return answer;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
    },
  });
  const index = new FleetIndex();
  index.setReplica('replica-a');
  const follower = new ChangeFollower({ store: gated, index, logger: pino({ level: 'silent' }), onAction: () => undefined, pingMs: 200 });
  closing.push(
    () => follower.stop(),
    () => a.close(),
    () => b.close(),
    () => admin.end(),
  );
  const now = new Date().toISOString();
  for (const id of ['own-01', 'other-01']) await a.enroll(id, 'x'.repeat(64), now);
  // A status as a replica's report writer stores it: in the database first, then in its own index.
  const report = async (store: PostgresFleetStore, id: string, seq: number, revision: string) => {
    assert.ok(await store.saveStatus(id, seq, makeStatus(id, { revision })));
    if (store === a) index.status(id, makeStatus(id, { revision }));
  };
  const cut = async () => {
    const r = await admin.query<{ n: string }>(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'gitfleet-hub-follow' AND datname = current_database()`);
    assert.equal(Number(r.rows[0]!.n), 1, 'the follower connection was cut');
  };
  const applied = (id: string) => index.get(id)?.lastAppliedRevision ?? null;
  t.diagnostic(`database ${database.replace(/:[^:@]*@/, ':***@')}`);
  return { a, b, index, follower, gate, report, cut, applied };
}

test("a catch-up read under way while the replica stores a newer status of its own host does not put the host back", async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const { a, follower, gate, report, cut, applied } = await replicas(t);
  await follower.start();
  await report(a, 'own-01', 1, REV(1));
  gate.shut();
  await cut();
  await waitFor('the catch-up read to answer (held at the gate)', () => gate.answered === 1, 10_000);
  // Its answer has the first status; meanwhile the host's agent reports the second, stored and indexed here.
  await report(a, 'own-01', 2, REV(2));
  gate.open();
  await waitFor('the follower to reconnect', () => follower.reconnects === 1);
  // The read is applied (or set aside) once through the gate; then a read-again, if any, has had its time.
  await sleep(1000);
  assert.equal(applied('own-01'), REV(2), 'the host keeps the status this replica stored last');
});

test('a catch-up read and the read of a host another replica changed are applied in the order they were taken', async (t: TestContext) => {
  if (!requireComponent(t, 'PostgreSQL server', missing)) return;
  const { b, follower, gate, report, cut, applied } = await replicas(t);
  await follower.start();
  await report(b, 'other-01', 1, REV(1));
  await waitFor('replica A to follow the other replica\'s first status', () => applied('other-01') === REV(1));
  gate.shut();
  await cut();
  await waitFor('the catch-up read to answer (held at the gate)', () => gate.answered === 1, 10_000);
  // The other replica stores a newer status: its notice reaches A on its new connection while the catch-up is held
  // (waited for: a fixed pause could end before it arrived on a loaded machine, and the test would not test the order).
  const noticed = follower.noticesReceived;
  await report(b, 'other-01', 2, REV(2));
  await waitFor('the other replica\'s notice to reach A while the catch-up is held', () => follower.noticesReceived > noticed, 10_000);
  gate.open();
  await waitFor('A to show the newer status', () => applied('other-01') === REV(2), 15_000);
  await sleep(1000);
  assert.equal(applied('other-01'), REV(2), 'the older catch-up read did not land after the newer read');
});
