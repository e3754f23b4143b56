// Every route × every kind of caller, through real HTTP against the real binary: the status
// each principal gets is the one the docs give (docs/*.md role columns, docs/architecture.md
// auth paragraph). 401 for no, a bad or a revoked token; 403 for too low a role; an agent token
// acts only for its own agent (agent A on agent B's memory, traces, runtime, versions: 403, or
// 404 where saying 403 would tell A that B's object exists).
//
// Rows that change state either use a body the handler refuses after the role check (400:
// the caller got past authorization, nothing is written) or act on a fresh object per caller,
// so that every expectation holds whatever ran before it.
#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

enum Who { kNone, kBad, kRevoked, kAgentA, kAgentB, kViewer, kResponder, kAdmin, kWhoCount };
constexpr std::array<const char*, kWhoCount> kWhoNames = {
    "none", "bad token", "revoked token", "agent A", "agent B", "viewer", "responder", "admin"};
using Expect = std::array<int, kWhoCount>;

constexpr int U = 401;  // no, bad or revoked token: always this, whatever the route
constexpr int F = 403;

// The expectations of a route by its documented rule, `ok` being the success status.
constexpr Expect Public(int ok) { return {ok, ok, ok, ok, ok, ok, ok, ok}; }
constexpr Expect Viewer(int ok) { return {U, U, U, F, F, ok, ok, ok}; }
constexpr Expect Responder(int ok) { return {U, U, U, F, F, F, ok, ok}; }
constexpr Expect Admin(int ok) { return {U, U, U, F, F, F, F, ok}; }
// The agent's own token (B; the rows act on agent B) or responder+.
constexpr Expect OwnAgentOrResponder(int ok, int other_agent = F) {
  return {U, U, U, other_agent, ok, F, ok, ok};
}
// The agent's own token or viewer+.
constexpr Expect OwnAgentOrViewer(int ok, int other_agent = F) {
  return {U, U, U, other_agent, ok, ok, ok, ok};
}

constexpr const char* kA = "agent-a";
constexpr const char* kB = "agent-b";
// Agent B's traces: the first ones for the checks that nothing changed, the second ones for
// the table (where responders may legitimately add to them).
constexpr const char* kTraceB = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b1";
constexpr const char* kTraceB2 = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b2";
constexpr const char* kOtlpTraceB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1";
constexpr const char* kOtlpTraceB2 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";

struct Row {
  std::string method;
  std::string path;  // "{inc}": a fresh incident declared for each call
  std::string body;
  Expect expect;
  std::string why;  // the doc the expectation comes from
  bool stream = false;  // server-sent events: read the status line only
};

