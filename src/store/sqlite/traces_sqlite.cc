// SQLite implementation of TraceRepo: traces, raw spans, FTS5 text index, LSH buckets, flags.
#include <sstream>

#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kTraceColumns[] =
    "t.id, t.trace_id, t.hash, t.agent, t.version, t.user_id, t.session_id, t.category, "
    "t.started_at, t.ended_at, t.span_count, t.error_count, t.flag, t.doc, t.signature, "
    "t.ingested_at, t.updated_at";

TraceRow ReadTrace(const Query& q) {
  TraceRow t;
  t.id = q.Int(0);
  t.trace_id = q.Text(1);
  t.hash = q.Text(2);
  t.agent = q.Text(3);
  t.version = q.Text(4);
  t.user_id = q.Text(5);
  t.session_id = q.Text(6);
  t.category = q.Text(7);
  t.started_at = q.Int(8);
  t.ended_at = q.Int(9);
  t.span_count = q.Int(10);
  t.error_count = q.Int(11);
  t.flag = q.Text(12);
  t.doc_json = q.Text(13);
  t.signature = q.Text(14);
  t.ingested_at = q.Int(15);
  t.updated_at = q.Int(16);
  return t;
}

std::string JoinKeys(const std::vector<int64_t>& keys) {
  std::string out;
  for (int64_t k : keys) {
    if (!out.empty()) out += ',';
    out += std::to_string(k);
  }
  return out;
}

std::vector<int64_t> SplitKeys(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(std::stoll(item));
  }
  return out;
}

}  // namespace

Status SqliteTraceRepo::PutSpan(const SpanRow& s) {
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "INSERT INTO trace_spans (trace_id, span_id, parent_span_id, start_ns, data, "
          "received_at) "
          "VALUES (?,?,?,?,?,?) ON CONFLICT (trace_id, span_id) DO UPDATE SET "
          "parent_span_id=excluded.parent_span_id, start_ns=excluded.start_ns, data=excluded.data, "
          "received_at=excluded.received_at"));
  q->Bind(s.trace_id, s.span_id, s.parent_span_id, s.start_ns, s.data_json, s.received_at);
  return q->Run();
}

StatusOr<std::vector<SpanRow>> SqliteTraceRepo::Spans(const std::string& trace_id) {
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "SELECT trace_id, span_id, parent_span_id, start_ns, data, received_at FROM trace_spans "
          "WHERE trace_id=? ORDER BY start_ns, span_id"));
  q->Bind(trace_id);
  return CollectRows<SpanRow>(*q, [](const Query& r) {
    return SpanRow{r.Text(0), r.Text(1), r.Text(2), r.Int(3), r.Text(4), r.Int(5)};
  });
}

