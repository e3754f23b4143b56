// API: the v1 HTTP endpoints, as thin handlers over the domain services.
//
// Each handler authenticates the bearer token, checks the role, decodes the JSON body, calls
// one domain operation and encodes the result; domain errors become HTTP errors through
// http::Error only. Nothing here touches the store directly except /metrics' store figures.
#pragma once

#include <string>

#include "audit/event_log.h"
#include "audit/timeline_feed.h"
#include "comms/comms_service.h"
#include "auth/auth.h"
#include "common/clock.h"
#include "common/readiness.h"
#include "http/metrics.h"
#include "http/router.h"
#include "incidents/incident_service.h"
#include "isolation/isolation_service.h"
#include "memory/memory_service.h"
#include "notify/user_notifier.h"
#include "paging/pager.h"
#include "postmortem/postmortem_service.h"
#include "regress/regress_service.h"
#include "releases/release_service.h"
#include "signals/detection.h"
#include "signals/rules.h"
#include "signals/signal_service.h"
#include "store/store.h"
#include "traces/trace_service.h"

namespace firebreak::api {

struct Deps {
  Store& store;
  const EventLog& log;
  TokenService& tokens;
  IncidentService& incidents;
  ReleaseService& releases;
  MemoryService& memory;
  traces::TraceService& traces;
  SignalService& signals;
  IsolationService& isolation;
  DetectionPipeline& detection;
  paging::Pager& pager;
  notify::UserNotifier& notifier;
  http::HttpMetrics& metrics;
  const Clock& clock;
  std::string version;
  const Readiness& readiness;
  CommsService& comms;
  TimelineFeed& timeline;
  const AlertmanagerPolicy& alertmanager;  // how the Alertmanager webhook reads labels
  PostmortemService& postmortems;
  regress::RegressionService& regressions;
};

// Registers every v1 route on `router`. `deps` must outlive the router.
void RegisterRoutes(http::Router& router, const Deps& deps);

}  // namespace firebreak::api
