#include "signals/signal_service.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/text.h"

namespace firebreak {
namespace {

constexpr size_t kMaxKind = 128;
constexpr size_t kMaxName = 128;
constexpr size_t kMaxReason = 2000;
constexpr size_t kMaxEvidence = 100;
constexpr size_t kMaxMeasured = 16 * 1024;

using Json = nlohmann::json;

Status CheckSignalName(const std::string& field, const std::string& value, bool required) {
  if (value.empty() && !required) return Status::Ok();
  return CheckName(field, value, kMaxName, "-_.:");
}

Status CheckSignal(const NewSignal& s) {
  FB_RETURN_IF_ERROR(CheckSignalName("kind", s.kind, true));
  if (s.kind.size() > kMaxKind) return InvalidArgument("'kind' is too long");
  FB_RETURN_IF_ERROR(CheckSignalName("agent", s.agent, true));
  FB_RETURN_IF_ERROR(CheckSignalName("version", s.version, false));
  FB_RETURN_IF_ERROR(CheckSignalName("category", s.category, false));
  if (s.reason.empty()) return InvalidArgument("'reason' is required");
  if (s.reason.size() > kMaxReason) return InvalidArgument("'reason' is longer than 2000 bytes");
  if (s.evidence.size() > kMaxEvidence) return InvalidArgument("'evidence' holds more than 100 traces");
  for (const auto& h : s.evidence) {
    if (h.empty() || h.size() > 128) return InvalidArgument("'evidence' must hold trace hashes");
  }
  if (!s.measured.is_object()) return InvalidArgument("'measured' must be an object");
  if (s.measured.dump().size() > kMaxMeasured) return InvalidArgument("'measured' is too large");
  if (s.suggested_severity < 0 || s.suggested_severity > 4) {
    return InvalidArgument("'severity' must be SEV-1..SEV-4");
  }
  if (s.status != "firing" && s.status != "resolved") {
    return InvalidArgument("'status' must be firing or resolved");
  }
  if (s.fingerprint.size() > 512) return InvalidArgument("'fingerprint' is longer than 512 bytes");
  return Status::Ok();
}

std::string Title(const NewSignal& s) {
  return TruncateUtf8(s.reason, 180, "...");
}

std::vector<int64_t> SignalIds(const std::string& json) {
  std::vector<int64_t> ids;
  Json j = Json::parse(json, nullptr, false);
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
    }
  }
  return ids;
}

}  // namespace

std::string SignalName(std::string text) { return ToName(text, 120, "-_.:"); }

nlohmann::json SignalToJson(const SignalRecord& s) {
  Json j = {{"id", s.id},
            {"kind", s.kind},
            {"source", s.source},
            {"agent", s.agent},
            {"version", s.version},
            {"category", s.category},
            {"evidence", Json::parse(s.evidence_json, nullptr, false)},
            {"measured", Json::parse(s.measured_json, nullptr, false)},
            {"suggested_severity",
             s.suggested_severity ? Json(SeverityName(static_cast<Severity>(s.suggested_severity)))
                                  : Json(nullptr)},
            {"severity", SeverityName(static_cast<Severity>(s.severity))},
            {"reason", s.reason},
            {"rule", s.rule},
            {"rule_reason", s.rule_reason},
            {"status", s.status},
            {"fingerprint", s.fingerprint},
            {"incident", s.incident_id ? Json(IncidentName(*s.incident_id)) : Json(nullptr)},
            {"detected_at", FormatTime(s.detected_at)},
            {"received_at", FormatTime(s.received_at)},
            {"updated_at", FormatTime(s.updated_at)}};
  return j;
}