std::string OtlpJson(const std::string& service, const std::string& trace_id,
                     const std::string& span_id) {
  Json span = {{"traceId", trace_id},
               {"spanId", span_id},
               {"name", "invoke_agent"},
               {"startTimeUnixNano", "1790000000000000000"},
               {"endTimeUnixNano", "1790000000500000000"},
               {"attributes",
                {{{"key", "gen_ai.operation.name"}, {"value", {{"stringValue", "invoke_agent"}}}},
                 {{"key", "gen_ai.output.messages"},
                  {"value", {{"stringValue", "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                                             "\"content\":\"written by " + service + "\"}]}]"}}}}}}};
  return Json{{"resourceSpans",
               {{{"resource",
                  {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", service}}}}}}}},
                 {"scopeSpans", {{{"spans", {span}}}}}}}}}
      .dump();
}

class AuthzTable : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    ServerProcess& s = *server_;
    tokens_[kNone] = "";
    tokens_[kBad] = "fbk_" + std::string(64, '0');
    tokens_[kAdmin] = s.admin_token();
    tokens_[kAgentA] = s.CreateToken("authz-agent-a", "agent", kA);
    tokens_[kAgentB] = s.CreateToken("authz-agent-b", "agent", kB);
    tokens_[kViewer] = s.CreateToken("authz-viewer", "viewer");
    tokens_[kResponder] = s.CreateToken("authz-responder", "responder");
    // Revoked with the strongest role: revocation alone must shut it out.
    tokens_[kRevoked] = s.CreateToken("authz-revoked", "admin");
    ASSERT_EQ(s.Call("DELETE", "/api/v1/tokens/authz-revoked").status, 200);
    s.CreateToken("authz-throwaway", "viewer");

    Json manifest = {{"model", "m"}, {"prompt_hash", "sha256:00"}};
    for (const char* agent : {kA, kB}) {
      for (const char* v : {"v1", "v2"}) {
        auto r = s.Call("POST", std::string("/api/v1/agents/") + agent + "/versions",
                        Json{{"version", v}, {"manifest", manifest}}.dump());
        ASSERT_EQ(r.status, 201) << r.body;
      }
      ASSERT_EQ(s.Call("POST", std::string("/api/v1/agents/") + agent + "/deploy",
                       Json{{"version", "v1"}}.dump())
                    .status,
                200);
    }

    // Agent B's evidence: a trace (by B's own token) and a memory record.
    for (const char* id : {kTraceB, kTraceB2}) {
      auto trace = s.Call("POST", "/api/v1/traces",
                          Json{{"traces",
                                {{{"agent", kB},
                                  {"trace_id", id},
                                  {"input", "what is my balance"},
                                  {"output", "agent b answered"}}}}}
                              .dump(),
                          &tokens_[kAgentB]);
      ASSERT_EQ(trace.status, 201) << trace.body;
      if (trace_hash_b_.empty()) trace_hash_b_ = trace.json["hashes"][0].get<std::string>();
    }
    for (const char* id : {kOtlpTraceB, kOtlpTraceB2}) {
      auto otlp = HttpCall(s.port(), "POST", "/v1/traces", OtlpJson(kB, id, "1111111111111111"),
                           tokens_[kAgentB], {{"Content-Type", "application/json"}});
      ASSERT_EQ(otlp.status, 200) << otlp.body;
    }
    auto record = s.Call("POST", std::string("/api/v1/memory/") + kB + "/records",
                         Json{{"text", "agent b remembers the customer's plan"}}.dump(),
                         &tokens_[kAgentB]);
    ASSERT_EQ(record.status, 201) << record.body;
    record_b_ = record.json["id"].get<int64_t>();
    auto other = s.Call("POST", std::string("/api/v1/memory/") + kB + "/records",
                        Json{{"text", "agent b quarantined note"}}.dump(), &tokens_[kAgentB]);
    ASSERT_EQ(other.status, 201) << other.body;
    auto q = s.Call("POST", std::string("/api/v1/memory/") + kB + "/quarantine",
                    Json{{"record_ids", {other.json["id"]}}, {"reason", "authz fixture"}}.dump());
    ASSERT_EQ(q.status, 200) << q.body;
    quarantine_b_ = q.json.contains("quarantine_id") ? q.json["quarantine_id"].get<int64_t>()
                                                     : q.json["id"].get<int64_t>();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Declares an incident as admin and returns its id ("INC-7").
  static std::string FreshIncident() {
    auto r = server_->Call("POST", "/api/v1/incidents",
                           Json{{"title", "authz"}, {"agent", kB}, {"severity", "SEV-4"},
                                {"reason", "authz fixture"}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.value("id", "INC-0");
  }

  static int StatusOf(const Row& row, Who who) {
    std::string path = row.path;
    if (size_t at = path.find("{inc}"); at != std::string::npos) path.replace(at, 5, FreshIncident());
    const std::string& token = tokens_[who];
    if (row.stream) {
      std::string request = row.method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
      if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
      request += "Connection: close\r\n\r\n";
      std::string answer = RawExchange(server_->port(), request, 500);
      int status = 0;
      std::istringstream(answer.substr(answer.find(' ') + 1)) >> status;
      return status;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (row.path == "/v1/traces") headers.emplace_back("Content-Type", "application/json");
    return HttpCall(server_->port(), row.method, path, row.body, token, headers).status;
  }

  static ServerProcess* server_;
  static std::array<std::string, kWhoCount> tokens_;
  static std::string trace_hash_b_;
  static int64_t record_b_;
  static int64_t quarantine_b_;
};

ServerProcess* AuthzTable::server_ = nullptr;
std::array<std::string, kWhoCount> AuthzTable::tokens_;
std::string AuthzTable::trace_hash_b_;
int64_t AuthzTable::record_b_ = 0;
int64_t AuthzTable::quarantine_b_ = 0;

std::vector<Row> Rows(const std::string& hash_b, int64_t record_b, int64_t quarantine_b) {
  const std::string mem = std::string("/api/v1/memory/") + kB;
  const std::string agent = std::string("/api/v1/agents/") + kB;
  const std::string bad = "[]";  // refused after the role check: 400, nothing written
  Json signal = {{"kind", "latency"}, {"agent", kB}, {"reason", "p99 above 20 s"},
                 {"severity", "SEV-4"}, {"fingerprint", "authz-latency"}};
  Json alert = {{"version", "4"},
                {"status", "firing"},
                {"alerts",
                 {{{"labels", {{"alertname", "AuthzCheck"}, {"agent", kB}, {"severity", "info"}}},
                   {"annotations", {{"summary", "authz table"}}},
                   {"startsAt", "2026-11-29T10:00:00Z"},
                   {"fingerprint", "authz"}}}}};
  Json native_b = {{"traces", {{{"agent", kB}, {"input", "native by the table"}, {"output", "ok"}}}}};
  // Agent A reusing B's trace ids: refused, B's evidence is B's (issue 10).
  Json native_a_on_b = {
      {"traces", {{{"agent", kA}, {"trace_id", kTraceB2}, {"input", "x"}, {"output", "forged"}}}}};
  return {
      {"GET", "/healthz", "", Public(200), "liveness is public"},
      {"GET", "/metrics", "", Viewer(200), "README: /metrics needs viewer"},
      {"GET", "/api/v1/severities", "", Viewer(200), "incidents: reading needs viewer"},
      {"POST", "/api/v1/incidents", Json{{"title", "t"}, {"agent", kB}, {"severity", "SEV-4"}, {"reason", "r"}}.dump(),
       Responder(201), "incidents: declaring needs responder"},
      {"GET", "/api/v1/incidents", "", Viewer(200), "incidents: reading needs viewer"},
      {"GET", "/api/v1/incidents/{inc}", "", Viewer(200), "incidents: reading needs viewer"},
      {"POST", "/api/v1/incidents/{inc}/classify", Json{{"severity", "SEV-3"}, {"reason", "r"}}.dump(),
       Responder(200), "incidents: classify needs responder"},
      {"POST", "/api/v1/incidents/{inc}/ack", "", Responder(200), "incidents: ack needs responder"},
      {"POST", "/api/v1/incidents/{inc}/resolve", "", Responder(200),
       "incidents: resolve needs responder"},
      {"POST", "/api/v1/incidents/{inc}/state", Json{{"state", "investigating"}}.dump(), Responder(200),
       "incidents: moves need responder"},
      // The incident is open: the close is refused by the state machine, after the role check.
      {"POST", "/api/v1/incidents/{inc}/close", "", Responder(409), "incidents: close needs responder"},
      {"POST", "/api/v1/incidents/{inc}/isolate", Json{{"dry_run", true}}.dump(), Responder(200),
       "incidents: the isolation playbook needs responder"},
      {"GET", "/api/v1/incidents/{inc}/timeline", "", Viewer(200), "incidents: reading needs viewer"},
      {"POST", "/api/v1/incidents/{inc}/timeline", Json{{"text", "note"}}.dump(), Responder(201),
       "incidents: notes need responder"},
      // No paging targets configured: the page is refused as a conflict, after the role check.
      {"POST", "/api/v1/incidents/{inc}/page", "", Responder(409), "detection.md: page needs responder"},
      {"GET", "/api/v1/incidents/{inc}/pages", "", Viewer(200), "paging: reading needs viewer"},
      {"GET", "/api/v1/status", "", Public(200), "comms: the banner is public"},
      {"GET", "/api/v1/stream", "", Viewer(200), "comms: the timeline stream needs viewer", /*stream=*/true},
      {"GET", "/api/v1/incidents/{inc}/notice", "", Viewer(404), "comms: reading needs viewer (no notice)"},
      {"PUT", "/api/v1/incidents/{inc}/notice", "{}", Responder(400), "comms: banners need responder"},
      {"DELETE", "/api/v1/incidents/{inc}/notice", "", Responder(404), "comms: banners need responder"},
      {"POST", "/api/v1/incidents/{inc}/updates", "{}", Responder(400), "comms: updates need responder"},
      {"GET", "/api/v1/incidents/{inc}/updates", "", Viewer(200), "comms: reading needs viewer"},
      {"GET", "/api/v1/incidents/{inc}/comms", "", Viewer(200), "comms: reading needs viewer"},
      {"PUT", "/api/v1/incidents/{inc}/comms", "{}", Responder(400), "comms: facts need responder"},
      {"POST", "/api/v1/incidents/{inc}/lint", "{}", Viewer(400), "comms: the lint needs viewer"},
      {"GET", "/api/v1/deliveries", "", Viewer(200), "paging: reading needs viewer"},
      {"GET", "/api/v1/incidents/{inc}/affected-users", "", Viewer(200),
       "comms.md: affected users need viewer"},
      // No notice target configured: refused as a conflict, after the role check.
      {"POST", "/api/v1/incidents/{inc}/notify", Json{{"update", 1}, {"message", "m"}}.dump(),
       Responder(409), "comms.md: notify needs responder"},
      {"POST", "/api/v1/incidents/{inc}/postmortem/generate", "", Responder(201),
       "postmortem.md: generate needs responder"},
      {"GET", "/api/v1/incidents/{inc}/postmortem", "", Viewer(404),
       "postmortem.md: reading needs viewer (none generated)"},
      {"PUT", "/api/v1/incidents/{inc}/postmortem", "{}", Responder(400), "postmortem.md: edits need responder"},
      {"GET", "/api/v1/incidents/{inc}/postmortem.md", "", Viewer(404),
       "postmortem.md: export needs viewer (none generated)"},
      {"POST", "/api/v1/incidents/{inc}/postmortem/state", "{}", Responder(400),
       "postmortem.md: review and publish need responder"},
      {"GET", "/api/v1/postmortems/overdue", "", Viewer(200), "postmortem.md: reading needs viewer"},
      {"GET", "/api/v1/postmortems/actions", "", Viewer(200), "postmortem.md: reading needs viewer"},
      {"POST", "/api/v1/postmortems/actions/999999/done", "", Responder(404),
       "postmortem.md: done needs responder"},
      {"POST", "/api/v1/postmortems/actions/999999/drop", "{}", Responder(400),
       "postmortem.md: drop needs responder"},
      {"POST", "/api/v1/tokens", Json{{"name", "authz-new"}, {"role", "viewer"}}.dump(), Admin(201),
       "auth: tokens need admin"},
      {"GET", "/api/v1/tokens", "", Admin(200), "auth: tokens need admin"},
      {"DELETE", "/api/v1/tokens/authz-throwaway", "", Admin(200), "auth: tokens need admin"},
      {"GET", "/api/v1/audit/verify", "", Viewer(200), "audit.md: verify needs viewer"},
      {"GET", "/api/v1/agents", "", Viewer(200), "releases.md: reading needs viewer"},
      {"POST", agent + "/versions", bad, Responder(400), "releases.md: register needs responder"},
      {"GET", agent + "/versions", "", Viewer(200), "releases.md: reading versions needs viewer"},
      {"POST", agent + "/versions/v2/promote", bad, Responder(400),
       "releases.md: promote needs responder"},
      {"POST", agent + "/deploy", bad, Responder(400), "releases.md: deploy needs responder"},
      {"POST", agent + "/rollback", bad, Responder(400), "releases.md: rollback needs responder"},
      {"POST", agent + "/kill", bad, Responder(400), "releases.md: kill needs responder"},
      {"POST", agent + "/resume", bad, Responder(400), "releases.md: resume needs responder"},
      {"GET", agent + "/runtime", "", OwnAgentOrViewer(200),
       "releases.md: runtime takes that agent's token or viewer+"},
      {"GET", agent + "/runtime/stream", "", OwnAgentOrViewer(200),
       "releases.md: runtime takes that agent's token or viewer+", /*stream=*/true},
      {"POST", mem + "/records", Json{{"text", "written by the table"}}.dump(), OwnAgentOrResponder(201),
       "memory.md: the agent's token, responder+"},
      {"POST", mem + "/search", Json{{"text", "plan"}}.dump(), OwnAgentOrResponder(200),
       "memory.md: the agent's token, responder+"},
      {"GET", mem + "/records/" + std::to_string(record_b), "", OwnAgentOrViewer(200),
       "memory.md: the agent's token, viewer+"},
      {"GET", mem + "/quarantines", "", Viewer(200), "memory.md: viewer+"},
      {"GET", mem + "/quarantines/" + std::to_string(quarantine_b), "", Viewer(200),
       "memory.md: viewer+"},
      {"POST", mem + "/quarantine", bad, Responder(400), "memory.md: responder+"},
      {"POST", mem + "/restore", bad, Responder(400), "memory.md: responder+"},
      {"POST", mem + "/purge", bad, Admin(400), "memory.md: purge needs admin"},
      {"POST", mem + "/wipe", bad, Admin(400), "memory.md: wipe needs admin"},
      {"POST", "/api/v1/signals", signal.dump(), OwnAgentOrResponder(201),
       "detection.md: agent (own agent only), responder"},
      {"GET", "/api/v1/signals", "", Viewer(200), "detection.md: reading needs viewer"},
      {"POST", "/api/v1/alerts/alertmanager", alert.dump(), Responder(200), "detection.md: responder"},
      // Scoring another agent's trace must not tell A that it exists: the unknown-trace answer.
      {"POST", "/api/v1/scores", Json{{"trace", hash_b}, {"value", 0.5}}.dump(),
       OwnAgentOrResponder(201, /*other_agent=*/404),
       "detection.md: agent tokens only for their agent; issue 10: no existence oracle"},
      {"POST", "/v1/traces", OtlpJson(kB, "cccccccccccccccccccccccccccccccc", "2222222222222222"),
       OwnAgentOrResponder(200), "traces.md: the agent of every service.name, or responder+"},
      // Agent A's spans into B's existing trace, under A's own service.name.
      // (B's token is refused too: it may not send spans of service agent-a.)
      {"POST", "/v1/traces", OtlpJson(kA, kOtlpTraceB2, "3333333333333333"),
       {U, U, U, F, F, F, 200, 200}, "issue 10: a trace belongs to the agent that first wrote it"},
      {"POST", "/api/v1/traces", native_b.dump(), OwnAgentOrResponder(201),
       "traces.md: the agent of each trace, or responder+"},
      {"POST", "/api/v1/traces", native_a_on_b.dump(), {U, U, U, F, F, F, 201, 201},
       "issue 10: a native trace with B's trace_id is B's"},
      {"GET", "/api/v1/regressions", "", Viewer(200), "regress.md: reading needs viewer"},
      {"POST", "/api/v1/regressions", bad, Responder(400), "regress.md: cases need responder"},
      {"GET", "/api/v1/regressions/1", "", Viewer(404), "regress.md: reading needs viewer (no case)"},
      {"PUT", "/api/v1/regressions/1", bad, Responder(400), "regress.md: edits need responder"},
      {"DELETE", "/api/v1/regressions/1", Json{{"reason", "r"}}.dump(), Admin(404),
       "regress.md: deleting a case needs admin (no case)"},
      {"POST", "/api/v1/regressions/runs", bad, Responder(400), "regress.md: runs need responder"},
      {"GET", "/api/v1/regressions/runs", "", Viewer(200), "regress.md: reading needs viewer"},
      {"GET", "/api/v1/regressions/runs/1", "", Viewer(404), "regress.md: reading needs viewer (no run)"},
      {"POST", "/api/v1/regressions/runs/1/results", bad, Responder(400),
       "regress.md: reports need responder"},
      {"POST", agent + "/versions/v2/promote", Json{{"skip_gate", true}}.dump(), Admin(400),
       "regress.md: skipping the promotion gate needs admin (and a reason: 400)"},
      {"GET", "/api/v1/traces", "", Viewer(200), "traces.md: reading needs viewer"},
      {"GET", "/api/v1/traces/similar?q=balance", "", Viewer(200), "traces.md: reading needs viewer"},
      {"GET", "/api/v1/traces/" + hash_b, "", Viewer(200), "traces.md: reading needs viewer"},
      {"GET", "/api/v1/traces/" + hash_b + "/similar", "", Viewer(200),
       "traces.md: reading needs viewer"},
      {"POST", "/api/v1/traces/flags", bad, Responder(400), "traces.md: flags need responder+"},
      {"POST", "/api/v1/admin/erasure", Json{{"user_id", "nobody"}, {"reason", "table"}}.dump(),
       Admin(200), "traces.md: erasure needs admin"},
  };
}

TEST_F(AuthzTable, EveryRouteAnswersEveryPrincipalAsDocumented) {
  std::vector<std::string> failures;
  int cells = 0;
  for (const Row& row : Rows(trace_hash_b_, record_b_, quarantine_b_)) {
    for (int w = 0; w < kWhoCount; ++w) {
      int got = StatusOf(row, static_cast<Who>(w));
      ++cells;
      if (got != row.expect[w]) {
        failures.push_back(row.method + " " + row.path + " as " + kWhoNames[w] + ": got " +
                           std::to_string(got) + ", documented " + std::to_string(row.expect[w]) +
                           " (" + row.why + ")");
      }
    }
  }
  std::string report;
  for (const auto& f : failures) report += "  " + f + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << cells << " cells differ:\n" << report;
}

// Agent A's token against B's objects changes nothing: B's trace keeps B's output and agent,
// B's memory record keeps its text, B's runtime keeps its version.
TEST_F(AuthzTable, AgentACannotChangeAgentBsEvidence) {
  const std::string& a = tokens_[kAgentA];
  HttpCall(server_->port(), "POST", "/v1/traces",
           OtlpJson(kA, kOtlpTraceB, "1111111111111111"), a, {{"Content-Type", "application/json"}});
  HttpCall(server_->port(), "POST", "/api/v1/traces",
           Json{{"traces", {{{"agent", kA}, {"trace_id", kTraceB}, {"output", "forged"}}}}}.dump(), a);
  HttpCall(server_->port(), "POST", std::string("/api/v1/memory/") + kB + "/purge",
           Json{{"record_ids", {record_b_}}, {"reason", "forged"}}.dump(), a);
  HttpCall(server_->port(), "POST", std::string("/api/v1/agents/") + kB + "/deploy",
           Json{{"version", "v2"}}.dump(), a);

  auto trace = server_->Call("GET", "/api/v1/traces/" + trace_hash_b_);
  ASSERT_EQ(trace.status, 200) << trace.body;
  EXPECT_EQ(trace.json["agent"], kB);
  EXPECT_EQ(trace.json["output"], "agent b answered");
  auto listed = server_->Call("GET", std::string("/api/v1/traces?agent=") + kA);
  ASSERT_EQ(listed.status, 200);
  for (const auto& t : listed.json["traces"]) {
    EXPECT_NE(t["trace_id"], kTraceB) << "A's token stored a trace under B's trace id";
    EXPECT_NE(t["trace_id"], kOtlpTraceB) << "A's token stored spans under B's trace id";
  }
  auto record = server_->Call("GET", std::string("/api/v1/memory/") + kB + "/records/" +
                                         std::to_string(record_b_));
  ASSERT_EQ(record.status, 200) << record.body;
  EXPECT_EQ(record.json["text"], "agent b remembers the customer's plan");
  auto runtime = server_->Call("GET", std::string("/api/v1/agents/") + kB + "/runtime");
  ASSERT_EQ(runtime.status, 200);
  EXPECT_EQ(runtime.json["version"], "v1");
}

}  // namespace
}  // namespace firebreak::testing
