#include "postmortem/postmortem_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/text.h"
#include "incidents/severity.h"

namespace firebreak {
namespace {

using Json = nlohmann::json;
using postmortem::Action;
using postmortem::Document;
using postmortem::Generated;
using postmortem::Postmortem;
using postmortem::State;

constexpr char kActor[] = "firebreak";
constexpr int kChaseBatch = 100;
constexpr TimeMs kMinuteMs = 60'000;
constexpr size_t kMaxWhatBytes = 300;
constexpr size_t kMaxReasonBytes = 2000;
// What detection looks at to find the first bad trace: the oldest signals, a few traces each.
constexpr int kMaxSignals = 50;
constexpr size_t kMaxEvidencePerSignal = 20;

std::string Text(const Json& d, const char* key) {
  auto it = d.find(key);
  if (it == d.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Returns "key=value" pairs of an event's scalar details, for kinds without their own wording.
std::string DetailsText(const Json& d) {
  std::string out;
  if (!d.is_object()) return out;
  for (const auto& [key, value] : d.items()) {
    if (value.is_object() || value.is_array()) continue;
    out += (out.empty() ? "" : ", ") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

// Returns what an event says happened, in words.
std::string Describe(const EventRecord& e) {
  Json d = Json::parse(e.details_json, nullptr, false);
  if (!d.is_object()) d = Json::object();
  std::string what;
  if (e.kind == "incident.declared") {
    what = "declared the incident \"" + Text(d, "title") + "\"";
  } else if (e.kind == "incident.classified") {
    what = "classified it " + Text(d, "severity") + ": " + Text(d, "reason");
  } else if (e.kind == "incident.acknowledged") {
    what = "acknowledged it";
  } else if (e.kind == "incident.state_changed") {
    what = "moved it from " + Text(d, "from") + " to " + Text(d, "to");
    if (d.contains("reason")) what += ": " + Text(d, "reason");
  } else if (e.kind == "incident.isolated") {
    what = "contained it (isolation finished)";
  } else if (e.kind == "note") {
    what = "noted: " + Text(d, "text");
  } else {
    std::string details = DetailsText(d);
    what = e.kind + (details.empty() ? "" : " (" + details + ")");
  }
  // One line: the Markdown timeline has a line per event.
  std::replace(what.begin(), what.end(), '\n', ' ');
  std::replace(what.begin(), what.end(), '\r', ' ');
  return TruncateUtf8(what, kMaxWhatBytes, "...");
}

bool AboutThePostmortem(const EventRecord& e) { return e.kind.rfind("postmortem.", 0) == 0; }

TimeMs FloorToMinute(TimeMs t) { return t - ((t % kMinuteMs) + kMinuteMs) % kMinuteMs; }

std::optional<TimeMs> DueAt(const IncidentRecord& inc, const PostmortemOptions& options) {
  bool done = inc.state == "resolved" || inc.state == "closed";
  if (!done || !inc.resolved_at) return std::nullopt;
  return *inc.resolved_at + options.due_after_resolved_ms;
}

Action ActionOf(const ActionRecord& r) {
  Action a;
  a.id = r.id;
  a.kind = r.kind;
  a.description = r.description;
  a.owner = r.owner;
  a.due_at = r.due_at;
  a.priority = r.priority;
  a.status = r.status;
  a.drop_reason = r.drop_reason;
  return a;
}

// The people of an incident: who ran it, who acted on its timeline, who wrote and owns the
// post-mortem. Rules, detectors and Firebreak's own workers are not people.
std::vector<std::string> PeopleOf(const IncidentRecord& inc, const std::vector<EventRecord>& events,
                                  const Document& doc, const std::vector<Action>& actions) {
  std::set<std::string> people;
  auto add = [&people](const std::string& name) {
    static const std::set<std::string> kMachines = {"system", "firebreak", "pager", "detector",
                                                    "policy"};
    if (name.size() < 2 || kMachines.count(name) || name.rfind("rule:", 0) == 0) return;
    people.insert(name);
  };
  add(inc.commander);
  add(inc.acked_by);
  add(inc.created_by);
  add(inc.classified_by);
  for (const auto& e : events) add(e.actor);
  for (const auto& a : doc.authors) add(a);
  for (const auto& a : actions) add(a.owner);
  return {people.begin(), people.end()};
}

// The first signal of the incident and the earliest trace of its signals' evidence.
Status MeasureDetection(Txn& txn, const IncidentRecord& inc, postmortem::Impact& impact) {
  SignalQuery q;
  q.incident_id = inc.id;
  q.limit = kMaxSignals;
  FB_ASSIGN_OR_RETURN(auto signals, txn.signals().List(q));
  if (signals.empty()) return Status::Ok();
  const SignalRecord* first = &signals.front();
  for (const auto& s : signals) {
    if (s.detected_at < first->detected_at) first = &s;
  }
  impact.first_signal = first->kind + " from " + first->source;
  for (const auto& s : signals) {
    Json evidence = Json::parse(s.evidence_json, nullptr, false);
    if (!evidence.is_array()) continue;
    size_t looked = 0;
    for (const auto& hash : evidence) {
      if (!hash.is_string() || ++looked > kMaxEvidencePerSignal) break;
      auto trace = txn.traces().GetByHash(hash.get<std::string>());
      if (!trace.ok()) continue;  // erased or expired since
      TimeMs started = trace->first.started_at;
      if (!impact.first_bad_trace_at || started < *impact.first_bad_trace_at) {
        impact.first_bad_trace_at = started;
      }
    }
  }
  if (impact.first_bad_trace_at) {
    impact.detection_delay_ms = std::max<int64_t>(0, inc.detected_at - *impact.first_bad_trace_at);
  }
  return Status::Ok();
}

// Page deliveries of the incident that reached their target.
StatusOr<int64_t> PagesSent(Txn& txn, int64_t incident_id) {
  int64_t pages = 0;
  DeliveryQuery q;
  q.incident_id = incident_id;
  q.limit = 1000;
  while (true) {
    FB_ASSIGN_OR_RETURN(auto batch, txn.paging().ListDeliveries(q));
    for (const auto& d : batch) pages += d.action == "trigger" && d.status == "delivered";
    if (static_cast<int>(batch.size()) < q.limit) break;
    q.before_id = batch.back().id;
  }
  return pages;
}

// The draft's first text: what is already known, for people to correct.
Document Draft(const IncidentRecord& inc, const std::string& actor, const CommsRecord& comms,
               const postmortem::Impact& impact) {
  Document doc;
  doc.title = inc.title;
  doc.authors = {actor};
  doc.root_cause = comms.root_cause.empty() ? postmortem::kPendingRootCause : comms.root_cause;
  doc.detection = impact.first_signal.empty()
                      ? "Declared by " + inc.created_by + " at " + FormatTime(inc.detected_at) + "."
                      : "Detected by the signal " + impact.first_signal + " at " +
                            FormatTime(inc.detected_at) + ".";
  return doc;
}

std::string StateOf(const OwedPostmortem& o) { return o.state.empty() ? "none generated" : o.state; }

}  // namespace

PostmortemService::PostmortemService(Store& store, const EventLog& log, const Clock& clock,
                                     PostmortemOptions options)
    : store_(store), log_(log), clock_(clock), options_(std::move(options)) {}

Status PostmortemService::PublishedRequirement::Check(Txn& txn, const IncidentRecord& incident,
                                                       std::vector<std::string>& missing) const {
  FB_ASSIGN_OR_RETURN(auto rec, txn.postmortems().Get(incident.id));
  if (!rec) {
    missing.push_back("no post-mortem (generate one: firebreak postmortem generate " +
                      IncidentName(incident.id) + ")");
  } else if (rec->state == postmortem::StateName(State::kDraft)) {
    missing.push_back("the post-mortem is still a draft (review and publish it)");
  } else if (rec->state == postmortem::StateName(State::kInReview)) {
    missing.push_back("the post-mortem is in review (publish it)");
  }
  return Status::Ok();
}

StatusOr<ReviewedPostmortem> PostmortemService::Review(Txn& txn, const IncidentRecord& inc,
                                                       const PostmortemRecord& rec) {
  ReviewedPostmortem out;
  Postmortem& pm = out.pm;
  pm.incident_id = inc.id;
  pm.incident_title = inc.title;
  pm.severity = inc.severity;
  pm.incident_state = inc.state;
  pm.state = postmortem::ParseState(rec.state).value_or(State::kDraft);
  pm.version = rec.version;
  FB_ASSIGN_OR_RETURN(pm.doc, postmortem::DocumentFromJson(Json::parse(rec.doc_json, nullptr, false)));
  pm.generated = postmortem::GeneratedFromJson(Json::parse(rec.generated_json, nullptr, false));
  FB_ASSIGN_OR_RETURN(auto actions, txn.postmortems().Actions(inc.id));
  for (const auto& a : actions) pm.actions.push_back(ActionOf(a));
  pm.due_at = DueAt(inc, options_);
  pm.overdue = pm.due_at && pm.state != State::kPublished && clock_.NowMs() >= *pm.due_at;
  pm.created_by = rec.created_by;
  pm.created_at = rec.created_at;
  pm.updated_by = rec.updated_by;
  pm.updated_at = rec.updated_at;
  pm.published_at = rec.published_at;

  FB_ASSIGN_OR_RETURN(auto events, txn.events().ForIncident(inc.id));
  postmortem::LintFacts facts;
  facts.people = PeopleOf(inc, events, pm.doc, pm.actions);
  facts.affected_users = pm.generated.impact.affected_users;
  facts.active_users = pm.generated.impact.active_users;
  FB_ASSIGN_OR_RETURN(auto report, postmortem::Lint(pm.doc, pm.actions, facts));
  out.findings = std::move(report.findings);
  out.blocking = report.blocking;
  return out;
}

StatusOr<ReviewedPostmortem> PostmortemService::Generate(const std::string& actor, int64_t incident_id,
                                                         bool* created) {
  // Everything measured is read before the writer is taken: counting affected users reads
  // many traces.
  IncidentRecord inc;
  Generated generated;
  CommsRecord comms;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto events, txn.events().ForIncident(incident_id));
    for (const auto& e : events) {
      if (!AboutThePostmortem(e)) generated.timeline.push_back({e.at, e.actor, Describe(e)});
    }
    FB_RETURN_IF_ERROR(MeasureDetection(txn, inc, generated.impact));
    FB_ASSIGN_OR_RETURN(generated.impact.pages_sent, PagesSent(txn, incident_id));
    FB_ASSIGN_OR_RETURN(auto facts, txn.comms().GetComms(incident_id));
    if (facts) comms = *facts;
    return Status::Ok();
  }));
  postmortem::Impact& impact = generated.impact;
  if (options_.affected) {
    FB_ASSIGN_OR_RETURN(auto measured, options_.affected(inc));
    impact.affected_users = measured.first;
    impact.active_users = measured.second;
  }
  impact.detected_at = inc.detected_at;
  impact.resolved_at = inc.resolved_at;
  if (inc.resolved_at) impact.duration_ms = *inc.resolved_at - inc.detected_at;
  if (inc.classified_at) impact.time_to_classify_ms = *inc.classified_at - inc.detected_at;
  impact.time_to_contain_ms = inc.time_to_contain_ms;
  TimeMs now = clock_.NowMs();
  generated.generated_at = now;

