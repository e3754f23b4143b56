// Traces as an agent runtime and a responder meet them: the real binary on 127.0.0.1, OTLP
// protobuf answered in protobuf with partial_success, flags on an incident's timeline,
// retention below 30 days refused at start.
#include <gtest/gtest.h>

#include "proto/otlp_trace.pb.h"
#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

std::string Bytes(char c, size_t n) { return std::string(n, c); }

// One root span with ids (agent input/output in OpenInference names) and one span without ids.
std::string ProtobufRequest(const std::string& service, const std::string& input,
                            const std::string& output) {
  firebreak::otlp::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  auto* ss = rs->add_scope_spans();
  auto* root = ss->add_spans();
  root->set_trace_id(Bytes('\x11', 16));
  root->set_span_id(Bytes('\x22', 8));
  root->set_name("agent");
  uint64_t now_ns = static_cast<uint64_t>(time(nullptr)) * 1000000000ULL;
  root->set_start_time_unix_nano(now_ns);
  root->set_end_time_unix_nano(now_ns + 1000000);
  for (auto [k, v] : {std::pair{"openinference.span.kind", "AGENT"},
                      {"input.value", input.c_str()},
                      {"output.value", output.c_str()},
                      {"user.id", "u-1"}}) {
    auto* a = root->add_attributes();
    a->set_key(k);
    a->mutable_value()->set_string_value(v);
  }
  ss->add_spans()->set_name("no ids at all");
  return req.SerializeAsString();
}

TEST(Traces, OtlpProtobufIsAnsweredInProtobufWithPartialSuccess) {
  ServerProcess server;
  std::string agent = server.CreateToken("bot-rt", "agent", "bot");
  HttpResult r =
      HttpCall(server.port(), "POST", "/v1/traces", ProtobufRequest("bot", "hello", "hi there"),
               agent, {{"Content-Type", "application/x-protobuf"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/x-protobuf");
  firebreak::otlp::ExportTraceServiceResponse res;
  ASSERT_TRUE(res.ParseFromString(r.body));
  EXPECT_EQ(res.partial_success().rejected_spans(), 1);
  EXPECT_NE(res.partial_success().error_message().find("no ids at all"), std::string::npos);

  HttpResult list = server.Call("GET", "/api/v1/traces?agent=bot");
  ASSERT_EQ(list.json["traces"].size(), 1u);
  EXPECT_EQ(list.json["traces"][0]["output"], "hi there");

  // Another agent's token may not send bot's spans; garbage is 400 in protobuf (google.rpc.Status).
  std::string other = server.CreateToken("other-rt", "agent", "other");
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/traces", ProtobufRequest("bot", "x", "y"), other,
                     {{"Content-Type", "application/x-protobuf"}})
                .status,
            403);
  HttpResult bad = HttpCall(server.port(), "POST", "/v1/traces", "\xff\xff\xff\xff\x0f", agent,
                            {{"Content-Type", "application/x-protobuf"}});
  EXPECT_EQ(bad.status, 400);
  firebreak::otlp::RpcStatus st;
  ASSERT_TRUE(st.ParseFromString(bad.body));
  EXPECT_EQ(st.code(), 3);
  EXPECT_EQ(server.Call("GET", "/api/v1/traces").json["traces"].size(), 1u);  // nothing written
}

TEST(Traces, FlagsWithAnIncidentGoOnItsTimeline) {
  ServerProcess server;
  HttpResult inc =
      server.Call("POST", "/api/v1/incidents", R"({"title":"card number leaked","agent":"bot"})");
  ASSERT_EQ(inc.status, 201) << inc.body;
  std::string id = inc.json["id"];
  HttpResult ingested = server.Call(
      "POST", "/api/v1/traces",
      R"({"traces":[{"agent":"bot","input":"my card?","output":"4242 4242 4242 4242"}]})");
  ASSERT_EQ(ingested.status, 201) << ingested.body;
  std::string hash = ingested.json["hashes"][0];

  Json flag = {{"flag", "toxic"},
               {"reason", "PAN in reply"},
               {"hashes", {hash.substr(0, 8)}},
               {"incident", id}};
  HttpResult flagged = server.Call("POST", "/api/v1/traces/flags", flag.dump());
  ASSERT_EQ(flagged.status, 200) << flagged.body;
  EXPECT_EQ(flagged.json["flagged"], 1);

  HttpResult timeline = server.Call("GET", "/api/v1/incidents/" + id + "/timeline");
  EXPECT_EQ(timeline.json["events"].back()["kind"], "traces.flagged");
  EXPECT_EQ(server.Call("GET", "/api/v1/traces/" + hash.substr(0, 8)).json["flag"], "toxic");

  std::string viewer = server.CreateToken("vera", "viewer");
  EXPECT_EQ(server.Call("POST", "/api/v1/traces/flags", flag.dump(), &viewer).status, 403);
  flag["flag"] = "evil";
  EXPECT_EQ(server.Call("POST", "/api/v1/traces/flags", flag.dump()).status, 400);
  EXPECT_EQ(server.Call("GET", "/api/v1/traces/0123456").status, 400);
  EXPECT_EQ(server.Call("GET", "/api/v1/traces/01234567").status, 404);
}

TEST(Traces, RetentionBelowThirtyDaysIsRefusedAtStart) {
  TempDir dir;
  CommandResult r = RunCommand({FirebreakBinary(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                dir.path(), "--retention-days", "7"},
                               {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("30 days"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace firebreak::testing
