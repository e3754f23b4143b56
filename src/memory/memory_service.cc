#include "memory/memory_service.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "common/text.h"
#include "memory/taint.h"

namespace firebreak {
namespace {

constexpr size_t kMaxText = 64 * 1024;
constexpr size_t kMaxMetadata = 16 * 1024;
constexpr size_t kMaxDim = 4096;
constexpr size_t kMaxDerived = 256;
constexpr size_t kMaxBatch = 1000;
constexpr size_t kMaxName = 128;
constexpr size_t kMaxTraceId = 256;
constexpr size_t kMaxReason = 2000;
constexpr int kMaxK = 1000;
constexpr size_t kMaxCandidates = 10000;
constexpr double kRrfK = 60;  // reciprocal-rank fusion constant

static_assert(std::endian::native == std::endian::little, "embeddings are stored little-endian");

Status CheckMemoryName(const char* field, const std::string& value) {
  return CheckName(field, value, kMaxName);
}

Status CheckLength(const char* field, const std::string& value, size_t max) {
  if (value.size() > max) {
    return InvalidArgument(std::string("'") + field + "' is longer than " + std::to_string(max) + " bytes");
  }
  return Status::Ok();
}

Status CheckEmbedding(const std::vector<float>& v) {
  if (v.size() > kMaxDim) {
    return InvalidArgument("'embedding' has more than " + std::to_string(kMaxDim) + " dimensions");
  }
  std::vector<float> copy = v;
  if (!Normalize(copy)) return InvalidArgument("'embedding' must be finite numbers, not all zero");
  return Status::Ok();
}

Status CheckWrite(const MemoryWrite& w) {
  FB_RETURN_IF_ERROR(CheckMemoryName("namespace", w.ns));
  if (w.text.empty()) return InvalidArgument("'text' is required");
  FB_RETURN_IF_ERROR(CheckLength("text", w.text, kMaxText));
  if (!w.metadata.is_object()) return InvalidArgument("'metadata' must be an object");
  FB_RETURN_IF_ERROR(CheckLength("metadata", w.metadata.dump(), kMaxMetadata));
  if (!w.embedding.empty()) FB_RETURN_IF_ERROR(CheckEmbedding(w.embedding));
  if (w.derived_from.size() > kMaxDerived) {
    return InvalidArgument("'derived_from' names more than " + std::to_string(kMaxDerived) + " records");
  }
  FB_RETURN_IF_ERROR(CheckLength("trace_id", w.trace_id, kMaxTraceId));
  FB_RETURN_IF_ERROR(CheckLength("agent_version", w.agent_version, kMaxName));
  return Status::Ok();
}

bool MatchesFilter(const std::string& metadata_json, const nlohmann::json& filter) {
  if (filter.empty()) return true;
  auto meta = nlohmann::json::parse(metadata_json, nullptr, false);
  if (!meta.is_object()) return false;
  for (const auto& [key, value] : filter.items()) {
    auto it = meta.find(key);
    if (it == meta.end() || *it != value) return false;
  }
  return true;
}

nlohmann::json CriteriaJson(const QuarantineRequest& req) {
  const MemoryWindow& w = req.window;
  nlohmann::json c = nlohmann::json::object();
  if (w.from) c["from"] = FormatTime(*w.from);
  if (w.to) c["to"] = FormatTime(*w.to);
  if (!w.version.empty()) c["version"] = w.version;
  if (!w.ns.empty()) c["namespace"] = w.ns;
  if (!w.trace_ids.empty()) c["trace_ids"] = w.trace_ids;
  if (!w.record_ids.empty()) c["record_ids"] = w.record_ids;
  c["taint"] = req.taint;
  return c;
}

}  // namespace

std::string EncodeEmbedding(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> DecodeEmbedding(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::string FullTextQuery(const std::string& text) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += " OR ";
    out += "\"" + word + "\"";
    word.clear();
  };
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      word += c;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

StatusOr<std::unique_ptr<MemoryService>> MemoryService::Create(Store& store, const EventLog& log,
                                                               const Clock& clock,
                                                               MemoryOptions options) {
  return std::unique_ptr<MemoryService>(new MemoryService(store, log, clock, std::move(options)));
}

Status MemoryService::Warm(std::stop_token stop) {
  int64_t high = 0;
  {
    // Records written from here on are indexed by Write itself.
    std::lock_guard<std::mutex> change(change_mu_);
    FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(high, txn.memory().MaxId());
      return Status::Ok();
    }));
  }
  EmbeddingScan scan;
  scan.max_id = high;
  while (true) {
    if (stop.stop_requested()) return Unavailable("memory warm-up stopped");
    // Each chunk is read and indexed between two changes, so the index sees every change
    // either in the store rows it reads or after them.
    std::lock_guard<std::mutex> change(change_mu_);
    std::vector<MemoryRecord> chunk;
    FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(chunk, txn.memory().ScanEmbeddings(scan));
      return Status::Ok();
    }));
    for (const MemoryRecord& r : chunk) IndexRecord(r);
    if (static_cast<int>(chunk.size()) < scan.limit) {
      RebuildDirty();
      break;
    }
    scan.after_id = chunk.back().id;
  }
  warming_ = false;
  return Status::Ok();
}

