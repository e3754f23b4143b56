// SQLite implementation of MemoryRepo (agent memory, its provenance and quarantines).
#include <algorithm>

#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kRecordColumns[] =
    "id, agent, namespace, text, embedding, metadata, written_at, trace_id, agent_version, "
    "written_by, state, purged_at";

MemoryRecord ReadRecord(const Query& q) {
  MemoryRecord r;
  r.id = q.Int(0);
  r.agent = q.Text(1);
  r.ns = q.Text(2);
  r.text = q.Text(3);
  r.embedding = q.Bytes(4);
  r.metadata_json = q.Text(5);
  r.written_at = q.Int(6);
  r.trace_id = q.Text(7);
  r.agent_version = q.Text(8);
  r.written_by = q.Text(9);
  r.state = q.Text(10);
  r.purged_at = q.OptInt(11);
  return r;
}

constexpr char kQuarantineColumns[] =
    "id, agent, created_at, created_by, reason, incident_id, criteria, direct, tainted, "
    "restored_at, restored_by";

QuarantineRecord ReadQuarantine(const Query& q) {
  QuarantineRecord r;
  r.id = q.Int(0);
  r.agent = q.Text(1);
  r.created_at = q.Int(2);
  r.created_by = q.Text(3);
  r.reason = q.Text(4);
  r.incident_id = q.OptInt(5);
  r.criteria_json = q.Text(6);
  r.direct = q.Int(7);
  r.tainted = q.Int(8);
  r.restored_at = q.OptInt(9);
  r.restored_by = q.Text(10);
  return r;
}

int64_t ReadId(const Query& q) { return q.Int(0); }

}  // namespace

StatusOr<std::optional<int>> SqliteMemoryRepo::Dimension(const std::string& agent, const std::string& ns) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT dim FROM memory_namespaces WHERE agent=? AND namespace=?"));
  q->Bind(agent, ns);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<int>();
  return std::optional<int>(static_cast<int>(q->Int(0)));
}

Status SqliteMemoryRepo::SetDimension(const std::string& agent, const std::string& ns, int dim, TimeMs at) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO memory_namespaces (agent, namespace, dim, created_at) VALUES (?,?,?,?)"));
  q->Bind(agent, ns, dim, at);
  return q->Run();
}

Status SqliteMemoryRepo::ClearDimensions(const std::string& agent) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM memory_namespaces WHERE agent=?"));
  q->Bind(agent);
  return q->Run();
}

StatusOr<int64_t> SqliteMemoryRepo::Insert(const MemoryRecord& r) {
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "INSERT INTO memory_records (agent, namespace, text, embedding, metadata, written_at, "
        "trace_id, agent_version, written_by, state) VALUES (?,?,?,?,?,?,?,?,?,?)"));
    q->Bind(r.agent, r.ns, r.text, Blob{r.embedding}, r.metadata_json, r.written_at, r.trace_id,
            r.agent_version, r.written_by, r.state);
    FB_RETURN_IF_ERROR(q->Run());
  }
  int64_t id = conn_.LastInsertId();
  for (int64_t source : r.derived_from) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "INSERT OR IGNORE INTO memory_derivations (record_id, source_id) VALUES (?,?)"));
    q->Bind(id, source);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return id;
}

StatusOr<MemoryRecord> SqliteMemoryRepo::Get(int64_t id) {
  MemoryRecord r;
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kRecordColumns +
                                              " FROM memory_records WHERE id=?"));
    q->Bind(id);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return NotFound("no memory record " + std::to_string(id));
    r = ReadRecord(*q);
  }
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT source_id FROM memory_derivations WHERE record_id=? ORDER BY source_id"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(r.derived_from, CollectRows<int64_t>(*q, ReadId));
  return r;
}

StatusOr<std::vector<MemoryRecord>> SqliteMemoryRepo::GetMany(const std::vector<int64_t>& ids) {
  std::vector<MemoryRecord> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kRecordColumns +
                                              " FROM memory_records WHERE id=?"));
    q->Bind(id);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) out.push_back(ReadRecord(*q));
  }
  return out;
}

