#include "exe/serve.h"

#include <algorithm>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <thread>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "audit/anchor.h"
#include "audit/event_log.h"
#include "audit/timeline_feed.h"
#include "auth/auth.h"
#include "common/clock.h"
#include "comms/comms_service.h"
#include "common/crypto.h"
#include "common/readiness.h"
#include "config/policy.h"
#include "config/settings.h"
#include "http/server.h"
#include "incidents/incident_service.h"
#include "isolation/isolation_service.h"
#include "memory/memory_service.h"
#include "paging/pager.h"
#include "postmortem/postmortem_service.h"
#include "regress/gates.h"
#include "regress/regress_service.h"
#include "releases/release_service.h"
#include "releases/runtime_hub.h"
#include "signals/detection.h"
#include "signals/signal_service.h"
#include "store/store.h"
#include "traces/retention.h"
#include "traces/trace_service.h"

namespace firebreak {
namespace {

constexpr char kVersion[] = "0.1.0";

// Writes a log message as a JSON string (quotes and escapes included).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string s = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

void SetupLogging(const Settings& s) {
  // Logs go to stderr; stdout carries only what a person or a script reads once (the address,
  // where the first admin token was written). No secret is ever printed.
  auto logger = spdlog::stderr_color_mt("firebreak");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(s.log_level));
  if (s.log_format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%*})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
}

Status WriteSecretFile(const std::string& path, const std::string& secret) {
  // Created with 0600 from the start, so the secret is never readable by others.
  std::filesystem::remove(path);
  mode_t old = umask(077);
  std::ofstream out(path, std::ios::trunc);
  umask(old);
  if (!out) return Unavailable("cannot write " + path);
  out << secret << "\n";
  out.close();
  ::chmod(path.c_str(), 0600);
  return out ? Status::Ok() : Unavailable("cannot write " + path);
}

// Raises the open-file limit to the hard limit: every held event stream or long-poll is a
// socket, and thousands of agents may hold one each.
void RaiseOpenFileLimit() {
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  spdlog::info("open file limit {} (was {})", static_cast<uint64_t>(lim.rlim_cur),
               static_cast<uint64_t>(before));
}

// Late updates are chased through the pager's outbox, to the on-call; internal updates go to
// the [comms] internal_targets.
class PagerReminders final : public ReminderSink {
 public:
  explicit PagerReminders(paging::Pager& pager) : pager_(pager) {}
  Status QueueReminder(Txn& txn, const IncidentRecord& incident, const std::string& key,
                       const std::string& headline) override {
    return pager_.Remind(txn, incident, key, headline).status();
  }
  Status QueueInternalUpdate(Txn& txn, const IncidentRecord& incident, const std::string& key,
                             const std::string& text) override {
    return pager_.Announce(txn, incident, key, text).status();
  }

 private:
  paging::Pager& pager_;
};

// The isolation playbook's banner step is the communication component's default banner.
class CommsBanner final : public BannerRaiser {
 public:
  explicit CommsBanner(CommsService& comms) : comms_(comms) {}
  StatusOr<std::string> RaiseDefaultBanner(const std::string& actor, const IncidentRecord& incident,
                                           bool dry_run) override {
    return comms_.RaiseDefaultBanner(actor, incident, dry_run);
  }

 private:
  CommsService& comms_;
};

int Fail(const Status& s) {
  spdlog::error("{}", s.message());
  std::cerr << "firebreak serve: " << s.message() << "\n";
  return 1;
}

}  // namespace

