// Schema migrations for the PostgreSQL store, applied in order at open inside
// one transaction that holds an advisory lock, so hub replicas starting at
// the same time apply each migration once; gitfleet_migrations records which
// have run. Append only: never edit a migration that has shipped.
//
// JSON bodies are TEXT, not JSONB: they round-trip exactly (JSONB refuses the
// \u0000 escape an agent's message may contain) and the hub never queries
// inside them.
export const postgresMigrations: string[] = [
  `CREATE TABLE hosts (
     id TEXT PRIMARY KEY,
     credential_hash TEXT,
     enrolled_at TEXT,
     place TEXT NOT NULL DEFAULT '',
     tags TEXT NOT NULL DEFAULT '[]',
     agent_version TEXT,
     facts TEXT,
     last_seen_at TEXT,
     last_seq BIGINT NOT NULL DEFAULT 0,
     dropped_events BIGINT NOT NULL DEFAULT 0,
     status TEXT,
     status_at TEXT
   );
   CREATE TABLE events (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     host TEXT NOT NULL,
     seq BIGINT,
     time TEXT NOT NULL,
     level TEXT NOT NULL,
     resource TEXT,
     reason TEXT NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX events_by_host ON events (host, id);
   CREATE TABLE attempts (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     host TEXT NOT NULL,
     started_at TEXT NOT NULL,
     trigger TEXT NOT NULL,
     body TEXT NOT NULL,
     UNIQUE (host, started_at, trigger)
   );
   CREATE INDEX attempts_by_host ON attempts (host, id);`,
  // 2: scoped enrollment tokens (docs/security.md, Enrollment).
  `CREATE TABLE enrollment_tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     secret_hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     expires_at TEXT,
     max_uses BIGINT,
     uses BIGINT NOT NULL DEFAULT 0,
     host_pattern TEXT,
     tag TEXT
   );`,
  // 3: several replicas (docs/hub.md, Several replicas): the index digest of each host's status,
  // when its row last changed (a replica's catch-up read after it lost the change feed), which
  // replica holds its agent's session; the replicas' heartbeats; the repo head the leader read.
  `ALTER TABLE hosts ADD COLUMN digest TEXT,
     ADD COLUMN changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
     ADD COLUMN session_replica TEXT;
   -- No index on changed_at: only a reconnect's catch-up reads it, and without one a status write
   -- changes no indexed column, so PostgreSQL updates the row in place (HOT), with room kept on each page.
   ALTER TABLE hosts SET (fillfactor = 70);
   CREATE TABLE hub_replicas (
     id TEXT PRIMARY KEY,
     address TEXT NOT NULL,
     started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE fleet_head (
     singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
     revision TEXT NOT NULL,
     body TEXT NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );`,
  // 4: staged rollouts (docs/rollouts.md): one JSON body per rollout, listed newest first.
  `CREATE TABLE rollouts (
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     state TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX rollouts_by_created ON rollouts (created_at);`,
  // Audit log of admin actions and the fleet history (hub/store/fleet-records.ts): both bounded by the hub.
  `CREATE TABLE audit_log (
     id BIGSERIAL PRIMARY KEY,
     time TEXT NOT NULL,
     actor TEXT,
     address TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT
   );
   CREATE TABLE fleet_history (
     resolution TEXT NOT NULL,
     scope TEXT NOT NULL,
     at TEXT NOT NULL,
     counts TEXT NOT NULL,
     PRIMARY KEY (resolution, scope, at)
   );
   CREATE INDEX fleet_history_by_age ON fleet_history (resolution, at);`,
  // Notification state that outlives the replica sending it (hub/notify/notify-state.ts): open problem
  // groups and who they named, the last commit status posted per revision, the last head announced per rule.
  `CREATE TABLE notify_state (
     key TEXT PRIMARY KEY,
     body TEXT NOT NULL
   );`,
];

/** Arbitrary constants naming gitfleet's migration lock among the database's advisory locks. */
export const MIGRATION_LOCK: readonly [number, number] = [0x67666c74, 1];
/** The lock the replica that polls the repo holds for as long as its connection lives. */
export const LEADER_LOCK: readonly [number, number] = [0x67666c74, 2];
