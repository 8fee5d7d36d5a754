// Schema migrations for the SQLite store, applied in order at open; the
// database's user_version records how many have run. Append only: never edit
// a migration that has shipped.
export const sqliteMigrations: string[] = [
  `CREATE TABLE hosts (
     id TEXT PRIMARY KEY,
     credential_hash TEXT,
     enrolled_at TEXT,
     place TEXT NOT NULL DEFAULT '',
     tags TEXT NOT NULL DEFAULT '[]',
     agent_version TEXT,
     facts TEXT,
     last_seen_at TEXT,
     last_seq INTEGER NOT NULL DEFAULT 0,
     dropped_events INTEGER NOT NULL DEFAULT 0,
     status TEXT,
     status_at TEXT
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     host TEXT NOT NULL,
     seq INTEGER,
     time TEXT NOT NULL,
     level TEXT NOT NULL,
     resource TEXT,
     reason TEXT NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX events_by_host ON events (host, id);
   CREATE TABLE attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
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
     max_uses INTEGER,
     uses INTEGER NOT NULL DEFAULT 0,
     host_pattern TEXT,
     tag TEXT
   );`,
  // 3: staged rollouts (docs/rollouts.md): one JSON body per rollout, listed newest first.
  `CREATE TABLE rollouts (
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     state TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX rollouts_by_created ON rollouts (created_at);`,
  // Audit log of admin actions and the fleet history (hub/store/fleet-records.ts): both bounded by the hub.
  `CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
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