StatusOr<std::vector<SignalOutcome>> SignalService::Record(const std::string& actor,
                                                           const std::vector<NewSignal>& signals,
                                                           bool from_agent_token) {
  for (size_t i = 0; i < signals.size(); ++i) {
    Status s = CheckSignal(signals[i]);
    if (!s.ok()) {
      if (signals.size() == 1) return s;
      return Status(s.code(), "signal " + std::to_string(i) + ": " + s.message());
    }
  }
  std::vector<SignalOutcome> out;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    out.clear();
    for (const auto& s : signals) {
      FB_ASSIGN_OR_RETURN(auto o, RecordIn(txn, actor, s, from_agent_token));
      out.push_back(std::move(o));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<SignalOutcome> SignalService::RecordIn(Txn& txn, const std::string& actor,
                                                const NewSignal& s, bool from_agent_token) {
  TimeMs now = clock_.NowMs();
  SignalOutcome out;
  if (!s.fingerprint.empty()) {
    FB_ASSIGN_OR_RETURN(auto known, txn.signals().GetByFingerprint(s.fingerprint));
    if (known) {
      out.duplicate = true;
      out.signal = *known;
      if (known->status != s.status) {
        // The source says the condition ended (or came back): keep one signal, note the change.
        out.signal.status = s.status;
        out.signal.updated_at = now;
        FB_RETURN_IF_ERROR(txn.signals().Update(out.signal));
        Json details = {{"signal", known->id}, {"kind", known->kind}, {"status", s.status}};
        FB_RETURN_IF_ERROR(
            log_.Append(txn, {known->incident_id, actor, "signal." + s.status, details}).status());
      }
      if (out.signal.incident_id) {
        FB_ASSIGN_OR_RETURN(auto inc, txn.incidents().Get(*out.signal.incident_id));
        out.incident = inc;
      }
      return out;
    }
  }

  SignalRecord rec;
  rec.kind = s.kind;
  rec.source = s.source.empty() ? actor : s.source;
  rec.agent = s.agent;
  rec.version = s.version;
  rec.category = s.category;
  rec.evidence_json = Json(s.evidence).dump();
  rec.measured_json = s.measured.dump();
  rec.suggested_severity = s.suggested_severity;
  rec.reason = s.reason;
  rec.status = s.status;
  rec.fingerprint = s.fingerprint;
  rec.detected_at = std::min(s.detected_at.value_or(now), now);
  rec.received_at = rec.updated_at = now;
  // An agent speaking of itself may not page anyone at once beyond the policy's ceiling,
  // whatever it suggests and whatever kind it names (a self-reported "pii" included); the
  // detectors, which classify from evidence they found, are not agent tokens.
  Verdict v = Classify(policy_, s.kind, s.suggested_severity);
  int ceiling = policy_.max_agent_severity;
  if (from_agent_token && v.severity != Severity::kUnclassified &&
      static_cast<int>(v.severity) < ceiling) {
    std::string was(SeverityName(v.severity));
    v.severity = static_cast<Severity>(ceiling);
    std::string ceiling_name(SeverityName(v.severity));
    v.reason += "; " + was + " lowered to " + ceiling_name + ": an agent token may raise at most " +
                ceiling_name + " (classification.max_agent_severity)";
  }
  rec.severity = static_cast<int>(v.severity);
  rec.rule = v.rule;
  rec.rule_reason = v.reason;
  FB_ASSIGN_OR_RETURN(rec.id, txn.signals().Insert(rec));

  Json details = {{"signal", rec.id},
                  {"kind", rec.kind},
                  {"agent", rec.agent},
                  {"severity", SeverityName(v.severity)},
                  {"rule", v.rule},
                  {"reason", rec.reason},
                  {"evidence", s.evidence}};
  bool opens = s.status == "firing" && policy_.open_incident_up_to > 0 &&
               rec.severity <= policy_.open_incident_up_to;
  if (!opens) {
    FB_RETURN_IF_ERROR(log_.Append(txn, {std::nullopt, actor, "signal.recorded", details}).status());
    out.signal = rec;
    return out;
  }

  // The classification's reason names the rule, the signal and its evidence.
  std::string reason(SeverityName(v.severity));
  reason += ": " + v.reason + ". Signal " + std::to_string(rec.id) + " (" + rec.kind + "): " +
            rec.reason;
  if (!s.evidence.empty()) reason += " Evidence: " + s.evidence.front().substr(0, 16);
  if (s.evidence.size() > 1) reason += " and " + std::to_string(s.evidence.size() - 1) + " more";
  reason = TruncateUtf8(reason, kMaxReason, "...");
  std::string rule_actor = "rule:" + v.rule;

  FB_ASSIGN_OR_RETURN(auto open, OpenIncidentFor(txn, rec.agent, rec.kind));
  IncidentRecord inc;
  if (open) {
    inc = *open;
    std::vector<int64_t> ids = SignalIds(inc.signals_json);
    ids.push_back(rec.id);
    inc.signals_json = Json(ids).dump();
    FB_RETURN_IF_ERROR(txn.incidents().Update(inc));
    details["joined"] = true;
    FB_RETURN_IF_ERROR(log_.Append(txn, {inc.id, actor, "signal.joined", details}).status());
    if (inc.severity == 0 || rec.severity < inc.severity) {
      FB_ASSIGN_OR_RETURN(inc, incidents_.ClassifyIn(txn, rule_actor, inc.id, v.severity, reason));
    }
  } else {
    DeclareRequest req;
    req.title = Title(s);
    req.agent = rec.agent;
    req.severity = v.severity;
    req.reason = reason;
    req.detected_at = rec.detected_at;
    req.signals_json = Json(std::vector<int64_t>{rec.id}).dump();
    FB_ASSIGN_OR_RETURN(inc, incidents_.DeclareIn(txn, rule_actor, req));
    FB_RETURN_IF_ERROR(log_.Append(txn, {inc.id, actor, "signal.opened", details}).status());
    out.opened = true;
  }
  rec.incident_id = inc.id;
  FB_RETURN_IF_ERROR(txn.signals().Update(rec));
  out.signal = rec;
  out.incident = inc;
  return out;
}

StatusOr<std::optional<IncidentRecord>> SignalService::OpenIncidentFor(Txn& txn,
                                                                       const std::string& agent,
                                                                       const std::string& kind) {
  SignalQuery q;
  q.agent = agent;
  q.kind = kind;
  q.limit = 50;
  FB_ASSIGN_OR_RETURN(auto recent, txn.signals().List(q));
  std::set<int64_t> seen;
  for (const auto& s : recent) {
    if (s.kind != kind || !s.incident_id || !seen.insert(*s.incident_id).second) continue;
    FB_ASSIGN_OR_RETURN(auto inc, txn.incidents().Get(*s.incident_id));
    auto state = ParseState(inc.state);
    if (state && IsOpen(*state)) {
      return std::optional<IncidentRecord>(inc);
    }
  }
  return std::optional<IncidentRecord>();
}

StatusOr<std::vector<SignalRecord>> SignalService::List(const SignalQuery& query) {
  if (query.limit <= 0 || query.limit > 1000) return InvalidArgument("'limit' must be 1..1000");
  std::vector<SignalRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.signals().List(query));
    return Status::Ok();
  }));
  return out;
}

StatusOr<ScoreRecord> SignalService::RecordScore(const ScoreRecord& score) {
  ScoreRecord rec = score;
  if (rec.name.empty() || rec.name.size() > kMaxName) {
    return InvalidArgument("'name' is required (at most 128 bytes)");
  }
  if (rec.value && (*rec.value < 0 || *rec.value > 1)) {
    return InvalidArgument("'value' must be between 0 and 1");
  }
  if (!rec.value && !rec.negative_feedback) {
    return InvalidArgument("give 'value' (0..1) or 'feedback' (positive or negative)");
  }
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    rec.at = clock_.NowMs();
    FB_ASSIGN_OR_RETURN(rec.id, txn.signals().InsertScore(rec));
    return Status::Ok();
  }));
  return rec;
}

}  // namespace firebreak
