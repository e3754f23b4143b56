#include "incidents/incident_service.h"

#include <cctype>

#include "common/text.h"

namespace firebreak {
namespace {

constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxAgent = 128;
constexpr size_t kMaxReason = 2000;
constexpr size_t kMaxNote = 10000;

Status CheckText(const std::string& field, const std::string& value, size_t max, bool required) {
  if (required && value.empty()) return InvalidArgument("'" + field + "' is required");
  if (value.size() > max) {
    return InvalidArgument("'" + field + "' is longer than " + std::to_string(max) + " bytes");
  }
  return Status::Ok();
}

Status CheckAgentName(const std::string& agent) { return CheckName("agent", agent, kMaxAgent); }

IncidentState StateOf(const IncidentRecord& r) {
  return ParseState(r.state).value_or(IncidentState::kDetected);
}

}  // namespace

std::string IncidentName(int64_t id) { return "INC-" + std::to_string(id); }

std::optional<int64_t> ParseIncidentId(std::string_view text) {
  if (text.size() > 4 && (text.substr(0, 4) == "INC-" || text.substr(0, 4) == "inc-")) {
    text.remove_prefix(4);
  }
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  if (id <= 0) return std::nullopt;
  return id;
}

StatusOr<IncidentRecord> IncidentService::Declare(const std::string& actor,
                                                  const DeclareRequest& req) {
  IncidentRecord rec;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(rec, DeclareIn(txn, actor, req));
    return Status::Ok();
  }));
  return rec;
}

StatusOr<IncidentRecord> IncidentService::DeclareIn(Txn& txn, const std::string& actor,
                                                    const DeclareRequest& req) {
  FB_RETURN_IF_ERROR(CheckText("title", req.title, kMaxTitle, true));
  FB_RETURN_IF_ERROR(CheckAgentName(req.agent));
  FB_RETURN_IF_ERROR(CheckText("commander", req.commander, kMaxAgent, false));
  if (req.severity) {
    if (*req.severity == Severity::kUnclassified) return InvalidArgument("'severity' must be SEV-1..SEV-4");
    FB_RETURN_IF_ERROR(CheckText("reason", req.reason, kMaxReason, true));
  }
  IncidentRecord rec;
  rec.title = req.title;
  rec.agent = req.agent;
  rec.state = std::string(StateName(IncidentState::kDetected));
  rec.commander = req.commander;
  rec.created_by = actor;
  rec.signals_json = req.signals_json;
  TimeMs now = clock_.NowMs();
  rec.created_at = rec.updated_at = now;
  rec.detected_at = std::min(req.detected_at.value_or(now), now);
  if (req.severity) {
    rec.severity = static_cast<int>(*req.severity);
    rec.state = std::string(StateName(IncidentState::kTriaged));
    rec.classified_at = now;
    rec.classified_by = actor;
    rec.classification_reason = req.reason;
  }
  FB_ASSIGN_OR_RETURN(rec.id, txn.incidents().Insert(rec));
  nlohmann::json details = {{"title", rec.title}, {"agent", rec.agent}};
  if (!rec.commander.empty()) details["commander"] = rec.commander;
  if (rec.detected_at != now) details["detected_at"] = FormatTime(rec.detected_at);
  FB_RETURN_IF_ERROR(log_.Append(txn, {rec.id, actor, "incident.declared", details}).status());
  if (req.severity) {
    nlohmann::json c = {{"severity", SeverityName(*req.severity)},
                        {"reason", req.reason},
                        {"time_to_classify_ms", now - rec.detected_at}};
    FB_RETURN_IF_ERROR(log_.Append(txn, {rec.id, actor, "incident.classified", c}).status());
  }
  if (observer_) FB_RETURN_IF_ERROR(observer_->OnIncidentChanged(txn, IncidentRecord{}, rec, actor));
  return rec;
}

StatusOr<IncidentRecord> IncidentService::Get(int64_t id) {
  IncidentRecord rec;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(rec, txn.incidents().Get(id));
    return Status::Ok();
  }));
  return rec;
}

