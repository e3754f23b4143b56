#include "store/migrations.h"

namespace firebreak {

const std::vector<std::string>& SqliteMigrations() {
  static const std::vector<std::string> kMigrations = {
      // 1: incidents, the hash-chained event log, tokens.
      R"sql(
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  agent TEXT NOT NULL,
  severity INTEGER NOT NULL,
  state TEXT NOT NULL,
  detected_at INTEGER NOT NULL,
  classified_at INTEGER,
  classified_by TEXT NOT NULL DEFAULT '',
  classification_reason TEXT NOT NULL DEFAULT '',
  acked_at INTEGER,
  acked_by TEXT NOT NULL DEFAULT '',
  commander TEXT NOT NULL DEFAULT '',
  resolved_at INTEGER,
  closed_at INTEGER,
  signals TEXT NOT NULL DEFAULT '[]',
  links TEXT NOT NULL DEFAULT '[]',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX incidents_by_state ON incidents (state, id);
CREATE INDEX incidents_by_agent ON incidents (agent, id);

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  incident_id INTEGER,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX events_by_incident ON events (incident_id, seq);
-- The event log is append-only for the application; the hash chain catches whoever edits the
-- file behind its back.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  secret_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at IS NULL;
)sql",
      // 2: agent releases: versions, pointers (current, stable, enabled, revision), history.
      R"sql(
CREATE TABLE agents (
  agent TEXT PRIMARY KEY,
  current_version TEXT NOT NULL DEFAULT '',
  stable_version TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  revision INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE agent_versions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL REFERENCES agents (agent),
  version TEXT NOT NULL,
  manifest TEXT NOT NULL,
  pulled INTEGER NOT NULL DEFAULT 0,
  pulled_at INTEGER,
  pulled_by TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (agent, version)
);
-- A version's manifest is immutable; only its pulled mark may change.
CREATE TRIGGER agent_versions_immutable BEFORE UPDATE OF agent, version, manifest, created_by,
  created_at ON agent_versions
  BEGIN SELECT RAISE(ABORT, 'agent versions are immutable'); END;

CREATE TABLE agent_pointer_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL REFERENCES agents (agent),
  revision INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_version TEXT NOT NULL DEFAULT '',
  to_version TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  incident_id INTEGER
);
CREATE INDEX agent_pointer_changes_by_agent ON agent_pointer_changes (agent, id);
)sql",
      // 3: agent memory: records with provenance, derivations, reads, quarantines, full text.
      R"sql(
CREATE TABLE memory_namespaces (
  agent TEXT NOT NULL,
  namespace TEXT NOT NULL,
  dim INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (agent, namespace)
) WITHOUT ROWID;

CREATE TABLE memory_records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL,
  namespace TEXT NOT NULL,
  text TEXT NOT NULL,
  embedding BLOB,
  metadata TEXT NOT NULL DEFAULT '{}',
  written_at INTEGER NOT NULL,
  trace_id TEXT NOT NULL DEFAULT '',
  agent_version TEXT NOT NULL DEFAULT '',
  written_by TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'active',
  purged_at INTEGER
);
CREATE INDEX memory_by_time ON memory_records (agent, written_at);
CREATE INDEX memory_by_trace ON memory_records (agent, trace_id, id);

CREATE TABLE memory_derivations (
  record_id INTEGER NOT NULL,
  source_id INTEGER NOT NULL,
  PRIMARY KEY (record_id, source_id)
) WITHOUT ROWID;
CREATE INDEX memory_derivations_by_source ON memory_derivations (source_id, record_id);

CREATE TABLE memory_reads (
  trace_id TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  agent TEXT NOT NULL,
  high_id INTEGER NOT NULL,
  read_at INTEGER NOT NULL,
  PRIMARY KEY (trace_id, record_id)
) WITHOUT ROWID;
CREATE INDEX memory_reads_by_record ON memory_reads (record_id, trace_id);

CREATE TABLE memory_quarantines (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  incident_id INTEGER,
  criteria TEXT NOT NULL,
  direct INTEGER NOT NULL,
  tainted INTEGER NOT NULL,
  restored_at INTEGER,
  restored_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX memory_quarantines_by_agent ON memory_quarantines (agent, id);

CREATE TABLE memory_quarantine_members (
  quarantine_id INTEGER NOT NULL,
  record_id INTEGER NOT NULL,
  cause TEXT NOT NULL,
  PRIMARY KEY (quarantine_id, record_id)
) WITHOUT ROWID;
CREATE INDEX memory_members_by_record ON memory_quarantine_members (record_id, quarantine_id);

-- Full text over memory_records.text (external content: the text is stored once). The triggers
-- keep it in step; a purge blanks the text, so the update trigger removes the old terms.
CREATE VIRTUAL TABLE memory_fts USING fts5(text, content='memory_records', content_rowid='id');
CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory_records BEGIN
  INSERT INTO memory_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory_records BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER memory_fts_update AFTER UPDATE OF text ON memory_records BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO memory_fts (rowid, text) VALUES (new.id, new.text);
END;
)sql",
      // 4: traces (assembled runs), their raw spans, full-text index, LSH buckets, flags.
      R"sql(