  ReviewedPostmortem out;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto existing, txn.postmortems().Get(incident_id));
    PostmortemRecord rec;
    if (existing) {
      if (existing->state == postmortem::StateName(State::kPublished)) {
        return Conflict(IncidentName(incident_id) + "'s post-mortem is published, which is final");
      }
      rec = *existing;
      ++rec.version;
    } else {
      rec.incident_id = incident_id;
      rec.state = postmortem::StateName(State::kDraft);
      rec.version = 1;
      rec.doc_json = postmortem::DocumentJson(Draft(inc, actor, comms, impact)).dump();
      rec.created_by = actor;
      rec.created_at = now;
    }
    if (created) *created = !existing;
    rec.generated_json = postmortem::GeneratedJson(generated).dump();
    rec.updated_by = actor;
    rec.updated_at = now;
    FB_RETURN_IF_ERROR(txn.postmortems().Put(rec));
    Json details = {{"version", rec.version}, {"timeline_lines", generated.timeline.size()}};
    if (impact.affected_users) details["affected_users"] = *impact.affected_users;
    FB_RETURN_IF_ERROR(log_.Append(txn, {incident_id, actor, "postmortem.generated", details, now}).status());
    FB_ASSIGN_OR_RETURN(out, Review(txn, inc, rec));
    return Status::Ok();
  }));
  return out;
}

