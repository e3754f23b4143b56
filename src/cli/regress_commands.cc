// CLI verbs under `firebreak regress`: add, list, show, run and export the regression battery.
//
// `regress run` runs the battery where the CLI is (the CI job that has the agent), through the
// provider given after `--` (exec: the command, no shell), with --http, or from the version's
// manifest, and reports each case's raw answers to the server, which judges and stores them (so
// the gates see them). `--server` asks the server to run it instead. Exit codes: 0 every case
// passed, 100 a case failed or errored, 1 the harness itself failed (docs/regress.md).
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/table.h"
#include "paging/sender.h"
#include "regress/provider.h"
#include "regress/report.h"
#include "regress/runner.h"

namespace firebreak::cli {
namespace {

constexpr int kExitFailed = 100;
constexpr int kExitHarness = 1;

struct Options {
  // add
  std::string trace, incident, name, assertions_path;
  int repeat = 0, pass_at_least = 0;
  bool optional = false;
  // list, run, export
  std::string agent, version;
  // show
  int64_t id = 0, run = 0;
  // run
  std::vector<int64_t> cases;
  int parallel = 1;
  std::vector<std::string> command;
  std::string http_url;
  int64_t timeout_ms = 0;
  std::string junit_path, json_path;
  bool on_server = false;
  // export
  std::string format = "promptfoo", out_path;
};

bool ReadFile(const std::string& path, std::string& text) {
  std::stringstream s;
  if (path == "-") {
    s << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return false;
    s << in.rdbuf();
  }
  text = s.str();
  return true;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "error: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Prints one line per case (or a progress bar on a terminal) as results arrive.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), bar_(isatty(STDOUT_FILENO) == 1) {}

  void Case(const Json& result) {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    std::string status = Str(result, "status");
    if (status == "passed") ++passed_;
    std::string line = (status == "passed" ? "PASS " : status == "failed" ? "FAIL " : "ERROR") +
                       std::string(" #") + std::to_string(result.value("case", int64_t{0})) + " " +
                       Str(result, "name") + ": " + Str(result, "summary");
    if (!bar_) {
      std::cout << line << std::endl;
      return;
    }
    // On a terminal failures stay above the bar; passes only move it.
    if (status != "passed") std::cout << "\r\033[K" << line << "\n";
    size_t width = 30, filled = total_ ? width * done_ / total_ : width;
    std::cout << "\r\033[K[" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
              << done_ << "/" << total_ << " (" << passed_ << " passed)" << std::flush;
    if (done_ == total_) std::cout << "\n";
  }

 private:
  std::mutex mu_;
  size_t total_, done_ = 0, passed_ = 0;
  bool bar_;
};

// Reads every case of the agent, a page at a time.
std::optional<std::vector<Json>> FetchCases(Context& ctx, const std::string& agent) {
  std::vector<Json> out;
  int64_t after = 0;
  while (true) {
    auto page = ctx.Call("GET", "/api/v1/regressions?agent=" + Escape(agent) +
                                    "&limit=1000&after=" + std::to_string(after));
    if (!page) return std::nullopt;
    for (const auto& c : (*page)["cases"]) out.push_back(c);
    if (!(*page)["next_after"].is_number_integer()) return out;
    after = (*page)["next_after"].get<int64_t>();
  }
}

// The provider of a local run: after `--`, --http, or the version's manifest.
std::optional<regress::ProviderConfig> ProviderOf(Context& ctx, const Options& o) {
  Json section;
  if (!o.command.empty()) {
    section = {{"provider", "exec"}, {"command", o.command}};
  } else if (!o.http_url.empty()) {
    section = {{"provider", "http"}, {"url", o.http_url}};
  } else {
    auto versions = ctx.Call("GET", "/api/v1/agents/" + Escape(o.agent) + "/versions");
    if (!versions) return std::nullopt;
    for (const auto& v : (*versions)["versions"]) {
      if (Str(v, "version") == o.version) section = v["manifest"].value("regression", Json());
    }
    if (!section.is_object()) {
      std::cerr << "error: " << o.agent << " " << o.version
                << " has no regression provider in its manifest; give the command after `--` "
                   "or --http URL\n";
      return std::nullopt;
    }
  }
  if (o.timeout_ms > 0) section["timeout_ms"] = o.timeout_ms;
  auto config = regress::ProviderConfigFromJson(section, "provider");
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << "\n";
    return std::nullopt;
  }
  return *config;
}

// Runs a reported run's cases here and reports each; false when the harness failed.
bool RunHere(Context& ctx, const Options& o, const Json& run, const std::vector<Json>& cases) {
  auto config = ProviderOf(ctx, o);
  if (!config) return false;
  paging::HttpSender sender;
  auto provider = regress::MakeProvider(*config, sender);
  std::map<int64_t, Json> by_id;
  for (const auto& c : cases) by_id[c.value("id", int64_t{0})] = c;
  std::vector<int64_t> ids = run["cases"].get<std::vector<int64_t>>();
  std::string results_path = "/api/v1/regressions/runs/" + std::to_string(run.value("id", 0)) + "/results";
  Progress progress(ids.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    while (!failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= ids.size()) return;
      Json c = by_id.count(ids[i]) ? by_id[ids[i]]
                                   : ctx.Call("GET", "/api/v1/regressions/" + std::to_string(ids[i]))
                                         .value_or(Json());
      auto spec = regress::SpecFromJson(c);
      if (!spec.ok()) {
        std::cerr << "error: case #" << ids[i] << ": " << spec.status().message() << "\n";
        failed = true;
        return;
      }
      Json attempts = Json::array();
      for (const auto& raw : regress::CallAttempts(*provider, ids[i], Str(c, "name"), o.agent,
                                                   o.version, *spec)) {
        Json a = {{"duration_ms", raw.duration_ms}};
        if (raw.answer.ok()) {
          a["answer"] = *raw.answer;
        } else {
          a["error"] = raw.answer.status().message();
        }
        attempts.push_back(std::move(a));
      }
      auto result = ctx.Call("POST", results_path, Json{{"case", ids[i]}, {"attempts", attempts}});
      if (!result) {
        failed = true;
        return;
      }
      progress.Case(*result);
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < std::min<int>(o.parallel, static_cast<int>(ids.size())); ++t) {
    helpers.emplace_back(work);
  }
  work();
  for (auto& h : helpers) h.join();
  return !failed.load();
}

// Waits for a server run to finish, printing each result as it appears.
std::optional<Json> FollowOnServer(Context& ctx, const Json& started) {
  std::string path = "/api/v1/regressions/runs/" + std::to_string(started.value("id", 0));
  Progress progress(started["cases"].size());
  std::set<int64_t> shown;
  while (true) {
    auto run = ctx.Call("GET", path);
    if (!run) return std::nullopt;
    for (const auto& r : (*run)["results"]) {
      if (shown.insert(r.value("case", int64_t{0})).second) progress.Case(r);
    }
    if (Str(*run, "status") != "running") return run;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int RunBattery(Context& ctx, const Options& o) {
  if (!o.command.empty() && !o.http_url.empty()) {
    std::cerr << "error: give the command after `--` or --http, not both\n";
    return kExitHarness;
  }
  Json body = {{"agent", o.agent}, {"version", o.version}, {"parallel", o.parallel}};
  if (!o.cases.empty()) body["cases"] = o.cases;
  std::optional<Json> finished;
  if (o.on_server) {
    if (!o.command.empty() || !o.http_url.empty()) {
      auto config = ProviderOf(ctx, o);
      if (!config) return kExitHarness;
      body["provider"] = regress::ProviderConfigToJson(*config);
    }
    auto started = ctx.Call("POST", "/api/v1/regressions/runs", body);
    if (!started) return kExitHarness;
    finished = FollowOnServer(ctx, *started);
  } else {
    auto cases = FetchCases(ctx, o.agent);
    if (!cases) return kExitHarness;
    body["report"] = true;
    auto started = ctx.Call("POST", "/api/v1/regressions/runs", body);
    if (!started) return kExitHarness;
    if (!RunHere(ctx, o, *started, *cases)) return kExitHarness;
    finished = ctx.Call("GET", "/api/v1/regressions/runs/" + std::to_string(started->value("id", 0)));
  }
  if (!finished) return kExitHarness;
  const Json& run = *finished;
  if (!o.junit_path.empty() && !WriteFile(o.junit_path, regress::JUnitXml(run))) return kExitHarness;
  if (!o.json_path.empty() && !WriteFile(o.json_path, run.dump(2) + "\n")) return kExitHarness;
  if (ctx.json) ctx.PrintJson(run);
  const Json& p = run["progress"];
  std::string status = Str(run, "status");
  if (!ctx.json) {
    std::cout << "run #" << run.value("id", 0) << " of " << o.agent << " " << o.version << ": "
              << Upper(status) << ", " << p.value("passed", 0) << " passed, " << p.value("failed", 0)
              << " failed, " << p.value("errored", 0) << " errored of " << p.value("total", 0)
              << (Str(run, "error") != "" ? " (" + Str(run, "error") + ")" : "") << "\n";
  }
  if (status == "running") {
    std::cerr << "error: the run did not finish\n";
    return kExitHarness;
  }
  return status == "passed" ? 0 : kExitFailed;
}

void PrintCase(const Json& c) {
  std::cout << "case #" << c.value("id", 0) << " " << Str(c, "name") << "\n"
            << "  agent " << Str(c, "agent") << ", incident " << Str(c, "incident")
            << ", required " << (c.value("required", true) ? "yes" : "no") << ", repeat "
            << c.value("repeat", 1) << " (pass at least " << c.value("pass_at_least", 1) << ")\n"
            << "  source trace " << Str(c["source"], "trace") << " (" << Str(c["source"], "version")
            << ")\n"
            << "  input: " << Str(c, "input") << "\n"
            << "  tool mocks: " << c["tool_mocks"].size() << ", retrieved: " << c["retrieved"].size()
            << "\n  assertions:\n";
  for (const auto& a : c["assertions"]) std::cout << "    " << a.dump() << "\n";
}

}  // namespace

void AddRegressCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();  // kept alive by the callbacks below
  auto* regress = app.add_subcommand("regress", "the regression battery: cases, runs, export");
  regress->require_subcommand(1);

  auto* add = regress->add_subcommand("add", "make a regression case from a trace");
  add->add_option("--trace", o->trace, "the trace's hash (or 8+ hex of it)")->required();
  add->add_option("--incident", o->incident, "INC-42: the incident it tests (default assertions "
                                             "follow its signals)");
  add->add_option("--name", o->name, "a name for people");
  add->add_option("--assertions", o->assertions_path,
                  "JSON file ('-': stdin) with an array of assertions, instead of the defaults");
  add->add_option("--repeat", o->repeat, "attempts per run (nondeterministic agents)");
  add->add_option("--pass-at-least", o->pass_at_least, "attempts that must pass");
  add->add_flag("--optional", o->optional, "the promotion gate tolerates its failure (unless it "
                                           "passed on the stable version)");
  add->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"from_trace", o->trace}};
      if (!o->incident.empty()) body["incident"] = o->incident;
      if (!o->name.empty()) body["name"] = o->name;
      if (o->repeat > 0) body["repeat"] = o->repeat;
      if (o->pass_at_least > 0) body["pass_at_least"] = o->pass_at_least;
      if (o->optional) body["required"] = false;
      if (!o->assertions_path.empty()) {
        std::string text;
        if (!ReadFile(o->assertions_path, text)) {
          std::cerr << "error: cannot read " << o->assertions_path << "\n";
          return 1;
        }
        body["assertions"] = Json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (body["assertions"].is_discarded()) {
          std::cerr << "error: " << o->assertions_path << " is not valid JSON\n";
          return 1;
        }
      }
      auto res = ctx.Call("POST", "/api/v1/regressions", body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "added case #" << res->value("id", 0) << " " << Str(*res, "name") << " ("
                << (*res)["assertions"].size() << " assertions, " << (*res)["tool_mocks"].size()
                << " tool mocks)\n";
      return 0;
    };
  });

  auto* list = regress->add_subcommand("list", "the battery's cases");
  list->add_option("--agent", o->agent, "only this agent's cases");
  list->add_option("--incident", o->incident, "only this incident's cases");
  list->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      std::string query = "?limit=1000";
      if (!o->agent.empty()) query += "&agent=" + Escape(o->agent);
      if (!o->incident.empty()) query += "&incident=" + Escape(o->incident);
      auto res = ctx.Call("GET", "/api/v1/regressions" + query);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      Table t({"ID", "AGENT", "INCIDENT", "NAME", "ASSERTIONS", "MOCKS", "REQUIRED", "TRACE"});
      for (const auto& c : (*res)["cases"]) {
        t.Add({std::to_string(c.value("id", 0)), Str(c, "agent"), Str(c, "incident"), Str(c, "name"),
               std::to_string(c["assertions"].size()), std::to_string(c["tool_mocks"].size()),
               c.value("required", true) ? "yes" : "no", Str(c["source"], "trace").substr(0, 16)});
      }
      t.Print(std::cout);
      return 0;
    };
  });

  auto* show = regress->add_subcommand("show", "one case, or one run with its results (--run)");
  show->add_option("id", o->id, "case id");
  show->add_option("--run", o->run, "run id");
  show->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      if ((o->id > 0) == (o->run > 0)) {
        std::cerr << "error: give a case id or --run RUN\n";
        return 1;
      }
      if (o->id > 0) {
        auto c = ctx.Call("GET", "/api/v1/regressions/" + std::to_string(o->id));
        if (!c) return 1;
        if (ctx.json) return ctx.PrintJson(*c);
        PrintCase(*c);
        return 0;
      }
      auto run = ctx.Call("GET", "/api/v1/regressions/runs/" + std::to_string(o->run));
      if (!run) return 1;
      if (ctx.json) return ctx.PrintJson(*run);
      const Json& p = (*run)["progress"];
      std::cout << "run #" << o->run << " " << Str(*run, "agent") << " " << Str(*run, "version")
                << ": " << Str(*run, "status") << ", " << p.value("done", 0) << "/"
                << p.value("total", 0) << " done (" << p.value("passed", 0) << " passed, "
                << p.value("failed", 0) << " failed, " << p.value("errored", 0) << " errored)\n";
      Table t({"CASE", "STATUS", "NAME", "SUMMARY"});
      for (const auto& r : (*run)["results"]) {
        t.Add({std::to_string(r.value("case", 0)), Str(r, "status"), Str(r, "name"), Str(r, "summary")});
      }
      t.Print(std::cout);
      return 0;
    };
  });

  auto* run = regress->add_subcommand(
      "run", "run the battery on a version: here, with the agent after `--`, or --server");
  run->add_option("--agent", o->agent, "agent name")->required();
  run->add_option("--version", o->version, "the version under test")->required();
  run->add_option("--case", o->cases, "only these case ids (repeatable; default: the whole battery)");
  run->add_option("--parallel", o->parallel, "cases at once (default 1)")->check(CLI::Range(1, 64));
  run->add_option("--http", o->http_url, "the http provider's URL (instead of the manifest's)");
  run->add_option("--timeout-ms", o->timeout_ms, "per attempt (default: the provider's, 30000)")
      ->check(CLI::Range(1, 600000));
  run->add_option("--junit", o->junit_path, "write JUnit XML here");
  run->add_option("--json", o->json_path, "write the run with its results as JSON here");
  run->add_flag("--server", o->on_server, "have the server run it (its worker, its provider)");
  run->add_option("command", o->command, "exec provider: the agent command and its arguments, after `--` (no shell)");
  run->callback([&ctx, &action, o] { action = [&ctx, o] { return RunBattery(ctx, *o); }; });

  auto* exp = regress->add_subcommand("export", "write the battery in another tool's format");
  exp->add_option("--agent", o->agent, "agent name")->required();
  exp->add_option("--format", o->format, "promptfoo (the only one)")->check(CLI::IsMember({"promptfoo"}));
  exp->add_option("--version", o->version, "take the provider from this version's manifest");
  exp->add_option("-o,--out", o->out_path, "write here instead of stdout");
  exp->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto cases = FetchCases(ctx, o->agent);
      if (!cases) return 1;
      Json provider;
      if (!o->version.empty()) {
        auto versions = ctx.Call("GET", "/api/v1/agents/" + Escape(o->agent) + "/versions");
        if (!versions) return 1;
        for (const auto& v : (*versions)["versions"]) {
          if (Str(v, "version") == o->version) provider = v["manifest"].value("regression", Json());
        }
      }
      std::string yaml = regress::PromptfooYaml(o->agent, Json(*cases), provider);
      if (o->out_path.empty()) {
        std::cout << yaml;
        return 0;
      }
      return WriteFile(o->out_path, yaml) ? 0 : 1;
    };
  });
}

}  // namespace firebreak::cli