void MemoryService::IndexRecord(const MemoryRecord& r) {
  std::vector<float> v = DecodeEmbedding(r.embedding);
  auto index = IndexFor(r.agent, r.ns, static_cast<int>(v.size()));
  Status added = index.status();
  if (added.ok() && options_.index_fault) added = options_.index_fault(r.id);
  if (added.ok()) added = (*index)->Add(r.id, v.data());
  if (!added.ok()) {
    std::lock_guard<std::mutex> lock(indexes_mu_);
    dirty_.insert({r.agent, r.ns});
    return;
  }
  if (r.state != kMemoryActive) (*index)->Hide(r.id);
}

Status MemoryService::RebuildIndex(const IndexKey& key) {
  const auto& [agent, ns] = key;
  std::shared_ptr<VectorIndex> fresh;
  EmbeddingScan scan;
  scan.agent = agent;
  scan.ns = ns;
  while (true) {
    std::vector<MemoryRecord> chunk;
    FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(chunk, txn.memory().ScanEmbeddings(scan));
      return Status::Ok();
    }));
    for (const MemoryRecord& r : chunk) {
      std::vector<float> v = DecodeEmbedding(r.embedding);
      if (!fresh) {
        FB_ASSIGN_OR_RETURN(auto created, VectorIndex::Create(static_cast<int>(v.size()), options_.index));
        fresh = std::shared_ptr<VectorIndex>(std::move(created));
      }
      if (options_.index_fault) FB_RETURN_IF_ERROR(options_.index_fault(r.id));
      FB_RETURN_IF_ERROR(fresh->Add(r.id, v.data()));
      if (r.state != kMemoryActive) fresh->Hide(r.id);
    }
    if (static_cast<int>(chunk.size()) < scan.limit) break;
    scan.after_id = chunk.back().id;
  }
  std::lock_guard<std::mutex> lock(indexes_mu_);
  if (fresh) {
    indexes_[key] = std::move(fresh);
  } else {
    indexes_.erase(key);
  }
  dirty_.erase(key);
  return Status::Ok();
}

void MemoryService::RebuildDirty() {
  std::set<IndexKey> dirty;
  {
    std::lock_guard<std::mutex> lock(indexes_mu_);
    dirty = dirty_;
  }
  for (const IndexKey& key : dirty) (void)RebuildIndex(key);
}

bool MemoryService::IsDirty(const IndexKey& key) {
  std::lock_guard<std::mutex> lock(indexes_mu_);
  return dirty_.count(key) > 0;
}

std::shared_ptr<VectorIndex> MemoryService::FindIndex(const std::string& agent, const std::string& ns) {
  std::lock_guard<std::mutex> lock(indexes_mu_);
  auto it = indexes_.find({agent, ns});
  return it == indexes_.end() ? nullptr : it->second;
}

StatusOr<std::shared_ptr<VectorIndex>> MemoryService::IndexFor(const std::string& agent,
                                                               const std::string& ns, int dim) {
  std::lock_guard<std::mutex> lock(indexes_mu_);
  auto& slot = indexes_[{agent, ns}];
  if (!slot) {
    FB_ASSIGN_OR_RETURN(auto created, VectorIndex::Create(dim, options_.index));
    slot = std::shared_ptr<VectorIndex>(std::move(created));
  }
  if (slot->dim() != dim) return Internal("vector index dimension differs from the store's");
  return slot;
}

