#include "paging/pager.h"

#include <algorithm>
#include <future>
#include <random>
#include <set>
#include <spdlog/spdlog.h>

#include "incidents/severity.h"
#include "incidents/state.h"

namespace firebreak::paging {
namespace {

using Json = nlohmann::json;

constexpr char kActor[] = "pager";
constexpr char kUserNoticeAction[] = "user-notice";
constexpr int kTimerBatch = 50;
constexpr int kDeliveryBatch = 20;

BusinessCalendar CalendarOf(const PagingPolicy& p) {
  auto c = BusinessCalendar::Create(p.business_hours);
  // CheckPolicy refused a bad calendar before construction; UTC office hours otherwise.
  return c.ok() ? *c : *BusinessCalendar::Create(BusinessHoursConfig{});
}

// Whether the incident still needs people: not resolved, not closed.
bool IsLive(const IncidentRecord& inc) {
  auto s = ParseState(inc.state);
  return s && IsOpen(*s);
}

Json ContentJson(const PageContent& c, const std::string& headline, const std::string& event) {
  return {{"incident_id", c.incident_id}, {"title", c.title},
          {"agent", c.agent},             {"severity", c.severity},
          {"severity_name", c.severity_name},
          {"reason", c.reason},           {"state", c.state},
          {"evidence", c.evidence},       {"detected_at", c.detected_at},
          {"incident_url", c.incident_url},
          {"headline", headline},         {"event", event}};
}

PageContent ContentFrom(const Json& j) {
  PageContent c;
  c.incident_id = j.value("incident_id", int64_t{0});
  c.title = j.value("title", "");
  c.agent = j.value("agent", "");
  c.severity = j.value("severity", 0);
  c.severity_name = j.value("severity_name", "");
  c.reason = j.value("reason", "");
  c.state = j.value("state", "");
  if (auto it = j.find("evidence"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_string()) c.evidence.push_back(e.get<std::string>());
    }
  }
  c.detected_at = j.value("detected_at", int64_t{0});
  c.incident_url = j.value("incident_url", "");
  return c;
}

}  // namespace

Status CheckPolicy(const PagingPolicy& p) {
  for (const auto& [name, t] : p.targets) {
    std::string where = "paging.targets." + name;
    if (t.type == "pagerduty") {
      if (t.routing_key.empty()) return InvalidArgument(where + ".routing_key is required");
    } else if (t.type == "webhook") {
      if (t.secret.empty()) return InvalidArgument(where + ".secret is required (HMAC signing)");
    } else if (t.type != "slack") {
      return InvalidArgument(where + ".type must be pagerduty, slack or webhook");
    }
    if (t.url.rfind("http://", 0) != 0 && t.url.rfind("https://", 0) != 0) {
      return InvalidArgument(where + ".url must be an http:// or https:// URL");
    }
    if (t.timeout_ms < 100 || t.timeout_ms > 120'000) {
      return InvalidArgument(where + ".timeout_ms must be 100..120000");
    }
    if (t.timeout_ms >= p.lease_ms) {
      // A sender must give up before its hold on the delivery ends, or two could send it.
      return InvalidArgument(where + ".timeout_ms must be shorter than paging.lease_seconds");
    }
  }
  auto known = [&](const std::vector<std::string>& names, const std::string& where) -> Status {
    for (const auto& n : names) {
      if (!p.targets.count(n)) return InvalidArgument(where + " names unknown target '" + n + "'");
    }
    return Status::Ok();
  };
  if (!p.user_notice_target.empty()) {
    auto t = p.targets.find(p.user_notice_target);
    if (t == p.targets.end()) {
      return InvalidArgument("comms.notify_target names unknown target '" + p.user_notice_target + "'");
    }
    if (t->second.type != "webhook") {
      return InvalidArgument("comms.notify_target '" + p.user_notice_target +
                             "' must be a webhook target (it is " + t->second.type + ")");
    }
  }
  for (size_t i = 0; i < p.escalation.size(); ++i) {
    FB_RETURN_IF_ERROR(known(p.escalation[i], "paging.escalation[" + std::to_string(i) + "]"));
  }
  FB_RETURN_IF_ERROR(known(p.internal_update_targets, "comms.internal_targets"));
  FB_RETURN_IF_ERROR(known(p.business_hours_targets, "paging.business_hours_targets"));
  FB_RETURN_IF_ERROR(known(p.backlog_targets, "paging.backlog_targets"));
  if (p.ack_timeout_minutes < 1) return InvalidArgument("paging.ack_timeout_minutes must be >= 1");
  if (p.repeat < 0 || p.repeat > 100) return InvalidArgument("paging.repeat must be 0..100");
  if (p.backlog_reminder_hours < 0) return InvalidArgument("paging.backlog_reminder_hours must be >= 0");
  if (p.retry_base_ms < 1 || p.retry_max_ms < p.retry_base_ms) {
    return InvalidArgument("paging.retry_base_ms must be >= 1 and <= retry_max_ms");
  }
  return BusinessCalendar::Create(p.business_hours).status();
}

