#include "incidents/state.h"

#include <array>
#include <string>
#include <utility>

namespace firebreak {
namespace {

constexpr std::array<std::pair<IncidentState, std::string_view>, 7> kNames = {{
    {IncidentState::kDetected, "detected"},
    {IncidentState::kTriaged, "triaged"},
    {IncidentState::kIsolated, "isolated"},
    {IncidentState::kInvestigating, "investigating"},
    {IncidentState::kMitigated, "mitigated"},
    {IncidentState::kResolved, "resolved"},
    {IncidentState::kClosed, "closed"},
}};

}  // namespace

std::string_view StateName(IncidentState s) { return kNames[static_cast<size_t>(s)].second; }

std::optional<IncidentState> ParseState(std::string_view text) {
  for (const auto& [state, name] : kNames) {
    if (name == text) return state;
  }
  return std::nullopt;
}

std::vector<IncidentState> NextStates(IncidentState from) {
  using S = IncidentState;
  switch (from) {
    case S::kDetected: return {S::kTriaged};
    case S::kTriaged: return {S::kIsolated, S::kInvestigating, S::kMitigated, S::kResolved};
    case S::kIsolated: return {S::kInvestigating, S::kMitigated, S::kResolved};
    case S::kInvestigating: return {S::kIsolated, S::kMitigated, S::kResolved};
    case S::kMitigated: return {S::kInvestigating, S::kResolved};
    case S::kResolved: return {S::kClosed, S::kInvestigating};
    case S::kClosed: return {};
  }
  return {};
}

Status CheckTransition(IncidentState from, IncidentState to) {
  for (IncidentState next : NextStates(from)) {
    if (next == to) return Status::Ok();
  }
  std::string why = "cannot move from " + std::string(StateName(from)) + " to " +
                    std::string(StateName(to));
  if (from == IncidentState::kClosed) return Conflict(why + ": a closed incident is final");
  if (from == IncidentState::kDetected) {
    return Conflict(why + ": classify the incident first (it is still unclassified)");
  }
  if (from == to) return Conflict(why + ": the incident is already " + std::string(StateName(to)));
  std::string allowed;
  for (IncidentState next : NextStates(from)) {
    allowed += (allowed.empty() ? "" : ", ") + std::string(StateName(next));
  }
  return Conflict(why + " (allowed: " + allowed + ")");
}

bool IsOpen(IncidentState s) { return s != IncidentState::kResolved && s != IncidentState::kClosed; }

}  // namespace firebreak
