// JSON encodings of domain records, shared by the API handlers (and read back by the CLI).
#pragma once

#include <nlohmann/json.hpp>

#include "auth/auth.h"
#include "isolation/isolation_service.h"
#include "releases/release_service.h"
#include "store/store.h"

namespace firebreak::api {

// An RFC 3339 time, or null.
nlohmann::json OptTime(const std::optional<TimeMs>& t);
nlohmann::json IncidentJson(const IncidentRecord& r);
nlohmann::json EventJson(const EventRecord& e);
nlohmann::json TokenJson(const TokenRecord& t);
nlohmann::json AgentJson(const AgentRecord& a);
nlohmann::json AgentVersionJson(const AgentVersionRecord& v);
nlohmann::json PointerChangeJson(const PointerChangeRecord& c);
nlohmann::json RuntimeJson(const RuntimeState& s);
nlohmann::json IsolationJson(const IsolationReport& r);

}  // namespace firebreak::api