Pager::Pager(Store& store, const EventLog& log, const Clock& clock, PagingPolicy policy,
             HttpSender& sender)
    : store_(store), log_(log), clock_(clock), policy_(std::move(policy)),
      calendar_(CalendarOf(policy_)), sender_(sender) {}

Pager::~Pager() { Stop(); }

Status Pager::OnIncidentChanged(Txn& txn, const IncidentRecord& before,
                                const IncidentRecord& after, const std::string& actor) {
  TimeMs now = clock_.NowMs();
  bool was_live = before.id != 0 && IsLive(before);
  if (!IsLive(after)) {
    if (!was_live) return Status::Ok();
    // Resolved or closed: nothing more to page; tell PagerDuty the alert is over.
    FB_RETURN_IF_ERROR(txn.paging().CancelTimers(after.id, {}, now).status());
    FB_ASSIGN_OR_RETURN(auto queued, Queue(txn, after, {}, "resolve", after.state, ""));
    (void)queued;
    Wake();
    return Status::Ok();
  }
  if (after.acked_at && !before.acked_at) {
    FB_ASSIGN_OR_RETURN(int64_t stopped,
                        txn.paging().CancelTimers(after.id, {"page", "escalate"}, now));
    FB_ASSIGN_OR_RETURN(auto queued, Queue(txn, after, {}, "acknowledge", "ack", ""));
    if (stopped > 0) {
      FB_RETURN_IF_ERROR(log_.Append(txn, {after.id, kActor, "page.escalation_stopped",
                                           {{"acknowledged_by", after.acked_by},
                                            {"timers_cancelled", stopped}}})
                             .status());
    }
    (void)queued;
    Wake();
  }
  if (after.severity != 0 && after.severity != before.severity) {
    FB_RETURN_IF_ERROR(Plan(txn, after));
    Wake();
  }
  return Status::Ok();
}