StatusOr<ReviewedPostmortem> PostmortemService::Get(int64_t incident_id) {
  ReviewedPostmortem out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto rec, txn.postmortems().Get(incident_id));
    if (!rec) {
      return NotFound(IncidentName(incident_id) + " has no post-mortem yet (generate one: "
                      "firebreak postmortem generate " + IncidentName(incident_id) + ")");
    }
    FB_ASSIGN_OR_RETURN(out, Review(txn, inc, *rec));
    return Status::Ok();
  }));
  return out;
}

Status PostmortemService::ApplyActions(Txn& txn, const std::string& actor, int64_t incident_id,
                                       const std::vector<Action>& edited, TimeMs now) {
  FB_ASSIGN_OR_RETURN(auto stored, txn.postmortems().Actions(incident_id));
  std::map<int64_t, ActionRecord> by_id;
  for (auto& a : stored) by_id.emplace(a.id, a);
  std::set<int64_t> seen;
  for (const Action& a : edited) {
    if (a.id == 0) {
      if (a.status != "open") {
        return InvalidArgument("a new action starts open (\"" + TruncateUtf8(a.description, 60, "...") + "\")");
      }
      ActionRecord r;
      r.incident_id = incident_id;
      r.kind = a.kind;
      r.description = a.description;
      r.owner = a.owner;
      r.due_at = a.due_at;
      r.priority = a.priority;
      r.updated_by = actor;
      r.created_at = r.updated_at = now;
      FB_RETURN_IF_ERROR(txn.postmortems().InsertAction(r).status());
      continue;
    }
    auto it = by_id.find(a.id);
    if (it == by_id.end()) {
      return InvalidArgument("action " + std::to_string(a.id) + " is not one of " +
                             IncidentName(incident_id) + "'s (leave the id empty for a new one)");
    }
    if (!seen.insert(a.id).second) {
      return InvalidArgument("action " + std::to_string(a.id) + " is listed twice");
    }
    ActionRecord r = it->second;
    if (a.status != r.status || (a.status == "dropped" && a.drop_reason != r.drop_reason)) {
      return Conflict("action " + std::to_string(a.id) + " is " + r.status +
                      ": its status changes only with done or drop");
    }
    if (r.kind == a.kind && r.description == a.description && r.owner == a.owner &&
        r.due_at == a.due_at && r.priority == a.priority) {
      continue;
    }
    if (r.due_at != a.due_at) r.reminded_week.reset();  // a new due date, a new chase
    r.kind = a.kind;
    r.description = a.description;
    r.owner = a.owner;
    r.due_at = a.due_at;
    r.priority = a.priority;
    r.updated_by = actor;
    r.updated_at = now;
    FB_RETURN_IF_ERROR(txn.postmortems().UpdateAction(r));
  }
  for (const auto& [id, r] : by_id) {
    if (!seen.count(id)) {
      return Conflict("action " + std::to_string(id) + " (\"" + TruncateUtf8(r.description, 60, "...") +
                      "\") is missing: an action leaves only by done, or by drop with a reason");
    }
  }
  return Status::Ok();
}