StatusOr<std::vector<IncidentRecord>> IncidentService::List(const IncidentQuery& query) {
  if (query.limit <= 0 || query.limit > 1000) return InvalidArgument("'limit' must be 1..1000");
  for (const auto& s : query.states) {
    if (!ParseState(s)) return InvalidArgument("unknown state '" + s + "'");
  }
  std::vector<IncidentRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.incidents().List(query));
    return Status::Ok();
  }));
  return out;
}

StatusOr<IncidentRecord> IncidentService::Mutate(int64_t id, const std::string& actor,
                                                 const Change& change) {
  IncidentRecord rec;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(rec, MutateIn(txn, id, actor, change));
    return Status::Ok();
  }));
  return rec;
}

StatusOr<IncidentRecord> IncidentService::MutateIn(Txn& txn, int64_t id, const std::string& actor,
                                                   const Change& change) {
  FB_ASSIGN_OR_RETURN(IncidentRecord before, txn.incidents().Get(id));
  IncidentRecord rec = before;
  FB_RETURN_IF_ERROR(change(txn, rec));
  rec.updated_at = clock_.NowMs();
  FB_RETURN_IF_ERROR(txn.incidents().Update(rec));
  if (observer_) FB_RETURN_IF_ERROR(observer_->OnIncidentChanged(txn, before, rec, actor));
  return rec;
}

StatusOr<IncidentRecord> IncidentService::Classify(const std::string& actor, int64_t id,
                                                   Severity severity, const std::string& reason) {
  IncidentRecord rec;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(rec, ClassifyIn(txn, actor, id, severity, reason));
    return Status::Ok();
  }));
  return rec;
}

StatusOr<IncidentRecord> IncidentService::ClassifyIn(Txn& txn, const std::string& actor, int64_t id,
                                                     Severity severity, const std::string& reason) {
  if (severity == Severity::kUnclassified) return InvalidArgument("'severity' must be SEV-1..SEV-4");
  FB_RETURN_IF_ERROR(CheckText("reason", reason, kMaxReason, true));
  return MutateIn(txn, id, actor, [&](Txn& txn, IncidentRecord& rec) -> Status {
    IncidentState state = StateOf(rec);
    if (state == IncidentState::kClosed) {
      return Conflict(IncidentName(id) + " is closed; its severity can no longer change");
    }
    nlohmann::json details = {{"severity", SeverityName(severity)}, {"reason", reason}};
    TimeMs now = clock_.NowMs();
    if (rec.severity != 0) {
      details["previous"] = SeverityName(static_cast<Severity>(rec.severity));
    }
    if (!rec.classified_at) {
      rec.classified_at = now;
      rec.classified_by = actor;
      details["time_to_classify_ms"] = now - rec.detected_at;
    }
    if (state == IncidentState::kDetected) {
      rec.state = std::string(StateName(IncidentState::kTriaged));
      details["state"] = rec.state;
    }
    rec.severity = static_cast<int>(severity);
    rec.classification_reason = reason;
    return log_.Append(txn, {id, actor, "incident.classified", details}).status();
  });
}

StatusOr<IncidentRecord> IncidentService::Acknowledge(const std::string& actor, int64_t id) {
  return Mutate(id, actor, [&](Txn& txn, IncidentRecord& rec) -> Status {
    if (!IsOpen(StateOf(rec))) {
      return Conflict(IncidentName(id) + " is " + rec.state + "; there is nothing to acknowledge");
    }
    if (rec.acked_at) {
      return Conflict(IncidentName(id) + " was already acknowledged by " + rec.acked_by + " at " +
                      FormatTime(*rec.acked_at));
    }
    rec.acked_at = clock_.NowMs();
    rec.acked_by = actor;
    nlohmann::json details = {{"time_to_ack_ms", *rec.acked_at - rec.detected_at}};
    if (rec.commander.empty()) {
      rec.commander = actor;
      details["commander"] = actor;
    }
    return log_.Append(txn, {id, actor, "incident.acknowledged", details}).status();
  });
}