Status SqliteTraceRepo::ClearIndexes(int64_t id, const std::string& old_keys) {
  // A statement is prepared once and cached; each Prepare hands out a fresh, reset use of it.
  for (int64_t key : SplitKeys(old_keys)) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM trace_lsh WHERE key=? AND trace_row=?"));
    q->Bind(key, id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM traces_fts WHERE rowid=?"));
    q->Bind(id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM trace_tools WHERE trace_row=?"));
  q->Bind(id);
  return q->Run();
}

StatusOr<TraceRepo::Upserted> SqliteTraceRepo::Upsert(const TraceRow& t, const TraceText& text,
                                          const std::vector<std::string>& tools,
                                          const std::vector<int64_t>& lsh_keys) {
  std::optional<int64_t> existing;
  std::string old_keys;
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT id, lsh_keys FROM traces WHERE trace_id=?"));
    q->Bind(t.trace_id);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      existing = q->Int(0);
      old_keys = q->Text(1);
    }
  }
  int64_t id = 0;
  std::string keys = JoinKeys(lsh_keys);
  if (existing) {
    id = *existing;
    FB_RETURN_IF_ERROR(ClearIndexes(id, old_keys));
    FB_ASSIGN_OR_RETURN(
        auto q,
        conn_.Prepare(
            "UPDATE traces SET hash=?, agent=?, version=?, user_id=?, session_id=?, category=?, "
            "started_at=?, ended_at=?, span_count=?, error_count=?, doc=?, signature=?, "
            "lsh_keys=?, "
            "updated_at=? WHERE id=?"));
    q->Bind(t.hash, t.agent, t.version, t.user_id, t.session_id, t.category, t.started_at,
            t.ended_at, t.span_count, t.error_count, t.doc_json, t.signature, keys, t.updated_at,
            id);
    FB_RETURN_IF_ERROR(q->Run());
  } else {
    FB_ASSIGN_OR_RETURN(
        auto q,
        conn_.Prepare(
            "INSERT INTO traces (trace_id, hash, agent, version, user_id, session_id, category, "
            "started_at, ended_at, span_count, error_count, flag, doc, signature, lsh_keys, "
            "ingested_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    q->Bind(t.trace_id, t.hash, t.agent, t.version, t.user_id, t.session_id, t.category,
            t.started_at, t.ended_at, t.span_count, t.error_count, t.flag, t.doc_json, t.signature,
            keys, t.ingested_at, t.updated_at);
    FB_RETURN_IF_ERROR(q->Run());
    id = conn_.LastInsertId();
  }
  {
    FB_ASSIGN_OR_RETURN(
        auto q,
        conn_.Prepare(
            "INSERT INTO traces_fts (rowid, input, retrieved, tools, output) VALUES (?,?,?,?,?)"));
    q->Bind(id, text.input, text.retrieved, text.tools, text.output);
    FB_RETURN_IF_ERROR(q->Run());
  }
  for (const std::string& name : tools) {
    FB_ASSIGN_OR_RETURN(
        auto q, conn_.Prepare("INSERT OR IGNORE INTO trace_tools (trace_row, name) VALUES (?,?)"));
    q->Bind(id, name);
    FB_RETURN_IF_ERROR(q->Run());
  }
  for (int64_t key : lsh_keys) {
    FB_ASSIGN_OR_RETURN(
        auto q, conn_.Prepare("INSERT OR IGNORE INTO trace_lsh (key, trace_row) VALUES (?,?)"));
    q->Bind(key, id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return Upserted{id, !existing.has_value()};
}

StatusOr<TraceRow> SqliteTraceRepo::Get(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kTraceColumns +
                                            " FROM traces t WHERE t.id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no trace with row id " + std::to_string(id));
  return ReadTrace(*q);
}

StatusOr<std::optional<TraceRow>> SqliteTraceRepo::GetByTraceId(const std::string& trace_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kTraceColumns +
                                            " FROM traces t WHERE t.trace_id=?"));
  q->Bind(trace_id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<TraceRow>();
  return std::optional<TraceRow>(ReadTrace(*q));
}

StatusOr<std::vector<std::string>> SqliteTraceRepo::HashesWithPrefix(const std::string& prefix,
                                                                     int limit) {
  // Hashes are lowercase hex, so every hash with the prefix sorts in [prefix, prefix + "g").
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "SELECT DISTINCT hash FROM traces WHERE hash >= ? AND hash < ? ORDER BY hash LIMIT ?"));
  q->Bind(prefix, prefix + "g", limit);
  return CollectRows<std::string>(*q, [](const Query& r) { return r.Text(0); });
}

StatusOr<std::pair<TraceRow, int64_t>> SqliteTraceRepo::GetByHash(const std::string& hash) {
  int64_t count = 0;
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT count(*) FROM traces WHERE hash=?"));
    q->Bind(hash);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) count = q->Int(0);
  }
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kTraceColumns +
                                            " FROM traces t WHERE t.hash=? "
                                            "ORDER BY t.started_at DESC, t.id DESC LIMIT 1"));
  q->Bind(hash);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no trace with hash " + hash);
  return std::make_pair(ReadTrace(*q), count);
}

StatusOr<std::vector<int64_t>> SqliteTraceRepo::RowsWithHash(const std::string& hash) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT id FROM traces WHERE hash=? ORDER BY id"));
  q->Bind(hash);
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

StatusOr<std::vector<TraceRow>> SqliteTraceRepo::List(const TraceFilter& f) {
  // One static statement: an empty filter value means "any".
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          std::string("SELECT ") + kTraceColumns +
          " FROM traces t WHERE "
          "(?1='' OR t.agent=?1) AND (?2='' OR t.version=?2) AND (?3='' OR t.user_id=?3) AND "
          "(?4='' OR t.session_id=?4) AND (?5='' OR t.category=?5) AND (?6='' OR t.flag=?6) AND "
          "(?7='' OR t.id IN (SELECT trace_row FROM trace_tools WHERE name=?7)) AND "
          "(?8='' OR t.id IN (SELECT rowid FROM traces_fts WHERE traces_fts MATCH ?8)) AND "
          "(?9 IS NULL OR t.started_at>=?9) AND (?10 IS NULL OR t.started_at<?10) AND "
          "(?11 IS NULL OR t.started_at<?11 OR (t.started_at=?11 AND t.id<?12)) "
          "ORDER BY t.started_at DESC, t.id DESC LIMIT ?13"));
  q->Bind(f.agent, f.version, f.user_id, f.session_id, f.category, f.flag, f.tool, f.text, f.from,
          f.to, f.before_started_at, f.before_id, f.limit);
  auto rows = CollectRows<TraceRow>(*q, ReadTrace);
  if (!rows.ok() && !f.text.empty())
    return InvalidArgument("bad text query: " + rows.status().message());
  return rows;
}

