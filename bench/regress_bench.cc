// Regression battery benchmark: cases per second of a whole-battery server run through
// RegressionService (exec provider, judging, one write transaction per result) with a trivial
// exec agent, at each parallelism given. In process over a SQLite store in a temporary
// directory; the cases come from native traces. Prints figures; never fails on time.
//   regress_bench [--cases N] [--parallel 1,2]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "regress/regress_service.h"
#include "releases/release_service.h"
#include "store/store.h"
#include "traces/trace_service.h"

namespace fb = firebreak;
using Json = nlohmann::json;

namespace {

int Fail(const fb::Status& s) {
  std::fprintf(stderr, "regress_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  size_t cases = 1000;
  std::vector<int> parallel = {1, 2};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--cases") cases = std::stoul(argv[i + 1]);
    if (flag == "--parallel") {
      parallel.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string p; std::getline(list, p, ',');) parallel.push_back(std::stoi(p));
    }
  }
  std::string list;
  for (int p : parallel) list += (list.empty() ? "" : ",") + std::to_string(p);
  std::printf("command: %s --cases %zu --parallel %s\n", argv[0], cases, list.c_str());

  std::string dir = std::filesystem::temp_directory_path() / ("fb-regress-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  fb::StoreOptions options;
  options.url = "sqlite:" + dir + "/firebreak.db";
  auto store = fb::OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  fb::SystemClock clock;
  fb::EventLog log(clock);
  fb::traces::TraceService traces(**store, log, clock);
  fb::RuntimeHub hub;
  fb::OpenPromotionGate gate;
  fb::ReleaseService releases(**store, log, clock, hub, gate);
  auto scanner = fb::detect::PiiScanner::Create({});
  if (!scanner.ok()) return Fail(scanner.status());
  fb::paging::HttpSender sender;
  fb::regress::RegressOptions regress_options;
  regress_options.exec_providers = true;
  fb::regress::RegressionService service(**store, log, clock, traces, **scanner, sender, regress_options);

  // The trivial agent: reads the case, answers the recorded lookup and a clean reply.
  Json answer = {{"output", "Your order is shipped."},
                 {"tool_calls", {{{"tool", "lookup"}, {"args", {{"id", "A-1"}}}}}}};
  Json manifest = {{"model", "m"},
                   {"prompt_hash", "bench"},
                   {"regression",
                    {{"provider", "exec"},
                     {"command", {"sh", "-c", "cat >/dev/null; echo '" + answer.dump() + "'"}}}}};
  if (auto r = releases.Register("bench", "bot", "v1", manifest); !r.ok()) return Fail(r.status());

  auto setup_started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < cases; ++i) {
    Json t = {{"trace_id", "bench-" + std::to_string(i)},
              {"agent", "bot"},
              {"version", "v1"},
              {"input", "where is order A-" + std::to_string(i) + "?"},
              {"tool_calls", {{{"name", "lookup"}, {"arguments", R"({"id":"A-1"})"}, {"result", "shipped"}}}},
              {"output", "shipped, case " + std::to_string(i)}};
    auto hashes = traces.IngestNative({{"traces", {t}}});
    if (!hashes.ok()) return Fail(hashes.status());
    fb::regress::AddCaseRequest add{(*hashes)[0]};
    add.assertions = Json::parse(R"([{"type":"no-pii"},{"type":"contains","value":"shipped"},
                                     {"type":"max-tool-calls","value":3}])");
    if (auto c = service.AddCase("bench", add); !c.ok()) return Fail(c.status());
  }
  std::printf("setup: %zu traces and cases stored in %.1f s\n", cases,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_started).count());

  for (int p : parallel) {
    fb::regress::RunRequest req;
    req.agent = "bot";
    req.version = "v1";
    req.parallel = p;
    auto started = std::chrono::steady_clock::now();
    auto run = service.StartRun("bench", req);
    if (!run.ok()) return Fail(run.status());
    if (auto s = service.Execute(run->run.id); !s.ok()) return Fail(s);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto done = service.GetRun(run->run.id);
    if (!done.ok()) return Fail(done.status());
    std::printf("parallel %d: %zu cases in %.2f s = %.0f cases/s (run %s: %lld passed, %lld failed, %lld errored)\n",
                p, cases, seconds, static_cast<double>(cases) / seconds, done->run.status.c_str(),
                static_cast<long long>(done->run.passed), static_cast<long long>(done->run.failed),
                static_cast<long long>(done->run.errored));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
