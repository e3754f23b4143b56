// Time to page: an agent ingests a trace whose final response holds a valid card number; how
// long until the ingest is answered (the detectors run on the ingest path, so the SEV-1
// incident exists then), and until the PagerDuty trigger arrives at a local receiver.
//
// Usage: page_latency [--runs N]     (each run is a new agent, so each opens its own incident)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/receiver.h"
#include "support/server_process.h"
#include "support/test_util.h"

using firebreak::testing::Receiver;
using firebreak::testing::ServerProcess;
using firebreak::testing::TempDir;
using Json = nlohmann::json;
using Steady = std::chrono::steady_clock;

namespace {

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void Print(const char* what, const std::vector<double>& ms) {
  std::printf("  %-34s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", what, Percentile(ms, 0.5),
              Percentile(ms, 0.99), Percentile(ms, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::stoi(argv[i + 1]);
  }
  Receiver receiver;
  if (!receiver.Start()) return 1;
  TempDir dir;
  std::string config = dir.path() + "/firebreak.toml";
  std::ofstream(config) << "[paging]\nescalation = [[\"pd\"]]\n[paging.targets.pd]\n"
                        << "type = \"pagerduty\"\nrouting_key = \"rk\"\nurl = \"" << receiver.url("/pd")
                        << "\"\n";
  ServerProcess server({"--config", config});
  std::vector<double> answered, paged;
  for (int i = 0; i < runs; ++i) {
    Json trace = {{"trace_id", "run-" + std::to_string(i)},
                  {"agent", "bot-" + std::to_string(i)},
                  {"input", "please refund order 81723"},
                  {"output", "Refunded to your card 4111 1111 1111 1111, it takes 3 days."}};
    auto t0 = Steady::now();
    auto r = server.Call("POST", "/api/v1/traces", Json{{"traces", {trace}}}.dump());
    auto t1 = Steady::now();
    if (r.status != 201) {
      std::fprintf(stderr, "ingest failed: %d %s\n", r.status, r.body.c_str());
      return 1;
    }
    if (!receiver.WaitForRequests(static_cast<size_t>(i + 1), std::chrono::seconds(10))) {
      std::fprintf(stderr, "no page within 10 s for run %d\n", i);
      return 1;
    }
    auto t2 = Steady::now();
    answered.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    paged.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  std::printf("page_latency: %d traces with a card number, each a new agent and a new SEV-1\n", runs);
  Print("ingest answered (incident open)", answered);
  Print("PagerDuty trigger at the receiver", paged);
  return 0;
}