StatusOr<std::vector<int64_t>> SqliteTraceRepo::Window(const std::string& agent,
                                                       const std::string& version,
                                                       std::optional<TimeMs> from,
                                                       std::optional<TimeMs> to) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(
                  "SELECT id FROM traces WHERE (?1='' OR agent=?1) AND (?2='' OR version=?2) AND "
                  "(?3 IS NULL OR started_at>=?3) AND (?4 IS NULL OR started_at<?4) ORDER BY id"));
  q->Bind(agent, version, from, to);
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

// The traces of an AffectedScope with an `evidence` column (?1 incident, ?2 agent, ?3 from,
// ?4 to). A trace flagged with the incident is evidence unless its current flag is "clean".
constexpr char kAffectedScope[] =
    "WITH scope AS (SELECT t.user_id AS user_id, t.started_at AS started_at, "
    "(t.flag<>'clean' AND t.id IN (SELECT trace_row FROM trace_flags WHERE incident_id=?1)) "
    "AS evidence FROM traces t WHERE "
    "(t.flag<>'clean' AND t.id IN (SELECT trace_row FROM trace_flags WHERE incident_id=?1)) OR "
    "(?2<>'' AND t.agent=?2 AND t.started_at>=?3 AND t.started_at<=?4)) ";

StatusOr<std::vector<AffectedUserRow>> SqliteTraceRepo::AffectedUsers(const AffectedScope& scope,
                                                                      const std::string& after_user,
                                                                      int limit) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string(kAffectedScope) +
                            "SELECT user_id, COUNT(*), SUM(evidence), MIN(started_at), "
                            "MAX(started_at) FROM scope WHERE user_id<>'' AND user_id>?5 "
                            "GROUP BY user_id ORDER BY user_id LIMIT ?6"));
  q->Bind(scope.incident_id, scope.agent, scope.from, scope.to, after_user, limit);
  return CollectRows<AffectedUserRow>(*q, [](const Query& r) {
    return AffectedUserRow{r.Text(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4)};
  });
}

StatusOr<AffectedTotals> SqliteTraceRepo::CountAffected(const AffectedScope& scope) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string(kAffectedScope) +
                            "SELECT COUNT(DISTINCT NULLIF(user_id,'')), "
                            "COALESCE(SUM(user_id<>''),0), "
                            "COALESCE(SUM(user_id<>'' AND evidence),0), "
                            "COALESCE(SUM(user_id=''),0) FROM scope"));
  q->Bind(scope.incident_id, scope.agent, scope.from, scope.to);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  AffectedTotals totals;
  if (row) totals = {q->Int(0), q->Int(1), q->Int(2), q->Int(3)};
  return totals;
}

StatusOr<std::vector<int64_t>> SqliteTraceRepo::LshBucket(int64_t key, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT trace_row FROM trace_lsh WHERE key=? LIMIT ?"));
  q->Bind(key, limit);
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

StatusOr<std::vector<TextHit>> SqliteTraceRepo::TextSearch(const std::string& fts_query,
                                                           int limit) {
  // Query exposes integer columns only: bm25 travels scaled by 1e6.
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "SELECT rowid, CAST(rank * 1000000 AS INTEGER) FROM traces_fts WHERE traces_fts MATCH ? "
          "ORDER BY rank LIMIT ?"));
  q->Bind(fts_query, limit);
  auto rows = CollectRows<TextHit>(*q, [](const Query& r) {
    return TextHit{r.Int(0), static_cast<double>(r.Int(1)) / 1e6};
  });
  if (!rows.ok()) return InvalidArgument("bad text query: " + rows.status().message());
  return rows;
}

StatusOr<std::vector<std::pair<int64_t, std::string>>> SqliteTraceRepo::Signatures(
    const std::vector<int64_t>& ids) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (int64_t id : ids) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT signature FROM traces WHERE id=?"));
    q->Bind(id);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) out.emplace_back(id, q->Text(0));
  }
  return out;
}

Status SqliteTraceRepo::AddFlag(const FlagRow& f) {
  {
    FB_ASSIGN_OR_RETURN(
        auto q,
        conn_.Prepare("INSERT INTO trace_flags (trace_row, flag, reason, incident_id, actor, at) "
                      "VALUES (?,?,?,?,?,?)"));
    q->Bind(f.trace_row, f.flag, f.reason, f.incident_id, f.actor, f.at);
    FB_RETURN_IF_ERROR(q->Run());
  }
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("UPDATE traces SET flag=? WHERE id=?"));
  q->Bind(f.flag, f.trace_row);
  return q->Run();
}