StatusOr<ReviewedPostmortem> PostmortemService::Update(const std::string& actor, int64_t incident_id,
                                                       const PostmortemEdit& edit) {
  Document doc = edit.doc;
  for (auto& n : doc.annotations) {
    n.at = FloorToMinute(n.at);
    if (n.author.empty()) n.author = actor;
  }
  FB_RETURN_IF_ERROR(postmortem::CheckDocument(doc, edit.actions.value_or(std::vector<Action>{}),
                                               options_.limits));
  TimeMs now = clock_.NowMs();
  ReviewedPostmortem out;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto rec, txn.postmortems().Get(incident_id));
    if (!rec) return NotFound(IncidentName(incident_id) + " has no post-mortem yet: generate one first");
    if (rec->state == postmortem::StateName(State::kPublished)) {
      return Conflict(IncidentName(incident_id) + "'s post-mortem is published, which is final; "
                      "its actions are still tracked (done, drop)");
    }
    if (edit.version != rec->version) {
      return Conflict("the post-mortem changed since version " + std::to_string(edit.version) +
                      " (it is at version " + std::to_string(rec->version) +
                      "): read it again and redo the edit");
    }
    if (edit.actions) FB_RETURN_IF_ERROR(ApplyActions(txn, actor, incident_id, *edit.actions, now));
    rec->doc_json = postmortem::DocumentJson(doc).dump();
    ++rec->version;
    rec->updated_by = actor;
    rec->updated_at = now;
    FB_RETURN_IF_ERROR(txn.postmortems().Put(*rec));
    FB_RETURN_IF_ERROR(
        log_.Append(txn, {incident_id, actor, "postmortem.edited", {{"version", rec->version}}, now}).status());
    FB_ASSIGN_OR_RETURN(out, Review(txn, inc, *rec));
    return Status::Ok();
  }));
  return out;
}

