#include "api/json.h"

#include "incidents/incident_service.h"
#include "incidents/severity.h"
#include "incidents/state.h"

namespace firebreak::api {
nlohmann::json OptTime(const std::optional<TimeMs>& t) {
  return t ? nlohmann::json(FormatTime(*t)) : nlohmann::json(nullptr);
}

nlohmann::json IncidentJson(const IncidentRecord& r) {
  auto state = ParseState(r.state).value_or(IncidentState::kDetected);
  auto severity = static_cast<Severity>(r.severity);
  nlohmann::json j = {
      {"id", IncidentName(r.id)},
      {"number", r.id},
      {"title", r.title},
      {"agent", r.agent},
      {"severity", r.severity ? nlohmann::json(SeverityName(severity)) : nlohmann::json(nullptr)},
      {"state", r.state},
      {"open", IsOpen(state)},
      {"detected_at", FormatTime(r.detected_at)},
      {"classified_at", OptTime(r.classified_at)},
      {"classified_by", r.classified_by},
      {"classification_reason", r.classification_reason},
      {"time_to_classify_ms", r.classified_at ? nlohmann::json(*r.classified_at - r.detected_at)
                                              : nlohmann::json(nullptr)},
      {"acked_at", OptTime(r.acked_at)},
      {"acked_by", r.acked_by},
      {"commander", r.commander},
      {"resolved_at", OptTime(r.resolved_at)},
      {"closed_at", OptTime(r.closed_at)},
      {"contained_at", OptTime(r.contained_at)},
      {"time_to_contain_ms", r.time_to_contain_ms ? nlohmann::json(*r.time_to_contain_ms)
                                                  : nlohmann::json(nullptr)},
      {"signals", nlohmann::json::parse(r.signals_json, nullptr, false)},
      {"links", nlohmann::json::parse(r.links_json, nullptr, false)},
      {"created_by", r.created_by},
      {"created_at", FormatTime(r.created_at)},
      {"updated_at", FormatTime(r.updated_at)},
  };
  if (r.severity) j["paging"] = PagingClassName(SeverityInfoFor(severity).paging);
  return j;
}

nlohmann::json IsolationJson(const IsolationReport& r) {
  nlohmann::json steps = nlohmann::json::array();
  bool failed = false;
  for (const StepReport& s : r.steps) {
    steps.push_back({{"step", s.step},
                     {"outcome", s.outcome},
                     {"summary", s.summary},
                     {"counts", s.counts},
                     {"at", s.at ? nlohmann::json(FormatTime(s.at)) : nlohmann::json(nullptr)}});
    failed = failed || s.outcome == "failed";
  }
  return {{"incident", IncidentJson(r.incident)},
          {"dry_run", r.dry_run},
          {"window", {{"from", FormatTime(r.window_from)},
                      {"to", FormatTime(r.window_to)},
                      {"source", r.window_source}}},
          {"steps", steps},
          {"failed", failed},
          {"isolated_now", r.isolated_now}};
}

nlohmann::json EventJson(const EventRecord& e) {
  return {
      {"seq", e.seq},
      {"incident", e.incident_id ? nlohmann::json(IncidentName(*e.incident_id)) : nlohmann::json(nullptr)},
      {"at", FormatTime(e.at)},
      {"actor", e.actor},
      {"kind", e.kind},
      {"details", nlohmann::json::parse(e.details_json, nullptr, false)},
      {"hash", e.hash},
  };
}

nlohmann::json TokenJson(const TokenRecord& t) {
  nlohmann::json j = {
      {"id", t.id},
      {"name", t.name},
      {"role", t.role},
      {"prefix", t.prefix},
      {"created_by", t.created_by},
      {"created_at", FormatTime(t.created_at)},
      {"revoked_at", t.revoked_at ? nlohmann::json(FormatTime(*t.revoked_at)) : nlohmann::json(nullptr)},
  };
  if (!t.agent.empty()) j["agent"] = t.agent;
  return j;
}

namespace {

nlohmann::json OptText(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

nlohmann::json AgentJson(const AgentRecord& a) {
  return {{"agent", a.agent},
          {"current_version", OptText(a.current_version)},
          {"stable_version", OptText(a.stable_version)},
          {"enabled", a.enabled},
          {"revision", a.revision},
          {"created_at", FormatTime(a.created_at)},
          {"updated_at", FormatTime(a.updated_at)}};
}

nlohmann::json AgentVersionJson(const AgentVersionRecord& v) {
  return {{"agent", v.agent},
          {"version", v.version},
          {"manifest", nlohmann::json::parse(v.manifest_json, nullptr, false)},
          {"pulled", v.pulled},
          {"pulled_at", OptTime(v.pulled_at)},
          {"pulled_by", v.pulled_by},
          {"created_by", v.created_by},
          {"created_at", FormatTime(v.created_at)}};
}

nlohmann::json PointerChangeJson(const PointerChangeRecord& c) {
  return {{"revision", c.revision},
          {"at", FormatTime(c.at)},
          {"actor", c.actor},
          {"action", c.action},
          {"from", OptText(c.from_version)},
          {"to", OptText(c.to_version)},
          {"reason", c.reason},
          {"incident", c.incident_id ? nlohmann::json(IncidentName(*c.incident_id))
                                     : nlohmann::json(nullptr)}};
}

nlohmann::json RuntimeJson(const RuntimeState& s) {
  return {{"agent", s.agent},
          {"enabled", s.enabled},
          {"version", OptText(s.version)},
          {"manifest", s.manifest},
          {"stable_version", OptText(s.stable_version)},
          {"revision", s.revision},
          {"updated_at", FormatTime(s.updated_at)}};
}

}  // namespace firebreak::api