StatusOr<IncidentRecord> IncidentService::Transition(const std::string& actor, int64_t id,
                                                     IncidentState to, const std::string& reason) {
  FB_RETURN_IF_ERROR(CheckText("reason", reason, kMaxReason, false));
  return Mutate(id, actor, [&](Txn& txn, IncidentRecord& rec) -> Status {
    IncidentState from = StateOf(rec);
    Status legal = CheckTransition(from, to);
    if (!legal.ok()) return Status(legal.code(), IncidentName(id) + ": " + legal.message());
    if (to == IncidentState::kTriaged) {
      return Conflict(IncidentName(id) + ": an incident becomes triaged by being classified");
    }
    if (to == IncidentState::kClosed) {
      return Conflict(IncidentName(id) + ": an incident is closed by the close action, which "
                      "checks the regression case and the post-mortem");
    }
    TimeMs now = clock_.NowMs();
    rec.state = std::string(StateName(to));
    if (to == IncidentState::kResolved) rec.resolved_at = now;
    if (to == IncidentState::kInvestigating && from == IncidentState::kResolved) {
      rec.resolved_at.reset();  // reopened
    }
    nlohmann::json details = {{"from", StateName(from)}, {"to", StateName(to)}};
    if (!reason.empty()) details["reason"] = reason;
    return log_.Append(txn, {id, actor, "incident.state_changed", details}).status();
  });
}

StatusOr<IncidentRecord> IncidentService::Close(const std::string& actor, int64_t id,
                                                const std::string& reason) {
  FB_RETURN_IF_ERROR(CheckText("reason", reason, kMaxReason, false));
  return Mutate(id, actor, [&](Txn& txn, IncidentRecord& rec) -> Status {
    IncidentState from = StateOf(rec);
    Status legal = CheckTransition(from, IncidentState::kClosed);
    if (!legal.ok()) return Status(legal.code(), IncidentName(id) + ": " + legal.message());
    std::vector<std::string> missing;
    for (const CloseRequirement* requirement : close_requirements_) {
      FB_RETURN_IF_ERROR(requirement->Check(txn, rec, missing));
    }
    if (!missing.empty()) {
      std::string why;
      for (const auto& m : missing) why += (why.empty() ? "" : "; ") + m;
      return Conflict(IncidentName(id) + " cannot close yet: " + why);
    }
    rec.state = std::string(StateName(IncidentState::kClosed));
    rec.closed_at = clock_.NowMs();
    nlohmann::json details = {{"from", StateName(from)}, {"to", rec.state}};
    if (!reason.empty()) details["reason"] = reason;
    return log_.Append(txn, {id, actor, "incident.state_changed", details}).status();
  });
}

StatusOr<IncidentRecord> IncidentService::MarkIsolated(const std::string& actor, int64_t id,
                                                       TimeMs contained_at,
                                                       const nlohmann::json& details) {
  return Mutate(id, actor, [&](Txn& txn, IncidentRecord& rec) -> Status {
    IncidentState from = StateOf(rec);
    nlohmann::json d = details.is_object() ? details : nlohmann::json::object();
    bool moves = from != IncidentState::kIsolated && CheckTransition(from, IncidentState::kIsolated).ok();
    bool first = !rec.contained_at.has_value();
    if (!moves && !first) return Status::Ok();
    if (moves) {
      rec.state = std::string(StateName(IncidentState::kIsolated));
      d["from"] = StateName(from);
      d["to"] = rec.state;
    }
    if (first) {
      rec.contained_at = contained_at;
      rec.time_to_contain_ms = std::max<int64_t>(0, contained_at - rec.detected_at);
    }
    d["contained_at"] = FormatTime(*rec.contained_at);
    d["time_to_contain_ms"] = *rec.time_to_contain_ms;
    return log_.Append(txn, {id, actor, "incident.isolated", d}).status();
  });
}

StatusOr<EventRecord> IncidentService::AddNote(const std::string& actor, int64_t id,
                                               const std::string& text) {
  FB_RETURN_IF_ERROR(CheckText("text", text, kMaxNote, true));
  EventRecord event;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(id).status());
    FB_ASSIGN_OR_RETURN(event, log_.Append(txn, {id, actor, "note", {{"text", text}}}));
    return Status::Ok();
  }));
  return event;
}

StatusOr<std::vector<EventRecord>> IncidentService::Timeline(int64_t id) {
  std::vector<EventRecord> events;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(id).status());
    FB_ASSIGN_OR_RETURN(events, txn.events().ForIncident(id));
    return Status::Ok();
  }));
  return events;
}

}  // namespace firebreak
