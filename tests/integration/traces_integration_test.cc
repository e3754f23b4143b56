// Traces as an agent runtime and a responder meet them: the real binary on 127.0.0.1, OTLP
// protobuf answered in protobuf with partial_success, flags on an incident's timeline,
// retention below 30 days refused at start; traces as evidence (another agent's token cannot
// touch them), the decoder's limits, and names.
#include <gtest/gtest.h>
#include <zlib.h>

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

// One span of `service` with the given one-byte-repeated ids (parent 0: a root).
std::string SpanRequest(const std::string& service, char trace, char span, char parent,
                        const std::string& output, const std::string& claimed_agent = "") {
  firebreak::otlp::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  auto* sp = rs->add_scope_spans()->add_spans();
  sp->set_trace_id(Bytes(trace, 16));
  sp->set_span_id(Bytes(span, 8));
  if (parent != 0) sp->set_parent_span_id(Bytes(parent, 8));
  sp->set_name("agent");
  uint64_t now_ns = static_cast<uint64_t>(time(nullptr)) * 1000000000ULL;
  sp->set_start_time_unix_nano(now_ns + (parent != 0 ? 1000 : 0));
  sp->set_end_time_unix_nano(now_ns + 1000000);
  std::vector<std::pair<std::string, std::string>> attrs = {
      {"openinference.span.kind", parent != 0 ? "LLM" : "AGENT"},
      {"input.value", "question"},
      {"output.value", output}};
  if (!claimed_agent.empty()) attrs.push_back({"gen_ai.agent.name", claimed_agent});
  for (const auto& [k, v] : attrs) {
    auto* a = sp->add_attributes();
    a->set_key(k);
    a->mutable_value()->set_string_value(v);
  }
  return req.SerializeAsString();
}

std::string Hex(char c, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string one = {d[(static_cast<unsigned char>(c) >> 4) & 15], d[c & 15]};
  std::string out;
  for (size_t i = 0; i < n; ++i) out += one;
  return out;
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

using Headers = std::vector<std::pair<std::string, std::string>>;
const Headers kProto = {{"Content-Type", "application/x-protobuf"}};
const Headers kJson = {{"Content-Type", "application/json"}};

TEST(Traces, AnotherAgentsTraceIsRefusedAndNothingChanges) {
  ServerProcess server;
  std::string a = server.CreateToken("a-rt", "agent", "agent-a");
  std::string b = server.CreateToken("b-rt", "agent", "agent-b");
  ASSERT_EQ(HttpCall(server.port(), "POST", "/v1/traces",
                     SpanRequest("agent-b", '\x11', '\x22', 0, "b's answer"), b, kProto)
                .status,
            200);
  HttpResult listed = server.Call("GET", "/api/v1/traces?agent=agent-b");
  ASSERT_EQ(listed.json["traces"].size(), 1u) << listed.body;
  std::string hash = listed.json["traces"][0]["hash"];
  std::string before = server.Call("GET", "/api/v1/traces/" + hash + "?raw=1").body;

  // Same trace and span ids (protobuf and JSON), a child under B's root, a native trace.
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/traces",
                     SpanRequest("agent-a", '\x11', '\x22', 0, "a's answer"), a, kProto)
                .status,
            403);
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/traces",
                     SpanRequest("agent-a", '\x11', '\x33', '\x22', "a's child"), a, kProto)
                .status,
            403);
  Json otlp_json = {
      {"resourceSpans",
       {{{"resource",
          {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", "agent-a"}}}}}}}},
         {"scopeSpans",
          {{{"spans",
             {{{"traceId", Hex('\x11', 16)},
               {"spanId", Hex('\x22', 8)},
               {"name", "agent"},
               {"attributes",
                {{{"key", "output.value"}, {"value", {{"stringValue", "a's answer"}}}}}}}}}}}}}}}};
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/traces", otlp_json.dump(), a, kJson).status, 403);
  Json native = {{"traces", {{{"trace_id", Hex('\x11', 16)}, {"agent", "agent-a"},
                              {"input", "q"}, {"output", "a's answer"}}}}};
  EXPECT_EQ(server.Call("POST", "/api/v1/traces", native.dump(), &a).status, 403);

  EXPECT_EQ(server.Call("GET", "/api/v1/traces/" + hash + "?raw=1").body, before);
  EXPECT_EQ(server.Call("GET", "/api/v1/traces?agent=agent-a").json["traces"].size(), 0u);

  // Scoring B's trace with A's token reads exactly like scoring an unknown trace.
  Json score = {{"trace", hash}, {"name", "quality"}, {"value", 0.5}};
  HttpResult theirs = server.Call("POST", "/api/v1/scores", score.dump(), &a);
  score["trace"] = "deadbeefdeadbeef";
  HttpResult unknown = server.Call("POST", "/api/v1/scores", score.dump(), &a);
  EXPECT_EQ(theirs.status, 404) << theirs.body;
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(theirs.json["error"]["code"], unknown.json["error"]["code"]);
  EXPECT_EQ(theirs.body.find("agent-b"), std::string::npos) << theirs.body;
  score["trace"] = hash;
  EXPECT_EQ(server.Call("POST", "/api/v1/scores", score.dump(), &b).status, 201);

  // A's own trace is stored under A whatever gen_ai.agent.name claims.
  ASSERT_EQ(HttpCall(server.port(), "POST", "/v1/traces",
                     SpanRequest("agent-a", '\x44', '\x55', 0, "mine", "agent-b"), a, kProto)
                .status,
            200);
  HttpResult mine = server.Call("GET", "/api/v1/traces/" + Hex('\x44', 16));
  EXPECT_EQ(mine.json["agent"], "agent-a") << mine.body;

  // Responders and admins may still add to any trace (the agent comes from the spans).
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/traces",
                     SpanRequest("agent-b", '\x11', '\x66', '\x22', "admin's child"),
                     server.admin_token(), kProto)
                .status,
            200);
  EXPECT_EQ(server.Call("GET", "/api/v1/traces/" + Hex('\x11', 16)).json["span_count"], 2);
}

