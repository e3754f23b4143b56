#include "audit/event_log.h"

#include <algorithm>

#include "common/crypto.h"

namespace firebreak {

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
  return report;
}

}  // namespace firebreak
