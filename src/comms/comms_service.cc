#include "comms/comms_service.h"

#include <algorithm>

#include "common/text.h"
#include "incidents/incident_service.h"
#include "incidents/state.h"

namespace firebreak {
namespace {

using Json = nlohmann::json;

constexpr int kChaseBatch = 100;

bool IsNoticeStatus(const std::string& s) {
  return s == "investigating" || s == "identified" || s == "monitoring" || s == "resolved";
}


bool IsOpenRecord(const IncidentRecord& inc) {
  auto state = ParseState(inc.state);
  return state && IsOpen(*state);
}

bool IsClosed(const IncidentRecord& inc) { return inc.state == "closed"; }

// Promised times lie ahead: a promise already past is no promise.
Status CheckFuture(const char* field, const std::optional<TimeMs>& t, TimeMs now) {
  if (t && *t <= now) {
    return InvalidArgument(std::string("'") + field + "' must be in the future (it is " +
                           FormatTime(*t) + ")");
  }
  return Status::Ok();
}

Json TimeOrNull(const std::optional<TimeMs>& t) { return t ? Json(FormatTime(*t)) : Json(nullptr); }

}  // namespace

std::string DefaultBannerMessage(TimeMs next_update_at) {
  return "We are investigating a problem with answers from our assistant. We have paused the "
         "affected feature while we look into it. Next update by " +
         FormatTime(next_update_at).substr(0, 16) + " UTC.";
}

StatusOr<std::string> CommsService::RaiseDefaultBanner(const std::string& actor,
                                                       const IncidentRecord& incident, bool dry_run) {
  FB_ASSIGN_OR_RETURN(auto current, Notice(incident.id));
  if (current) return std::string("banner already up (") + current->status + ")";
  TimeMs next = clock_.NowMs() + options_.default_next_update_ms;
  if (dry_run) return "would raise the default banner, next update by " + FormatTime(next);
  NoticeInput in;
  in.message = DefaultBannerMessage(next);
  in.next_update_at = next;
  FB_ASSIGN_OR_RETURN(auto raised, SetNotice(actor, incident.id, in));
  return "banner raised, next update by " + FormatTime(*raised.record.next_update_at);
}

CommsService::CommsService(Store& store, const EventLog& log, const Clock& clock, CommsOptions options)
    : store_(store), log_(log), clock_(clock), options_(std::move(options)) {}

StatusOr<std::vector<LintFinding>> CommsService::LintIn(Txn& txn, const IncidentRecord& inc,
                                                        const std::string& text,
                                                        const std::string& audience,
                                                        bool has_eta_or_next_update) {
  comms::LintFacts q;
  FB_ASSIGN_OR_RETURN(q.audience, comms::ParseAudience(audience));
  q.next_update_given = has_eta_or_next_update;
  FB_ASSIGN_OR_RETURN(auto facts, txn.comms().GetComms(inc.id));
  q.root_cause_confirmed = facts && facts->root_cause_confirmed_at.has_value();
  FB_ASSIGN_OR_RETURN(int64_t evidence, txn.comms().EvidenceCount(inc.id));
  q.evidence_attached = evidence > 0;
  if (options_.affected) {
    FB_ASSIGN_OR_RETURN(auto counts, options_.affected(inc));
    q.affected_users = counts.first;
    q.active_users = counts.second;
  }
  FB_ASSIGN_OR_RETURN(comms::LintReport report, comms::Lint(text, q, options_.lint));
  return report.findings;
}

StatusOr<std::vector<LintFinding>> CommsService::Lint(int64_t incident_id, const std::string& text,
                                                      const std::string& audience,
                                                      bool has_eta_or_next_update) {
  FB_RETURN_IF_ERROR(comms::ParseAudience(audience).status());
  FB_RETURN_IF_ERROR(CheckText("text", text, options_.max_message_bytes, true));
  std::vector<LintFinding> findings;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(findings, LintIn(txn, inc, text, audience, has_eta_or_next_update));
    return Status::Ok();
  }));
  return findings;
}

Status CommsService::Gate(const std::vector<LintFinding>& findings, const std::string& override_reason,
                          LintRefusal* refusal) {
  std::string blocking;
  for (const auto& f : findings) {
    if (f.blocking) blocking += (blocking.empty() ? "" : ", ") + f.rule;
  }
  if (blocking.empty() || !override_reason.empty()) return Status::Ok();
  Status refused = Conflict("the message lint refused it (" + blocking +
                            "); fix the text, or override with a reason");
  if (refusal) *refusal = {refused, findings};
  return refused;
}

