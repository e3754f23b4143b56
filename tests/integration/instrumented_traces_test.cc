// Traces as real instrumentations send them, through POST /v1/traces like an agent runtime:
// committed OTLP JSON fixtures shaped like the output of OpenInference around the openai
// client, the current GenAI conventions, OpenLLMetry (traceloop SDK + its openai
// instrumentation) and a LangGraph agent under OpenInference (tests/traces/fixtures/). A tool
// call that is only in the model output is read, scanned and checked against the manifest;
// OpenLLMetry's envelope is unwrapped; volatile provider data never moves the hash, and each
// fixture's hash is pinned.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

Json Fixture(const std::string& name) {
  std::ifstream in(std::string(FIREBREAK_TRACE_FIXTURES) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  EXPECT_TRUE(j.is_object()) << name;
  return j;
}

template <typename J, typename Fn>
void ForEachSpan(J& body, Fn fn) {
  for (auto& rs : body["resourceSpans"]) {
    for (auto& ss : rs["scopeSpans"]) {
      for (auto& span : ss["spans"]) fn(span);
    }
  }
}

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Moves every span by the same amount so the trace started at `start_ns` (retention would
// sweep a trace from the fixture's date).
void StartAt(Json& body, uint64_t start_ns) {
  uint64_t first = UINT64_MAX;
  ForEachSpan(body, [&](Json& s) {
    first = std::min<uint64_t>(first, std::stoull(s["startTimeUnixNano"].get<std::string>()));
  });
  ForEachSpan(body, [&](Json& s) {
    for (const char* k : {"startTimeUnixNano", "endTimeUnixNano"}) {
      s[k] = std::to_string(std::stoull(s[k].get<std::string>()) - first + start_ns);
    }
  });
}

// Returns `text` with every match of `re` replaced by `fn(match)`; counts the matches.
template <typename Fn>
std::string ReplaceAll(const std::string& text, const std::regex& re, Fn fn, int& count) {
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out.append(last, (*it)[0].first);
    out += fn(*it);
    last = (*it)[0].second;
    ++count;
  }
  out.append(last, text.cend());
  return out;
}

// Hex ids with each digit d replaced by f-d: new ids, in the reverse order of the old ones (so
// anything that followed span ids would change).
std::string Flip(const std::string& hex) {
  std::string out = hex;
  for (char& c : out) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : c - 'a' + 10;
    int f = 15 - d;
    c = static_cast<char>(f < 10 ? '0' + f : 'a' + f - 10);
  }
  return out;
}

struct Mutation {
  Json body;
  std::map<std::string, int> changed;  // what was varied -> how many values
};

