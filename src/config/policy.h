// The response policy: how signals are classified, how the detectors judge, whom to page when,
// whom to notify, which isolation steps run by themselves and how Alertmanager's labels are
// read, from the [classification], [detect], [paging], [comms], [isolation] and [alertmanager]
// tables of the same TOML file as
// the settings (docs/detection.md lists every key with its default). Without a file, the
// defaults apply: the runbook's rules, every detector on, office hours Mon-Fri 09:00-17:00
// UTC, no paging targets (pages are recorded on the timeline, delivered nowhere) and no
// automatic isolation.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "isolation/isolation_service.h"
#include "paging/pager.h"
#include "signals/detection.h"
#include "signals/rules.h"

namespace firebreak {

struct ResponsePolicy {
  ClassificationPolicy classification;
  DetectionOptions detect;
  paging::PagingPolicy paging;
  IsolationPolicy isolation;
  AlertmanagerPolicy alertmanager;
};

// Reads the policy tables of `config_path` (empty: defaults). Secrets may be given as
// "env:NAME" and are then read from the environment through `getenv`. kInvalidArgument names
// the file and the bad key.
StatusOr<ResponsePolicy> LoadResponsePolicy(const std::string& config_path,
                                            const std::function<const char*(const char*)>& getenv);

}  // namespace firebreak