Status CommsService::Promise(Txn& txn, int64_t incident_id, std::optional<TimeMs> next_update_at,
                             TimeMs now) {
  FB_ASSIGN_OR_RETURN(auto facts, txn.comms().GetComms(incident_id));
  CommsRecord c = facts.value_or(CommsRecord{});
  c.incident_id = incident_id;
  c.next_update_at = next_update_at;
  c.updated_at = now;
  return txn.comms().PutComms(c);
}

StatusOr<Linted<NoticeRecord>> CommsService::SetNotice(const std::string& actor, int64_t incident_id,
                                                       const NoticeInput& in, LintRefusal* refusal) {
  if (in.audience != "public") {
    return Conflict("a notice is public; an " + in.audience +
                    " message cannot be published on the banner (post it as an update)");
  }
  if (!IsNoticeStatus(in.status)) {
    return InvalidArgument("'status' must be investigating, identified, monitoring or resolved");
  }
  FB_RETURN_IF_ERROR(CheckText("message", in.message, options_.max_message_bytes, true));
  FB_RETURN_IF_ERROR(CheckText("override_reason", in.override_reason, options_.max_message_bytes, false));
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(CheckFuture("eta", in.eta, now));
  FB_RETURN_IF_ERROR(CheckFuture("next_update_at", in.next_update_at, now));
  // Linted before the write transaction: measuring affected users reads many traces.
  Linted<NoticeRecord> out;
  FB_ASSIGN_OR_RETURN(out.findings, Lint(incident_id, in.message, "public",
                                         in.eta.has_value() || in.next_update_at.has_value()));
  FB_RETURN_IF_ERROR(Gate(out.findings, in.override_reason, refusal));
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    if (IsClosed(inc)) return Conflict(IncidentName(incident_id) + " is closed");
    FB_ASSIGN_OR_RETURN(auto prior, txn.comms().GetNotice(incident_id));
    NoticeRecord& n = out.record;
    n.incident_id = incident_id;
    n.status = in.status;
    n.message = in.message;
    n.eta = in.eta;
    n.next_update_at = in.next_update_at;
    n.lint_json = FindingsJson(out.findings).dump();
    n.override_reason = in.override_reason;
    n.updated_by = actor;
    n.created_at = prior ? prior->created_at : now;
    n.updated_at = now;
    FB_RETURN_IF_ERROR(txn.comms().PutNotice(n));
    FB_RETURN_IF_ERROR(Promise(txn, incident_id, in.next_update_at, now));
    Json details = {{"status", n.status}, {"message", n.message}, {"eta", TimeOrNull(n.eta)},
                    {"next_update_at", TimeOrNull(n.next_update_at)}, {"lint", FindingsJson(out.findings)}};
    if (!in.override_reason.empty()) details["override_reason"] = in.override_reason;
    return log_.Append(txn, {incident_id, actor, prior ? "notice.updated" : "notice.raised", details, now})
        .status();
  }));
  return out;
}

Status CommsService::ClearNotice(const std::string& actor, int64_t incident_id) {
  return store_.Write([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(incident_id).status());
    FB_ASSIGN_OR_RETURN(bool deleted, txn.comms().DeleteNotice(incident_id));
    if (!deleted) return NotFound(IncidentName(incident_id) + " has no notice");
    return log_.Append(txn, {incident_id, actor, "notice.cleared", Json::object()}).status();
  });
}