Status Pager::Plan(Txn& txn, const IncidentRecord& inc) {
  TimeMs now = clock_.NowMs();
  // A new severity replaces the plan of the old one.
  FB_RETURN_IF_ERROR(txn.paging().CancelTimers(inc.id, {"page", "reminder", "due"}, now).status());
  const SeverityInfo& info = SeverityInfoFor(static_cast<Severity>(inc.severity));
  std::string sev(info.name);
  TimerRecord t;
  t.incident_id = inc.id;
  t.created_at = now;
  switch (info.paging) {
    case PagingClass::kImmediate: {
      if (inc.acked_at) return Status::Ok();  // someone is on it already
      FB_RETURN_IF_ERROR(txn.paging().CancelTimers(inc.id, {"escalate"}, now).status());
      t.kind = "page";
      t.due_at = now;
      t.note = sev + ": page at once, at any hour";
      FB_RETURN_IF_ERROR(txn.paging().InsertTimer(t).status());
      return Status::Ok();
    }
    case PagingClass::kBusinessHours: {
      FB_RETURN_IF_ERROR(txn.paging().CancelTimers(inc.id, {"escalate"}, now).status());
      t.kind = "page";
      t.due_at = calendar_.NextOpen(now);
      t.note = sev + ": page within business hours (" + calendar_.Describe() + ")";
      FB_RETURN_IF_ERROR(txn.paging().InsertTimer(t).status());
      if (t.due_at > now) {
        FB_RETURN_IF_ERROR(log_.Append(txn, {inc.id, kActor, "page.deferred",
                                             {{"severity", sev},
                                              {"until", FormatTime(t.due_at)},
                                              {"business_hours", calendar_.Describe()}}})
                               .status());
      }
      return Status::Ok();
    }
    case PagingClass::kBacklog: {
      FB_RETURN_IF_ERROR(txn.paging().CancelTimers(inc.id, {"escalate"}, now).status());
      TimeMs due = now + int64_t{info.backlog_due_days} * 86'400'000;
      t.kind = "due";
      t.due_at = due;
      t.note = sev + ": backlog item due";
      FB_RETURN_IF_ERROR(txn.paging().InsertTimer(t).status());
      t.kind = "reminder";
      t.due_at = std::max(now, due - int64_t{policy_.backlog_reminder_hours} * 3'600'000);
      t.note = sev + ": reminder before the backlog item is due";
      FB_RETURN_IF_ERROR(txn.paging().InsertTimer(t).status());
      return log_.Append(txn, {inc.id, kActor, "backlog.created",
                               {{"severity", sev}, {"due_at", FormatTime(due)},
                                {"reminder_at", FormatTime(t.due_at)}, {"pages", "nobody"}}})
          .status();
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<DeliveryRecord>> Pager::Remind(Txn& txn, const IncidentRecord& inc,
                                                    const std::string& key,
                                                    const std::string& headline) {
  std::vector<std::string> targets;
  if (!policy_.escalation.empty()) targets = policy_.escalation[0];
  return Queue(txn, inc, targets, "notify", key, headline);
}

StatusOr<std::vector<DeliveryRecord>> Pager::Announce(Txn& txn, const IncidentRecord& inc,
                                                      const std::string& key,
                                                      const std::string& headline) {
  return Queue(txn, inc, policy_.internal_update_targets, "notify", key, headline);
}

Status Pager::FireTimer(Txn& txn, const TimerRecord& t) {
  TimeMs now = clock_.NowMs();
  FB_ASSIGN_OR_RETURN(bool claimed, txn.paging().ClaimTimer(t.id, now));
  if (!claimed) return Status::Ok();  // another server fired or cancelled it first
  FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(t.incident_id));
  if (!IsLive(inc) || inc.severity == 0) return Status::Ok();
  const SeverityInfo& info = SeverityInfoFor(static_cast<Severity>(inc.severity));
  std::string sev(info.name);

  if (t.kind == "reminder" || t.kind == "due") {
    std::string headline = t.kind == "due" ? "Backlog item is due: " : "Backlog item due soon: ";
    FB_ASSIGN_OR_RETURN(auto queued, Queue(txn, inc, policy_.backlog_targets, "notify",
                                           t.kind + "-" + std::to_string(t.id), headline + inc.title));
    return log_.Append(txn, {inc.id, kActor, "backlog." + t.kind,
                             {{"severity", sev}, {"deliveries", queued.size()}}})
        .status();
  }

  // page (step 0 or the business-hours page) or escalate (step >= 1).
  size_t steps = std::max<size_t>(policy_.escalation.size(), 1);
  std::vector<std::string> targets;
  if (info.paging == PagingClass::kBusinessHours && !policy_.business_hours_targets.empty()) {
    targets = policy_.business_hours_targets;
  } else if (!policy_.escalation.empty()) {
    targets = policy_.escalation[static_cast<size_t>(t.step) % steps];
  }
  std::string key = sev + "-step" + std::to_string(t.step);
  std::string headline = sev + " " + IncidentName(inc.id) + ": " + inc.title;
  FB_ASSIGN_OR_RETURN(auto queued, Queue(txn, inc, targets, "trigger", key, headline));
  Json details = {{"severity", sev},
                  {"step", t.step},
                  {"targets", targets},
                  {"deliveries", queued.size()}};
  if (targets.empty()) details["warning"] = "no paging targets configured";
  FB_RETURN_IF_ERROR(
      log_.Append(txn, {inc.id, kActor, t.step == 0 ? "page.queued" : "page.escalated", details})
          .status());

  int last_step = static_cast<int>(steps) * (policy_.repeat + 1) - 1;
  if (info.escalates && !inc.acked_at && t.step < last_step && !policy_.escalation.empty()) {
    TimerRecord next;
    next.incident_id = inc.id;
    next.kind = "escalate";
    next.step = t.step + 1;
    next.due_at = now + int64_t{policy_.ack_timeout_minutes} * 60'000;
    next.note = "escalate when not acknowledged within " +
                std::to_string(policy_.ack_timeout_minutes) + " minutes";
    next.created_at = now;
    FB_RETURN_IF_ERROR(txn.paging().InsertTimer(next).status());
  }
  return Status::Ok();
}

StatusOr<PageContent> Pager::ContentOf(Txn& txn, const IncidentRecord& inc) {
  PageContent c;
  c.incident_id = inc.id;
  c.title = inc.title;
  c.agent = inc.agent;
  c.severity = inc.severity;
  c.severity_name = std::string(SeverityName(static_cast<Severity>(inc.severity)));
  c.reason = inc.classification_reason;
  c.state = inc.state;
  c.detected_at = inc.detected_at;
  if (!policy_.incident_url.empty()) {
    c.incident_url = policy_.incident_url;
    auto pos = c.incident_url.find("{id}");
    if (pos != std::string::npos) c.incident_url.replace(pos, 4, IncidentName(inc.id));
  }
  SignalQuery q;
  q.incident_id = inc.id;
  q.limit = 20;
  FB_ASSIGN_OR_RETURN(auto signals, txn.signals().List(q));
  std::set<std::string> seen;
  for (const auto& s : signals) {
    Json ev = Json::parse(s.evidence_json, nullptr, false);
    if (!ev.is_array()) continue;
    for (const auto& h : ev) {
      if (h.is_string() && seen.insert(h.get<std::string>()).second) {
        c.evidence.push_back(h.get<std::string>());
      }
    }
  }
  return c;
}

StatusOr<std::vector<DeliveryRecord>> Pager::Queue(Txn& txn, const IncidentRecord& inc,
                                                   const std::vector<std::string>& targets,
                                                   const std::string& action,
                                                   const std::string& key,
                                                   const std::string& headline) {
  TimeMs now = clock_.NowMs();
  std::vector<std::string> names = targets;
  if (action == "acknowledge" || action == "resolve") {
    // Only PagerDuty keeps alert state: acknowledge or resolve where a trigger went.
    DeliveryQuery q;
    q.incident_id = inc.id;
    q.limit = 1000;
    FB_ASSIGN_OR_RETURN(auto sent, txn.paging().ListDeliveries(q));
    std::set<std::string> paged;
    for (const auto& d : sent) {
      if (d.action == "trigger" && d.channel == "pagerduty") paged.insert(d.target);
    }
    names.assign(paged.begin(), paged.end());
  }
  FB_ASSIGN_OR_RETURN(PageContent content, ContentOf(txn, inc));
  std::string event = action == "trigger"  ? "incident.page"
                      : action == "notify" ? "incident.reminder"
                                           : "incident." + action;
  std::vector<DeliveryRecord> queued;
  for (const auto& name : names) {
    auto it = policy_.targets.find(name);
    if (it == policy_.targets.end()) continue;
    DeliveryRecord d;
    d.incident_id = inc.id;
    d.target = name;
    d.channel = it->second.type;
    d.action = action;
    d.dedup_key = IncidentName(inc.id) + "/" + action + "/" + name + "/" + key;
    d.content_json = ContentJson(content, headline, event).dump();
    d.next_attempt_at = now;
    d.created_at = now;
    FB_ASSIGN_OR_RETURN(std::optional<int64_t> id, txn.paging().InsertDelivery(d));
    if (id) {
      d.id = *id;
      queued.push_back(d);
    }
  }
  return queued;
}

StatusOr<NoticeResult> Pager::QueueUserNotices(Txn& txn, const IncidentRecord& inc,
                                               int64_t update_id, const std::string& message,
                                               const std::vector<std::string>& user_ids) {
  const std::string& target = policy_.user_notice_target;
  if (target.empty()) {
    return Conflict("no notice target is configured for affected users ([comms] notify_target)");
  }
  TimeMs now = clock_.NowMs();
  NoticeResult result;
  for (const auto& user : user_ids) {
    DeliveryRecord d;
    d.incident_id = inc.id;
    d.target = target;
    d.channel = "webhook";
    d.action = kUserNoticeAction;
    // No target name in the key: a user gets an update once even if the target is renamed.
    d.dedup_key = IncidentName(inc.id) + "/" + kUserNoticeAction + "/" +
                  std::to_string(update_id) + "/" + user;
    d.content_json = Json{{"event", "incident.user_notice"},
                          {"incident", IncidentName(inc.id)},
                          {"user_id", user},
                          {"message", message},
                          {"update", update_id}}
                         .dump();
    d.next_attempt_at = now;
    d.created_at = now;
    FB_ASSIGN_OR_RETURN(std::optional<int64_t> id, txn.paging().InsertDelivery(d));
    ++(id ? result.queued : result.already_queued);
  }
  return result;
}

StatusOr<std::vector<DeliveryRecord>> Pager::PageNow(const std::string& actor, int64_t incident_id,
                                                     const std::vector<std::string>& targets,
                                                     const std::string& message) {
  for (const auto& t : targets) {
    if (!policy_.targets.count(t)) return NotFound("no paging target '" + t + "'");
  }
  std::vector<std::string> names = targets;
  if (names.empty() && !policy_.escalation.empty()) names = policy_.escalation.front();
  if (names.empty()) {
    return Conflict("no paging targets are configured ([paging.targets] and [[paging.escalation]])");
  }
  std::vector<DeliveryRecord> queued;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(incident_id));
    if (!IsLive(inc)) return Conflict(IncidentName(inc.id) + " is " + inc.state + "; nobody is paged");
    std::string headline = message.empty() ? std::string(SeverityName(static_cast<Severity>(inc.severity))) +
                                                 " " + IncidentName(inc.id) + ": " + inc.title
                                           : message;
    // Each manual page is its own delivery: a responder paging twice means it.
    FB_ASSIGN_OR_RETURN(queued, Queue(txn, inc, names, "trigger",
                                      "manual-" + std::to_string(clock_.NowMs()), headline));
    return log_.Append(txn, {inc.id, actor, "page.manual",
                             {{"targets", names}, {"message", headline}, {"deliveries", queued.size()}}})
        .status();
  }));
  Wake();
  return queued;
}