StatusOr<std::vector<FlagRow>> SqliteTraceRepo::FlagsFor(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT trace_row, flag, reason, incident_id, actor, at "
                                            "FROM trace_flags WHERE incident_id=? ORDER BY id"));
  q->Bind(incident_id);
  return CollectRows<FlagRow>(*q, [](const Query& row) {
    return FlagRow{row.Int(0), row.Text(1), row.Text(2), row.OptInt(3), row.Text(4), row.Int(5)};
  });
}

StatusOr<std::vector<int64_t>> SqliteTraceRepo::Expired(TimeMs cutoff, int limit) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("SELECT t.id FROM traces t WHERE t.started_at < ? AND NOT EXISTS ("
                            " SELECT 1 FROM trace_flags f JOIN incidents i ON i.id = f.incident_id"
                            " WHERE f.trace_row = t.id AND i.state NOT IN ('resolved', 'closed')) "
                            "AND NOT EXISTS (SELECT 1 FROM regression_cases c"
                            " WHERE c.source_hash = t.hash) "
                            "ORDER BY t.started_at LIMIT ?"));
  q->Bind(cutoff, limit);
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

StatusOr<SpanSummary> SqliteTraceRepo::SummarizeSpans(const std::string& trace_id) {
  SpanSummary out;
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT COUNT(*), COALESCE(MAX(parent_span_id = ''), 0) "
                                              "FROM trace_spans WHERE trace_id=?"));
    q->Bind(trace_id);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      out.count = q->Int(0);
      out.has_root = q->Int(1) != 0;
    }
  }
  if (out.count == 0) return out;
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "SELECT trace_id, span_id, parent_span_id, start_ns, data, received_at FROM trace_spans "
          "WHERE trace_id=? ORDER BY id LIMIT 1"));
  q->Bind(trace_id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (row) out.first = SpanRow{q->Text(0), q->Text(1), q->Text(2), q->Int(3), q->Text(4), q->Int(5)};
  return out;
}

Status SqliteTraceRepo::QueueReassembly(const std::string& trace_id, TimeMs now) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("INSERT INTO trace_reassembly (trace_id, queued_at) "
                                            "VALUES (?,?) ON CONFLICT (trace_id) DO NOTHING"));
  q->Bind(trace_id, now);
  return q->Run();
}

StatusOr<std::vector<std::string>> SqliteTraceRepo::DueReassembly(TimeMs cutoff, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT trace_id FROM trace_reassembly WHERE queued_at < ? "
                                            "ORDER BY queued_at LIMIT ?"));
  q->Bind(cutoff, limit);
  return CollectRows<std::string>(*q, [](const Query& r) { return r.Text(0); });
}

Status SqliteTraceRepo::DoneReassembly(const std::string& trace_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM trace_reassembly WHERE trace_id=?"));
  q->Bind(trace_id);
  return q->Run();
}

StatusOr<std::vector<std::string>> SqliteTraceRepo::QuietUnassembled(TimeMs from, TimeMs cutoff,
                                                                     int limit) {
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare("SELECT DISTINCT s.trace_id FROM trace_spans s "
                    "WHERE s.received_at >= ? AND s.received_at < ? "
                    "AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = s.trace_id) "
                    "AND NOT EXISTS (SELECT 1 FROM trace_spans l "
                    "WHERE l.trace_id = s.trace_id AND l.received_at >= ?) LIMIT ?"));
  q->Bind(from, cutoff, cutoff, limit);
  return CollectRows<std::string>(*q, [](const Query& r) { return r.Text(0); });
}

StatusOr<int64_t> SqliteTraceRepo::DeleteOrphanSpans(TimeMs cutoff) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("DELETE FROM trace_spans WHERE received_at < ? AND trace_id NOT IN "
                            "(SELECT trace_id FROM traces)"));
  q->Bind(cutoff);
  FB_RETURN_IF_ERROR(q->Run());
  return static_cast<int64_t>(sqlite3_changes(conn_.raw()));
}

StatusOr<std::vector<int64_t>> SqliteTraceRepo::ForUser(const std::string& user_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT id FROM traces WHERE user_id=? ORDER BY id"));
  q->Bind(user_id);
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

Status SqliteTraceRepo::Delete(int64_t id) {
  std::string trace_id, keys;
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT trace_id, lsh_keys FROM traces WHERE id=?"));
    q->Bind(id);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return NotFound("no trace with row id " + std::to_string(id));
    trace_id = q->Text(0);
    keys = q->Text(1);
  }
  FB_RETURN_IF_ERROR(ClearIndexes(id, keys));
  for (const char* sql :
       {"DELETE FROM trace_flags WHERE trace_row=?", "DELETE FROM traces WHERE id=?"}) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(sql));
    q->Bind(id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  for (const char* sql : {"DELETE FROM trace_spans WHERE trace_id=?",
                          "DELETE FROM trace_reassembly WHERE trace_id=?"}) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(sql));
    q->Bind(trace_id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return Status::Ok();
}

}  // namespace firebreak::sqlite
