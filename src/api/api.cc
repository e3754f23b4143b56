#include "api/api.h"

#include "api/routes.h"

namespace firebreak::api {

void RegisterRoutes(http::Router& router, const Deps& deps) {
  RegisterHealth(router, deps);
  RegisterIncidents(router, deps);
  RegisterAdmin(router, deps);
  RegisterAgents(router, deps);
  RegisterMemory(router, deps);
  RegisterTraces(router, deps);
  RegisterSignals(router, deps);
  RegisterComms(router, deps);
  RegisterPostmortem(router, deps);
  RegisterRegressions(router, deps);
}

}  // namespace firebreak::api
