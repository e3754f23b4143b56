// The Prometheus Alertmanager webhook payload (version 4), read into signals: the pure parse
// behind POST /api/v1/alerts/alertmanager, apart from the handler so that the fuzz target
// (fuzz/alertmanager_fuzzer.cc) runs exactly what the route runs.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "common/status.h"
#include "signals/signal_service.h"

namespace firebreak::api {

// Returns one signal per alert of `body` (no store access); kInvalidArgument naming the first
// bad field ("alerts[2].labels.alertname is required").
StatusOr<std::vector<NewSignal>> AlertmanagerSignals(const nlohmann::json& body);

}  // namespace firebreak::api
