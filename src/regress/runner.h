// Running one case: the request a provider gets, its attempts, and the verdict. An attempt
// passes when every assertion holds and replay found no mismatch; it errors when the provider
// gave no usable answer. A case passes when at least `pass_at_least` of its `repeat` attempts
// pass; otherwise it fails when an attempt failed, and errors when none failed (the agent never
// answered well enough to be judged). Pure apart from the provider calls (docs/regress.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "regress/assertions.h"
#include "regress/case.h"
#include "regress/provider.h"
#include "regress/replay.h"

namespace firebreak::regress {

// Returns what a provider receives for one attempt of a case.
nlohmann::json CaseRequest(int64_t case_id, const std::string& name, const std::string& agent,
                           const std::string& version, const CaseSpec& spec, int attempt);

// What a provider returned for one attempt: the answer JSON or why there is none.
struct RawAttempt {
  StatusOr<nlohmann::json> answer = Unavailable("not run");
  int64_t duration_ms = 0;
};

// Calls the provider spec.repeat times (attempts numbered from 1), one after the other.
std::vector<RawAttempt> CallAttempts(const Provider& provider, int64_t case_id,
                                     const std::string& name, const std::string& agent,
                                     const std::string& version, const CaseSpec& spec);

struct AttemptOutcome {
  int attempt = 1;
  std::string status;  // passed, failed, errored
  std::string error;   // errored: why
  int64_t duration_ms = 0;
  std::optional<AgentAnswer> answer;
  std::vector<AssertionResult> assertions;
  ReplayReport replay;
};

// Judges one attempt's raw answer against the case.
AttemptOutcome JudgeAttempt(const CaseSpec& spec, int attempt, const RawAttempt& raw,
                            const JudgeContext& ctx);

struct CaseOutcome {
  std::string status;   // passed, failed, errored
  std::string summary;  // one line: why it failed or errored, or how many attempts passed
  std::vector<AttemptOutcome> attempts;
};

// Decides a case from its judged attempts.
CaseOutcome DecideCase(const CaseSpec& spec, std::vector<AttemptOutcome> attempts);

// The bytes of an answer's output kept with a result.
inline constexpr size_t kKeptOutput = 16 * 1024;

// Returns an attempt as stored and shown: {attempt, status, error, duration_ms, answer,
// assertions: [{type, passed, expected, seen}], replay: {served, unconsumed, live, mismatches}}.
nlohmann::json AttemptToJson(const AttemptOutcome& a);

}  // namespace firebreak::regress
