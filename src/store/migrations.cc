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
  };
  return kMigrations;
}

}  // namespace firebreak