StatusOr<std::optional<NoticeRecord>> CommsService::Notice(int64_t incident_id) {
  std::optional<NoticeRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(incident_id).status());
    FB_ASSIGN_OR_RETURN(out, txn.comms().GetNotice(incident_id));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<PublicNotice>> CommsService::PublicStatus() {
  std::vector<PublicNotice> out;
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    out.clear();
    FB_ASSIGN_OR_RETURN(auto notices, txn.comms().Notices());
    for (auto& n : notices) {
      FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(n.incident_id));
      if (IsClosed(inc)) continue;
      FB_ASSIGN_OR_RETURN(auto facts, txn.comms().GetComms(n.incident_id));
      // Late when the latest promise (this notice's or a later update's) has passed.
      std::optional<TimeMs> promise = facts ? facts->next_update_at : n.next_update_at;
      PublicNotice p{std::move(n), inc.severity, promise.has_value() && *promise < now};
      out.push_back(std::move(p));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Linted<UpdateRecord>> CommsService::PostUpdate(const std::string& actor, int64_t incident_id,
                                                        const UpdateInput& in, LintRefusal* refusal) {
  FB_RETURN_IF_ERROR(comms::ParseAudience(in.audience).status());
  FB_RETURN_IF_ERROR(CheckText("impact", in.impact, options_.max_message_bytes, true));
  FB_RETURN_IF_ERROR(CheckText("actions", in.actions, options_.max_message_bytes, false));
  FB_RETURN_IF_ERROR(CheckText("user_action", in.user_action, options_.max_message_bytes, false));
  FB_RETURN_IF_ERROR(CheckText("override_reason", in.override_reason, options_.max_message_bytes, false));
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(CheckFuture("eta", in.eta, now));
  FB_RETURN_IF_ERROR(CheckFuture("next_update_at", in.next_update_at, now));
  // The lint reads what the audience will read.
  std::string text = in.impact;
  for (const std::string* part : {&in.actions, &in.user_action}) {
    if (!part->empty()) text += "\n" + *part;
  }
  Linted<UpdateRecord> out;
  FB_ASSIGN_OR_RETURN(out.findings, Lint(incident_id, text, in.audience,
                                         in.eta.has_value() || in.next_update_at.has_value()));
  FB_RETURN_IF_ERROR(Gate(out.findings, in.override_reason, refusal));
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    if (IsClosed(inc)) return Conflict(IncidentName(incident_id) + " is closed");
    UpdateRecord& u = out.record;
    u.incident_id = incident_id;
    u.audience = in.audience;
    u.impact = in.impact;
    u.actions = in.actions;
    u.user_action = in.user_action;
    u.eta = in.eta;
    u.next_update_at = in.next_update_at;
    u.lint_json = FindingsJson(out.findings).dump();
    u.override_reason = in.override_reason;
    u.created_by = actor;
    u.created_at = now;
    FB_ASSIGN_OR_RETURN(u.id, txn.comms().AddUpdate(u));
    FB_RETURN_IF_ERROR(Promise(txn, incident_id, in.next_update_at, now));
    // Internal updates also go to the team's channels, once each.
    if (u.audience == "internal" && options_.reminders) {
      FB_RETURN_IF_ERROR(options_.reminders->QueueInternalUpdate(
          txn, inc, "update-" + std::to_string(u.id), IncidentName(incident_id) + " (internal): " + text));
    }
    Json details = {{"update", u.id}, {"audience", u.audience}, {"impact", u.impact},
                    {"actions", u.actions}, {"user_action", u.user_action}, {"eta", TimeOrNull(u.eta)},
                    {"next_update_at", TimeOrNull(u.next_update_at)}, {"lint", FindingsJson(out.findings)}};
    if (!in.override_reason.empty()) details["override_reason"] = in.override_reason;
    return log_.Append(txn, {incident_id, actor, "comms.update", details, now}).status();
  }));
  return out;
}

StatusOr<std::vector<LintFinding>> CommsService::CheckNotification(
    const std::string& actor, int64_t incident_id, int64_t update_id, const std::string& message,
    const std::string& override_reason, LintRefusal* refusal) {
  FB_RETURN_IF_ERROR(CheckText("override_reason", override_reason, options_.max_message_bytes, false));
  std::vector<LintFinding> findings;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto update, txn.comms().GetUpdate(update_id));
    if (!update || update->incident_id != incident_id) {
      return NotFound(IncidentName(incident_id) + " has no update " + std::to_string(update_id));
    }
    if (update->audience == "internal") {
      return Conflict("update " + std::to_string(update_id) +
                      " is internal: it is never sent to users (post an update for the affected users)");
    }
    FB_ASSIGN_OR_RETURN(findings, LintIn(txn, inc, message, "affected",
                                         update->eta.has_value() || update->next_update_at.has_value()));
    return Status::Ok();
  }));
  FB_RETURN_IF_ERROR(Gate(findings, override_reason, refusal));
  bool blocked = std::any_of(findings.begin(), findings.end(), [](const LintFinding& f) { return f.blocking; });
  if (!blocked) return findings;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    return log_.Append(txn, {incident_id, actor, "comms.lint_overridden",
                             {{"update", update_id}, {"message", message},
                              {"lint", FindingsJson(findings)}, {"override_reason", override_reason}}})
        .status();
  }));
  return findings;
}

