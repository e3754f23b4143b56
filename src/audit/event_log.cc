#include "audit/event_log.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/crypto.h"

namespace firebreak {
namespace {

// Reads the anchor copy kept in `path`; nullopt when there is no file yet.
StatusOr<std::optional<AnchorRecord>> ReadAnchorFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::optional<AnchorRecord>();
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object() || !j["seq"].is_number_integer() || !j["hash"].is_string() ||
      !j["at"].is_number_integer() || !j["mac"].is_string()) {
    return Internal("the anchor file " + path + " is not an anchor");
  }
  return std::optional<AnchorRecord>(AnchorRecord{j["seq"].get<int64_t>(), j["hash"].get<std::string>(),
                                                  j["at"].get<int64_t>(), j["mac"].get<std::string>()});
}

// Replaces the anchor file in one rename, so a crash leaves the old copy or the new one.
Status WriteAnchorFile(const std::string& path, const AnchorRecord& a) {
  std::string tmp = path + ".tmp";
  mode_t old = umask(077);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"seq", a.seq}, {"hash", a.hash}, {"at", a.at}, {"mac", a.mac}}.dump()
        << "\n";
    out.flush();
    if (!out) {
      umask(old);
      return Unavailable("cannot write " + tmp);
    }
  }
  umask(old);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Unavailable("cannot replace " + path);
  return Status::Ok();
}

}  // namespace

std::string AnchorMac(const std::string& key, const AnchorRecord& a) {
  return HmacSha256Hex(key, "firebreak-anchor-v1\n" + std::to_string(a.seq) + "\n" + a.hash +
                                "\n" + std::to_string(a.at));
}

std::string EventHash(const EventRecord& e) {
  // A JSON array gives an unambiguous, documented encoding of the fields (docs/audit.md).
  nlohmann::json content = nlohmann::json::array(
      {e.seq, e.incident_id ? nlohmann::json(*e.incident_id) : nlohmann::json(nullptr), e.at,
       e.actor, e.kind, e.details_json});
  return Sha256Hex(e.prev_hash + "\n" + content.dump());
}

StatusOr<EventRecord> EventLog::Append(Txn& txn, const NewEvent& event) const {
  FB_ASSIGN_OR_RETURN(std::optional<EventRecord> last, txn.events().Last());
  EventRecord e;
  e.seq = last ? last->seq + 1 : 1;
  e.incident_id = event.incident_id;
  // Keep the timeline monotonic even if the wall clock steps back.
  e.at = std::max(event.at.value_or(clock_.NowMs()), last ? last->at : 0);
  e.actor = event.actor;
  e.kind = event.kind;
  e.details_json = event.details.dump();
  e.prev_hash = last ? last->hash : kGenesisHash;
  e.hash = EventHash(e);
  FB_RETURN_IF_ERROR(txn.events().Append(e));
  return e;
}

StatusOr<ChainReport> EventLog::Verify(Store& store) const {
  ChainReport report;
  // The anchors first: each names an event the walk below will reach unless the tail is gone.
  std::vector<AnchorRecord> anchors;
  if (!anchoring_.key.empty()) {
    FB_ASSIGN_OR_RETURN(anchors, ReadAnchors(store));
  }
  int64_t expected_seq = 1;
  std::string prev_hash = kGenesisHash;
  constexpr int kBatch = 2000;
  while (report.intact) {
    std::vector<EventRecord> batch;
    FB_RETURN_IF_ERROR(store.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(batch, txn.events().After(expected_seq - 1, kBatch));
      return Status::Ok();
    }));
    for (const EventRecord& e : batch) {
      if (e.seq != expected_seq) {
        report.problem = "event " + std::to_string(expected_seq) + " is missing (next is " +
                         std::to_string(e.seq) + ")";
      } else if (e.prev_hash != prev_hash) {
        report.problem = "event " + std::to_string(e.seq) +
                         " does not link to the hash of the event before it";
      } else if (EventHash(e) != e.hash) {
        report.problem = "event " + std::to_string(e.seq) +
                         " was changed after it was written (its content no longer matches its hash)";
      }
      if (!report.problem.empty()) {
        report.intact = false;
        report.first_broken = e;
        break;
      }
      prev_hash = e.hash;
      ++expected_seq;
      ++report.events_checked;
    }
    if (static_cast<int>(batch.size()) < kBatch) break;
  }
  if (!anchoring_.key.empty()) FB_RETURN_IF_ERROR(CheckAnchors(store, anchors, report));
  return report;
}