TEST(Traces, DecoderLimitsAnswer4xxAndWriteNothing) {
  ServerProcess server;
  std::string a = server.CreateToken("a-rt", "agent", "agent-a");
  auto post = [&](const std::string& body, const Headers& headers) {
    return HttpCall(server.port(), "POST", "/v1/traces", body, a, headers);
  };

  // A gzip body of ~40 KB inflating to 40 MiB: over max_body_bytes (16 MiB) once inflated.
  std::string bomb = Gzip(std::string(40u << 20, '\0'));
  ASSERT_LT(bomb.size(), 100u << 10);
  auto gz = kProto;
  gz.push_back({"Content-Encoding", "gzip"});
  EXPECT_EQ(post(bomb, gz).status, 413);

  // 76 KiB: a 64 KiB attribute key over a 1,000-child key-value list.
  firebreak::otlp::ExportTraceServiceRequest req;
  req.ParseFromString(SpanRequest("agent-a", '\x11', '\x22', 0, "x"));
  auto* sp = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  auto* big = sp->add_attributes();
  big->set_key(std::string(64 << 10, 'k'));
  for (int i = 0; i < 1000; ++i) {
    auto* kv = big->mutable_value()->mutable_kvlist_value()->add_values();
    kv->set_key(std::to_string(i));
    kv->mutable_value()->set_int_value(i);
  }
  std::string amplifier = req.SerializeAsString();
  ASSERT_LT(amplifier.size(), 80u << 10);
  HttpResult r = post(amplifier, kProto);
  EXPECT_EQ(r.status, 400);
  firebreak::otlp::RpcStatus st;
  ASSERT_TRUE(st.ParseFromString(r.body));
  EXPECT_NE(st.message().find("key is longer than 1024"), std::string::npos) << st.message();

  // 1,001 attributes on one span; 10,001 spans in one request.
  req.ParseFromString(SpanRequest("agent-a", '\x11', '\x22', 0, "x"));
  sp = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  for (int i = 0; i < 1001; ++i) {
    auto* kv = sp->add_attributes();
    kv->set_key("k" + std::to_string(i));
    kv->mutable_value()->set_int_value(i);
  }
  EXPECT_EQ(post(req.SerializeAsString(), kProto).status, 400);
  req.ParseFromString(SpanRequest("agent-a", '\x11', '\x22', 0, "x"));
  auto* ss = req.mutable_resource_spans(0)->mutable_scope_spans(0);
  for (int i = 0; i < 10000; ++i) *ss->add_spans() = ss->spans(0);
  EXPECT_EQ(post(req.SerializeAsString(), kProto).status, 413);

  // 100,000-deep JSON: OTLP JSON and a native trace field answer 400, the server lives on.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(post(R"({"resourceSpans":)" + deep + "}", kJson).status, 400);
  std::string native = R"({"traces":[{"agent":"agent-a","input":"q","output":)" + deep + "}]}";
  EXPECT_EQ(server.Call("POST", "/api/v1/traces", native, &a).status, 400);
  // Nesting of AnyValues past 16 levels (protobuf).
  req.ParseFromString(SpanRequest("agent-a", '\x11', '\x22', 0, "x"));
  sp = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  auto* v = sp->add_attributes();
  v->set_key("deep");
  auto* any = v->mutable_value();
  for (int i = 0; i < 20; ++i) any = any->mutable_array_value()->add_values();
  any->set_string_value("bottom");
  EXPECT_EQ(post(req.SerializeAsString(), kProto).status, 400);

  EXPECT_EQ(server.Call("GET", "/api/v1/traces").json["traces"].size(), 0u);
  EXPECT_EQ(server.Call("GET", "/healthz").status, 200);
}

