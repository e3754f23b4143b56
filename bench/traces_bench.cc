// Trace pipeline benchmark (prints figures; never fails on time).
//
//   ingest:  realistic agent traces (8-20 spans, 1-10 KB of text each) POSTed one trace per
//            request to the real `firebreak serve` on 127.0.0.1, as OTLP protobuf and as OTLP
//            JSON, from several keep-alive connections: spans/s, traces/s, p50/p99 latency.
//            Ceiling, in the same run: the same spans and assembled traces written straight
//            into a SQLite store in one transaction; ratio = HTTP spans/s / ceiling spans/s.
//   similar: N traces in clusters of near-duplicates loaded into a store, then the real
//            server answers GET /api/v1/traces/{hash}/similar?k=10: p50/p99 latency and
//            recall@10 against brute-force exact Jaccard over every stored trace.
//   one-trace: one trace of N spans sent as N single-span ingests (TraceService::IngestSpans,
//            in process), root first and root last: ms per ingest for the first and last 50.
//
// Usage: traces_bench [--firebreak PATH] [--traces N] [--connections C] [--similar N]
//                     [--queries Q] [--detectors on|off] [--one-trace N]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "audit/event_log.h"
#include "proto/otlp_trace.pb.h"
#include "store/store.h"
#include "traces/assembly.h"
#include "traces/canonical.h"
#include "traces/similarity.h"
#include "traces/trace_service.h"

namespace {

using namespace firebreak;
using Json = nlohmann::json;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Steady = std::chrono::steady_clock;

// ---------- synthetic content ----------

std::vector<std::string> Vocabulary(std::mt19937_64& rng, int n) {
  std::vector<std::string> v;
  std::uniform_int_distribution<int> len(3, 10), ch(0, 25);
  for (int i = 0; i < n; ++i) {
    std::string w;
    int l = len(rng);
    for (int k = 0; k < l; ++k) w += static_cast<char>('a' + ch(rng));
    v.push_back(w);
  }
  return v;
}

std::string Words(std::mt19937_64& rng, const std::vector<std::string>& vocab, size_t bytes) {
  std::uniform_int_distribution<size_t> pick(0, vocab.size() - 1);
  std::string s;
  while (s.size() < bytes) s += vocab[pick(rng)] + " ";
  return s;
}

struct RunSpec {
  std::string trace_id;
  std::vector<traces::SpanData> spans;
};

std::string HexId(std::mt19937_64& rng, int bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < bytes * 2; ++i) s += d[rng() % 16];
  return s;
}

// One agent run: root (input/output), then model calls, tool calls and a retrieval.
RunSpec MakeRun(std::mt19937_64& rng, const std::vector<std::string>& vocab, uint64_t t0) {
  std::uniform_int_distribution<int> nspans(8, 20);
  std::uniform_int_distribution<size_t> total_text(1024, 10240);
  int n = nspans(rng);
  size_t per_span = total_text(rng) / static_cast<size_t>(n);
  RunSpec run;
  run.trace_id = HexId(rng, 16);
  std::string root_id = HexId(rng, 8);
  for (int i = 0; i < n; ++i) {
    traces::SpanData s;
    s.trace_id = run.trace_id;
    s.span_id = i == 0 ? root_id : HexId(rng, 8);
    s.parent_span_id = i == 0 ? "" : root_id;
    s.start_ns = t0 + static_cast<uint64_t>(i) * 1000000;
    s.end_ns = s.start_ns + 900000;
    s.resource = {{"service.name", "bench-agent"}, {"service.version", "v1"}};
    s.scope = "bench";
    std::string text = Words(rng, vocab, per_span);
    if (i == 0) {
      s.name = "invoke_agent bench-agent";
      s.attributes = {{"gen_ai.operation.name", "invoke_agent"},
                      {"user.id", "user-" + std::to_string(rng() % 1000)},
                      {"session.id", HexId(rng, 4)},
                      {"input.value", text},
                      {"output.value", Words(rng, vocab, per_span / 2)}};
    } else if (i % 3 == 1) {
      s.name = "chat model";
      s.attributes = {{"gen_ai.operation.name", "chat"},
                      {"gen_ai.usage.input_tokens", 300},
                      {"gen_ai.usage.output_tokens", 40},
                      {"gen_ai.completion.0.role", "assistant"},
                      {"gen_ai.completion.0.content", text}};
    } else if (i % 3 == 2) {
      s.name = "execute_tool search";
      s.attributes = {{"gen_ai.operation.name", "execute_tool"},
                      {"gen_ai.tool.name", "search"},
                      {"gen_ai.tool.call.id", HexId(rng, 4)},
                      {"gen_ai.tool.call.arguments", Json{{"q", text.substr(0, 60)}}.dump()},
                      {"gen_ai.tool.call.result", text}};
    } else {
      s.name = "retrieve";
      s.attributes = {{"openinference.span.kind", "RETRIEVER"},
                      {"retrieval.documents.0.document.id", "doc-" + std::to_string(i)},
                      {"retrieval.documents.0.document.content", text}};
    }
    run.spans.push_back(std::move(s));
  }
  return run;
}

