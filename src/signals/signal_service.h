// SignalService: records signals (from the built-in detectors, generic webhooks and the
// Prometheus Alertmanager), classifies them by the rules (rules.h), and opens or joins the
// incident they call for, all in one store transaction: a signal is never recorded without its
// incident, and an incident never opens without the signal that explains it.
//
// A signal of SEV-`open_incident_up_to` or worse opens an incident classified at once by the
// rule, or joins the open incident of the same agent and kind; joining a less severe incident
// raises its severity. Paging follows from the incident's classification (paging/pager.h
// observes incidents). Thread-safe: all state is in the store.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "incidents/incident_service.h"
#include "signals/rules.h"
#include "store/store.h"

namespace firebreak {

struct NewSignal {
  std::string kind;    // "pii", "action.unauthorised", "quality.degraded", "alert.HighErrorRate"
  std::string source;  // detector name or the poster
  std::string agent, version, category;
  std::vector<std::string> evidence;  // trace hashes
  nlohmann::json measured = nlohmann::json::object();
  int suggested_severity = 0;  // 0: none
  std::string reason;          // the detector's sentence
  std::string fingerprint;     // the same fingerprint again is the same signal; "" never dedups
  std::string status = "firing";
  std::optional<TimeMs> detected_at;  // default: now
};

struct SignalOutcome {
  SignalRecord signal;
  std::optional<IncidentRecord> incident;
  bool duplicate = false;  // the fingerprint was known; nothing new was recorded
  bool opened = false;     // this signal opened the incident
};

class SignalService {
 public:
  SignalService(Store& store, const EventLog& log, IncidentService& incidents, const Clock& clock,
                ClassificationPolicy policy)
      : store_(store), log_(log), incidents_(incidents), clock_(clock), policy_(std::move(policy)) {}

  // Records a batch in one transaction (all or nothing). kInvalidArgument names the bad field.
  // From an agent token, a suggested severity above the policy's max_agent_severity is
  // lowered to it (the reason says so); rules that fix a severity are unaffected.
  StatusOr<std::vector<SignalOutcome>> Record(const std::string& actor,
                                              const std::vector<NewSignal>& signals,
                                              bool from_agent_token = false);

  StatusOr<std::vector<SignalRecord>> List(const SignalQuery& query);

  // Records an evaluation score or feedback on a stored trace.
  StatusOr<ScoreRecord> RecordScore(const ScoreRecord& score);

  const ClassificationPolicy& policy() const { return policy_; }

 private:
  StatusOr<SignalOutcome> RecordIn(Txn& txn, const std::string& actor, const NewSignal& s,
                                   bool from_agent_token);
  // Returns the open incident of `agent` that holds a signal of `kind`, if any.
  StatusOr<std::optional<IncidentRecord>> OpenIncidentFor(Txn& txn, const std::string& agent,
                                                          const std::string& kind);

  Store& store_;
  const EventLog& log_;
  IncidentService& incidents_;
  const Clock& clock_;
  const ClassificationPolicy policy_;
};

// Returns `text` usable as a signal's agent, version, category or kind part: characters other
// than letters, digits, '-', '_', '.' and ':' become '_', at most 120 bytes. For names that come
// from outside (span attributes, Alertmanager labels) rather than from a person who can fix them.
std::string SignalName(std::string text);

// Returns a signal as the API shows it.
nlohmann::json SignalToJson(const SignalRecord& s);

}  // namespace firebreak
