// SQLite implementation of EventRepo (the hash-chained event log).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kEventColumns[] = "seq, incident_id, at, actor, kind, details, prev_hash, hash";

EventRecord ReadEvent(const Query& q) {
  EventRecord e;
  e.seq = q.Int(0);
  e.incident_id = q.OptInt(1);
  e.at = q.Int(2);
  e.actor = q.Text(3);
  e.kind = q.Text(4);
  e.details_json = q.Text(5);
  e.prev_hash = q.Text(6);
  e.hash = q.Text(7);
  return e;
}

}  // namespace

StatusOr<std::optional<EventRecord>> SqliteEventRepo::Last() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kEventColumns +
                                            " FROM events ORDER BY seq DESC LIMIT 1"));
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<EventRecord>();
  return std::optional<EventRecord>(ReadEvent(*q));
}

Status SqliteEventRepo::Append(const EventRecord& e) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO events (seq, incident_id, at, actor, kind, details, prev_hash, hash) "
      "VALUES (?,?,?,?,?,?,?,?)"));
  q->Bind(e.seq, e.incident_id, e.at, e.actor, e.kind, e.details_json, e.prev_hash, e.hash);
  return q->Run();
}

StatusOr<std::vector<EventRecord>> SqliteEventRepo::ForIncident(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kEventColumns +
                                            " FROM events WHERE incident_id=? ORDER BY seq"));
  q->Bind(incident_id);
  return CollectRows<EventRecord>(*q, ReadEvent);
}

StatusOr<std::vector<EventRecord>> SqliteEventRepo::After(int64_t after_seq, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kEventColumns +
                                            " FROM events WHERE seq > ? ORDER BY seq LIMIT ?"));
  q->Bind(after_seq, limit);
  return CollectRows<EventRecord>(*q, ReadEvent);
}

StatusOr<std::optional<EventRecord>> SqliteEventRepo::At(int64_t seq) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kEventColumns +
                                            " FROM events WHERE seq=?"));
  q->Bind(seq);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<EventRecord>();
  return std::optional<EventRecord>(ReadEvent(*q));
}

Status SqliteEventRepo::AppendAnchor(const AnchorRecord& a) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO audit_anchors (seq, hash, at, mac) VALUES (?,?,?,?)"));
  q->Bind(a.seq, a.hash, a.at, a.mac);
  return q->Run();
}

StatusOr<std::vector<AnchorRecord>> SqliteEventRepo::Anchors(int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT seq, hash, at, mac FROM audit_anchors ORDER BY seq DESC LIMIT ?"));
  q->Bind(limit);
  return CollectRows<AnchorRecord>(*q, [](const Query& r) {
    return AnchorRecord{r.Int(0), r.Text(1), r.Int(2), r.Text(3)};
  });
}

}  // namespace firebreak::sqlite