void SetAnyValue(firebreak::otlp::AnyValue* out, const Json& v) {
  if (v.is_string())
    out->set_string_value(v.get<std::string>());
  else if (v.is_number_integer())
    out->set_int_value(v.get<int64_t>());
  else if (v.is_number())
    out->set_double_value(v.get<double>());
  else if (v.is_boolean())
    out->set_bool_value(v.get<bool>());
  else
    out->set_string_value(v.dump());
}

std::string Unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

std::string ToProtobuf(const RunSpec& run) {
  firebreak::otlp::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  for (auto it = run.spans[0].resource.begin(); it != run.spans[0].resource.end(); ++it) {
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key(it.key());
    SetAnyValue(kv->mutable_value(), it.value());
  }
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("bench");
  for (const auto& s : run.spans) {
    auto* sp = ss->add_spans();
    sp->set_trace_id(Unhex(s.trace_id));
    sp->set_span_id(Unhex(s.span_id));
    if (!s.parent_span_id.empty()) sp->set_parent_span_id(Unhex(s.parent_span_id));
    sp->set_name(s.name);
    sp->set_kind(1);
    sp->set_start_time_unix_nano(s.start_ns);
    sp->set_end_time_unix_nano(s.end_ns);
    for (auto it = s.attributes.begin(); it != s.attributes.end(); ++it) {
      auto* kv = sp->add_attributes();
      kv->set_key(it.key());
      SetAnyValue(kv->mutable_value(), it.value());
    }
  }
  return req.SerializeAsString();
}

Json JsonAttrs(const Json& attrs) {
  Json out = Json::array();
  for (auto it = attrs.begin(); it != attrs.end(); ++it) {
    Json v;
    if (it->is_string())
      v = {{"stringValue", *it}};
    else if (it->is_number_integer())
      v = {{"intValue", std::to_string(it->get<int64_t>())}};
    else
      v = {{"stringValue", it->dump()}};
    out.push_back({{"key", it.key()}, {"value", v}});
  }
  return out;
}

std::string ToOtlpJson(const RunSpec& run) {
  Json spans = Json::array();
  for (const auto& s : run.spans) {
    Json j = {{"traceId", s.trace_id},
              {"spanId", s.span_id},
              {"name", s.name},
              {"kind", 1},
              {"startTimeUnixNano", std::to_string(s.start_ns)},
              {"endTimeUnixNano", std::to_string(s.end_ns)},
              {"attributes", JsonAttrs(s.attributes)}};
    if (!s.parent_span_id.empty()) j["parentSpanId"] = s.parent_span_id;
    spans.push_back(j);
  }
  Json req = {{"resourceSpans",
               {{{"resource", {{"attributes", JsonAttrs(run.spans[0].resource)}}},
                 {"scopeSpans", {{{"scope", {{"name", "bench"}}}, {"spans", spans}}}}}}}};
  return req.dump();
}

// ---------- the server under test ----------

struct Server {
  pid_t pid = 0;
  std::string host, port, token;
};