TEST(Traces, NamesAndIdsAreChecked) {
  ServerProcess server;
  for (const char* bad : {"../../etc/passwd", "a/b", "a..b", "with space", ""}) {
    Json t = {{"trace_id", bad}, {"agent", "bot"}, {"input", "q"}, {"output", "a"}};
    if (std::string(bad).empty()) t["trace_id"] = std::string(129, 'x');
    EXPECT_EQ(server.Call("POST", "/api/v1/traces", Json{{"traces", {t}}}.dump()).status, 400)
        << bad;
    t = {{"agent", bad}, {"input", "q"}, {"output", "a"}};
    if (std::string(bad).empty()) t["agent"] = std::string(129, 'x');
    EXPECT_EQ(server.Call("POST", "/api/v1/traces", Json{{"traces", {t}}}.dump()).status, 400)
        << bad;
  }
  // In OTLP the name is telemetry: kept, made to fit, never a path.
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/traces",
                     SpanRequest("../../etc/passwd", '\x11', '\x22', 0, "x"),
                     server.admin_token(), kProto)
                .status,
            200);
  auto listed = server.Call("GET", "/api/v1/traces").json["traces"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["agent"], "___.__etc_passwd");
  // OTLP ids of the wrong length are rejected spans (partial success), never stored.
  firebreak::otlp::ExportTraceServiceRequest req;
  req.ParseFromString(SpanRequest("bot", '\x11', '\x22', 0, "x"));
  auto* sp = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  sp->set_trace_id(Bytes('\x11', 15));
  HttpResult r = HttpCall(server.port(), "POST", "/v1/traces", req.SerializeAsString(),
                          server.admin_token(), kProto);
  EXPECT_EQ(r.status, 200);
  firebreak::otlp::ExportTraceServiceResponse res;
  ASSERT_TRUE(res.ParseFromString(r.body));
  EXPECT_EQ(res.partial_success().rejected_spans(), 1);
  EXPECT_EQ(server.Call("GET", "/api/v1/traces").json["traces"].size(), 1u);
  Json ok = {{"traces", {{{"trace_id", "run-1.a:b_c"}, {"agent", "bot"}, {"output", "a"}}}}};
  EXPECT_EQ(server.Call("POST", "/api/v1/traces", ok.dump()).status, 201);
}

}  // namespace
}  // namespace firebreak::testing
