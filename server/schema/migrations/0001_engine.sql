-- Engine bookkeeping. Tables starting with "_" are ignored by the change feed.

-- Outcome of each mutation by (sessionId, requestId), so that a mutation the
-- client re-sends after a reconnect runs at most once.
CREATE TABLE _mutation_log (
  session_id TEXT NOT NULL,
  request_id INTEGER NOT NULL,
  result TEXT,
  error TEXT,
  ts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, request_id)
) WITHOUT ROWID;
CREATE INDEX _mutation_log_by_created ON _mutation_log(created_at);

-- Functions scheduled with runAfter/runAt.
CREATE TABLE _scheduled_jobs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  args TEXT NOT NULL,
  run_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','running','success','failed','canceled')),
  error TEXT,
  created_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX _scheduled_jobs_pending ON _scheduled_jobs(state, run_at);

-- Last run of each periodic job.
CREATE TABLE _crons (
  name TEXT PRIMARY KEY,
  last_run INTEGER NOT NULL
);

-- Signing keys for agent access tokens (JWT), generated on first start.
CREATE TABLE _auth_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_pem TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Test-only documents used by the _test module (registered only in test
-- mode) for protocol conformance tests; empty in production.
CREATE TABLE testItems (
  _id TEXT PRIMARY KEY,
  _creationTime REAL NOT NULL,
  listId TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX testItems_by_list ON testItems(listId, _creationTime);
