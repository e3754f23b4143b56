// Fuzzes the HTTP request path: raw bytes through Beast's request parser with the server's
// limits, then Firebreak's target decoding (http::ParseTarget) and route matching against the
// real route table (api::RegisterRoutes over a store in a temporary directory). Handlers are
// not run: each has its own body fuzz target.
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "api/api.h"
#include "common/readiness.h"
#include "fuzz/fuzz_checks.h"
#include "http/router.h"
#include "http/server.h"
#include "paging/sender.h"
#include "regress/regress_service.h"
#include "releases/runtime_hub.h"

namespace {

using namespace firebreak;
namespace bhttp = boost::beast::http;

// Everything the route table borrows; built once, never destroyed (the process exits).
struct World {
  std::unique_ptr<Store> store;
  SystemClock clock;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<TokenService> tokens;
  std::unique_ptr<IncidentService> incidents;
  RuntimeHub hub;
  OpenPromotionGate gate;
  std::unique_ptr<ReleaseService> releases;
  std::unique_ptr<MemoryService> memory;
  std::unique_ptr<traces::TraceService> traces;
  std::unique_ptr<SignalService> signals;
  std::unique_ptr<DetectionPipeline> detection;
  paging::HttpSender sender;
  std::unique_ptr<paging::Pager> pager;
  std::unique_ptr<IsolationService> isolation;
  std::unique_ptr<CommsService> comms;
  std::unique_ptr<TimelineFeed> timeline;
  std::unique_ptr<notify::UserNotifier> notifier;
  std::unique_ptr<PostmortemService> postmortems;
  std::unique_ptr<detect::PiiScanner> scanner;
  std::unique_ptr<regress::RegressionService> regressions;
  http::HttpMetrics metrics;
  Readiness readiness;
  AlertmanagerPolicy alertmanager;
  std::unique_ptr<api::Deps> deps;
  http::Router router;
};

World* BuildWorld() {
  auto* w = new World;
  std::string dir = std::filesystem::temp_directory_path() /
                    ("fb-http-fuzz-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  StoreOptions options;
  options.url = "sqlite:" + dir + "/firebreak.db";
  auto store = OpenStore(options);
  fuzz::Require(store.ok(), "cannot open the store");
  w->store = std::move(*store);
  w->log = std::make_unique<EventLog>(w->clock);
  w->tokens = std::make_unique<TokenService>(*w->store, *w->log, w->clock);
  w->incidents = std::make_unique<IncidentService>(*w->store, *w->log, w->clock);
  w->releases = std::make_unique<ReleaseService>(*w->store, *w->log, w->clock, w->hub, w->gate);
  auto memory = MemoryService::Create(*w->store, *w->log, w->clock);
  fuzz::Require(memory.ok(), "cannot create the memory service");
  w->memory = std::move(*memory);
  w->traces = std::make_unique<traces::TraceService>(*w->store, *w->log, w->clock);
  w->signals = std::make_unique<SignalService>(*w->store, *w->log, *w->incidents, w->clock,
                                               ClassificationPolicy{});
  auto detection = DetectionPipeline::Create(*w->store, *w->signals, w->clock, DetectionOptions{});
  fuzz::Require(detection.ok(), "cannot create the detection pipeline");
  w->detection = std::move(*detection);
  w->pager = std::make_unique<paging::Pager>(*w->store, *w->log, w->clock, paging::PagingPolicy{},
                                             w->sender);
  w->comms = std::make_unique<CommsService>(*w->store, *w->log, w->clock, CommsOptions{});
  w->isolation = std::make_unique<IsolationService>(*w->store, *w->log, w->clock, *w->incidents,
                                                    *w->releases, *w->memory, *w->traces,
                                                    /*banner=*/nullptr);
  w->timeline = std::make_unique<TimelineFeed>(*w->store, std::chrono::milliseconds(200));
  w->notifier = std::make_unique<notify::UserNotifier>(*w->store, *w->log, *w->pager, w->clock);
  PostmortemOptions postmortem_options;
  postmortem_options.pager = w->pager.get();
  w->postmortems = std::make_unique<PostmortemService>(*w->store, *w->log, w->clock, postmortem_options);
  w->incidents->AddCloseRequirement(&w->postmortems->close_requirement());
  auto scanner = detect::PiiScanner::Create(detect::PiiOptions{});
  fuzz::Require(scanner.ok(), "cannot create the personal-data scanner");
  w->scanner = std::move(*scanner);
  // Its worker is never started: runs the fuzzer starts stay queued.
  w->regressions = std::make_unique<regress::RegressionService>(*w->store, *w->log, w->clock,
                                                                *w->traces, *w->scanner, w->sender);
  w->deps.reset(new api::Deps{*w->store, *w->log, *w->tokens, *w->incidents, *w->releases,
                              *w->memory, *w->traces, *w->signals, *w->isolation,
                              *w->detection, *w->pager, *w->notifier, w->metrics, w->clock, "fuzz", w->readiness,
                              *w->comms, *w->timeline, w->alertmanager,
                              *w->postmortems, *w->regressions});
  api::RegisterRoutes(w->router, *w->deps);
  std::filesystem::remove_all(dir);  // the open files stay usable; nothing is left behind
  return w;
}

World* world = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world = BuildWorld();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const http::ServerOptions limits;
  boost::asio::const_buffer input(data, size);
  // Several requests may follow each other on one connection: parse them all.
  while (input.size() > 0) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(limits.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done() && input.size() > 0) {
      size_t used = parser.put(input, ec);
      input += used;
      // need_more: the parser waits for bytes beyond the input (Beast's contract is that the
      // next call brings more, as the server's socket reads do); there are none, so the
      // input ends here.
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return 0;
    }
    if (!parser.is_done()) {
      parser.put_eof(ec);
      if (ec || !parser.is_done()) return 0;
    }
    auto& msg = parser.get();
    http::Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    if (!http::ParseTarget(req.target, req).ok()) continue;
    fuzz::Require(!req.path.empty() && req.path[0] == '/', "a parsed path does not start with /");
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    http::Router::Match match = world->router.Find(req);
    if (match.handler || match.async_handler) {
      fuzz::Require(!match.pattern.empty(), "a matched route has no pattern");
    }
  }
  return 0;
}