StatusOr<std::vector<int64_t>> SqliteMemoryRepo::Match(const std::string& agent, const MemoryWindow& w) {
  std::vector<int64_t> out;
  bool has_filter = w.from || w.to || !w.version.empty() || !w.trace_ids.empty();
  if (has_filter) {
    // One statement for every combination of filters: unset ones are NULL or ''.
    std::vector<std::string> traces = w.trace_ids;
    if (traces.empty()) traces.push_back("");
    for (const std::string& trace : traces) {
      FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
          "SELECT id FROM memory_records WHERE agent=?1 AND state<>'purged' "
          "AND (?2 IS NULL OR written_at >= ?2) AND (?3 IS NULL OR written_at < ?3) "
          "AND (?4 = '' OR agent_version = ?4) AND (?5 = '' OR namespace = ?5) "
          "AND (?6 = '' OR trace_id = ?6) ORDER BY id"));
      q->Bind(agent, w.from, w.to, w.version, w.ns, trace);
      FB_ASSIGN_OR_RETURN(auto ids, CollectRows<int64_t>(*q, ReadId));
      out.insert(out.end(), ids.begin(), ids.end());
    }
  }
  for (int64_t id : w.record_ids) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "SELECT id FROM memory_records WHERE id=? AND agent=? AND state<>'purged'"));
    q->Bind(id, agent);
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

StatusOr<std::vector<int64_t>> SqliteMemoryRepo::DerivedFrom(int64_t source_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT d.record_id FROM memory_derivations d JOIN memory_records r ON r.id = d.record_id "
      "WHERE d.source_id=? AND r.state<>'purged' ORDER BY d.record_id"));
  q->Bind(source_id);
  return CollectRows<int64_t>(*q, ReadId);
}

StatusOr<std::vector<MemoryRead>> SqliteMemoryRepo::ReadsOf(int64_t record_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT trace_id, high_id FROM memory_reads WHERE record_id=? ORDER BY trace_id"));
  q->Bind(record_id);
  return CollectRows<MemoryRead>(*q, [](const Query& row) {
    return MemoryRead{row.Text(0), row.Int(1)};
  });
}

StatusOr<std::vector<int64_t>> SqliteMemoryRepo::WrittenByTraceAfter(const std::string& agent,
                                                                    const std::string& trace_id,
                                                                    int64_t after_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT id FROM memory_records WHERE agent=? AND trace_id=? AND id>? AND state<>'purged' "
      "ORDER BY id"));
  q->Bind(agent, trace_id, after_id);
  return CollectRows<int64_t>(*q, ReadId);
}

StatusOr<std::vector<int64_t>> SqliteMemoryRepo::ReadByTrace(const std::string& agent,
                                                            const std::string& trace_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT record_id FROM memory_reads WHERE trace_id=? AND agent=? ORDER BY record_id"));
  q->Bind(trace_id, agent);
  return CollectRows<int64_t>(*q, ReadId);
}

Status SqliteMemoryRepo::RecordReads(const std::string& agent, const std::string& trace_id,
                                     const std::vector<int64_t>& record_ids, TimeMs at) {
  FB_ASSIGN_OR_RETURN(int64_t high, MaxId());
  for (int64_t id : record_ids) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "INSERT OR IGNORE INTO memory_reads (trace_id, record_id, agent, high_id, read_at) "
        "VALUES (?,?,?,?,?)"));
    q->Bind(trace_id, id, agent, high, at);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return Status::Ok();
}

Status SqliteMemoryRepo::SetState(const std::vector<int64_t>& ids, const std::string& state) {
  for (int64_t id : ids) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "UPDATE memory_records SET state=? WHERE id=? AND state<>'purged'"));
    q->Bind(state, id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return Status::Ok();
}

Status SqliteMemoryRepo::Purge(const std::vector<int64_t>& ids, TimeMs at) {
  for (int64_t id : ids) {
    // The update trigger removes the old terms from the full-text index; secure_delete (set on
    // the writer connection) zeroes the old cell, Store::Compact() the rest.
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "UPDATE memory_records SET text='', embedding=NULL, metadata='{}', state='purged', "
        "purged_at=? WHERE id=? AND state<>'purged'"));
    q->Bind(at, id);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> SqliteMemoryRepo::AllLive(const std::string& agent) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT id FROM memory_records WHERE agent=? AND state<>'purged' ORDER BY id"));
  q->Bind(agent);
  return CollectRows<int64_t>(*q, ReadId);
}

