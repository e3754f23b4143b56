// The incident state machine: which states exist and which moves between them are legal.
//
//   detected -> triaged -> isolated / investigating / mitigated -> resolved -> closed
//
// An incident leaves `detected` only by being classified; `resolved` may be reopened into
// `investigating`; `closed` is final.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace firebreak {

enum class IncidentState {
  kDetected,
  kTriaged,
  kIsolated,
  kInvestigating,
  kMitigated,
  kResolved,
  kClosed,
};

std::string_view StateName(IncidentState s);
std::optional<IncidentState> ParseState(std::string_view text);

// Returns the states reachable from `from` in one move.
std::vector<IncidentState> NextStates(IncidentState from);

// Returns OK when `from` -> `to` is legal, otherwise kConflict with the reason and the moves
// that are allowed.
Status CheckTransition(IncidentState from, IncidentState to);

// Returns true while the incident still needs work (not resolved and not closed).
bool IsOpen(IncidentState s);

}  // namespace firebreak