// Returns the same run as another execution of it would send it: new trace and span ids, other
// times, and new provider response ids, tool call ids, message and run ids, creation times,
// system fingerprints, token counts and session ids. The content stays the same.
Mutation AnotherRun(Json body) {
  Mutation m;
  ForEachSpan(body, [&](Json& s) {
    for (const char* k : {"traceId", "spanId", "parentSpanId"}) {
      if (s.contains(k)) {
        s[k] = Flip(s[k].get<std::string>());
        m.changed["ids"]++;
      }
    }
  });
  // A whole number of seconds plus a part of a millisecond later.
  StartAt(body, NowNs() + 7'000'654'321ULL);
  m.changed["times"]++;
  struct Volatile {
    const char* what;
    std::regex re;
    std::function<std::string(const std::smatch&)> fn;
  };
  auto reversed = [](const std::smatch& x) {
    std::string tail = x[2].str();
    return x[1].str() + std::string(tail.rbegin(), tail.rend());
  };
  auto plus = [](int delta) {
    return [delta](const std::smatch& x) { return x[1].str() + std::to_string(std::stoll(x[2].str()) + delta); };
  };
  std::vector<Volatile> patterns = {
      {"response ids", std::regex(R"((chatcmpl-)([A-Za-z0-9]+))"), reversed},
      // OpenAI call ids are 24 characters; a shorter match is a word ("tool_call_id").
      {"call ids", std::regex(R"((call_)([A-Za-z0-9]{16,}))"), reversed},
      {"fingerprints", std::regex(R"((fp_)([0-9a-f]+))"), reversed},
      {"message ids", std::regex(R"(()([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))"), reversed},
      {"run ids", std::regex(R"((run--)([0-9A-Za-z]+))"), reversed},
      {"session ids", std::regex(R"(((?:sess-|conv_|thread-))([0-9a-f]+))"), reversed},
      {"created", std::regex(R"(("created"\s*:\s*)(\d+))"), plus(86400)},
      {"token counts", std::regex(R"(("(?:prompt|completion|total|input|output)_tokens"\s*:\s*)(\d+))"), plus(13)},
  };
  ForEachSpan(body, [&](Json& s) {
    for (auto& a : s["attributes"]) {
      Json& v = a["value"];
      if (v.contains("intValue") && a["key"].get<std::string>().find("token") != std::string::npos) {
        v["intValue"] = v["intValue"].get<int64_t>() + 11;
        m.changed["token counts"]++;
      }
      if (!v.contains("stringValue")) continue;
      std::string text = v["stringValue"];
      for (auto& p : patterns) text = ReplaceAll(text, p.re, p.fn, m.changed[p.what]);
      v["stringValue"] = text;
    }
  });
  m.body = std::move(body);
  return m;
}

class InstrumentedTraces : public ::testing::Test {
 protected:
  void SetUp() override { agent_ = server_.CreateToken("support-bot-runtime", "agent", "support-bot"); }

  // Sends the body as the OpenTelemetry OTLP/HTTP JSON exporter does; returns the trace's hash.
  std::string Export(const Json& body) {
    HttpResult r = HttpCall(server_.port(), "POST", "/v1/traces", body.dump(), agent_,
                            {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "{}");
    std::string trace_id;
    ForEachSpan(body, [&](const Json& s) { trace_id = s["traceId"]; });
    return Trace(trace_id)["hash"];
  }

  // Sends a fixture, moved to now; returns the trace as the API shows it.
  Json ExportFixture(const std::string& fixture) {
    Json body = Fixture(fixture);
    StartAt(body, NowNs());
    std::string hash = Export(body);
    return Trace(hash);
  }

  Json Trace(const std::string& name) {
    HttpResult r = server_.Call("GET", "/api/v1/traces/" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }

  std::vector<Json> Signals(const std::string& kind) {
    HttpResult r = server_.Call("GET", "/api/v1/signals?kind=" + kind);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json["signals"].get<std::vector<Json>>();
  }

  void RegisterVersion(const std::string& tools) {
    std::string manifest = R"({"version":"v7","manifest":{"model":"gpt-4o-mini","prompt_hash":"sha256:77","tools":)" +
                           tools + "}}";
    ASSERT_EQ(server_.Call("POST", "/api/v1/agents/support-bot/versions", manifest).status, 201);
  }

  ServerProcess server_;
  std::string agent_;
};

// The hashes the fixtures must produce, today and in a year, computed by the code after their
// canonical forms were read and found to hold content only. A change here is a change of the
// canonical form (docs/traces.md, "The stable hash") and needs a new version.
const std::map<std::string, std::string> kKnownHashes = {
    {"openinference_openai_tool_in_output.json",
     "888971a7f74e4d410daa5d741a79b5847e74f5da8e50ad34008349cc43b23b15"},
    {"genai_tool_call_parts.json",
     "0d66fdbcb2f06942cdd4dcaa6c98bb24906d12a2611bbeae83671c3869022d51"},
    {"openllmetry_workflow.json",
     "21ef3e77fc41db5ec2c012d3add071f305e0f225326a1eb2f06e810799bce1e5"},
    {"langgraph_openinference.json",
     "9f933adeb1cd6c3e6e668021ee7a57e594c1dd467c2e5275cbc4925ccb13da6b"},
};

TEST_F(InstrumentedTraces, AToolCallOnlyInTheModelOutputIsReadScannedAndCheckedAgainstTheManifest) {
  RegisterVersion(R"([{"name":"lookup_order","effect_class":"read-only"}])");
  Json t = ExportFixture("openinference_openai_tool_in_output.json");
  ASSERT_EQ(t["tool_calls"].size(), 1u) << t.dump(1);
  const Json& call = t["tool_calls"][0];
  EXPECT_EQ(call["name"], "send_email");
  EXPECT_EQ(Json::parse(call["arguments"].get<std::string>())["to"], "jane.doe@acme-logistics.de");
  EXPECT_EQ(Json::parse(call["result"].get<std::string>())["status"], "sent");
  EXPECT_EQ(t["input"], "Please send the invoice for order A-1001 to my colleague Jane Doe, she handles our accounts.");
  EXPECT_EQ(t["output"], "Done: the invoice for order A-1001 is on its way to your colleague.");
  // The tool-call-only model turn said nothing: the completion document is not internal state.
  EXPECT_EQ(t["state"], Json::array()) << t["state"].dump();
  EXPECT_EQ(t["user_id"], "customer-314");
  EXPECT_EQ(t["session_id"], "sess-8c1f2e");

  // The detectors saw the arguments: the address sent through a tool the manifest lacks (so
  // treated as external) is personal data, and the tool itself is unauthorised.
  auto pii = Signals("pii");
  ASSERT_EQ(pii.size(), 1u);
  EXPECT_NE(pii[0]["reason"].get<std::string>().find("send_email"), std::string::npos) << pii[0].dump();
  EXPECT_EQ(pii[0]["evidence"][0], t["hash"]);
  auto unauthorised = Signals("action.unauthorised");
  ASSERT_EQ(unauthorised.size(), 1u);
  EXPECT_NE(unauthorised[0]["reason"].get<std::string>().find("send_email"), std::string::npos);
}

TEST_F(InstrumentedTraces, GenAiToolCallPartsAreToolCallsWithTheirResponses) {
  RegisterVersion(R"([{"name":"update_address","effect_class":"record-change"}])");
  Json t = ExportFixture("genai_tool_call_parts.json");
  ASSERT_EQ(t["tool_calls"].size(), 1u) << t.dump(1);
  EXPECT_EQ(t["tool_calls"][0]["name"], "update_address");
  EXPECT_EQ(Json::parse(t["tool_calls"][0]["arguments"].get<std::string>())["phone"], "+49 30 901820");
  EXPECT_EQ(Json::parse(t["tool_calls"][0]["result"].get<std::string>())["updated"], true);
  EXPECT_EQ(t["state"], Json::array({"I'll update the address of order A-1001."}));
  EXPECT_EQ(t["session_id"], "conv_5f2a9c3e7b1d") << "gen_ai.conversation.id is the session";
  EXPECT_EQ(t["user_id"], "customer-271");
  // Declared with an external effect: its arguments are scanned; it is authorised.
  ASSERT_EQ(Signals("pii").size(), 1u);
  EXPECT_NE(Signals("pii")[0]["reason"].get<std::string>().find("update_address"), std::string::npos);
  EXPECT_TRUE(Signals("action").empty());
}

TEST_F(InstrumentedTraces, OpenLlmetryEnvelopesYieldPlainInputAndArguments) {
  Json t = ExportFixture("openllmetry_workflow.json");
  EXPECT_EQ(t["input"], "Where is my order A-1001? It should have arrived yesterday.");
  EXPECT_EQ(t["output"], "Your order A-1001 was delivered yesterday at 14:02 and signed for at the front desk.");
  EXPECT_EQ(t["user_id"], "customer-159");
  EXPECT_EQ(t["session_id"], "sess-41d7a0");
  // The tool span and the model's request are one call (no call id on either: name and
  // arguments match), with the arguments as the function got them.
  ASSERT_EQ(t["tool_calls"].size(), 1u) << t.dump(1);
  EXPECT_EQ(t["tool_calls"][0]["name"], "lookup_order");
  EXPECT_EQ(t["tool_calls"][0]["arguments"], R"({"order_id":"A-1001"})");
  EXPECT_EQ(Json::parse(t["tool_calls"][0]["result"].get<std::string>())["status"], "delivered");

  // Without the tool span (the tool ran uninstrumented) the call comes from the completion and
  // its result from the next prompt's tool message, matched by place: no ids in these prompts.
  Json body = Fixture("openllmetry_workflow.json");
  for (auto& ss : body["resourceSpans"][0]["scopeSpans"]) {
    Json kept = Json::array();
    for (auto& s : ss["spans"]) {
      if (s["name"] != "lookup_order.tool") kept.push_back(s);
    }
    ss["spans"] = kept;
  }
  ForEachSpan(body, [](Json& s) {
    s["traceId"] = std::string(31, '7') + "1";
  });
  StartAt(body, NowNs());
  Json alone = Trace(Export(body));
  ASSERT_EQ(alone["tool_calls"].size(), 1u) << alone.dump(1);
  EXPECT_EQ(alone["tool_calls"][0]["arguments"], R"({"order_id":"A-1001"})");
  EXPECT_EQ(Json::parse(alone["tool_calls"][0]["result"].get<std::string>())["signed_by"], "front desk");
  EXPECT_EQ(alone["hash"], t["hash"]) << "the same run, instrumented or not, is the same content";
}

TEST_F(InstrumentedTraces, LangGraphToolSpansAndTheModelsRequestsAreOneCallEach) {
  Json t = ExportFixture("langgraph_openinference.json");
  EXPECT_EQ(t["input"], "Have orders A-1001 and A-1002 been delivered?");
  EXPECT_EQ(t["output"], "Order A-1001 was delivered on 30 November; order A-1002 is out for delivery today.");
  EXPECT_EQ(t["user_id"], "customer-502");
  EXPECT_EQ(t["session_id"], "thread-2b9d4c61");
  ASSERT_EQ(t["tool_calls"].size(), 2u) << t.dump(1);
  std::set<std::string> orders;
  for (const auto& c : t["tool_calls"]) {
    EXPECT_EQ(c["name"], "lookup_order");
    // The result is the ToolMessage's content, not the message document with its ids.
    Json result = Json::parse(c["result"].get<std::string>());
    Json args = Json::parse(c["arguments"].get<std::string>());
    EXPECT_EQ(result["order_id"], args["order_id"]);
    EXPECT_EQ(c["call_id"].get<std::string>().rfind("call_", 0), 0u);
    orders.insert(args["order_id"].get<std::string>());
  }
  EXPECT_EQ(orders, (std::set<std::string>{"A-1001", "A-1002"}));
  EXPECT_EQ(t["state"], Json::array());
}

TEST_F(InstrumentedTraces, VolatileFieldsNeverMoveTheHash) {
  for (const auto& [fixture, known] : kKnownHashes) {
    SCOPED_TRACE(fixture);
    Json first = ExportFixture(fixture);
    Mutation again = AnotherRun(Fixture(fixture));
    EXPECT_NE(again.body, Fixture(fixture));
    std::string hash = Export(again.body);
    EXPECT_EQ(hash, first["hash"]) << "varied: " << Json(again.changed).dump() << "\nfirst: "
                                   << first.dump() << "\nagain: " << Trace(hash).dump();
    Json second = Trace(hash.substr(0, 12));
    EXPECT_EQ(second["same_hash"], 2);
    EXPECT_NE(second["trace_id"], first["trace_id"]);
    EXPECT_NE(second["started_at"], first["started_at"]);
  }
  // Every kind of volatile value was there to vary, in at least one fixture.
  std::map<std::string, int> varied;
  for (const auto& [fixture, known] : kKnownHashes) {
    for (const auto& [what, n] : AnotherRun(Fixture(fixture)).changed) varied[what] += n;
  }
  for (const char* what : {"ids", "times", "response ids", "call ids", "fingerprints", "message ids",
                           "run ids", "session ids", "created", "token counts"}) {
    EXPECT_GT(varied[what], 0) << what;
  }
}

TEST_F(InstrumentedTraces, EachFixtureHashesToItsKnownValue) {
  for (const auto& [fixture, known] : kKnownHashes) {
    Json t = ExportFixture(fixture);
    EXPECT_EQ(t["hash"], known) << fixture;
    EXPECT_EQ(t["hash_version"], 2) << fixture;
  }
}

}  // namespace
}  // namespace firebreak::testing