StatusOr<std::optional<AnchorRecord>> EventLog::Anchor(Store& store) const {
  if (anchoring_.key.empty()) return Internal("no audit anchor key is configured");
  std::lock_guard<std::mutex> lock(anchor_mu_);
  std::optional<AnchorRecord> copy;
  if (!anchoring_.file.empty()) {
    FB_ASSIGN_OR_RETURN(copy, ReadAnchorFile(anchoring_.file));
  }
  std::optional<AnchorRecord> anchor;
  FB_RETURN_IF_ERROR(store.Write([&](Txn& txn) -> Status {
    anchor.reset();
    FB_ASSIGN_OR_RETURN(std::optional<EventRecord> head, txn.events().Last());
    if (!head) return Status::Ok();
    FB_ASSIGN_OR_RETURN(std::vector<AnchorRecord> previous, txn.events().Anchors(1));
    if (copy) previous.push_back(*copy);
    // An anchor only ever extends the anchored chain: signing a head that lost or changed the
    // anchored event would bless the tampering Verify is there to report.
    for (const AnchorRecord& p : previous) {
      if (!ConstantTimeEquals(AnchorMac(anchoring_.key, p), p.mac)) {
        return Conflict("not anchoring: the anchor of event " + std::to_string(p.seq) +
                        " is not signed with this server's key (run audit verify)");
      }
      FB_ASSIGN_OR_RETURN(std::optional<EventRecord> anchored, txn.events().At(p.seq));
      if (!anchored || anchored->hash != p.hash) {
        return Conflict("not anchoring: the chain no longer holds event " + std::to_string(p.seq) +
                        " as anchored (run audit verify)");
      }
      if (p.seq >= head->seq) return Status::Ok();  // the head is anchored already
    }
    AnchorRecord a{head->seq, head->hash, clock_.NowMs(), ""};
    a.mac = AnchorMac(anchoring_.key, a);
    FB_RETURN_IF_ERROR(txn.events().AppendAnchor(a));
    anchor = a;
    return Status::Ok();
  }));
  if (anchor && !anchoring_.file.empty()) {
    FB_RETURN_IF_ERROR(WriteAnchorFile(anchoring_.file, *anchor));
  }
  return anchor;
}

StatusOr<std::vector<AnchorRecord>> EventLog::ReadAnchors(Store& store) const {
  std::vector<AnchorRecord> anchors;
  FB_RETURN_IF_ERROR(store.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(anchors, txn.events().Anchors(1));
    return Status::Ok();
  }));
  if (!anchoring_.file.empty()) {
    FB_ASSIGN_OR_RETURN(std::optional<AnchorRecord> copy, ReadAnchorFile(anchoring_.file));
    if (copy) anchors.push_back(*copy);
  }
  return anchors;
}

Status EventLog::CheckAnchors(Store& store, const std::vector<AnchorRecord>& anchors,
                              ChainReport& report) const {
  report.anchors_checked = true;
  auto fail = [&](std::string problem) {
    if (!report.intact) return;
    report.intact = false;
    report.problem = std::move(problem);
  };
  for (const AnchorRecord& a : anchors) {
    if (!ConstantTimeEquals(AnchorMac(anchoring_.key, a), a.mac)) {
      fail("the anchor of event " + std::to_string(a.seq) +
           " is not signed with this server's anchor key (forged, or the key was replaced)");
      continue;
    }
    if (!report.last_anchor || a.seq > report.last_anchor->seq) report.last_anchor = a;
  }
  if (!report.last_anchor) return Status::Ok();
  const AnchorRecord& last = *report.last_anchor;
  std::optional<EventRecord> anchored;
  FB_RETURN_IF_ERROR(store.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(anchored, txn.events().At(last.seq));
    return Status::Ok();
  }));
  if (!anchored || last.seq > report.events_checked) {
    fail("event " + std::to_string(last.seq) + " was anchored at " + FormatTime(last.at) +
         " but the chain ends at event " + std::to_string(report.events_checked) +
         ": events were removed from its tail");
  } else if (anchored->hash != last.hash) {
    fail("event " + std::to_string(last.seq) + " no longer has the hash anchored at " +
         FormatTime(last.at) + ": the chain was rewritten");
    if (!report.first_broken) report.first_broken = anchored;
  }
  return Status::Ok();
}

}  // namespace firebreak