StatusOr<std::vector<UpdateRecord>> CommsService::Updates(int64_t incident_id, const std::string& audience) {
  if (!audience.empty()) FB_RETURN_IF_ERROR(comms::ParseAudience(audience).status());
  std::vector<UpdateRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(incident_id).status());
    FB_ASSIGN_OR_RETURN(out, txn.comms().Updates(incident_id, audience));
    return Status::Ok();
  }));
  return out;
}

StatusOr<CommsRecord> CommsService::SetFacts(const std::string& actor, int64_t incident_id,
                                             std::optional<std::string> owner,
                                             std::optional<std::string> confirmed_root_cause) {
  if (owner) FB_RETURN_IF_ERROR(CheckName("owner", *owner, 128));
  if (confirmed_root_cause) {
    FB_RETURN_IF_ERROR(CheckText("root_cause", *confirmed_root_cause, options_.max_message_bytes, true));
  }
  if (!owner && !confirmed_root_cause) return InvalidArgument("give 'owner' or 'root_cause'");
  TimeMs now = clock_.NowMs();
  CommsRecord out;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(incident_id).status());
    FB_ASSIGN_OR_RETURN(auto prior, txn.comms().GetComms(incident_id));
    out = prior.value_or(CommsRecord{});
    out.incident_id = incident_id;
    Json details = Json::object();
    if (owner) out.owner = details["owner"] = *owner;
    if (confirmed_root_cause) {
      out.root_cause = details["root_cause"] = *confirmed_root_cause;
      out.root_cause_confirmed_at = now;
    }
    out.updated_at = now;
    FB_RETURN_IF_ERROR(txn.comms().PutComms(out));
    return log_.Append(txn, {incident_id, actor, "comms.facts", details, now}).status();
  }));
  return out;
}

StatusOr<CommsRecord> CommsService::Facts(int64_t incident_id) {
  CommsRecord out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto facts, txn.comms().GetComms(incident_id));
    out = facts.value_or(CommsRecord{});
    out.incident_id = incident_id;
    if (out.owner.empty()) out.owner = !inc.acked_by.empty() ? inc.acked_by : inc.commander;
    return Status::Ok();
  }));
  return out;
}

StatusOr<int> CommsService::ChaseOverdue() {
  TimeMs now = clock_.NowMs();
  // Runs every few seconds: the writer is taken only when a promise is late.
  bool any_late = false;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto late, txn.comms().Overdue(now, 1));
    any_late = !late.empty();
    return Status::Ok();
  }));
  if (!any_late) return 0;
  int chased = 0;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    chased = 0;
    FB_ASSIGN_OR_RETURN(auto late, txn.comms().Overdue(now, kChaseBatch));
    for (CommsRecord c : late) {
      FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(c.incident_id));
      c.reminded_for = c.next_update_at;
      FB_RETURN_IF_ERROR(txn.comms().PutComms(c));
      if (!IsOpenRecord(inc)) continue;  // resolved or closed: nothing is owed any more
      std::string owner = !c.owner.empty() ? c.owner : !inc.acked_by.empty() ? inc.acked_by : inc.commander;
      std::string headline = IncidentName(inc.id) + ": the update promised for " +
                             FormatTime(*c.next_update_at) + " is late" +
                             (owner.empty() ? "" : " (comms owner: " + owner + ")");
      if (options_.reminders) {
        FB_RETURN_IF_ERROR(options_.reminders->QueueReminder(
            txn, inc, "update-late-" + std::to_string(*c.next_update_at), headline));
      }
      FB_RETURN_IF_ERROR(log_.Append(txn, {inc.id, "firebreak", "comms.update_late",
                                           {{"promised_at", FormatTime(*c.next_update_at)},
                                            {"late_by_ms", now - *c.next_update_at},
                                            {"owner", owner},
                                            {"reminded", options_.reminders != nullptr}},
                                           now})
                             .status());
      ++chased;
    }
    return Status::Ok();
  }));
  return chased;
}

}  // namespace firebreak