StatusOr<std::vector<std::pair<int64_t, double>>> SqliteMemoryRepo::TextSearch(
    const std::string& agent, const std::string& ns, const std::string& fts_query, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT r.id, bm25(memory_fts) AS score FROM memory_fts JOIN memory_records r "
      "ON r.id = memory_fts.rowid WHERE memory_fts MATCH ? AND r.agent=? AND r.namespace=? "
      "AND r.state='active' ORDER BY score LIMIT ?"));
  q->Bind(fts_query, agent, ns, limit);
  return CollectRows<std::pair<int64_t, double>>(*q, [](const Query& row) {
    return std::make_pair(row.Int(0), row.Double(1));
  });
}

StatusOr<std::vector<MemoryRecord>> SqliteMemoryRepo::ScanEmbeddings(const EmbeddingScan& scan) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kRecordColumns +
      " FROM memory_records WHERE id > ?1 AND id <= ?2 AND embedding IS NOT NULL "
      "AND state<>'purged' AND (?3 = '' OR agent = ?3) AND (?4 = '' OR namespace = ?4) "
      "ORDER BY id LIMIT ?5"));
  q->Bind(scan.after_id, scan.max_id, scan.agent, scan.ns, scan.limit);
  return CollectRows<MemoryRecord>(*q, ReadRecord);
}

StatusOr<int64_t> SqliteMemoryRepo::MaxId() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT coalesce(max(id), 0) FROM memory_records"));
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? q->Int(0) : 0;
}

StatusOr<int64_t> SqliteMemoryRepo::InsertQuarantine(const QuarantineRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO memory_quarantines (agent, created_at, created_by, reason, incident_id, "
      "criteria, direct, tainted) VALUES (?,?,?,?,?,?,?,?)"));
  q->Bind(r.agent, r.created_at, r.created_by, r.reason, r.incident_id, r.criteria_json, r.direct,
          r.tainted);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

Status SqliteMemoryRepo::UpdateQuarantine(const QuarantineRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE memory_quarantines SET direct=?, tainted=?, restored_at=?, restored_by=? WHERE id=?"));
  q->Bind(r.direct, r.tainted, r.restored_at, r.restored_by, r.id);
  return q->Run();
}

StatusOr<QuarantineRecord> SqliteMemoryRepo::GetQuarantine(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kQuarantineColumns +
                                            " FROM memory_quarantines WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no quarantine " + std::to_string(id));
  return ReadQuarantine(*q);
}

StatusOr<std::vector<QuarantineRecord>> SqliteMemoryRepo::ListQuarantines(const std::string& agent) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kQuarantineColumns +
                                            " FROM memory_quarantines WHERE agent=? ORDER BY id DESC"));
  q->Bind(agent);
  return CollectRows<QuarantineRecord>(*q, ReadQuarantine);
}

Status SqliteMemoryRepo::AddMembers(int64_t quarantine_id, const std::vector<QuarantineMember>& members) {
  for (const auto& m : members) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        "INSERT OR IGNORE INTO memory_quarantine_members (quarantine_id, record_id, cause) "
        "VALUES (?,?,?)"));
    q->Bind(quarantine_id, m.record_id, m.cause);
    FB_RETURN_IF_ERROR(q->Run());
  }
  return Status::Ok();
}

StatusOr<std::vector<QuarantineMember>> SqliteMemoryRepo::Members(int64_t quarantine_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT record_id, cause FROM memory_quarantine_members WHERE quarantine_id=? ORDER BY record_id"));
  q->Bind(quarantine_id);
  return CollectRows<QuarantineMember>(*q, [](const Query& row) {
    return QuarantineMember{row.Int(0), row.Text(1)};
  });
}

StatusOr<std::vector<int64_t>> SqliteMemoryRepo::ActiveQuarantinesOf(int64_t record_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT m.quarantine_id FROM memory_quarantine_members m JOIN memory_quarantines q "
      "ON q.id = m.quarantine_id WHERE m.record_id=? AND q.restored_at IS NULL "
      "ORDER BY m.quarantine_id"));
  q->Bind(record_id);
  return CollectRows<int64_t>(*q, ReadId);
}

}  // namespace firebreak::sqlite