CREATE TABLE traces (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trace_id TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  span_count INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  flag TEXT NOT NULL DEFAULT '',
  doc TEXT NOT NULL,
  signature TEXT NOT NULL DEFAULT '',
  lsh_keys TEXT NOT NULL DEFAULT '',
  ingested_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX traces_by_hash ON traces (hash);
CREATE INDEX traces_by_start ON traces (started_at, id);
CREATE INDEX traces_by_agent ON traces (agent, version, started_at);
CREATE INDEX traces_by_user ON traces (user_id, started_at);
CREATE INDEX traces_by_session ON traces (session_id, started_at);

CREATE TABLE trace_spans (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT NOT NULL DEFAULT '',
  start_ns INTEGER NOT NULL,
  data TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX trace_spans_key ON trace_spans (trace_id, span_id);
CREATE INDEX trace_spans_by_received ON trace_spans (received_at);

CREATE TABLE trace_tools (
  trace_row INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (name, trace_row)
) WITHOUT ROWID;
CREATE INDEX trace_tools_by_trace ON trace_tools (trace_row);

CREATE TABLE trace_lsh (
  key INTEGER NOT NULL,
  trace_row INTEGER NOT NULL,
  PRIMARY KEY (key, trace_row)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE traces_fts USING fts5 (input, retrieved, tools, output,
  tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE trace_flags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trace_row INTEGER NOT NULL,
  flag TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  incident_id INTEGER,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX trace_flags_by_trace ON trace_flags (trace_row);
CREATE INDEX trace_flags_by_incident ON trace_flags (incident_id) WHERE incident_id IS NOT NULL;
)sql",
      // 5: detection and paging: signals, scores, timers and the delivery outbox.
      R"sql(
CREATE TABLE signals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  evidence TEXT NOT NULL DEFAULT '[]',
  measured TEXT NOT NULL DEFAULT '{}',
  suggested_severity INTEGER NOT NULL DEFAULT 0,
  severity INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  rule TEXT NOT NULL DEFAULT '',
  rule_reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'firing',
  fingerprint TEXT NOT NULL DEFAULT '',
  incident_id INTEGER,
  detected_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX signals_by_fingerprint ON signals (fingerprint) WHERE fingerprint != '';
CREATE INDEX signals_by_agent ON signals (agent, id);
CREATE INDEX signals_by_incident ON signals (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE scores (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trace_id TEXT NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  value REAL,
  negative_feedback INTEGER,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX scores_by_time ON scores (at);

CREATE TABLE timers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  fired_at INTEGER,
  cancelled_at INTEGER
);
CREATE INDEX timers_pending ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_by_incident ON timers (incident_id);

CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id INTEGER,
  target TEXT NOT NULL,
  channel TEXT NOT NULL,
  action TEXT NOT NULL,
  dedup_key TEXT NOT NULL UNIQUE,
  content TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_http_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_incident ON deliveries (incident_id);
)sql",
      // 6: a compaction a purge or an erasure asked for and that has not finished yet
      // (Txn::RequestCompaction); at most one row.
      R"sql(
CREATE TABLE store_compaction (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  requested_at INTEGER NOT NULL
);
)sql",
      // 7: durability: signed checkpoints of the event chain's head, idempotency keys of POST
      // writes, and the queue of traces committed but not yet inspected by the detectors.
      R"sql(
CREATE TABLE audit_anchors (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  at INTEGER NOT NULL,
  mac TEXT NOT NULL
);
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
  BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
  BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;

CREATE TABLE idempotency_keys (
  token_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (token_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);

CREATE TABLE inspection_queue (
  trace_id TEXT PRIMARY KEY,
  first_time INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  enqueued_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX inspection_queue_due ON inspection_queue (next_at);
)sql",
      // 8: traces that took spans after they were assembled and wait to be assembled again
      // (TraceService defers that for traces past a size, so one span costs no whole-trace read).
      R"sql(
CREATE TABLE trace_reassembly (
  trace_id TEXT PRIMARY KEY,
  queued_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX trace_reassembly_due ON trace_reassembly (queued_at);
)sql",
      // 9: communication: an incident's public notice, its updates by audience, and what
      // communication knows of it (owner, confirmed root cause, the next update promised).
      R"sql(
CREATE TABLE notices (
  incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
  status TEXT NOT NULL,
  message TEXT NOT NULL,
  eta INTEGER,
  next_update_at INTEGER,
  lint TEXT NOT NULL DEFAULT '[]',
  override_reason TEXT NOT NULL DEFAULT '',
  updated_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE incident_updates (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL REFERENCES incidents(id),
  audience TEXT NOT NULL CHECK (audience IN ('internal', 'affected', 'public')),
  impact TEXT NOT NULL,
  actions TEXT NOT NULL DEFAULT '',
  user_action TEXT NOT NULL DEFAULT '',
  eta INTEGER,
  next_update_at INTEGER,
  lint TEXT NOT NULL DEFAULT '[]',
  override_reason TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id);
CREATE TABLE incident_comms (
  incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
  owner TEXT NOT NULL DEFAULT '',
  root_cause TEXT NOT NULL DEFAULT '',
  root_cause_confirmed_at INTEGER,
  next_update_at INTEGER,
  reminded_for INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX incident_comms_promised ON incident_comms (next_update_at);
)sql",
      // 10: the isolation playbook: when an incident was contained (its last isolation step)
      // and the time to contain (contained_at - detected_at).
      R"sql(
ALTER TABLE incidents ADD COLUMN contained_at INTEGER;
ALTER TABLE incidents ADD COLUMN time_to_contain_ms INTEGER;
)sql",
      // 11: the regression battery: cases made from traces (their source trace is held past
      // retention while they exist), runs of the battery on a version, results per case.
      R"sql(
CREATE TABLE regression_cases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL,
  name TEXT NOT NULL,
  incident_id INTEGER REFERENCES incidents(id),
  source_hash TEXT NOT NULL,
  source_trace_id TEXT NOT NULL,
  source_span TEXT NOT NULL DEFAULT '',
  source_version TEXT NOT NULL DEFAULT '',
  spec TEXT NOT NULL,
  required INTEGER NOT NULL DEFAULT 1,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX regression_cases_by_agent ON regression_cases (agent, id);
CREATE INDEX regression_cases_by_incident ON regression_cases (incident_id);
CREATE INDEX regression_cases_by_source ON regression_cases (source_hash);
CREATE TABLE regression_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL,
  version TEXT NOT NULL,
  whole_battery INTEGER NOT NULL,
  cases TEXT NOT NULL,
  parallel INTEGER NOT NULL,
  executed_by TEXT NOT NULL,
  provider TEXT NOT NULL,
  status TEXT NOT NULL,
  total INTEGER NOT NULL,
  passed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  errored INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  started_by TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX regression_runs_by_version ON regression_runs (agent, version, id);
CREATE INDEX regression_runs_running ON regression_runs (status) WHERE status = 'running';
CREATE TABLE regression_results (
  run_id INTEGER NOT NULL REFERENCES regression_runs(id),
  case_id INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('passed', 'failed', 'errored')),
  summary TEXT NOT NULL,
  attempts TEXT NOT NULL,
  finished_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, case_id)
) WITHOUT ROWID;
CREATE INDEX regression_results_by_case ON regression_results (case_id, run_id);
)sql",
      // 12: post-mortems: one document per incident (its fields as JSON, state, version), its
      // corrective and preventive actions, and what the chase of both has already sent.
      R"sql(
CREATE TABLE postmortems (
  incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
  state TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'published')),
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  generated TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  published_at INTEGER
);
CREATE TABLE postmortem_actions (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL REFERENCES incidents(id),
  kind TEXT NOT NULL CHECK (kind IN ('corrective', 'preventive')),
  description TEXT NOT NULL,
  owner TEXT NOT NULL DEFAULT '',
  due_at INTEGER,
  priority TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
  drop_reason TEXT NOT NULL DEFAULT '',
  reminded_week INTEGER,
  updated_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX postmortem_actions_by_incident ON postmortem_actions (incident_id, id);
CREATE INDEX postmortem_actions_open ON postmortem_actions (status, due_at);
-- The resolution (resolved_at) each reminder was sent for: a reopened and resolved-again
-- incident owes its post-mortem on a new clock.
CREATE TABLE postmortem_clock (
  incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
  soon_reminded_for INTEGER,
  overdue_flagged_for INTEGER
);
)sql",
  };
  return kMigrations;
}

}  // namespace firebreak