HttpPost Pager::Render(const Target& target, const DeliveryRecord& d, TimeMs now) const {
  Json content = Json::parse(d.content_json, nullptr, false);
  if (!content.is_object()) content = Json::object();
  PageContent c = ContentFrom(content);
  HttpPost post;
  post.url = target.url;
  post.timeout_ms = target.timeout_ms;
  if (target.type == "pagerduty") {
    PdAction action = d.action == "acknowledge" ? PdAction::kAcknowledge
                      : d.action == "resolve"   ? PdAction::kResolve
                                                : PdAction::kTrigger;
    // One PagerDuty alert per incident: trigger, acknowledge and resolve share its key.
    post.body = PagerDutyEvent(action, target.routing_key, "firebreak-" + IncidentName(c.incident_id), c)
                    .dump();
  } else if (d.action == kUserNoticeAction) {
    // The notice is its own body: what the product needs to show one user.
    post.body = content.dump();
    post.headers = WebhookSignatureHeaders(target.secret, post.body, now);
  } else if (target.type == "slack") {
    post.body = SlackMessage(c, content.value("headline", c.title)).dump();
  } else {
    post.body = WebhookBody(content.value("event", "incident.page"), c).dump();
    post.headers = WebhookSignatureHeaders(target.secret, post.body, now);
  }
  return post;
}

