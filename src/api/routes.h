// The route groups of the API, one per area; api.cc registers them all.
#pragma once

#include "api/api.h"

namespace firebreak::api {

void RegisterHealth(http::Router& r, const Deps& d);
void RegisterIncidents(http::Router& r, const Deps& d);
void RegisterAdmin(http::Router& r, const Deps& d);
void RegisterAgents(http::Router& r, const Deps& d);
void RegisterMemory(http::Router& r, const Deps& d);
void RegisterTraces(http::Router& r, const Deps& d);
void RegisterSignals(http::Router& r, const Deps& d);
void RegisterComms(http::Router& r, const Deps& d);
void RegisterPostmortem(http::Router& r, const Deps& d);
void RegisterRegressions(http::Router& r, const Deps& d);

}  // namespace firebreak::api