int Serve(const std::string& config_path, const std::map<std::string, std::string>& flags) {
  auto settings = LoadSettings(config_path, [](const char* n) { return std::getenv(n); }, flags);
  if (!settings.ok()) {
    std::cerr << "firebreak serve: " << settings.status().message() << "\n";
    return 2;
  }
  const Settings& s = *settings;
  SetupLogging(s);

  RaiseOpenFileLimit();

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(s.data_dir, ec);
  if (ec) return Fail(Unavailable("cannot create data dir " + s.data_dir + ": " + ec.message()));
  ::chmod(s.data_dir.c_str(), 0700);

  StoreOptions store_options;
  store_options.url = s.StoreUrl();
  store_options.read_connections = std::max(2, s.workers);
  store_options.synchronous_full = s.synchronous_full;
  auto store = OpenStore(store_options);
  if (!store.ok()) return Fail(store.status());
  spdlog::info("store {} open (synchronous={})", store_options.url, s.synchronous_full ? "full" : "normal");

  SystemClock clock;
  EventLog log(clock);
  std::string key_file = s.audit_key_file.empty() ? s.data_dir + "/audit.key" : s.audit_key_file;
  auto anchor_key = LoadOrCreateAnchorKey(key_file);
  if (!anchor_key.ok()) return Fail(anchor_key.status());
  log.SetAnchoring({*anchor_key, s.data_dir + "/audit-anchor.json"});
  TokenService tokens(**store, log, clock);
  IncidentService incidents(**store, log, clock);
  RuntimeHub runtime_hub;
  // A version becomes stable only when the regression battery passes on it; an incident closes
  // only when its regression case passes on the stable version.
  regress::BatteryGate promotion_gate;
  ReleaseService releases(**store, log, clock, runtime_hub, promotion_gate);
  regress::CaseCloseRequirement regression_close;
  incidents.AddCloseRequirement(&regression_close);
  // The vector indexes are built after the server is up (Warm, below): until then vector
  // searches answer 503 and /readyz names "memory"; everything else serves.
  Readiness readiness;
  readiness.Warming("memory");
  auto memory = MemoryService::Create(**store, log, clock);
  if (!memory.ok()) return Fail(memory.status());
  auto pending = (*store)->CompactionPending();
  if (!pending.ok()) return Fail(pending.status());
  if (*pending) readiness.Warming("compaction");
  auto erasure_key = LoadOrCreateSecretFile(s.data_dir + "/erasure.key", "the erasure key");
  if (!erasure_key.ok()) return Fail(erasure_key.status());
  traces::TraceOptions trace_options;
  trace_options.retention_days = s.retention_days;
  trace_options.erasure_key = *erasure_key;
  trace_options.limits.max_decoded_bytes = static_cast<size_t>(s.max_body_bytes);
  traces::TraceService trace_service(**store, log, clock, trace_options);

  // Detection and paging: signals open incidents; classified incidents page.
  auto policy = LoadResponsePolicy(config_path, [](const char* n) { return std::getenv(n); });
  if (!policy.ok()) return Fail(policy.status());
  SignalService signal_service(**store, log, incidents, clock, policy->classification);
  auto detection = DetectionPipeline::Create(**store, signal_service, clock, policy->detect);
  if (!detection.ok()) return Fail(detection.status());
  trace_service.SetObserver(detection->get());
  paging::HttpSender sender;
  paging::Pager pager(**store, log, clock, policy->paging, sender);
  // The regression battery judges personal data with the detectors' own settings.
  auto regress_scanner = detect::PiiScanner::Create(policy->detect.pii);
  if (!regress_scanner.ok()) return Fail(regress_scanner.status());
  regress::RegressOptions regress_options;
  regress_options.exec_providers = s.regress_exec;
  regress::RegressionService regressions(**store, log, clock, trace_service, **regress_scanner,
                                         sender, regress_options);
  // Communication: banners and updates pass the lint (against the users the traces say were
  // affected); late updates are chased through the pager's outbox.
  PagerReminders reminders(pager);
  // One measure of the users an incident affected, for the comms lint and the post-mortem.
  AffectedCount affected = [&trace_service](const IncidentRecord& inc)
      -> StatusOr<std::pair<int64_t, int64_t>> {
    traces::AffectedQuery q;
    q.incident_id = inc.id;
    q.limit = 1;
    FB_ASSIGN_OR_RETURN(traces::AffectedUsers a, trace_service.ListAffectedUsers(q));
    return std::pair<int64_t, int64_t>{a.totals.users, a.totals.users};
  };
  CommsOptions comms_options;
  comms_options.reminders = &reminders;
  comms_options.affected = affected;
  CommsService comms(**store, log, clock, comms_options);
  CommsBanner banner(comms);
  // Post-mortems: measured like the comms lint, chased through the pager's outbox; an incident
  // closes only with its post-mortem published.
  PostmortemOptions postmortem_options;
  postmortem_options.affected = affected;
  postmortem_options.pager = &pager;
  PostmortemService postmortems(**store, log, clock, postmortem_options);
  incidents.AddCloseRequirement(&postmortems.close_requirement());
  // The isolation playbook; its last step raises the default banner.
  IsolationService isolation(**store, log, clock, incidents, releases, **memory, trace_service,
                             &banner);
  // Automatic isolation by the [isolation] policy sees each change first, then the pager.
  AutoIsolator auto_isolator(**store, isolation, policy->isolation, &pager);
  incidents.SetObserver(&auto_isolator);
  if (policy->paging.targets.empty()) {
    spdlog::warn("no paging targets configured: pages are recorded on the timeline, sent nowhere");
  }

  // What GET /api/v1/stream sends: the timelines as they grow.
  TimelineFeed timeline(**store, std::chrono::milliseconds(200));
  if (Status started = timeline.Start(); !started.ok()) return Fail(started);
  // Server runs a stop cut short are marked errored; the worker runs the ones asked for next.
  if (Status started = regressions.Start(); !started.ok()) return Fail(started);

  auto admin = tokens.BootstrapAdmin();
  if (!admin.ok()) return Fail(admin.status());
  if (*admin) {
    std::string path = s.data_dir + "/admin.token";
    Status written = WriteSecretFile(path, (*admin)->secret);
    if (!written.ok()) return Fail(written);
    // The token goes to its file only: stdout and logs are often kept where others read them.
    std::cout << "first start: created the admin token in " << path << " (mode 0600)" << std::endl;
  }

  http::HttpMetrics metrics;
  http::Router router;
  notify::UserNotifier notifier(**store, log, pager, clock);
  api::Deps deps{**store,        log,            tokens,         incidents, releases,
                 **memory,      trace_service,  signal_service, isolation, **detection,
                 pager,         notifier,       metrics,        clock,     kVersion,
                 readiness,     comms,          timeline,       policy->alertmanager,
                 postmortems,   regressions};
  api::RegisterRoutes(router, deps);

  http::ServerOptions server_options;
  server_options.address = s.listen_address;
  server_options.port = s.listen_port;
  server_options.threads = s.workers;
  server_options.max_body_bytes = static_cast<size_t>(s.max_body_bytes);
  server_options.sse_keepalive = std::chrono::seconds(s.sse_keepalive_seconds);
  server_options.header_timeout = std::chrono::seconds(s.header_timeout_seconds);
  server_options.body_timeout = std::chrono::seconds(s.body_timeout_seconds);
  server_options.idle_timeout = std::chrono::seconds(s.idle_timeout_seconds);
  server_options.max_connections = static_cast<size_t>(s.max_connections);
  server_options.max_connections_per_client = static_cast<size_t>(s.max_connections_per_client);
  server_options.rate_limit_per_second = static_cast<double>(s.rate_limit_per_second);
  server_options.rate_limit_burst = static_cast<double>(s.rate_limit_burst);
  auto server = http::Server::Create(server_options, router, metrics, clock);
  if (!server.ok()) return Fail(server.status());
  (*server)->Start();
  std::jthread warm_memory([&memory, &readiness](std::stop_token stop) {
    auto started = std::chrono::steady_clock::now();
    while (!stop.stop_requested()) {
      Status warmed = (*memory)->Warm(stop);
      if (warmed.ok()) {
        readiness.Ready("memory");
        spdlog::info("memory: vector indexes built in {} ms",
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started).count());
        return;
      }
      if (stop.stop_requested()) return;
      spdlog::error("memory: building the vector indexes: {}; retrying", warmed.message());
      std::this_thread::sleep_for(std::chrono::seconds(5));
    }
  });
  // A purge or erasure whose compaction failed, or was cut by a crash, is finished here: at
  // start, then checked every minute.
  std::jthread compactor([&store, &readiness](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    while (!stop.stop_requested()) {
      auto pending = (*store)->CompactionPending();
      if (pending.ok() && *pending) {
        Status compacted = (*store)->Compact();
        if (compacted.ok()) {
          spdlog::info("store: pending compaction finished");
        } else {
          spdlog::error("store: pending compaction failed: {}; retrying in a minute", compacted.message());
        }
      }
      auto still = (*store)->CompactionPending();
      if (still.ok() && !*still) readiness.Ready("compaction");
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, stop, std::chrono::minutes(1), [] { return false; });
    }
  });
  traces::RetentionSweeper sweeper(trace_service, std::chrono::hours(1));
  sweeper.Start();
  // The chain's head is signed now, every minute and at a clean stop (docs/audit.md).
  AnchorKeeper anchors(log, **store, std::chrono::minutes(1));
  anchors.Start();
  // Often enough for both: quiet traces (a sixth of their wait) and large traces waiting to be
  // assembled again (their delay).
  traces::QuietAssembler quiet_assembler(
      trace_service, std::chrono::milliseconds(std::min<int64_t>(
                         std::max<int64_t>(1000, trace_options.quiet_ms / 6),
                         std::max<int64_t>(100, trace_options.reassemble_delay_ms))));
  quiet_assembler.Start();
  traces::PeriodicWorker comms_chaser(
      [&comms] {
        auto chased = comms.ChaseOverdue();
        if (!chased.ok()) spdlog::warn("chasing late updates failed: {}", chased.status().message());
      },
      std::chrono::seconds(10));
  comms_chaser.Start();
  // The 48-hour clock of post-mortems and the weekly chase of open actions past their date.
  traces::PeriodicWorker postmortem_chaser(
      [&postmortems] {
        auto chased = postmortems.Chase();
        if (!chased.ok()) spdlog::warn("chasing post-mortems failed: {}", chased.status().message());
      },
      std::chrono::seconds(10));
  postmortem_chaser.Start();
  // Traces committed but not inspected before a crash are still queued: inspect them now.
  if (Status warmed = (*detection)->Warm(); !warmed.ok()) {
    spdlog::error("detectors: warm-up: {}", warmed.message());
  }
  (*detection)->Start();
  pager.Start();
  auto_isolator.Start();
  std::string host = s.listen_address.find(':') != std::string::npos ? "[" + s.listen_address + "]"
                                                                      : s.listen_address;
  std::cout << "firebreak listening on http://" << host << ":" << (*server)->port() << std::endl;
  spdlog::info("firebreak {} listening on {}:{} with {} workers", kVersion, host,
               (*server)->port(), s.workers);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}; finishing requests in flight (up to {} s)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", s.shutdown_grace_seconds);
  (*server)->Shutdown(std::chrono::seconds(s.shutdown_grace_seconds));
  warm_memory.request_stop();
  compactor.request_stop();
  warm_memory.join();
  compactor.join();
  quiet_assembler.Stop();
  comms_chaser.Stop();
  postmortem_chaser.Stop();
  sweeper.Stop();
  (*detection)->Stop();
  regressions.Stop();
  auto_isolator.Stop();
  pager.Stop();
  anchors.Stop();
  Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(closed);
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace firebreak
