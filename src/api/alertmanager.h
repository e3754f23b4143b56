// The Prometheus Alertmanager webhook payload (version 4), read into signals: the pure parse
// behind POST /api/v1/alerts/alertmanager, apart from the handler so that the fuzz target
// (fuzz/alertmanager_fuzzer.cc) runs exactly what the route runs.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "common/status.h"
#include "signals/rules.h"
#include "signals/signal_service.h"

namespace firebreak::api {

// Returns one signal per alert of `body` (no store access): the agent from the policy's agent
// label, the severity suggested by the `severity` label (AlertSeverity), else the policy's
// default. kInvalidArgument names the first field of the envelope with the wrong shape
// ("alerts[2].status must be firing or resolved"); a label's value never refuses the payload.
StatusOr<std::vector<NewSignal>> AlertmanagerSignals(const nlohmann::json& body,
                                                     const AlertmanagerPolicy& policy);

}  // namespace firebreak::api
