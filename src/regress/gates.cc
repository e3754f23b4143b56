#include "regress/gates.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace firebreak::regress {
namespace {

std::string CaseName(const RegressionCaseRecord& c) {
  return "#" + std::to_string(c.id) + " '" + c.name + "'";
}

std::string List(const std::vector<std::string>& items) {
  std::string out;
  size_t shown = std::min<size_t>(items.size(), 20);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
  return out;
}

std::string RunHint(const std::string& agent, const std::string& version) {
  return "run it with `firebreak regress run --agent " + agent + " --version " + version + "`";
}

}  // namespace

Status BatteryGate::Check(Txn& txn, const AgentVersionRecord& version) const {
  const std::string& agent = version.agent;
  FB_ASSIGN_OR_RETURN(auto cases, txn.regressions().ListCases({agent, std::nullopt, 0, 100'000}));
  if (cases.empty()) return Status::Ok();
  std::string subject = "promoting '" + agent + "' " + version.version + " is refused by the regression battery";
  FB_ASSIGN_OR_RETURN(auto run, txn.regressions().LatestWholeRun(agent, version.version));
  if (!run) {
    return Conflict(subject + ": no finished run of the whole battery (" +
                    std::to_string(cases.size()) + " cases) on " + version.version + "; " +
                    RunHint(agent, version.version));
  }
  FB_ASSIGN_OR_RETURN(auto results, txn.regressions().Results(run->id));
  std::map<int64_t, RegressionResultRecord> by_case;
  for (auto& r : results) by_case[r.case_id] = std::move(r);
  FB_ASSIGN_OR_RETURN(AgentRecord a, txn.releases().GetAgent(agent));
  bool stable_elsewhere = !a.stable_version.empty() && a.stable_version != version.version;

  std::vector<std::string> failing, missing, errored;
  for (const auto& c : cases) {
    auto it = by_case.find(c.id);
    if (it == by_case.end()) {
      missing.push_back(CaseName(c));
    } else if (it->second.status == "errored") {
      errored.push_back(CaseName(c) + " (" + it->second.summary + ")");
    } else if (it->second.status == "failed") {
      std::string why;
      if (c.required) {
        why = "required";
      } else if (stable_elsewhere) {
        FB_ASSIGN_OR_RETURN(auto on_stable,
                            txn.regressions().LatestResult(c.id, agent, a.stable_version));
        if (on_stable && on_stable->status == "passed") why = "passed on stable " + a.stable_version;
      }
      if (!why.empty()) failing.push_back(CaseName(c) + " [" + why + "]: " + it->second.summary);
    }
  }
  if (failing.empty() && missing.empty() && errored.empty()) return Status::Ok();
  std::string msg = subject + " (run #" + std::to_string(run->id) + ")";
  if (!failing.empty()) msg += "; failing: " + List(failing);
  if (!missing.empty()) msg += "; missing from the run: " + List(missing);
  if (!errored.empty()) msg += "; errored: " + List(errored);
  if (!missing.empty() || !errored.empty()) msg += "; " + RunHint(agent, version.version);
  return Conflict(msg);
}

Status CaseCloseRequirement::Check(Txn& txn, const IncidentRecord& incident,
                                   std::vector<std::string>& missing) const {
  std::string name = IncidentName(incident.id);
  FB_ASSIGN_OR_RETURN(auto cases,
                      txn.regressions().ListCases({"", incident.id, 0, 1000}));
  if (cases.empty()) {
    missing.push_back("a regression case: " + name +
                      " has none; make one from its evidence with `firebreak regress add --trace "
                      "HASH --incident " + name + "`");
    return Status::Ok();
  }
  auto agent = txn.releases().GetAgent(incident.agent);
  if (agent.status().code() == StatusCode::kNotFound || (agent.ok() && agent->stable_version.empty())) {
    missing.push_back("a stable version of '" + incident.agent +
                      "' for the regression case to pass on: promote one that passes");
    return Status::Ok();
  }
  FB_RETURN_IF_ERROR(agent.status());
  const std::string& stable = agent->stable_version;
  for (const auto& c : cases) {
    FB_ASSIGN_OR_RETURN(auto result, txn.regressions().LatestResult(c.id, c.agent, stable));
    if (!result) {
      missing.push_back("a passing run of regression case " + CaseName(c) + " on " + stable +
                        ", the stable version of '" + c.agent + "': it has not run on it");
    } else if (result->status != "passed") {
      missing.push_back("a passing run of regression case " + CaseName(c) + " on " + stable +
                        ", the stable version of '" + c.agent + "': it " + result->status +
                        " in run #" + std::to_string(result->run_id) + " (" + result->summary + ")");
    }
  }
  return Status::Ok();
}

}  // namespace firebreak::regress