StatusOr<ReviewedPostmortem> PostmortemService::Move(const std::string& actor, int64_t incident_id,
                                                     State to,
                                                     std::vector<postmortem::LintFinding>* refusal) {
  TimeMs now = clock_.NowMs();
  ReviewedPostmortem out;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    FB_ASSIGN_OR_RETURN(auto rec, txn.postmortems().Get(incident_id));
    if (!rec) return NotFound(IncidentName(incident_id) + " has no post-mortem yet: generate one first");
    State from = postmortem::ParseState(rec->state).value_or(State::kDraft);
    if (Status legal = postmortem::CheckMove(from, to); !legal.ok()) {
      return Status(legal.code(), IncidentName(incident_id) + ": " + legal.message());
    }
    if (to == State::kPublished) {
      FB_ASSIGN_OR_RETURN(ReviewedPostmortem now_reviewed, Review(txn, inc, *rec));
      if (now_reviewed.blocking) {
        std::string why;
        for (const auto& f : now_reviewed.findings) {
          if (f.blocking) why += (why.empty() ? "" : "; ") + f.message;
        }
        if (refusal) *refusal = now_reviewed.findings;
        return Conflict("cannot publish " + IncidentName(incident_id) + "'s post-mortem: " + why);
      }
      rec->published_at = now;
    }
    rec->state = postmortem::StateName(to);
    ++rec->version;
    rec->updated_by = actor;
    rec->updated_at = now;
    FB_RETURN_IF_ERROR(txn.postmortems().Put(*rec));
    FB_RETURN_IF_ERROR(log_.Append(txn, {incident_id, actor, "postmortem.state_changed",
                                         {{"from", postmortem::StateName(from)},
                                          {"to", rec->state},
                                          {"version", rec->version}},
                                         now})
                           .status());
    FB_ASSIGN_OR_RETURN(out, Review(txn, inc, *rec));
    return Status::Ok();
  }));
  return out;
}

StatusOr<ActionRecord> PostmortemService::FinishAction(const std::string& actor, int64_t action_id,
                                                       bool done, const std::string& reason) {
  FB_RETURN_IF_ERROR(CheckText("reason", reason, kMaxReasonBytes, !done));
  TimeMs now = clock_.NowMs();
  ActionRecord out;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.postmortems().GetAction(action_id));
    if (out.status != "open") {
      return Conflict("action " + std::to_string(action_id) + " is already " + out.status);
    }
    out.status = done ? "done" : "dropped";
    out.drop_reason = done ? "" : reason;
    out.finished_at = now;
    out.updated_by = actor;
    out.updated_at = now;
    FB_RETURN_IF_ERROR(txn.postmortems().UpdateAction(out));
    Json details = {{"action", out.id}, {"description", out.description}, {"owner", out.owner}};
    if (!reason.empty()) details["reason"] = reason;
    return log_.Append(txn, {out.incident_id, actor,
                             done ? "postmortem.action_done" : "postmortem.action_dropped", details, now})
        .status();
  }));
  return out;
}

StatusOr<std::vector<ActionRecord>> PostmortemService::Actions(const ActionQuery& query) {
  if (query.limit < 1 || query.limit > 1000) return InvalidArgument("'limit' must be 1..1000");
  std::vector<ActionRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.postmortems().ListActions(query));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<OverduePostmortem>> PostmortemService::Overdue(int64_t after_id, int limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("'limit' must be 1..1000");
  TimeMs now = clock_.NowMs();
  std::vector<OverduePostmortem> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto owed,
                        txn.postmortems().Owed(now - options_.due_after_resolved_ms, after_id, limit));
    for (const auto& o : owed) {
      FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(o.incident_id));
      out.push_back({o.incident_id, inc.title, o.resolved_at,
                     o.resolved_at + options_.due_after_resolved_ms, o.state});
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<int64_t> PostmortemService::OverdueCount() {
  int64_t count = 0;
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(count, txn.postmortems().CountOwed(now - options_.due_after_resolved_ms));
    return Status::Ok();
  }));
  return count;
}

