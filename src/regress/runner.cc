#include "regress/runner.h"

#include <chrono>

#include "common/text.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

// The first reason an attempt did not pass, in one line.
std::string FirstReason(const AttemptOutcome& a) {
  if (a.status == "errored") return "error: " + a.error;
  for (const auto& r : a.assertions) {
    if (!r.passed) return r.type + ": expected " + r.expected + "; " + r.seen;
  }
  if (!a.replay.mismatches.empty()) {
    const auto& m = a.replay.mismatches.front();
    return "replay-mismatch: " + m.tool + " called with " +
           TruncateUtf8(m.args.dump(-1, ' ', false, Json::error_handler_t::replace), 200, "...") +
           "; recorded: " + m.expected;
  }
  return "";
}

}  // namespace

Json CaseRequest(int64_t case_id, const std::string& name, const std::string& agent,
                 const std::string& version, const CaseSpec& spec, int attempt) {
  Json mocks = Json::array();
  for (const auto& m : spec.mocks) {
    mocks.push_back({{"tool", m.tool}, {"args", m.args}, {"output", m.output}});
  }
  Json retrieved = Json::array();
  for (const auto& r : spec.retrieved) {
    retrieved.push_back({{"source", r.source}, {"content", r.content}});
  }
  return {{"case", case_id},       {"name", name},         {"agent", agent},
          {"version", version},    {"attempt", attempt},   {"input", spec.input},
          {"context", spec.context}, {"retrieved", retrieved}, {"tool_mocks", mocks}};
}

std::vector<RawAttempt> CallAttempts(const Provider& provider, int64_t case_id,
                                     const std::string& name, const std::string& agent,
                                     const std::string& version, const CaseSpec& spec) {
  std::vector<RawAttempt> out;
  for (int attempt = 1; attempt <= spec.repeat; ++attempt) {
    auto started = std::chrono::steady_clock::now();
    RawAttempt raw;
    raw.answer = provider.Call(CaseRequest(case_id, name, agent, version, spec, attempt));
    raw.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started).count();
    out.push_back(std::move(raw));
  }
  return out;
}

AttemptOutcome JudgeAttempt(const CaseSpec& spec, int attempt, const RawAttempt& raw,
                            const JudgeContext& ctx) {
  AttemptOutcome a;
  a.attempt = attempt;
  a.duration_ms = raw.duration_ms;
  if (!raw.answer.ok()) {
    a.status = "errored";
    a.error = TruncateUtf8(raw.answer.status().message(), 2000, "...");
    return a;
  }
  auto answer = AnswerFromJson(*raw.answer);
  if (!answer.ok()) {
    a.status = "errored";
    a.error = "the answer is malformed: " + answer.status().message();
    return a;
  }
  bool passed = true;
  for (const auto& assertion : spec.assertions) {
    a.assertions.push_back(Evaluate(assertion, *answer, ctx));
    passed = passed && a.assertions.back().passed;
  }
  a.replay = Replay(spec.mocks, answer->tool_calls);
  passed = passed && a.replay.mismatches.empty() && a.replay.live == 0;
  a.status = passed ? "passed" : "failed";
  a.answer = std::move(*answer);
  return a;
}

CaseOutcome DecideCase(const CaseSpec& spec, std::vector<AttemptOutcome> attempts) {
  CaseOutcome c;
  int passed = 0, failed = 0;
  for (const auto& a : attempts) {
    passed += a.status == "passed";
    failed += a.status == "failed";
  }
  int n = static_cast<int>(attempts.size());
  std::string tally = std::to_string(passed) + "/" + std::to_string(n) + " attempts passed";
  if (spec.pass_at_least > 1 || n > 1) tally += " (" + std::to_string(spec.pass_at_least) + " needed)";
  if (passed >= spec.pass_at_least) {
    c.status = "passed";
    c.summary = tally;
  } else {
    c.status = failed > 0 ? "failed" : "errored";
    for (const auto& a : attempts) {
      if (a.status == c.status) {
        c.summary = FirstReason(a);
        break;
      }
    }
    if (n > 1) c.summary = tally + "; " + c.summary;
  }
  c.summary = TruncateUtf8(c.summary, 2000, "...");
  c.attempts = std::move(attempts);
  return c;
}

Json AttemptToJson(const AttemptOutcome& a) {
  Json assertions = Json::array();
  for (const auto& r : a.assertions) assertions.push_back(AssertionResultToJson(r));
  Json j = {{"attempt", a.attempt},
            {"status", a.status},
            {"duration_ms", a.duration_ms},
            {"assertions", assertions},
            {"replay", ReplayToJson(a.replay)}};
  if (!a.error.empty()) j["error"] = a.error;
  j["answer"] = a.answer ? AnswerToJson(*a.answer, kKeptOutput) : Json(nullptr);
  return j;
}

}  // namespace firebreak::regress
