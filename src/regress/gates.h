// The gates the regression battery keeps (docs/regress.md):
//   BatteryGate, the promotion gate: a version becomes stable only when the newest finished run
//   of the agent's whole battery on it passed by these rules: every case marked required
//   passes; no case that passed on the current stable version fails; a case missing from the
//   run or errored fails the gate. An agent without any case is not gated.
//   CaseCloseRequirement: an incident closes only when it has a regression case and each of
//   its cases passed in its latest run on the agent's current stable version.
// Both read inside the caller's transaction and hold no state.
#pragma once

#include <string>
#include <vector>

#include "incidents/incident_service.h"
#include "releases/release_service.h"
#include "store/store.h"

namespace firebreak::regress {

class BatteryGate final : public PromotionGate {
 public:
  // kConflict listing the failing, missing and errored cases, and the run judged.
  Status Check(Txn& txn, const AgentVersionRecord& version) const override;
};

class CaseCloseRequirement final : public CloseRequirement {
 public:
  Status Check(Txn& txn, const IncidentRecord& incident,
               std::vector<std::string>& missing) const override;
};

}  // namespace firebreak::regress