StatusOr<int> PostmortemService::ChaseDue(Txn& txn, TimeMs now) {
  TimeMs overdue_by = now - options_.due_after_resolved_ms;
  TimeMs soon_by = overdue_by + options_.remind_before_due_ms;
  FB_ASSIGN_OR_RETURN(auto owed, txn.postmortems().Unchased(soon_by, overdue_by, kChaseBatch));
  int reminded = 0;
  for (OwedPostmortem o : owed) {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(o.incident_id));
    TimeMs due = o.resolved_at + options_.due_after_resolved_ms;
    bool overdue = o.resolved_at <= overdue_by;
    std::string key = std::string(overdue ? "postmortem-overdue-" : "postmortem-due-soon-") +
                      std::to_string(o.resolved_at);
    std::string headline = IncidentName(inc.id) + ": the post-mortem " +
                           (overdue ? "was due " : "is due ") + FormatTime(due) +
                           (overdue ? " and is overdue" : "") + " (post-mortem: " + StateOf(o) + ")";
    if (options_.pager) FB_RETURN_IF_ERROR(options_.pager->Remind(txn, inc, key, headline).status());
    FB_RETURN_IF_ERROR(log_.Append(txn, {inc.id, kActor,
                                         overdue ? "postmortem.overdue" : "postmortem.due_soon",
                                         {{"due_at", FormatTime(due)},
                                          {"postmortem", StateOf(o)},
                                          {"reminded", options_.pager != nullptr}},
                                         now})
                           .status());
    // Once overdue, the reminder that it is due soon has no point any more.
    o.soon_reminded_for = o.resolved_at;
    if (overdue) o.overdue_flagged_for = o.resolved_at;
    FB_RETURN_IF_ERROR(txn.postmortems().PutChase(o));
    ++reminded;
  }
  return reminded;
}

StatusOr<int> PostmortemService::ChaseActions(Txn& txn, TimeMs now) {
  const int64_t week = options_.action_reminder_every_ms;
  FB_ASSIGN_OR_RETURN(auto actions, txn.postmortems().ActionsToRemind(now, week, kChaseBatch));
  int reminded = 0;
  for (ActionRecord a : actions) {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(a.incident_id));
    int64_t weeks = (now - *a.due_at) / week;
    std::string headline = IncidentName(inc.id) + ": action " + std::to_string(a.id) + " (\"" +
                           TruncateUtf8(a.description, 120, "...") + "\", owner " +
                           (a.owner.empty() ? "nobody" : a.owner) + ") was due " +
                           postmortem::FormatDate(*a.due_at) + " and is still open";
    if (options_.pager) {
      FB_RETURN_IF_ERROR(options_.pager
                             ->Remind(txn, inc,
                                      "postmortem-action-" + std::to_string(a.id) + "-week-" +
                                          std::to_string(weeks),
                                      headline)
                             .status());
    }
    a.reminded_week = weeks;
    FB_RETURN_IF_ERROR(txn.postmortems().UpdateAction(a));
    FB_RETURN_IF_ERROR(log_.Append(txn, {inc.id, kActor, "postmortem.action_overdue",
                                         {{"action", a.id},
                                          {"owner", a.owner},
                                          {"due", postmortem::FormatDate(*a.due_at)},
                                          {"weeks_overdue", weeks},
                                          {"reminded", options_.pager != nullptr}},
                                         now})
                           .status());
    ++reminded;
  }
  return reminded;
}

StatusOr<int> PostmortemService::Chase() {
  TimeMs now = clock_.NowMs();
  TimeMs overdue_by = now - options_.due_after_resolved_ms;
  // Runs every few seconds: the writer is taken only when something is owed.
  bool owed = false;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto due, txn.postmortems().Unchased(
                                      overdue_by + options_.remind_before_due_ms, overdue_by, 1));
    FB_ASSIGN_OR_RETURN(auto actions, txn.postmortems().ActionsToRemind(
                                          now, options_.action_reminder_every_ms, 1));
    owed = !due.empty() || !actions.empty();
    return Status::Ok();
  }));
  if (!owed) return 0;
  int reminded = 0;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(int due, ChaseDue(txn, now));
    FB_ASSIGN_OR_RETURN(int actions, ChaseActions(txn, now));
    reminded = due + actions;
    return Status::Ok();
  }));
  if (options_.pager && reminded > 0) options_.pager->Wake();
  return reminded;
}

}  // namespace firebreak