// `config`: a TOML file for `serve --config`, or "" for none.
Server StartServer(const std::string& binary, const std::string& data_dir,
                   const std::string& config = "") {
  Server s;
  std::string out = data_dir + "/server.out";
  std::fflush(stdout);  // or the child would print our buffered lines again
  s.pid = fork();
  if (s.pid == 0) {
    FILE* f = std::freopen(out.c_str(), "w", stdout);
    FILE* e = std::freopen((data_dir + "/server.err").c_str(), "w", stderr);
    (void)f, (void)e;
    if (config.empty()) {
      execl(binary.c_str(), binary.c_str(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
            data_dir.c_str(), "--log-level", "warn", "--max-body-bytes", "16777216", "--rate-limit-per-second", "0",
            static_cast<char*>(nullptr));
    } else {
      execl(binary.c_str(), binary.c_str(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
            data_dir.c_str(), "--log-level", "warn", "--max-body-bytes", "16777216", "--config",
            config.c_str(), static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    std::ifstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      const std::string mark = "listening on http://";
      if (auto p = line.find(mark); p != std::string::npos) {
        std::string hp = line.substr(p + mark.size());
        s.host = hp.substr(0, hp.rfind(':'));
        s.port = hp.substr(hp.rfind(':') + 1);
        std::ifstream tok(data_dir + "/admin.token");
        std::getline(tok, s.token);
        return s;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "server did not start; see " << data_dir << "/server.err\n";
  std::exit(1);
}

void StopServer(Server& s) {
  kill(s.pid, SIGTERM);
  int status = 0;
  waitpid(s.pid, &status, 0);
}

class Client {
 public:
  explicit Client(const Server& s) : server_(s), stream_(ioc_) {
    tcp::resolver resolver(ioc_);
    stream_.connect(resolver.resolve(s.host, s.port));
  }
  // Sends one request on the kept-alive connection; returns the HTTP status.
  int Send(const std::string& method, const std::string& target, const std::string& content_type,
           const std::string& body, std::string* response = nullptr) {
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, server_.host);
    req.set(bhttp::field::authorization, "Bearer " + server_.token);
    req.keep_alive(true);
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream_, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    bhttp::read(stream_, buffer_, parser);
    if (response) *response = parser.get().body();
    return static_cast<int>(parser.get().result_int());
  }

 private:
  const Server& server_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct IngestFigures {
  double seconds = 0;
  std::vector<double> latencies_ms;
  int64_t spans = 0, traces = 0, failures = 0;
};

IngestFigures IngestOverHttp(const Server& server, const std::vector<RunSpec>& runs,
                             const std::vector<std::string>& bodies,
                             const std::string& content_type, int connections) {
  IngestFigures f;
  std::atomic<size_t> next{0};
  std::atomic<int64_t> failures{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(connections));
  auto start = Steady::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Client client(server);
      for (size_t i = next++; i < bodies.size(); i = next++) {
        auto t = Steady::now();
        int status = client.Send("POST", "/v1/traces", content_type, bodies[i]);
        lat[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Steady::now() - t).count());
        if (status != 200) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  f.seconds = std::chrono::duration<double>(Steady::now() - start).count();
  for (auto& l : lat) f.latencies_ms.insert(f.latencies_ms.end(), l.begin(), l.end());
  for (const auto& r : runs) f.spans += static_cast<int64_t>(r.spans.size());
  f.traces = static_cast<int64_t>(runs.size());
  f.failures = failures;
  return f;
}

void PrintIngest(const char* name, const IngestFigures& f) {
  std::printf(
      "  %-22s %7lld traces %8lld spans in %6.2f s: %8.0f spans/s %7.0f traces/s  p50 %6.2f ms  "
      "p99 %6.2f ms%s\n",
      name, static_cast<long long>(f.traces), static_cast<long long>(f.spans), f.seconds,
      static_cast<double>(f.spans) / f.seconds, static_cast<double>(f.traces) / f.seconds,
      Percentile(f.latencies_ms, 0.5), Percentile(f.latencies_ms, 0.99),
      f.failures ? ("  FAILURES: " + std::to_string(f.failures)).c_str() : "");
}

std::unique_ptr<Store> OpenAt(const std::string& dir) {
  std::filesystem::create_directories(dir);
  StoreOptions opt;
  opt.url = "sqlite:" + dir + "/firebreak.db";
  auto store = OpenStore(opt);
  if (!store.ok()) {
    std::cerr << store.status().message() << "\n";
    std::exit(1);
  }
  return std::move(*store);
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary = FIREBREAK_BINARY;
  int n_traces = 2000, connections = 4, n_similar = 100000, n_queries = 200;
  bool detectors = true;
  int one_trace = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--firebreak")
      binary = argv[i + 1];
    else if (a == "--traces")
      n_traces = std::stoi(argv[i + 1]);
    else if (a == "--connections")
      connections = std::stoi(argv[i + 1]);
    else if (a == "--similar")
      n_similar = std::stoi(argv[i + 1]);
    else if (a == "--queries")
      n_queries = std::stoi(argv[i + 1]);
    else if (a == "--detectors")
      detectors = std::string(argv[i + 1]) != "off";
    else if (a == "--one-trace")
      one_trace = std::stoi(argv[i + 1]);
  }
  std::string root =
      (std::filesystem::temp_directory_path() / ("fb-traces-bench-" + std::to_string(getpid())))
          .string();
  std::filesystem::create_directories(root);
  std::mt19937_64 rng(42);
  auto vocab = Vocabulary(rng, 20000);
  SystemClock clock;

  // ---- one trace, many single-span requests ----
  if (one_trace > 0) {
    std::printf("one-trace: 1 trace of %d spans, one span per IngestSpans call, in process\n",
                one_trace);
    for (bool root_first : {true, false}) {
      auto store = OpenAt(root + (root_first ? "/one-first" : "/one-last"));
      EventLog log(clock);
      // Large traces taking spans are assembled again by AssembleQuiet: due at once here, and
      // timed below, so the figure holds the whole cost.
      traces::TraceOptions options;
      options.reassemble_delay_ms = 0;
      traces::TraceService svc(*store, log, clock, options);
      uint64_t t0 = static_cast<uint64_t>(clock.NowMs()) * 1000000ULL;
      RunSpec run;
      while (static_cast<int>(run.spans.size()) < one_trace) {
        RunSpec more = MakeRun(rng, vocab, t0);
        for (auto& s : more.spans) {
          if (static_cast<int>(run.spans.size()) == one_trace) break;
          bool is_root = run.spans.empty();
          s.trace_id = run.trace_id.empty() ? more.trace_id : run.trace_id;
          if (!is_root) {
            if (s.parent_span_id.empty()) s.attributes["gen_ai.operation.name"] = "chat";
            s.parent_span_id = run.spans.front().span_id;
            s.span_id = HexId(rng, 8);
          }
          s.start_ns = t0 + run.spans.size() * 1000;
          s.end_ns = s.start_ns + 500;
          if (run.trace_id.empty()) run.trace_id = s.trace_id;
          run.spans.push_back(std::move(s));
        }
      }
      if (!root_first) std::rotate(run.spans.begin(), run.spans.begin() + 1, run.spans.end());
      std::vector<double> ms;
      for (const auto& s : run.spans) {
        auto start = Steady::now();
        auto result = svc.IngestSpans({s});
        ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
        if (!result.ok()) {
          std::printf("  ingest refused: %s\n", result.status().message().c_str());
          break;
        }
      }
      auto avg = [&](size_t from, size_t to) {
        double sum = 0;
        for (size_t i = from; i < to; ++i) sum += ms[i];
        return to > from ? sum / static_cast<double>(to - from) : 0.0;
      };
      size_t n = ms.size(), w = std::min<size_t>(50, n);
      double total = avg(0, n) * static_cast<double>(n);
      auto start = Steady::now();
      auto reassembled = svc.AssembleQuiet();
      double reassembly_ms = std::chrono::duration<double, std::milli>(Steady::now() - start).count();
      if (!reassembled.ok()) {
        std::fprintf(stderr, "reassembly failed: %s\n", reassembled.status().message().c_str());
        return 1;
      }
      auto view = svc.Get(run.trace_id);
      int stored = view.ok() ? Json::parse(view->row.doc_json).value("span_count", 0) : 0;
      std::printf("  root %-5s: first %zu ingests %6.2f ms each, last %zu %6.2f ms each, "
                  "total %7.0f ms; then the deferred assembly %6.2f ms; trace holds %d spans\n",
                  root_first ? "first" : "last", w, avg(0, w), w, avg(n - w, n), total,
                  reassembly_ms, stored);
      (void)store->Close();
    }
  }

  // ---- ingest ----
  if (n_traces > 0) {
    std::printf(
        "ingest: %d traces per encoding, one trace per request, %d connections, server %s\n",
        n_traces, connections, binary.c_str());
    uint64_t t0 = static_cast<uint64_t>(clock.NowMs()) * 1000000ULL;
    std::vector<RunSpec> pb_runs, json_runs;
    std::vector<std::string> pb_bodies, json_bodies;
    double text_bytes = 0;
    for (int i = 0; i < n_traces; ++i) {
      pb_runs.push_back(MakeRun(rng, vocab, t0 + static_cast<uint64_t>(i) * 1000));
      pb_bodies.push_back(ToProtobuf(pb_runs.back()));
      json_runs.push_back(MakeRun(rng, vocab, t0 + static_cast<uint64_t>(i) * 1000));
      json_bodies.push_back(ToOtlpJson(json_runs.back()));
      for (const auto& s : pb_runs.back().spans) {
        for (auto it = s.attributes.begin(); it != s.attributes.end(); ++it) {
          if (it->is_string())
            text_bytes += static_cast<double>(it->get_ref<const std::string&>().size());
        }
      }
    }
    double avg_pb = 0, avg_json = 0;
    for (const auto& b : pb_bodies) avg_pb += static_cast<double>(b.size());
    for (const auto& b : json_bodies) avg_json += static_cast<double>(b.size());
    std::printf("  avg text per trace %.1f KB; avg body: protobuf %.1f KB, JSON %.1f KB\n",
                text_bytes / n_traces / 1024, avg_pb / n_traces / 1024, avg_json / n_traces / 1024);
    {
      std::string dir = root + "/ingest";
      std::filesystem::create_directories(dir);
      std::string config;
      if (!detectors) {  // to measure what the detectors on the ingest path cost
        config = root + "/detectors-off.toml";
        std::ofstream(config) << "[detect]\nenabled = false\n";
      }
      std::printf("  detectors on the ingest path: %s\n", detectors ? "on" : "off");
      Server server = StartServer(binary, dir, config);
      auto pb = IngestOverHttp(server, pb_runs, pb_bodies, "application/x-protobuf", connections);
      auto js = IngestOverHttp(server, json_runs, json_bodies, "application/json", connections);
      StopServer(server);
      PrintIngest("HTTP OTLP protobuf", pb);
      PrintIngest("HTTP OTLP JSON", js);

      // Ceiling: the same spans and assembled traces, straight into SQLite, one transaction.
      auto store = OpenAt(root + "/ceiling");
      EventLog log(clock);
      std::vector<traces::SpanData> all;
      for (const auto& r : pb_runs) all.insert(all.end(), r.spans.begin(), r.spans.end());
      // All spans in one call: the per-request limit of the HTTP path is raised to hold them.
      traces::TraceOptions one_txn;
      one_txn.limits.max_spans_per_request = all.size();
      traces::TraceService svc(*store, log, clock, one_txn);
      auto start = Steady::now();
      auto result = svc.IngestSpans(all);
      double secs = std::chrono::duration<double>(Steady::now() - start).count();
      if (!result.ok()) {
        std::cerr << "in-process ingest failed: " << result.status().message() << "\n";
        return 1;
      }
      std::printf("  %-22s %7d traces %8zu spans in %6.2f s: %8.0f spans/s %7.0f traces/s\n",
                  "in-process, 1 txn", n_traces, all.size(), secs, all.size() / secs,
                  n_traces / secs);
      (void)store->Close();

      // The ceiling proper: the same span rows and trace rows (hash, index data) prepared
      // beforehand, then only inserted, in one transaction.
      store = OpenAt(root + "/ceiling-raw");
      std::vector<SpanRow> span_rows;
      std::vector<traces::StoredTrace> stored;
      for (const auto& r : pb_runs) {
        for (const auto& s : r.spans) {
          span_rows.push_back({s.trace_id, s.span_id, s.parent_span_id,
                               static_cast<int64_t>(s.start_ns), traces::SpanToJson(s).dump(),
                               clock.NowMs()});
        }
        stored.push_back(traces::ToStored(*traces::Assemble(r.spans), clock.NowMs()));
      }
      start = Steady::now();
      Status st = store->Write([&](Txn& txn) -> Status {
        for (const auto& row : span_rows) FB_RETURN_IF_ERROR(txn.traces().PutSpan(row));
        for (const auto& s : stored) {
          FB_RETURN_IF_ERROR(txn.traces().Upsert(s.row, s.text, s.tools, s.lsh_keys).status());
        }
        return Status::Ok();
      });
      secs = std::chrono::duration<double>(Steady::now() - start).count();
      if (!st.ok()) {
        std::cerr << "ceiling ingest failed: " << st.message() << "\n";
        return 1;
      }
      double ceiling = static_cast<double>(all.size()) / secs;
      std::printf("  %-22s %7d traces %8zu spans in %6.2f s: %8.0f spans/s %7.0f traces/s\n",
                  "ceiling: raw rows, 1 txn", n_traces, all.size(), secs, ceiling, n_traces / secs);
      std::printf("  ratio HTTP/ceiling: protobuf %.2f, JSON %.2f\n",
                  static_cast<double>(pb.spans) / pb.seconds / ceiling,
                  static_cast<double>(js.spans) / js.seconds / ceiling);
      (void)store->Close();
    }
  }

  // ---- similar ----
  if (n_similar > 0) {
    std::printf("similar: %d stored traces in clusters of 10 near-duplicates, %d queries, k=10\n",
                n_similar, n_queries);
    std::string dir = root + "/similar";
    auto store = OpenAt(dir);
    EventLog log(clock);
    traces::TraceService svc(*store, log, clock);
    std::vector<std::vector<uint64_t>> shingles;
    shingles.reserve(static_cast<size_t>(n_similar));
    std::vector<std::string> hashes;
    std::uniform_real_distribution<double> mutate(0.02, 0.5);
    std::uniform_int_distribution<size_t> pick(0, vocab.size() - 1);
    auto start = Steady::now();
    Json batch = {{"traces", Json::array()}};
    const size_t kSimilarBatch = traces::IngestLimits{}.max_traces_per_request;
    std::vector<std::string> base;
    for (int i = 0; i < n_similar; ++i) {
      if (i % 10 == 0) {
        base.clear();
        std::uniform_int_distribution<int> nw(150, 300);
        for (int w = nw(rng); w > 0; --w) base.push_back(vocab[pick(rng)]);
      }
      double p = i % 10 == 0 ? 0 : mutate(rng);
      std::string input, output;
      std::uniform_real_distribution<double> coin(0, 1);
      for (size_t w = 0; w < base.size(); ++w) {
        std::string word = coin(rng) < p ? vocab[pick(rng)] : base[w];
        (w < base.size() / 3 ? input : output) += word + " ";
      }
      traces::TraceContent t;
      t.input = input;
      t.output = output;
      shingles.push_back(traces::Shingles(traces::SimilarityText(t)));
      batch["traces"].push_back({{"agent", "bench-agent"},
                                 {"input", input},
                                 {"output", output},
                                 {"user_id", "u" + std::to_string(i % 5000)}});
      if (batch["traces"].size() == kSimilarBatch || i + 1 == n_similar) {
        auto r = svc.IngestNative(batch);
        if (!r.ok()) {
          std::cerr << r.status().message() << "\n";
          return 1;
        }
        hashes.insert(hashes.end(), r->begin(), r->end());
        batch["traces"] = Json::array();
      }
    }
    double load = std::chrono::duration<double>(Steady::now() - start).count();
    std::printf(
        "  loaded %d traces in %.1f s (%.0f traces/s, through TraceService, %zu per txn)\n",
        n_similar, load, n_similar / load, kSimilarBatch);
    (void)store->Close();

    Server server = StartServer(binary, dir);
    Client client(server);
    std::vector<double> lat;
    double recall_sum = 0;
    std::mt19937_64 qrng(7);
    for (int q = 0; q < n_queries; ++q) {
      size_t idx = qrng() % static_cast<size_t>(n_similar);
      std::string body;
      auto t = Steady::now();
      int status =
          client.Send("GET", "/api/v1/traces/" + hashes[idx] + "/similar?k=10", "", "", &body);
      lat.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t).count());
      if (status != 200) {
        std::cerr << "similar failed: " << status << " " << body << "\n";
        continue;
      }
      // Brute force: exact Jaccard against every other stored trace.
      std::vector<std::pair<double, size_t>> exact;
      exact.reserve(shingles.size());
      for (size_t j = 0; j < shingles.size(); ++j) {
        if (j == idx || hashes[j] == hashes[idx]) continue;
        exact.emplace_back(traces::ExactJaccard(shingles[idx], shingles[j]), j);
      }
      std::partial_sort(exact.begin(), exact.begin() + 10, exact.end(), std::greater<>());
      std::set<std::string> truth;
      for (int k = 0; k < 10; ++k) {
        if (exact[static_cast<size_t>(k)].first > 0)
          truth.insert(hashes[exact[static_cast<size_t>(k)].second]);
      }
      Json res = Json::parse(body);
      int found = 0;
      for (const auto& r : res["results"])
        found += truth.count(r["hash"].get<std::string>()) ? 1 : 0;
      recall_sum +=
          truth.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(truth.size());
    }
    StopServer(server);
    std::printf(
        "  similar?k=10 over HTTP: p50 %.2f ms  p99 %.2f ms  recall@10 %.3f (vs brute-force exact "
        "Jaccard)\n",
        Percentile(lat, 0.5), Percentile(lat, 0.99), recall_sum / n_queries);
  }
  std::filesystem::remove_all(root);
  return 0;
}
