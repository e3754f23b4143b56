#include "config/policy.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>

namespace firebreak {
namespace {

// Reads typed values out of one TOML table, naming "<file> <path>" in every error.
class Reader {
 public:
  Reader(const toml::table* table, std::string path, std::string file)
      : table_(table), path_(std::move(path)), file_(std::move(file)) {}

  bool present() const { return table_ != nullptr; }

  Status Int(const char* key, int64_t& out, int64_t lo, int64_t hi) const {
    const toml::node* n = Find(key);
    if (!n) return Status::Ok();
    auto v = n->value<int64_t>();
    if (!n->is_integer() || !v || *v < lo || *v > hi) {
      return Error(key, "must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    out = *v;
    return Status::Ok();
  }
  Status Int(const char* key, int& out, int64_t lo, int64_t hi) const {
    int64_t v = out;
    FB_RETURN_IF_ERROR(Int(key, v, lo, hi));
    out = static_cast<int>(v);
    return Status::Ok();
  }
  Status Double(const char* key, double& out) const {
    const toml::node* n = Find(key);
    if (!n) return Status::Ok();
    if (auto v = n->value<double>(); v && (n->is_floating_point() || n->is_integer())) {
      out = *v;
      return Status::Ok();
    }
    return Error(key, "must be a number");
  }
  Status Bool(const char* key, bool& out) const {
    const toml::node* n = Find(key);
    if (!n) return Status::Ok();
    if (!n->is_boolean()) return Error(key, "must be true or false");
    out = *n->value<bool>();
    return Status::Ok();
  }
  Status String(const char* key, std::string& out) const {
    const toml::node* n = Find(key);
    if (!n) return Status::Ok();
    if (!n->is_string()) return Error(key, "must be a string");
    out = *n->value<std::string>();
    return Status::Ok();
  }
  Status Strings(const char* key, std::vector<std::string>& out) const {
    const toml::node* n = Find(key);
    if (!n) return Status::Ok();
    const toml::array* a = n->as_array();
    if (!a) return Error(key, "must be an array of strings");
    out.clear();
    for (const auto& e : *a) {
      if (!e.is_string()) return Error(key, "must be an array of strings");
      out.push_back(*e.value<std::string>());
    }
    return Status::Ok();
  }
  Status Ints(const char* key, std::vector<int>& out) const {
    const toml::node* n = Find(key);
    if (!n) return Status::Ok();
    const toml::array* a = n->as_array();
    if (!a) return Error(key, "must be an array of whole numbers");
    out.clear();
    for (const auto& e : *a) {
      if (!e.is_integer()) return Error(key, "must be an array of whole numbers");
      out.push_back(static_cast<int>(*e.value<int64_t>()));
    }
    return Status::Ok();
  }
  // Refuses keys this table does not have, so a typo is an error rather than a silent default.
  Status Only(std::initializer_list<const char*> keys) const {
    if (!table_) return Status::Ok();
    for (const auto& [key, node] : *table_) {
      bool known = false;
      for (const char* k : keys) known = known || key.str() == k;
      if (!known) return Error(std::string(key.str()), "is not a setting here");
    }
    return Status::Ok();
  }
  Reader Table(const char* key) const {
    const toml::node* n = Find(key);
    return Reader(n ? n->as_table() : nullptr, path_ + "." + key, file_);
  }
  const toml::table* raw() const { return table_; }
  const std::string& file() const { return file_; }
  Status Error(const std::string& key, const std::string& what) const {
    return InvalidArgument("config " + file_ + ": " + path_ + "." + key + " " + what);
  }

 private:
  const toml::node* Find(const char* key) const { return table_ ? table_->get(key) : nullptr; }
  const toml::table* table_;
  std::string path_;
  std::string file_;
};

Status ReadClassification(const Reader& r, ClassificationPolicy& p) {
  if (!r.present()) return Status::Ok();
  FB_RETURN_IF_ERROR(
      r.Only({"default_severity", "open_incident_up_to", "max_agent_severity", "rules"}));
  FB_RETURN_IF_ERROR(r.Int("default_severity", p.default_severity, 1, 4));
  FB_RETURN_IF_ERROR(r.Int("open_incident_up_to", p.open_incident_up_to, 0, 4));
  FB_RETURN_IF_ERROR(r.Int("max_agent_severity", p.max_agent_severity, 1, 4));
  if (const toml::node* n = r.raw()->get("rules")) {
    const toml::array* rules = n->as_array();
    if (!rules) return r.Error("rules", "must be an array of tables ([[classification.rules]])");
    for (size_t i = 0; i < rules->size(); ++i) {
      const toml::table* t = (*rules)[i].as_table();
      if (!t) return r.Error("rules", "must be an array of tables ([[classification.rules]])");
      Reader rr(t, "classification.rules[" + std::to_string(i) + "]", r.file());
      FB_RETURN_IF_ERROR(rr.Only({"name", "kind", "severity", "reason"}));
      ClassificationRule rule;
      FB_RETURN_IF_ERROR(rr.String("name", rule.name));
      FB_RETURN_IF_ERROR(rr.String("kind", rule.kind));
      FB_RETURN_IF_ERROR(rr.Int("severity", rule.severity, 0, 4));
      FB_RETURN_IF_ERROR(rr.String("reason", rule.reason));
      p.rules.push_back(rule);
    }
  }
  return CheckPolicy(p);
}

Status ReadDetect(const Reader& r, DetectionOptions& p) {
  if (!r.present()) return Status::Ok();
  FB_RETURN_IF_ERROR(r.Only({"enabled", "default_region", "regions", "agent_regions", "kinds",
                             "allow_user_identity", "allow", "quality"}));
  FB_RETURN_IF_ERROR(r.Bool("enabled", p.enabled));
  FB_RETURN_IF_ERROR(r.String("default_region", p.pii.default_region));
  FB_RETURN_IF_ERROR(r.Strings("regions", p.pii.regions));
  Reader agent_regions = r.Table("agent_regions");
  if (agent_regions.present()) {
    for (const auto& [agent, node] : *agent_regions.raw()) {
      std::string name(agent.str());
      FB_RETURN_IF_ERROR(agent_regions.Strings(name.c_str(), p.pii.agent_regions[name]));
    }
  }
  FB_RETURN_IF_ERROR(r.Strings("kinds", p.pii.kinds));
  FB_RETURN_IF_ERROR(r.Bool("allow_user_identity", p.pii.allow_user_identity));
  Reader allow = r.Table("allow");
  if (allow.present()) {
    for (const auto& [agent, node] : *allow.raw()) {
      std::string name(agent.str());
      FB_RETURN_IF_ERROR(allow.Strings(name.c_str(), p.pii.allow[name]));
    }
  }
  Reader q = r.Table("quality");
  FB_RETURN_IF_ERROR(q.Only({"window_minutes", "baseline_hours", "cooldown_minutes", "min_samples",
                             "error_rate_increase", "error_rate_ratio",
                             "negative_feedback_increase", "score_drop", "drift_delta",
                             "drift_lambda", "drift_min_samples"}));
  auto& o = p.quality;
  int64_t window_minutes = o.window_ms / 60'000, baseline_hours = o.baseline_ms / 3'600'000,
          cooldown_minutes = o.cooldown_ms / 60'000;
  FB_RETURN_IF_ERROR(q.Int("window_minutes", window_minutes, 1, 24 * 60));
  FB_RETURN_IF_ERROR(q.Int("baseline_hours", baseline_hours, 1, 24 * 30));
  FB_RETURN_IF_ERROR(q.Int("cooldown_minutes", cooldown_minutes, 0, 7 * 24 * 60));
  o.window_ms = window_minutes * 60'000;
  o.baseline_ms = baseline_hours * 3'600'000;
  o.cooldown_ms = cooldown_minutes * 60'000;
  FB_RETURN_IF_ERROR(q.Int("min_samples", o.min_samples, 1, 1'000'000));
  FB_RETURN_IF_ERROR(q.Double("error_rate_increase", o.error_rate_increase));
  FB_RETURN_IF_ERROR(q.Double("error_rate_ratio", o.error_rate_ratio));
  FB_RETURN_IF_ERROR(q.Double("negative_feedback_increase", o.negative_feedback_increase));
  FB_RETURN_IF_ERROR(q.Double("score_drop", o.score_drop));
  FB_RETURN_IF_ERROR(q.Double("drift_delta", o.drift_delta));
  FB_RETURN_IF_ERROR(q.Double("drift_lambda", o.drift_lambda));
  FB_RETURN_IF_ERROR(q.Int("drift_min_samples", o.drift_min_samples, 1, 10'000'000));
  return Status::Ok();
}

Status Secret(const Reader& r, const char* key, std::string& out,
              const std::function<const char*(const char*)>& getenv) {
  FB_RETURN_IF_ERROR(r.String(key, out));
  if (out.rfind("env:", 0) == 0) {
    std::string name = out.substr(4);
    const char* v = getenv(name.c_str());
    if (!v || !*v) return r.Error(key, "names environment variable " + name + ", which is not set");
    out = v;
  }
  return Status::Ok();
}

Status ReadPaging(const Reader& r, paging::PagingPolicy& p,
                  const std::function<const char*(const char*)>& getenv) {
  if (!r.present()) return paging::CheckPolicy(p);
  FB_RETURN_IF_ERROR(r.Only({"ack_timeout_minutes", "repeat", "incident_url", "escalation",
                             "business_hours", "business_hours_targets", "backlog_targets",
                             "backlog_reminder_hours", "retry_base_ms", "retry_max_ms",
                             "lease_seconds", "targets"}));
  FB_RETURN_IF_ERROR(r.Int("ack_timeout_minutes", p.ack_timeout_minutes, 1, 24 * 60));
  FB_RETURN_IF_ERROR(r.Int("repeat", p.repeat, 0, 100));
  FB_RETURN_IF_ERROR(r.String("incident_url", p.incident_url));
  FB_RETURN_IF_ERROR(r.Strings("business_hours_targets", p.business_hours_targets));
  FB_RETURN_IF_ERROR(r.Strings("backlog_targets", p.backlog_targets));
  FB_RETURN_IF_ERROR(r.Int("backlog_reminder_hours", p.backlog_reminder_hours, 0, 24 * 7));
  FB_RETURN_IF_ERROR(r.Int("retry_base_ms", p.retry_base_ms, 1, 3'600'000));
  FB_RETURN_IF_ERROR(r.Int("retry_max_ms", p.retry_max_ms, 1, 24 * 3'600'000));
  int64_t lease_seconds = p.lease_ms / 1000;
  FB_RETURN_IF_ERROR(r.Int("lease_seconds", lease_seconds, 1, 3600));
  p.lease_ms = lease_seconds * 1000;
  if (const toml::node* n = r.raw()->get("escalation")) {
    const toml::array* steps = n->as_array();
    if (!steps) return r.Error("escalation", "must be an array of arrays of target names");
    for (const auto& step : *steps) {
      const toml::array* names = step.as_array();
      if (!names) return r.Error("escalation", "must be an array of arrays of target names");
      std::vector<std::string> targets;
      for (const auto& name : *names) {
        if (!name.is_string()) return r.Error("escalation", "must be an array of arrays of target names");
        targets.push_back(*name.value<std::string>());
      }
      p.escalation.push_back(std::move(targets));
    }
  }
  Reader bh = r.Table("business_hours");
  FB_RETURN_IF_ERROR(bh.Only({"time_zone", "working_days", "start", "end", "holidays"}));
  FB_RETURN_IF_ERROR(bh.String("time_zone", p.business_hours.time_zone));
  FB_RETURN_IF_ERROR(bh.Ints("working_days", p.business_hours.working_days));
  FB_RETURN_IF_ERROR(bh.String("start", p.business_hours.start));
  FB_RETURN_IF_ERROR(bh.String("end", p.business_hours.end));
  FB_RETURN_IF_ERROR(bh.Strings("holidays", p.business_hours.holidays));
  Reader targets = r.Table("targets");
  if (targets.present()) {
    for (const auto& [key, node] : *targets.raw()) {
      std::string name(key.str());
      Reader t = targets.Table(name.c_str());
      if (!t.present()) return targets.Error(name, "must be a table");
      FB_RETURN_IF_ERROR(t.Only({"type", "url", "routing_key", "secret", "timeout_ms"}));
      paging::Target target;
      target.name = name;
      FB_RETURN_IF_ERROR(t.String("type", target.type));
      FB_RETURN_IF_ERROR(Secret(t, "url", target.url, getenv));  // Slack URLs are secrets too
      if (target.type == "pagerduty" && target.url.empty()) {
        target.url = "https://events.pagerduty.com/v2/enqueue";
      }
      FB_RETURN_IF_ERROR(Secret(t, "routing_key", target.routing_key, getenv));
      FB_RETURN_IF_ERROR(Secret(t, "secret", target.secret, getenv));
      FB_RETURN_IF_ERROR(t.Int("timeout_ms", target.timeout_ms, 100, 120'000));
      p.targets[name] = target;
    }
  }
  return paging::CheckPolicy(p);
}

// [isolation]
//   auto = { "SEV-1" = ["rollback", "memory", "traces", "banner"], "SEV-2" = ["rollback"] }
//   auto_only_for_signals = ["pii", "action.unauthorised"]
Status ReadIsolation(const Reader& r, IsolationPolicy& p) {
  if (!r.present()) return Status::Ok();
  FB_RETURN_IF_ERROR(r.Only({"auto", "auto_only_for_signals"}));
  if (const toml::node* n = r.raw()->get("auto")) {
    const toml::table* t = n->as_table();
    if (!t) return r.Error("auto", "must be a table of severity = [steps], e.g. { \"SEV-1\" = [\"rollback\"] }");
    Reader a(t, "isolation.auto", r.file());
    for (const auto& [key, node] : *t) {
      std::string name(key.str());
      auto severity = ParseSeverity(name);
      if (!severity || *severity == Severity::kUnclassified) {
        return a.Error(name, "is not a severity (SEV-1..SEV-4)");
      }
      std::vector<std::string> names;
      FB_RETURN_IF_ERROR(a.Strings(name.c_str(), names));
      auto steps = ParseIsolationSteps(names);
      if (!steps.ok()) return a.Error(name, "names an " + steps.status().message());
      if (names.empty()) steps->clear();  // [] means nothing automatic for this severity
      p.auto_steps[static_cast<int>(*severity)] = *steps;
    }
  }
  FB_RETURN_IF_ERROR(r.Strings("auto_only_for_signals", p.auto_only_for_signals));
  for (const auto& kind : p.auto_only_for_signals) {
    if (kind.empty() || kind.size() > 128) {
      return r.Error("auto_only_for_signals", "must hold signal kinds of 1..128 bytes");
    }
  }
  return Status::Ok();
}

// [alertmanager]
//   agent_label = "ai_agent"
//   default_severity = 3
Status ReadAlertmanager(const Reader& r, AlertmanagerPolicy& p) {
  if (!r.present()) return Status::Ok();
  FB_RETURN_IF_ERROR(r.Only({"agent_label", "default_severity"}));
  FB_RETURN_IF_ERROR(r.String("agent_label", p.agent_label));
  // Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*.
  bool valid = !p.agent_label.empty() && p.agent_label.size() <= 128 &&
               !std::isdigit(static_cast<unsigned char>(p.agent_label[0])) &&
               std::all_of(p.agent_label.begin(), p.agent_label.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '_';
               });
  if (!valid) return r.Error("agent_label", "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)");
  return r.Int("default_severity", p.default_severity, 1, 4);
}

}  // namespace

StatusOr<ResponsePolicy> LoadResponsePolicy(const std::string& config_path,
                                            const std::function<const char*(const char*)>& getenv) {
  ResponsePolicy policy;
  if (config_path.empty()) {
    FB_RETURN_IF_ERROR(paging::CheckPolicy(policy.paging));
    return policy;
  }
  toml::table table;
  try {
    table = toml::parse_file(config_path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config " + config_path + ": " + std::string(e.description()));
  }
  auto section = [&](const char* key) {
    const toml::node* n = table.get(key);
    return Reader(n ? n->as_table() : nullptr, key, config_path);
  };
  auto prefixed = [&](Status s) {
    if (s.ok() || s.message().rfind("config ", 0) == 0) return s;
    return Status(s.code(), "config " + config_path + ": " + s.message());
  };
  FB_RETURN_IF_ERROR(prefixed(ReadClassification(section("classification"), policy.classification)));
  FB_RETURN_IF_ERROR(prefixed(ReadDetect(section("detect"), policy.detect)));
  Reader comms = section("comms");
  if (comms.present()) {
    FB_RETURN_IF_ERROR(prefixed(comms.Only({"notify_target", "internal_targets"})));
    FB_RETURN_IF_ERROR(prefixed(comms.String("notify_target", policy.paging.user_notice_target)));
    FB_RETURN_IF_ERROR(prefixed(comms.Strings("internal_targets", policy.paging.internal_update_targets)));
  }
  FB_RETURN_IF_ERROR(prefixed(ReadPaging(section("paging"), policy.paging, getenv)));
  FB_RETURN_IF_ERROR(prefixed(ReadIsolation(section("isolation"), policy.isolation)));
  FB_RETURN_IF_ERROR(prefixed(ReadAlertmanager(section("alertmanager"), policy.alertmanager)));
  return policy;
}

}  // namespace firebreak