Status Pager::Send(DeliveryRecord d, TickResult& result) {
  auto it = policy_.targets.find(d.target);
  SendResult sent;
  if (it == policy_.targets.end()) {
    sent.outcome = Outcome::kPermanent;
    sent.error = "target '" + d.target + "' is no longer configured";
  } else {
    sent = sender_.Post(Render(it->second, d, clock_.NowMs()));
  }
  TimeMs now = clock_.NowMs();
  d.attempts += 1;
  d.last_http_status = sent.http_status;
  d.last_error = sent.error;
  d.lease_until = 0;
  std::string event;
  switch (sent.outcome) {
    case Outcome::kDelivered:
      d.status = "delivered";
      d.delivered_at = now;
      d.last_error.clear();
      // One notice per affected user: the notify event on the timeline counts them; a
      // delivered event each would bury the timeline.
      if (d.action != kUserNoticeAction) event = "delivery.delivered";
      ++result.delivered;
      break;
    case Outcome::kPermanent:
      d.status = "failed";
      event = "delivery.failed";
      ++result.failed;
      break;
    case Outcome::kRetry: {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      int64_t wait = BackoffMs(d.attempts, policy_.retry_base_ms, policy_.retry_max_ms, r);
      if (sent.retry_after_ms) wait = std::max(wait, std::min(*sent.retry_after_ms, policy_.retry_max_ms));
      d.next_attempt_at = now + wait;
      ++result.retried;
      // Only the first failure goes on the timeline; every attempt is on the delivery row.
      if (d.attempts == 1) event = "delivery.retrying";
      break;
    }
  }
  Status recorded = RecordOutcome(d, event);
  if (!recorded.ok()) {
    // The page went out (or failed) but the store did not take it: keep the outcome and store
    // it on the next tick, rather than let the lease run out and send the page again.
    std::lock_guard<std::mutex> lock(held_mu_);
    held_[d.id] = {d, event};
  }
  return recorded;
}

