#include "regress/report.h"

#include <map>
#include <set>
#include <sstream>

#include "common/text.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

std::string Xml(std::string_view raw) {
  std::string text = CleanUtf8(raw);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Seconds with millisecond precision, as JUnit writes them.
std::string Seconds(int64_t ms) {
  std::ostringstream s;
  s << ms / 1000 << "." << (ms % 1000 < 100 ? "0" : "") << (ms % 1000 < 10 ? "0" : "") << ms % 1000;
  return s.str();
}

// The lines of a failing or errored case: each attempt's failed assertions and mismatches.
std::string Details(const Json& result) {
  std::string out;
  for (const auto& a : result.value("attempts", Json::array())) {
    std::string head = "attempt " + std::to_string(a.value("attempt", 0)) + ": ";
    if (a.contains("error")) out += head + "error: " + Str(a, "error") + "\n";
    for (const auto& r : a.value("assertions", Json::array())) {
      if (r.value("passed", true)) continue;
      out += head + Str(r, "type") + ": expected " + Str(r, "expected") + "; seen " + Str(r, "seen") + "\n";
    }
    const Json& replay = a.value("replay", Json::object());
    for (const auto& m : replay.value("mismatches", Json::array())) {
      out += head + "replay-mismatch: " + Str(m, "tool") + " called with " + Str(m, "args") +
             "; recorded: " + Str(m, "expected") + "\n";
    }
    if (!replay.empty()) {
      out += head + "mocks served " + std::to_string(replay.value("served", 0)) + ", unconsumed " +
             std::to_string(replay.value("unconsumed", 0)) + ", calls made live " +
             std::to_string(replay.value("live", 0)) + "\n";
    }
  }
  return out;
}

bool HasMismatch(const Json& result) {
  for (const auto& a : result.value("attempts", Json::array())) {
    if (!a.value("replay", Json::object()).value("mismatches", Json::array()).empty()) return true;
  }
  return false;
}

// A YAML scalar or flow collection: JSON is valid YAML 1.2.
std::string Y(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

std::string JUnitXml(const Json& run) {
  const Json& results = run.value("results", Json::array());
  const Json& progress = run.value("progress", Json::object());
  int64_t total_ms = 0;
  for (const auto& r : results) {
    for (const auto& a : r.value("attempts", Json::array())) total_ms += a.value("duration_ms", int64_t{0});
  }
  std::string suite = Str(run, "agent") + " " + Str(run, "version");
  int64_t tests = progress.value("total", int64_t{0});
  int64_t failures = progress.value("failed", int64_t{0});
  int64_t errors = progress.value("errored", int64_t{0});
  // Cases of the run without a result (a run cut short) are errors too.
  int64_t missing = tests - static_cast<int64_t>(results.size());
  errors += missing > 0 ? missing : 0;
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"firebreak regress\" tests=\"" << tests << "\" failures=\"" << failures
    << "\" errors=\"" << errors << "\" time=\"" << Seconds(total_ms) << "\">\n";
  x << "  <testsuite name=\"" << Xml(suite) << "\" tests=\"" << tests << "\" failures=\""
    << failures << "\" errors=\"" << errors << "\" time=\"" << Seconds(total_ms)
    << "\" timestamp=\"" << Xml(Str(run, "started_at")) << "\">\n";
  x << "    <properties>\n"
    << "      <property name=\"run\" value=\"" << run.value("id", int64_t{0}) << "\"/>\n"
    << "      <property name=\"status\" value=\"" << Xml(Str(run, "status")) << "\"/>\n"
    << "      <property name=\"executed_by\" value=\"" << Xml(Str(run, "executed_by")) << "\"/>\n"
    << "    </properties>\n";
  std::set<int64_t> reported;
  std::string classname = Xml(Str(run, "agent") + "." + Str(run, "version"));
  for (const auto& r : results) {
    int64_t ms = 0;
    for (const auto& a : r.value("attempts", Json::array())) ms += a.value("duration_ms", int64_t{0});
    int64_t id = r.value("case", int64_t{0});
    reported.insert(id);
    x << "    <testcase classname=\"" << classname << "\" name=\"#" << id << " "
      << Xml(Str(r, "name")) << "\" time=\"" << Seconds(ms) << "\"";
    std::string status = Str(r, "status");
    if (status == "passed") {
      x << "/>\n";
      continue;
    }
    x << ">\n";
    std::string tag = status == "failed" ? "failure" : "error";
    std::string type = status == "failed" ? (HasMismatch(r) ? "replay-mismatch" : "assertion") : "error";
    x << "      <" << tag << " message=\"" << Xml(Str(r, "summary")) << "\" type=\"" << type << "\">"
      << Xml(Details(r)) << "</" << tag << ">\n";
    x << "    </testcase>\n";
  }
  for (const auto& id : run.value("cases", Json::array())) {
    if (!id.is_number_integer() || reported.count(id.get<int64_t>())) continue;
    x << "    <testcase classname=\"" << classname << "\" name=\"#" << id.get<int64_t>()
      << "\" time=\"0.000\">\n      <error message=\"no result: the run ended before this case "
         "was judged\" type=\"missing\"/>\n    </testcase>\n";
  }
  x << "  </testsuite>\n</testsuites>\n";
  return x.str();
}

std::string PromptfooYaml(const std::string& agent, const Json& cases, const Json& provider) {
  static const std::map<std::string, std::string> kNative = {
      {"contains", "contains"}, {"not-contains", "not-contains"}, {"icontains", "icontains"},
      {"regex", "regex"},       {"not-regex", "not-regex"},       {"equals", "equals"},
      {"json-schema", "is-json"}};
  std::ostringstream y;
  y << "# The regression battery of " << Y(agent) << " (" << cases.size()
    << " cases), exported by `firebreak regress export --format promptfoo`.\n"
    << "# Assertions promptfoo has are under `assert`; Firebreak's own (no-pii, tool-called,\n"
    << "# tool-not-called, tool-args-match, tool-sequence, max-tool-calls) and the tool mocks\n"
    << "# are kept in `metadata` and `vars` for `firebreak regress run`.\n";
  y << "description: " << Y("firebreak regression battery of " + agent) << "\n";
  y << "prompts:\n  - " << Y("{{input}}") << "\n";
  if (provider.is_object() && provider.value("provider", "") == "exec") {
    std::string command;
    for (const auto& a : provider["command"]) command += (command.empty() ? "" : " ") + a.get<std::string>();
    y << "providers:\n  - id: " << Y("exec: " + command) << "\n";
  } else if (provider.is_object() && provider.value("provider", "") == "http") {
    y << "providers:\n  - id: " << Y(provider.value("url", "")) << "\n";
  }
  y << "tests:\n";
  if (cases.empty()) y << "  []\n";
  for (const auto& c : cases) {
    y << "  - description: " << Y("#" + std::to_string(c.value("id", int64_t{0})) + " " + Str(c, "name")) << "\n";
    y << "    vars:\n";
    y << "      input: " << Y(c.value("input", "")) << "\n";
    y << "      context: " << Y(Y(c.value("context", Json::object()))) << "\n";
    y << "      tool_mocks: " << Y(Y(c.value("tool_mocks", Json::array()))) << "\n";
    Json native = Json::array(), own = Json::array();
    for (const auto& a : c.value("assertions", Json::array())) {
      auto it = kNative.find(Str(a, "type"));
      if (it == kNative.end()) {
        own.push_back(a);
      } else {
        native.push_back({{"type", it->second}, {"value", a.value("value", Json())}});
      }
    }
    y << "    assert:";
    if (native.empty()) y << " []";
    y << "\n";
    for (const auto& a : native) {
      y << "      - type: " << Y(a["type"]) << "\n        value: " << Y(a["value"]) << "\n";
    }
    y << "    metadata:\n";
    y << "      firebreak_case: " << c.value("id", int64_t{0}) << "\n";
    y << "      source_trace: " << Y(c.value("source", Json::object()).value("trace", "")) << "\n";
    y << "      incident: " << Y(c.value("incident", Json())) << "\n";
    y << "      firebreak_assertions: " << Y(own) << "\n";
  }
  return y.str();
}

}  // namespace firebreak::regress
