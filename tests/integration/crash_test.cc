// Crash harness: the real binary under concurrent load (OTLP traces, memory writes, incident
// notes) is killed with SIGKILL at random moments, 20 times. After every restart each item the
// server acknowledged (answered 2xx) must be there: the trace by its id, the memory record by
// its id with its text, the note on the incident's timeline; the audit chain must verify; and
// the page that was waiting in the outbox at the kill (its receiver was failing) must be
// delivered once the receiver answers again.
//
// The kill moments come from a seeded RNG: FIREBREAK_CRASH_SEED=<n> replays a run (the seed
// is printed). FIREBREAK_CRASH_KILLS overrides the number of kills. Figures are printed at the
// end; no timing fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/receiver.h"
#include "support/server_process.h"
#include "support/test_util.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kAgent = "crash-bot";

// One request that may meet a dead server: status 0 instead of a test failure.
struct Answer {
  int status = 0;
  Json json;
};
Answer TryCall(uint16_t port, const std::string& method, const std::string& path,
               const std::string& body, const std::string& token) {
  Answer a;
  if (port == 0) return a;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string raw = RawExchange(port, req, 10000);
  size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
  a.status = std::atoi(raw.c_str() + 9);
  a.json = Json::parse(raw.substr(end + 4), nullptr, false);
  return a;
}

// One finished agent run of now: a run started months ago would be past the retention and
// rightly swept at the next start.
std::string OtlpRun(const std::string& trace_id, int n) {
  const uint64_t start_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  Json span = {
      {"traceId", trace_id},
      {"spanId", "00000000000000a1"},
      {"name", "invoke_agent crash-bot"},
      {"startTimeUnixNano", std::to_string(start_ns)},
      {"endTimeUnixNano", std::to_string(start_ns + 500000ULL)},
      {"attributes",
       {{{"key", "gen_ai.operation.name"}, {"value", {{"stringValue", "invoke_agent"}}}},
        {{"key", "gen_ai.output.messages"},
         {"value", {{"stringValue", Json::array({{{"role", "assistant"},
                                                 {"parts", {{{"type", "text"},
                                                             {"content", "answer " + std::to_string(n)}}}}}})
                                        .dump()}}}}}}};
  return Json{{"resourceSpans",
               {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", kAgent}}}}}}}},
                 {"scopeSpans", {{{"spans", {span}}}}}}}}}
      .dump();
}