Status Pager::RecordOutcome(const DeliveryRecord& d, const std::string& event) {
  return store_.Write([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.paging().UpdateDelivery(d));
    if (event.empty()) return Status::Ok();
    Json details = {{"delivery", d.id},   {"target", d.target},     {"channel", d.channel},
                    {"action", d.action}, {"attempts", d.attempts}, {"http_status", d.last_http_status}};
    if (!d.last_error.empty()) details["error"] = d.last_error;
    if (d.status == "pending") details["next_attempt_at"] = FormatTime(d.next_attempt_at);
    return log_.Append(txn, {d.incident_id, kActor, event, details}).status();
  });
}

void Pager::RecordHeldOutcomes() {
  std::map<int64_t, HeldOutcome> held;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    held = held_;
  }
  for (const auto& [id, h] : held) {
    Status s = RecordOutcome(h.delivery, h.event);
    if (!s.ok()) {
      spdlog::error("paging: outcome of delivery {} still not stored: {}", id, s.message());
      continue;
    }
    std::lock_guard<std::mutex> lock(held_mu_);
    held_.erase(id);
  }
}

StatusOr<TickResult> Pager::Tick() {
  RecordHeldOutcomes();
  TickResult result;
  TimeMs now = clock_.NowMs();
  std::vector<TimerRecord> due;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(due, txn.paging().DueTimers(now, kTimerBatch));
    return Status::Ok();
  }));
  for (const auto& t : due) {
    // One transaction per timer: the claim and everything it queues commit together.
    Status s = store_.Write([&](Txn& txn) { return FireTimer(txn, t); });
    if (!s.ok()) {
      spdlog::error("paging: timer {} of {}: {}", t.id, IncidentName(t.incident_id), s.message());
      continue;
    }
    ++result.timers_fired;
  }
  std::vector<DeliveryRecord> claimed;
  now = clock_.NowMs();
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(claimed, txn.paging().ClaimDeliveries(now, now + policy_.lease_ms,
                                                              kDeliveryBatch));
    return Status::Ok();
  }));
  // Each claimed delivery is sent on its own thread, so a target that times out does not hold
  // up the pages to the others.
  std::vector<std::future<TickResult>> sending;
  for (auto& d : claimed) {
    {
      // Its lease ran out while its outcome waits to be stored: it was sent already.
      std::lock_guard<std::mutex> lock(held_mu_);
      if (held_.count(d.id)) continue;
    }
    sending.push_back(std::async(std::launch::async, [this, d] {
      TickResult one;
      Status s = Send(d, one);
      if (!s.ok()) spdlog::error("paging: delivery {}: {}", d.id, s.message());
      return one;
    }));
  }
  for (auto& f : sending) {
    TickResult one = f.get();
    result.delivered += one.delivered;
    result.retried += one.retried;
    result.failed += one.failed;
  }
  return result;
}