void MemoryService::ForAgentIndexes(const std::string& agent,
                                    const std::function<void(VectorIndex&)>& fn) {
  std::vector<std::shared_ptr<VectorIndex>> list;
  {
    std::lock_guard<std::mutex> lock(indexes_mu_);
    for (auto it = indexes_.lower_bound({agent, ""}); it != indexes_.end() && it->first.first == agent; ++it) {
      list.push_back(it->second);
    }
  }
  for (auto& index : list) fn(*index);
}

StatusOr<std::vector<MemoryRecord>> MemoryService::Write(const std::string& actor,
                                                         const std::string& agent,
                                                         const std::vector<MemoryWrite>& records) {
  FB_RETURN_IF_ERROR(CheckMemoryName("agent", agent));
  if (records.empty()) return InvalidArgument("no records to write");
  if (records.size() > kMaxBatch) {
    return InvalidArgument("at most " + std::to_string(kMaxBatch) + " records per write");
  }
  for (const auto& w : records) FB_RETURN_IF_ERROR(CheckWrite(w));

  std::lock_guard<std::mutex> change(change_mu_);
  std::vector<MemoryRecord> written;
  Status s = store_.Write([&](Txn& txn) -> Status {
    written.clear();
    MemoryRepo& repo = txn.memory();
    TimeMs now = clock_.NowMs();
    for (size_t i = 0; i < records.size(); ++i) {
      const MemoryWrite& w = records[i];
      std::string where = records.size() > 1 ? "record " + std::to_string(i) + ": " : "";
      if (!w.embedding.empty()) {
        FB_ASSIGN_OR_RETURN(auto dim, repo.Dimension(agent, w.ns));
        if (!dim) {
          FB_RETURN_IF_ERROR(repo.SetDimension(agent, w.ns, static_cast<int>(w.embedding.size()), now));
        } else if (*dim != static_cast<int>(w.embedding.size())) {
          return InvalidArgument(where + "'embedding' has " + std::to_string(w.embedding.size()) +
                                 " dimensions; namespace '" + w.ns + "' of agent '" + agent +
                                 "' uses " + std::to_string(*dim));
        }
      }
      // Quarantines the new record joins: those holding a source, and those holding a record
      // its trace has read (taint closure kept true for records written after a quarantine).
      std::map<int64_t, const char*> joins;
      for (int64_t source : w.derived_from) {
        auto src = repo.Get(source);
        if (!src.ok() && src.status().code() == StatusCode::kNotFound) {
          return InvalidArgument(where + "'derived_from': no memory record " + std::to_string(source) +
                                 " of agent '" + agent + "'");
        }
        if (!src.ok()) return src.status();
        if (src->agent != agent) {
          return InvalidArgument(where + "'derived_from': no memory record " + std::to_string(source) +
                                 " of agent '" + agent + "'");
        }
        if (src->state == kMemoryPurged) {
          return InvalidArgument(where + "'derived_from': memory record " + std::to_string(source) +
                                 " was purged");
        }
        if (src->state == kMemoryQuarantined) {
          FB_ASSIGN_OR_RETURN(auto qs, repo.ActiveQuarantinesOf(source));
          for (int64_t q : qs) joins.emplace(q, kCauseDerived);
        }
      }
      if (!w.trace_id.empty()) {
        FB_ASSIGN_OR_RETURN(auto read, repo.ReadByTrace(agent, w.trace_id));
        for (int64_t r : read) {
          FB_ASSIGN_OR_RETURN(auto qs, repo.ActiveQuarantinesOf(r));
          for (int64_t q : qs) joins.emplace(q, kCauseRead);
        }
      }
      MemoryRecord rec;
      rec.agent = agent;
      rec.ns = w.ns;
      rec.text = w.text;
      rec.embedding = EncodeEmbedding(w.embedding);
      rec.metadata_json = w.metadata.dump();
      rec.derived_from = w.derived_from;
      std::sort(rec.derived_from.begin(), rec.derived_from.end());
      rec.derived_from.erase(std::unique(rec.derived_from.begin(), rec.derived_from.end()),
                             rec.derived_from.end());
      rec.written_at = now;
      rec.trace_id = w.trace_id;
      rec.agent_version = w.agent_version;
      rec.written_by = actor;
      rec.state = joins.empty() ? kMemoryActive : kMemoryQuarantined;
      FB_ASSIGN_OR_RETURN(rec.id, repo.Insert(rec));
      for (const auto& [qid, cause] : joins) {
        FB_RETURN_IF_ERROR(repo.AddMembers(qid, {{rec.id, cause}}));
        FB_ASSIGN_OR_RETURN(auto q, repo.GetQuarantine(qid));
        q.tainted++;
        FB_RETURN_IF_ERROR(repo.UpdateQuarantine(q));
      }
      written.push_back(std::move(rec));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  // Committed: from here on the answer is the records. An index that misses one is rebuilt from
  // the store (now, and again by a search while it stays dirty).
  for (const MemoryRecord& rec : written) {
    if (!rec.embedding.empty()) IndexRecord(rec);
  }
  RebuildDirty();
  return written;
}

StatusOr<std::vector<MemoryHit>> MemoryService::Search(const std::string& agent, const MemorySearch& req) {
  FB_RETURN_IF_ERROR(CheckMemoryName("agent", agent));
  FB_RETURN_IF_ERROR(CheckMemoryName("namespace", req.ns));
  if (req.k < 1 || req.k > kMaxK) return InvalidArgument("'k' must be 1.." + std::to_string(kMaxK));
  if (!req.filter.is_object()) return InvalidArgument("'filter' must be an object");
  FB_RETURN_IF_ERROR(CheckLength("trace_id", req.trace_id, kMaxTraceId));
  FB_RETURN_IF_ERROR(CheckLength("text", req.text, kMaxText));
  std::string fts = FullTextQuery(req.text);
  if (req.embedding.empty() && fts.empty()) {
    return InvalidArgument("a search needs an 'embedding' or 'text' with words");
  }
  // Candidates beyond k leave room for the metadata filter and for records the store says
  // are no longer active.
  size_t fetch = static_cast<size_t>(req.k);
  if (!req.filter.empty()) fetch = std::min(kMaxCandidates, std::max<size_t>(fetch * 10, 200));

  std::vector<std::pair<int64_t, float>> by_vector;
  if (!req.embedding.empty()) {
    FB_RETURN_IF_ERROR(CheckEmbedding(req.embedding));
    if (warming_) {
      return Unavailable("the memory vector index is still being built after the start; retry "
                         "shortly (text searches work meanwhile)");
    }
    if (IsDirty({agent, req.ns})) {
      std::lock_guard<std::mutex> change(change_mu_);
      if (IsDirty({agent, req.ns}) && !RebuildIndex({agent, req.ns}).ok()) {
        return Unavailable("the vector index of namespace '" + req.ns + "' of agent '" + agent +
                           "' is being rebuilt; retry shortly");
      }
    }
    auto index = FindIndex(agent, req.ns);
    if (index) {
      if (index->dim() != static_cast<int>(req.embedding.size())) {
        return InvalidArgument("'embedding' has " + std::to_string(req.embedding.size()) +
                               " dimensions; namespace '" + req.ns + "' of agent '" + agent +
                               "' uses " + std::to_string(index->dim()));
      }
      by_vector = index->Search(req.embedding.data(), fetch);
    }
  }

  std::vector<MemoryHit> hits;
  auto collect = [&](Txn& txn) -> Status {
    MemoryRepo& repo = txn.memory();
    std::vector<std::pair<int64_t, double>> by_text;
    if (!fts.empty()) {
      FB_ASSIGN_OR_RETURN(by_text, repo.TextSearch(agent, req.ns, fts, static_cast<int>(fetch)));
    }
    struct Candidate {
      double score = 0;
      bool vector = false, text = false;
    };
    std::unordered_map<int64_t, Candidate> candidates;
    bool fuse = !by_vector.empty() && !by_text.empty();
    for (size_t i = 0; i < by_vector.size(); ++i) {
      auto& c = candidates[by_vector[i].first];
      c.vector = true;
      c.score += fuse ? 1.0 / (kRrfK + static_cast<double>(i) + 1) : by_vector[i].second;
    }
    for (size_t i = 0; i < by_text.size(); ++i) {
      auto& c = candidates[by_text[i].first];
      c.text = true;
      c.score += fuse ? 1.0 / (kRrfK + static_cast<double>(i) + 1) : -by_text[i].second;
    }
    std::vector<int64_t> ids;
    ids.reserve(candidates.size());
    for (const auto& [id, c] : candidates) ids.push_back(id);
    FB_ASSIGN_OR_RETURN(auto records, repo.GetMany(ids));
    hits.clear();
    for (auto& r : records) {
      // The store decides: only active records of this agent and namespace are returned.
      if (r.state != kMemoryActive || r.agent != agent || r.ns != req.ns) continue;
      if (!MatchesFilter(r.metadata_json, req.filter)) continue;
      const Candidate& c = candidates[r.id];
      MemoryHit hit;
      hit.score = c.score;
      hit.match = c.vector && c.text ? "both" : c.vector ? "vector" : "text";
      hit.record = std::move(r);
      hits.push_back(std::move(hit));
    }
    std::sort(hits.begin(), hits.end(), [](const MemoryHit& a, const MemoryHit& b) {
      return a.score != b.score ? a.score > b.score : a.record.id < b.record.id;
    });
    if (hits.size() > static_cast<size_t>(req.k)) hits.resize(static_cast<size_t>(req.k));
    if (!req.trace_id.empty() && !hits.empty()) {
      std::vector<int64_t> read;
      for (const auto& h : hits) read.push_back(h.record.id);
      FB_RETURN_IF_ERROR(repo.RecordReads(agent, req.trace_id, read, clock_.NowMs()));
    }
    return Status::Ok();
  };
  // A search that names a trace writes what it read, in the same transaction as the check.
  FB_RETURN_IF_ERROR(req.trace_id.empty() ? store_.Read(collect) : store_.Write(collect));
  return hits;
}

StatusOr<QuarantineResult> MemoryService::Quarantine(const std::string& actor,
                                                     const std::string& agent,
                                                     const QuarantineRequest& req) {
  FB_RETURN_IF_ERROR(CheckMemoryName("agent", agent));
  const MemoryWindow& w = req.window;
  if (!w.from && !w.to && w.version.empty() && w.trace_ids.empty() && w.record_ids.empty()) {
    return InvalidArgument("a quarantine needs at least one of 'from', 'to', 'version', "
                           "'trace_ids', 'record_ids' (to remove everything, use wipe)");
  }
  if (w.from && w.to && *w.from >= *w.to) return InvalidArgument("'from' must be before 'to'");
  if (!w.ns.empty()) FB_RETURN_IF_ERROR(CheckMemoryName("namespace", w.ns));
  if (req.reason.empty()) return InvalidArgument("'reason' is required");
  FB_RETURN_IF_ERROR(CheckLength("reason", req.reason, kMaxReason));

  std::lock_guard<std::mutex> change(change_mu_);
  QuarantineResult result;
  Status s = store_.Write([&](Txn& txn) -> Status {
    MemoryRepo& repo = txn.memory();
    if (req.incident_id) FB_RETURN_IF_ERROR(txn.incidents().Get(*req.incident_id).status());
    FB_ASSIGN_OR_RETURN(auto direct, repo.Match(agent, w));
    std::vector<QuarantineMember> closure;
    if (req.taint) {
      FB_ASSIGN_OR_RETURN(closure, TaintClosure(direct, StoreTaintNeighbours(repo, agent)));
    }
    QuarantineRecord q;
    q.agent = agent;
    q.created_at = clock_.NowMs();
    q.created_by = actor;
    q.reason = req.reason;
    q.incident_id = req.incident_id;
    q.criteria_json = CriteriaJson(req).dump();
    q.direct = static_cast<int64_t>(direct.size());
    q.tainted = static_cast<int64_t>(closure.size());
    FB_ASSIGN_OR_RETURN(q.id, repo.InsertQuarantine(q));
    result.members.clear();
    std::vector<int64_t> ids;
    for (int64_t id : direct) {
      result.members.push_back({id, kCauseDirect});
      ids.push_back(id);
    }
    for (const auto& m : closure) {
      result.members.push_back(m);
      ids.push_back(m.record_id);
    }
    FB_RETURN_IF_ERROR(repo.AddMembers(q.id, result.members));
    FB_RETURN_IF_ERROR(repo.SetState(ids, kMemoryQuarantined));
    nlohmann::json details = {{"agent", agent},        {"quarantine_id", q.id},
                              {"direct", q.direct},    {"tainted", q.tainted},
                              {"reason", q.reason},    {"criteria", CriteriaJson(req)}};
    FB_RETURN_IF_ERROR(log_.Append(txn, {req.incident_id, actor, "memory.quarantined", details}).status());
    result.quarantine = q;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  ForAgentIndexes(agent, [&](VectorIndex& index) {
    for (const auto& m : result.members) index.Hide(m.record_id);
  });
  return result;
}

StatusOr<RestoreResult> MemoryService::Restore(const std::string& actor, const std::string& agent,
                                               int64_t id, const std::string& reason,
                                               std::optional<int64_t> incident_id) {
  FB_RETURN_IF_ERROR(CheckMemoryName("agent", agent));
  FB_RETURN_IF_ERROR(CheckLength("reason", reason, kMaxReason));
  std::lock_guard<std::mutex> change(change_mu_);
  RestoreResult result;
  Status s = store_.Write([&](Txn& txn) -> Status {
    MemoryRepo& repo = txn.memory();
    if (incident_id) FB_RETURN_IF_ERROR(txn.incidents().Get(*incident_id).status());
    auto q = repo.GetQuarantine(id);
    if (!q.ok() || q->agent != agent) {
      return NotFound("no quarantine " + std::to_string(id) + " of agent '" + agent + "'");
    }
    if (q->restored_at) {
      return Conflict("quarantine " + std::to_string(id) + " was already restored at " +
                      FormatTime(*q->restored_at) + " by " + q->restored_by);
    }
    q->restored_at = clock_.NowMs();
    q->restored_by = actor;
    FB_RETURN_IF_ERROR(repo.UpdateQuarantine(*q));
    FB_ASSIGN_OR_RETURN(auto members, repo.Members(id));
    result.restored.clear();
    for (const auto& m : members) {
      // A record another quarantine still holds stays out.
      FB_ASSIGN_OR_RETURN(auto holders, repo.ActiveQuarantinesOf(m.record_id));
      if (holders.empty()) result.restored.push_back(m.record_id);
    }
    FB_ASSIGN_OR_RETURN(auto records, repo.GetMany(result.restored));
    result.restored.clear();
    for (const auto& r : records) {
      if (r.state == kMemoryQuarantined) result.restored.push_back(r.id);
    }
    std::sort(result.restored.begin(), result.restored.end());
    FB_RETURN_IF_ERROR(repo.SetState(result.restored, kMemoryActive));
    nlohmann::json details = {{"agent", agent},
                              {"quarantine_id", id},
                              {"restored", result.restored.size()},
                              {"reason", reason}};
    auto event_incident = incident_id ? incident_id : q->incident_id;
    FB_RETURN_IF_ERROR(log_.Append(txn, {event_incident, actor, "memory.restored", details}).status());
    result.quarantine = *q;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  ForAgentIndexes(agent, [&](VectorIndex& index) {
    for (int64_t r : result.restored) index.Show(r);
  });
  return result;
}

StatusOr<PurgeResult> MemoryService::Purge(const std::string& actor, const std::string& agent,
                                                    const PurgeRequest& req) {
  FB_RETURN_IF_ERROR(CheckMemoryName("agent", agent));
  if (!req.quarantine_id && req.record_ids.empty()) {
    return InvalidArgument("a purge needs 'quarantine_id' or 'record_ids'");
  }
  if (req.record_ids.size() > 100000) return InvalidArgument("too many 'record_ids'");
  FB_RETURN_IF_ERROR(CheckLength("reason", req.reason, kMaxReason));
  std::lock_guard<std::mutex> change(change_mu_);
  std::vector<int64_t> purged;
  Status s = store_.Write([&](Txn& txn) -> Status {
    MemoryRepo& repo = txn.memory();
    if (req.incident_id) FB_RETURN_IF_ERROR(txn.incidents().Get(*req.incident_id).status());
    std::set<int64_t> ids;
    std::optional<int64_t> event_incident = req.incident_id;
    if (req.quarantine_id) {
      auto q = repo.GetQuarantine(*req.quarantine_id);
      if (!q.ok() || q->agent != agent) {
        return NotFound("no quarantine " + std::to_string(*req.quarantine_id) + " of agent '" + agent + "'");
      }
      if (!event_incident) event_incident = q->incident_id;
      FB_ASSIGN_OR_RETURN(auto members, repo.Members(*req.quarantine_id));
      for (const auto& m : members) ids.insert(m.record_id);
    }
    for (int64_t id : req.record_ids) {
      auto r = repo.Get(id);
      if (!r.ok() || r->agent != agent) {
        return NotFound("no memory record " + std::to_string(id) + " of agent '" + agent + "'");
      }
      ids.insert(id);
    }
    FB_ASSIGN_OR_RETURN(auto records, repo.GetMany(std::vector<int64_t>(ids.begin(), ids.end())));
    purged.clear();
    for (const auto& r : records) {
      if (r.state != kMemoryPurged) purged.push_back(r.id);
    }
    std::sort(purged.begin(), purged.end());
    FB_RETURN_IF_ERROR(repo.Purge(purged, clock_.NowMs()));
    FB_RETURN_IF_ERROR(txn.RequestCompaction());
    nlohmann::json details = {{"agent", agent}, {"purged", purged.size()}, {"reason", req.reason}};
    if (req.quarantine_id) details["quarantine_id"] = *req.quarantine_id;
    if (purged.size() <= 1000) details["record_ids"] = purged;
    return log_.Append(txn, {event_incident, actor, "memory.purged", details}).status();
  });
  if (!s.ok()) return s;
  ForAgentIndexes(agent, [&](VectorIndex& index) {
    for (int64_t r : purged) index.Erase(r);
  });
  // The purge is committed and answered as done; a failed compaction stays pending in the store.
  return PurgeResult{purged, store_.Compact().ok()};
}

StatusOr<WipeResult> MemoryService::Wipe(const std::string& actor, const std::string& agent,
                                      const std::string& confirm, const std::string& reason) {
  FB_RETURN_IF_ERROR(CheckMemoryName("agent", agent));
  if (confirm != agent) {
    return InvalidArgument("wipe deletes all memory of '" + agent + "' for good; confirm with the agent's name");
  }
  FB_RETURN_IF_ERROR(CheckLength("reason", reason, kMaxReason));
  std::lock_guard<std::mutex> change(change_mu_);
  int64_t count = 0;
  Status s = store_.Write([&](Txn& txn) -> Status {
    MemoryRepo& repo = txn.memory();
    FB_ASSIGN_OR_RETURN(auto ids, repo.AllLive(agent));
    FB_RETURN_IF_ERROR(repo.Purge(ids, clock_.NowMs()));
    FB_RETURN_IF_ERROR(repo.ClearDimensions(agent));
    FB_RETURN_IF_ERROR(txn.RequestCompaction());
    count = static_cast<int64_t>(ids.size());
    nlohmann::json details = {{"agent", agent}, {"purged", count}, {"reason", reason}};
    return log_.Append(txn, {std::nullopt, actor, "memory.wiped", details}).status();
  });
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(indexes_mu_);
    for (auto it = indexes_.lower_bound({agent, ""}); it != indexes_.end() && it->first.first == agent;) {
      it = indexes_.erase(it);
    }
    for (auto it = dirty_.lower_bound({agent, ""}); it != dirty_.end() && it->first == agent;) {
      it = dirty_.erase(it);
    }
  }
  return WipeResult{count, store_.Compact().ok()};
}

StatusOr<MemoryRecordView> MemoryService::Get(const std::string& agent, int64_t id) {
  MemoryRecordView view;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    auto r = txn.memory().Get(id);
    if (!r.ok() || r->agent != agent) {
      return NotFound("no memory record " + std::to_string(id) + " of agent '" + agent + "'");
    }
    view.record = std::move(*r);
    FB_ASSIGN_OR_RETURN(view.quarantines, txn.memory().ActiveQuarantinesOf(id));
    return Status::Ok();
  }));
  return view;
}

StatusOr<std::vector<QuarantineRecord>> MemoryService::ListQuarantines(const std::string& agent) {
  std::vector<QuarantineRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.memory().ListQuarantines(agent));
    return Status::Ok();
  }));
  return out;
}

StatusOr<QuarantineResult> MemoryService::GetQuarantine(const std::string& agent, int64_t id) {
  QuarantineResult out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    auto q = txn.memory().GetQuarantine(id);
    if (!q.ok() || q->agent != agent) {
      return NotFound("no quarantine " + std::to_string(id) + " of agent '" + agent + "'");
    }
    out.quarantine = *q;
    FB_ASSIGN_OR_RETURN(out.members, txn.memory().Members(id));
    return Status::Ok();
  }));
  return out;
}

}  // namespace firebreak