// What the server acknowledged, by kind; appended by the load threads.
struct Acknowledged {
  std::mutex mu;
  std::vector<std::string> trace_ids;                // GUARDED_BY(mu)
  std::vector<std::pair<int64_t, std::string>> records;  // GUARDED_BY(mu) id, text
  std::vector<std::string> notes;                    // GUARDED_BY(mu)
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

TEST(CrashHarness, NothingAcknowledgedIsLostAcrossRandomKills) {
  const char* seed_env = std::getenv("FIREBREAK_CRASH_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10)
                                 : static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count());
  const char* kills_env = std::getenv("FIREBREAK_CRASH_KILLS");
  const int kills = kills_env ? std::atoi(kills_env) : 20;
  std::cout << "crash harness: seed " << seed << " (FIREBREAK_CRASH_SEED=" << seed
            << " replays it), " << kills << " kills" << std::endl;
  std::mt19937_64 rng(seed);

  Receiver receiver;
  ASSERT_TRUE(receiver.Start());
  receiver.SetDefaultResponse(503, "{}");  // held: pages wait in the outbox
  TempDir config_dir;
  std::string config = config_dir.path() + "/firebreak.toml";
  std::ofstream(config) << "[paging]\n"
                        << "retry_base_ms = 100\n"
                        << "retry_max_ms = 300\n"
                        << "lease_seconds = 1\n"
                        << "[paging.targets.hook]\n"
                        << "type = \"webhook\"\n"
                        << "timeout_ms = 500\n"
                        << "secret = \"crash-harness-secret\"\n"
                        << "url = \"" << receiver.url("/hook") << "\"\n";
  // The check after each restart reads every acknowledged record with one token, faster than
  // the per-token rate limit allows: the limit is off here (its own tests are in http/).
  ServerProcess server({"--config", config, "--rate-limit-per-second", "0"});
  const std::string agent_token = server.CreateToken("crash-agent", "agent", kAgent);
  const std::string responder = server.CreateToken("crash-responder", "responder");
  const std::string admin = server.admin_token();
  auto declared = server.Call("POST", "/api/v1/incidents",
                              Json{{"title", "crash harness"}, {"agent", kAgent}, {"severity", "SEV-4"},
                                   {"reason", "crash harness"}}.dump());
  ASSERT_EQ(declared.status, 201) << declared.body;
  const std::string incident = declared.json["id"];

  std::atomic<uint16_t> port{server.port()};
  std::atomic<bool> running{false}, done{false};
  std::atomic<int> busy{0};
  Acknowledged acked;
  std::atomic<int64_t> attempts{0};
  const std::string run_tag = std::to_string(seed % 1000000);

  auto loop = [&](auto&& one) {
    return std::thread([&, one] {
      for (int n = 0; !done.load(); ++n) {
        if (!running.load()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          continue;
        }
        ++busy;
        if (running.load()) {
          ++attempts;
          one(port.load(), n);
        }
        --busy;
      }
    });
  };
  std::vector<std::thread> threads;
  threads.push_back(loop([&](uint16_t p, int n) {
    char id[33];
    std::snprintf(id, sizeof(id), "%016llx%016llx", static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(n));
    if (TryCall(p, "POST", "/v1/traces", OtlpRun(id, n), agent_token).status == 200) {
      std::lock_guard<std::mutex> lock(acked.mu);
      acked.trace_ids.push_back(id);
    }
  }));
  threads.push_back(loop([&](uint16_t p, int n) {
    std::string text = "crash memory " + run_tag + "-" + std::to_string(n);
    Answer a = TryCall(p, "POST", std::string("/api/v1/memory/") + kAgent + "/records",
                       Json{{"text", text}}.dump(), agent_token);
    if (a.status == 201 && a.json.contains("id")) {
      std::lock_guard<std::mutex> lock(acked.mu);
      acked.records.emplace_back(a.json["id"].get<int64_t>(), text);
    }
  }));
  threads.push_back(loop([&](uint16_t p, int n) {
    std::string text = "crash note " + run_tag + "-" + std::to_string(n);
    if (TryCall(p, "POST", "/api/v1/incidents/" + incident + "/timeline", Json{{"text", text}}.dump(),
                responder)
            .status == 201) {
      std::lock_guard<std::mutex> lock(acked.mu);
      acked.notes.push_back(text);
    }
  }));

  std::vector<double> restart_ms;
  int64_t checked = 0, lost = 0, pages_pending_at_kill = 0, pages_delivered_after = 0;
  size_t records_checked = 0;
  std::uniform_int_distribution<int> kill_after_ms(150, 1200);

  auto check_records = [&](size_t from) {
    std::vector<std::pair<int64_t, std::string>> records;
    {
      std::lock_guard<std::mutex> lock(acked.mu);
      records.assign(acked.records.begin() + static_cast<ptrdiff_t>(from), acked.records.end());
    }
    for (const auto& [id, text] : records) {
      Answer a = TryCall(port, "GET", std::string("/api/v1/memory/") + kAgent + "/records/" + std::to_string(id),
                         "", admin);
      ++checked;
      if (a.status != 200 || a.json.value("text", "") != text) {
        ++lost;
        ADD_FAILURE() << "memory record " << id << " (" << text << ") acknowledged, then: " << a.status;
      }
    }
    return from + records.size();
  };

  for (int round = 1; round <= kills; ++round) {
    // A page that cannot get out (the receiver answers 503) when the kill comes.
    Answer page = TryCall(port, "POST", "/api/v1/incidents/" + incident + "/page",
                          Json{{"targets", {"hook"}}, {"message", "round " + std::to_string(round)}}.dump(),
                          responder);
    ASSERT_EQ(page.status, 202) << page.json.dump();
    std::set<int64_t> pending;
    for (const auto& d : page.json["deliveries"]) pending.insert(d["id"].get<int64_t>());
    pages_pending_at_kill += static_cast<int64_t>(pending.size());

    running = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms(rng)));
    server.Kill();
    running = false;
    port = 0;
    while (busy.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    auto t0 = SteadyClock::now();
    server.Start();
    while (TryCall(server.port(), "GET", "/healthz", "", admin).status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    restart_ms.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    port = server.port();

    Answer verify = TryCall(port, "GET", "/api/v1/audit/verify", "", admin);
    EXPECT_EQ(verify.status, 200);
    EXPECT_TRUE(verify.json.value("intact", false))
        << "audit chain broken after kill " << round << ": " << verify.json.dump();

    // Traces: every acknowledged id is listed.
    std::set<std::string> stored;
    std::string cursor;
    do {
      Answer list = TryCall(port, "GET",
                            std::string("/api/v1/traces?agent=") + kAgent + "&limit=1000" +
                                (cursor.empty() ? "" : "&cursor=" + cursor),
                            "", admin);
      ASSERT_EQ(list.status, 200);
      for (const auto& t : list.json["traces"]) stored.insert(t["trace_id"].get<std::string>());
      cursor = list.json.value("next_cursor", "");
    } while (!cursor.empty());
    std::vector<std::string> trace_ids, notes;
    {
      std::lock_guard<std::mutex> lock(acked.mu);
      trace_ids = acked.trace_ids;
      notes = acked.notes;
    }
    for (const auto& id : trace_ids) {
      ++checked;
      if (!stored.count(id)) {
        ++lost;
        ADD_FAILURE() << "trace " << id << " acknowledged, missing after kill " << round;
      }
    }
    // Notes: every acknowledged text is on the timeline.
    Answer timeline = TryCall(port, "GET", "/api/v1/incidents/" + incident + "/timeline", "", admin);
    ASSERT_EQ(timeline.status, 200);
    std::set<std::string> texts;
    for (const auto& e : timeline.json["events"]) {
      const Json& details = e.contains("details") ? e["details"] : e;
      if (details.is_object() && details.contains("text") && details["text"].is_string())
        texts.insert(details["text"].get<std::string>());
    }
    for (const auto& text : notes) {
      ++checked;
      if (!texts.count(text)) {
        ++lost;
        ADD_FAILURE() << "note '" << text << "' acknowledged, missing after kill " << round;
      }
    }
    // Memory: the records acknowledged since the last check, one by one (all again at the end).
    records_checked = check_records(records_checked);

    // The receiver answers again: the page that waited through the kill goes out.
    receiver.SetDefaultResponse(202, R"({"status":"success"})");
    auto deadline = SteadyClock::now() + std::chrono::seconds(15);
    std::set<int64_t> delivered;
    while (delivered.size() < pending.size() && SteadyClock::now() < deadline) {
      Answer d = TryCall(port, "GET", "/api/v1/deliveries?incident=" + incident + "&status=delivered&limit=1000",
                         "", admin);
      for (const auto& x : d.json.value("deliveries", Json::array())) {
        if (pending.count(x["id"].get<int64_t>())) delivered.insert(x["id"].get<int64_t>());
      }
      if (delivered.size() < pending.size()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pages_delivered_after += static_cast<int64_t>(delivered.size());
    if (delivered.size() < pending.size()) {
      Answer all = TryCall(port, "GET", "/api/v1/deliveries?incident=" + incident + "&limit=1000", "", admin);
      std::string states;
      for (const auto& x : all.json.value("deliveries", Json::array())) {
        if (pending.count(x["id"].get<int64_t>()) && !delivered.count(x["id"].get<int64_t>())) states += x.dump() + "\n";
      }
      ADD_FAILURE() << "a page pending at kill " << round << " was not delivered after the restart:\n" << states;
    }
    receiver.SetDefaultResponse(503, "{}");
  }

  done = true;
  for (auto& t : threads) t.join();
  // Every memory record once more, after the last restart.
  check_records(0);

  size_t n_traces, n_records, n_notes;
  {
    std::lock_guard<std::mutex> lock(acked.mu);
    n_traces = acked.trace_ids.size();
    n_records = acked.records.size();
    n_notes = acked.notes.size();
  }
  std::cout << "crash harness figures (seed " << seed << "):\n"
            << "  kills: " << kills << "\n"
            << "  requests sent: " << attempts.load() << "\n"
            << "  items acknowledged: " << n_traces + n_records + n_notes << " (traces " << n_traces
            << ", memory records " << n_records << ", notes " << n_notes << ")\n"
            << "  items checked: " << checked << " (each after every restart; records again at the end)\n"
            << "  lost: " << lost << "\n"
            << "  pages pending at a kill: " << pages_pending_at_kill << ", delivered after the restart: "
            << pages_delivered_after << "\n"
            << "  restart to /healthz 200: p50 " << Percentile(restart_ms, 0.5) << " ms, max "
            << (restart_ms.empty() ? 0 : *std::max_element(restart_ms.begin(), restart_ms.end())) << " ms\n";
  EXPECT_EQ(lost, 0);
  EXPECT_GT(n_traces + n_records + n_notes, 0u);
}

}  // namespace
}  // namespace firebreak::testing