void Pager::Start(int64_t poll_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this, poll_ms] {
    while (true) {
      auto r = Tick();
      if (!r.ok()) spdlog::warn("paging: {}", r.status().message());
      int64_t wait = poll_ms;
      std::optional<TimeMs> next;
      Status s = store_.Read([&](Txn& txn) -> Status {
        FB_ASSIGN_OR_RETURN(auto t, txn.paging().NextTimerDue());
        FB_ASSIGN_OR_RETURN(auto d, txn.paging().NextDeliveryDue());
        if (t) next = *t;
        if (d) next = next ? std::min(*next, *d) : *d;
        return Status::Ok();
      });
      if (s.ok() && next) wait = std::clamp<int64_t>(*next - clock_.NowMs(), 0, poll_ms);
      std::unique_lock<std::mutex> lock(mu_);
      if (r.ok() && (r->delivered + r->retried + r->failed) >= kDeliveryBatch) wait = 0;
      cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stop_ || woken_; });
      woken_ = false;
      if (stop_) return;
    }
  });
}

void Pager::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Pager::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

StatusOr<std::vector<DeliveryRecord>> Pager::Deliveries(const DeliveryQuery& query) {
  if (query.limit <= 0 || query.limit > 1000) return InvalidArgument("'limit' must be 1..1000");
  std::vector<DeliveryRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    if (query.incident_id) FB_RETURN_IF_ERROR(txn.incidents().Get(*query.incident_id).status());
    FB_ASSIGN_OR_RETURN(out, txn.paging().ListDeliveries(query));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<TimerRecord>> Pager::Timers(int64_t incident_id) {
  std::vector<TimerRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Get(incident_id).status());
    FB_ASSIGN_OR_RETURN(out, txn.paging().TimersOf(incident_id));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::map<std::string, int64_t>> Pager::DeliveryCounts() {
  std::map<std::string, int64_t> counts;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(counts, txn.paging().CountDeliveries());
    return Status::Ok();
  }));
  return counts;
}

nlohmann::json DeliveryToJson(const DeliveryRecord& d) {
  Json content = Json::parse(d.content_json, nullptr, false);
  Json j = {{"id", d.id},
            {"incident", d.incident_id ? Json(IncidentName(*d.incident_id)) : Json(nullptr)},
            {"target", d.target},
            {"channel", d.channel},
            {"action", d.action},
            {"dedup_key", d.dedup_key},
            {"status", d.status},
            {"attempts", d.attempts},
            {"next_attempt_at", d.status == "pending" ? Json(FormatTime(d.next_attempt_at)) : Json(nullptr)},
            {"last_http_status", d.last_http_status},
            {"last_error", d.last_error},
            {"headline", content.is_object() ? content.value("headline", "") : ""},
            {"created_at", FormatTime(d.created_at)},
            {"delivered_at", d.delivered_at ? Json(FormatTime(*d.delivered_at)) : Json(nullptr)}};
  return j;
}

nlohmann::json TimerToJson(const TimerRecord& t) {
  std::string state = t.cancelled_at ? "cancelled" : t.fired_at ? "fired" : "pending";
  return {{"id", t.id},
          {"incident", IncidentName(t.incident_id)},
          {"kind", t.kind},
          {"step", t.step},
          {"due_at", FormatTime(t.due_at)},
          {"state", state},
          {"note", t.note},
          {"fired_at", t.fired_at ? Json(FormatTime(*t.fired_at)) : Json(nullptr)},
          {"cancelled_at", t.cancelled_at ? Json(FormatTime(*t.cancelled_at)) : Json(nullptr)}};
}

}  // namespace firebreak::paging
