// Detector benchmark: personal-data scanning throughput and accuracy.
//
// First on the labelled corpus (tests/detect/corpus/pii_corpus.jsonl: hand-written support
// replies, half clean but hard): precision, recall per kind, the false-alarm rate on clean texts
// and the throughput over the same texts (MB/s, CPU time, repeated --repeat times), together,
// so accuracy and speed are read side by side.
//
// Then on synthetic agent traces: generates a deterministic (seeded) corpus of clean agent traces (user input, tool arguments as
// JSON, final response) full of the things agents really write: order and ticket ids, tracking
// numbers, prices, dates, times, epoch timestamps, UUIDs, hashes, versions, product codes,
// street addresses, idempotency keys. Then a set with one injected value of every kind.
// Prints: traces/s and MB/s (single thread), per-trace scan time p50/p99, false positives on
// the clean corpus (with the first few, to fix them), recall per kind on the injected set, and
// the CPU cost of one QualityMonitor::Add on a healthy stream (with the signals it raised).
// Never fails on time.
//   detect_bench [--traces N] [--seed S] [--injected M] [--corpus PATH] [--repeat R]
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "detect/pii.h"
#include "detect/quality.h"

namespace fd = firebreak::detect;
using SteadyClock = std::chrono::steady_clock;

namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t Below(uint64_t n) { return rng_() % n; }
  int Range(int lo, int hi) { return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(v.size())]; }
  std::string Digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + Below(10)));
    return s;
  }
  std::string From(const char* alphabet, int n) {
    std::string a = alphabet, s;
    for (int i = 0; i < n; ++i) s.push_back(a[Below(a.size())]);
    return s;
  }
  std::string Hex(int n) { return From("0123456789abcdef", n); }
  std::string Alnum(int n) { return From("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n); }
  std::string Upper(int n) { return From("ABCDEFGHIJKLMNOPQRSTUVWXYZ", n); }

 private:
  std::mt19937_64 rng_;
};

std::string Pad(int v, int width) {
  std::string s = std::to_string(v);
  return std::string(width > static_cast<int>(s.size()) ? width - s.size() : 0, '0') + s;
}

bool Luhn(const std::string& d) {
  int sum = 0;
  bool twice = false;
  for (size_t i = d.size(); i-- > 0;) {
    int x = d[i] - '0';
    if (twice && (x *= 2) > 9) x -= 9;
    sum += x;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// Completes `prefix` to `n` digits with a valid (or, when `valid` is false, invalid) Luhn digit.
std::string CardNumber(Gen& g, const std::string& prefix, int n, bool valid) {
  std::string body = prefix + g.Digits(n - 1 - static_cast<int>(prefix.size()));
  for (char c = '0'; c <= '9'; ++c)
    if (Luhn(body + c) == valid) return body + c;
  return body + '0';
}

std::string Date(Gen& g) { return "2026-" + Pad(g.Range(1, 12), 2) + "-" + Pad(g.Range(1, 28), 2); }
std::string Time(Gen& g) { return Pad(g.Range(0, 23), 2) + ":" + Pad(g.Range(0, 59), 2) + ":" + Pad(g.Range(0, 59), 2); }
std::string Price(Gen& g) { return std::to_string(g.Range(1, 4999)) + "." + Pad(g.Range(0, 99), 2); }
std::string Uuid(Gen& g) {
  return g.Hex(8) + "-" + g.Hex(4) + "-4" + g.Hex(3) + "-" + g.From("89ab", 1) + g.Hex(3) + "-" + g.Hex(12);
}

const std::vector<std::string> kWords = {
    "order",    "refund",  "delivery", "package", "account",  "invoice", "subscription", "plan",
    "status",   "update",  "customer", "support", "warehouse", "carrier", "return",       "exchange",
    "payment",  "pending", "approved", "shipped", "delayed",  "policy",  "discount",     "coupon",
    "schedule", "meeting", "flight",   "hotel",   "booking",  "seat",    "upgrade",      "report"};
const std::vector<std::string> kStreets = {"Market Street", "Baker Street", "Main St", "Rue de Rivoli",
                                           "Hauptstrasse", "Elm Avenue", "Via Roma"};
const std::vector<std::string> kCities = {"San Francisco, CA 94103", "London NW1 6XE", "Paris 75001",
                                          "Berlin 10115", "Springfield, IL 62701", "Roma 00184"};

std::string Words(Gen& g, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + g.Pick(kWords);
  return s;
}

// One sentence an agent might write, with ids and numbers but no personal data.
std::string CleanSentence(Gen& g) {
  switch (g.Below(28)) {
    case 0: return "Your order ORD-2026-" + g.Digits(6) + " ships on " + Date(g) + ".";
    case 1: return "Tracking number 1Z" + g.Upper(3) + g.Digits(2) + g.Alnum(8) + g.Digits(3) + " via UPS.";
    case 2: return "USPS tracking " + g.Digits(4) + " " + g.Digits(4) + " " + g.Digits(4) + " " + g.Digits(4) +
                   " " + g.Digits(4) + " " + g.Digits(2) + ".";
    case 3: return "The total is $" + Price(g) + " (tax " + Price(g) + " EUR), due " + Date(g) + ".";
    case 4: return "Request " + Uuid(g) + " finished at " + Time(g) + "." + g.Digits(3) + "Z.";
    case 5: return "Commit " + g.Hex(40) + " built artifact sha256:" + g.Hex(64) + ".";
    case 6: return "Upgrade to version " + std::to_string(g.Range(1, 20)) + "." + std::to_string(g.Range(0, 30)) +
                   "." + std::to_string(g.Range(0, 99)) + " (build " + g.Digits(8) + "." + g.Digits(4) + ").";
    case 7: return "SKU " + g.Upper(2) + "-" + g.Digits(4) + "-" + g.Upper(3) + ", qty " +
                   std::to_string(g.Range(1, 20)) + ", unit price " + Price(g) + ".";
    case 8: return "Ship to " + std::to_string(g.Range(1, 9999)) + " " + g.Pick(kStreets) + ", Suite " +
                   std::to_string(g.Range(100, 999)) + ", " + g.Pick(kCities) + ".";
    case 9: return "Ticket JIRA-" + g.Digits(5) + " and case #" + g.Digits(7) + " are linked.";
    case 10: return "Event at epoch " + g.Digits(10) + " (" + "17" + g.Digits(11) + " ms).";
    case 11: return "Account reference " + CardNumber(g, g.Pick(std::vector<std::string>{"4", "5", "37", "6011"}), 16, false) +
                    " was updated.";  // 16 digits that fail Luhn
    case 12: return "Invoice INV-" + g.Digits(8) + " for " + std::to_string(g.Range(1, 99)) + " items, paid " + Date(g) +
                    " " + Time(g) + ".";
    case 13: return "Flight UA" + std::to_string(g.Range(100, 9999)) + " departs " + Time(g).substr(0, 5) +
                    " from gate B" + std::to_string(g.Range(1, 60)) + ", seat " + std::to_string(g.Range(1, 40)) +
                    g.From("ABCDEF", 1) + ".";
    case 14: return "Your confirmation code is " + g.Upper(6) + "; keep it for check-in.";
    case 15: return "Model gpt-4o-2024-08-06 used " + std::to_string(g.Range(100, 90000)) + " tokens in " +
                    std::to_string(g.Range(100, 9000)) + " ms.";
    case 16: return "Set idempotency_key=" + g.Hex(32) + " and retry after " + std::to_string(g.Range(1, 60)) + "s.";
    case 17: return "Use `std::vector<int>::size_type` and `Foo::Bar::baz()` in the patch; see path /var/lib/app/" +
                    g.Hex(8) + "/data.json.";
    case 18: return "Coordinates 37." + g.Digits(6) + ", -122." + g.Digits(6) + " within " + std::to_string(g.Range(1, 50)) +
                    " km.";
    case 19: return "Percentages: " + std::to_string(g.Range(0, 100)) + "% of " + std::to_string(g.Range(1000, 999999)) +
                    " requests, p99 " + std::to_string(g.Range(1, 999)) + "ms, ratio 1:" + std::to_string(g.Range(2, 9)) + ".";
    case 20: return "Loyalty number " + g.Digits(7) + ", points balance " + std::to_string(g.Range(0, 99999)) + ".";
    case 21: return "Track it at https://shop.example.com/orders/" + g.Digits(9) + "?ref=" + g.Alnum(10) +
                    "&utm_source=email#status, or see the [FAQ](https://help.example.com/a/" + g.Digits(6) + ").";
    case 22: return "Windows " + std::to_string(g.Range(10, 11)) + ".0." + g.Digits(5) + "." + g.Digits(4) +
                    ", Chrome " + std::to_string(g.Range(100, 130)) + ".0." + g.Digits(4) + "." + g.Digits(3) + ".";
    case 23: return "ISBN 978-" + g.Digits(1) + "-" + g.Digits(2) + "-" + g.Digits(6) + "-" + g.Digits(1) +
                    ", colour #" + g.Hex(6) + ", device " + g.Hex(2) + ":" + g.Hex(2) + ":" + g.Hex(2) + ":" + g.Hex(2) +
                    ":" + g.Hex(2) + ":" + g.Hex(2) + ".";
    case 24: return "Attachment data:image/png;base64," + g.Alnum(60) + "== (" + std::to_string(g.Range(1, 900)) +
                    " KB); ping @" + g.Pick(kWords) + "-team in #support.";
    case 25: return "SELECT id, total FROM orders WHERE id IN (" + g.Digits(7) + ", " + g.Digits(7) + ") AND created_at > '" +
                    Date(g) + " " + Time(g) + "';";
    case 26: return "Part 0" + g.Digits(2) + "-" + g.Digits(3) + "-" + g.Digits(4) + " replaces 1" + g.Digits(2) + "-" +
                    g.Digits(4) + "-" + g.Digits(3) + " (batch " + std::to_string(g.Range(1, 99)) + "/" +
                    std::to_string(g.Range(100, 999)) + ").";
    default: return "The " + Words(g, 2) + " is " + Words(g, 1) + "; next " + Words(g, 3) + " on " + Date(g) + ".";
  }
}

std::string CleanJson(Gen& g) {
  return "{\"order_id\":\"ORD-" + g.Digits(8) + "\",\"amount\":" + Price(g) + ",\"currency\":\"USD\",\"sku\":\"" +
         g.Upper(2) + "-" + g.Digits(4) + "\",\"qty\":" + std::to_string(g.Range(1, 9)) + ",\"requested_at\":\"" +
         Date(g) + "T" + Time(g) + "Z\",\"request_id\":\"" + Uuid(g) + "\",\"ts\":17" + g.Digits(11) +
         ",\"retry\":{\"max\":3,\"backoff_ms\":" + std::to_string(g.Range(100, 5000)) + "}}";
}

struct Trace {
  std::vector<std::string> texts;  // input, tool arguments, final response
};

Trace CleanTrace(Gen& g) {
  Trace t;
  t.texts.push_back("Hi, " + Words(g, 3) + "? " + CleanSentence(g));
  t.texts.push_back(CleanJson(g));
  std::string response;
  int n = g.Range(2, 6);
  for (int i = 0; i < n; ++i) response += CleanSentence(g) + " ";
  t.texts.push_back(response);
  return t;
}

// ---- injected values, valid of their kind ----

std::string IbanOf(Gen& g) {
  static const std::vector<std::pair<std::string, int>> countries = {
      {"DE", 22}, {"GB", 22}, {"FR", 27}, {"NL", 18}, {"ES", 24}, {"IT", 27}, {"BE", 16}, {"PL", 28}, {"CH", 21}};
  const auto& [cc, len] = g.Pick(countries);
  std::string bban = cc == "GB" || cc == "NL" ? g.Upper(4) + g.Digits(len - 8) : g.Digits(len - 4);
  std::string moved = bban + cc + "00";
  int rem = 0;
  for (char c : moved) rem = c >= 'A' ? (rem * 100 + (c - 'A' + 10)) % 97 : (rem * 10 + (c - '0')) % 97;
  std::string iban = cc + Pad(98 - rem, 2) + bban;
  if (g.Below(2)) return iban;
  std::string spaced;
  for (size_t i = 0; i < iban.size(); ++i) spaced += (i && i % 4 == 0 ? " " : "") + std::string(1, iban[i]);
  return spaced;
}

std::string Injected(Gen& g, const std::string& kind) {
  if (kind == "email") {
    static const std::vector<std::string> first = {"jane", "john", "maria", "li", "ahmed", "olga"};
    static const std::vector<std::string> domains = {"example.com", "mail.co.uk", "firma.de", "corp.io"};
    return g.Pick(first) + "." + g.Upper(3) + std::to_string(g.Range(1, 99)) + "@" + g.Pick(domains);
  }
  if (kind == "phone") {
    switch (g.Below(4)) {
      case 0: return "(" + std::to_string(g.Pick(std::vector<int>{212, 415, 617, 312})) + ") 555-01" + g.Digits(2);
      case 1: return "+44 20 7946 0" + g.Digits(3);
      case 2: return "+33 1 " + g.Digits(2) + " " + g.Digits(2) + " " + g.Digits(2) + " " + g.Digits(2);
      default: return "+1 415 555 01" + g.Digits(2);
    }
  }
  if (kind == "card") {
    static const std::vector<std::pair<std::string, int>> brands = {
        {"4", 16}, {"51", 16}, {"2221", 16}, {"2720", 16}, {"37", 15}, {"6011", 16}, {"3530", 16}, {"62", 19}, {"36", 14}, {"4", 19}};
    const auto& [prefix, len] = g.Pick(brands);
    std::string d = CardNumber(g, prefix, len, true);
    if (g.Below(2) || len != 16) return d;
    return d.substr(0, 4) + " " + d.substr(4, 4) + " " + d.substr(8, 4) + " " + d.substr(12);
  }
  if (kind == "iban") return IbanOf(g);
  if (kind == "ssn") {
    int area = g.Range(1, 899);
    if (area == 666) area = 665;
    return Pad(area, 3) + "-" + Pad(g.Range(1, 99), 2) + "-" + Pad(g.Range(1, 9999), 4);
  }
  if (kind == "ipv4") return std::to_string(g.Pick(std::vector<int>{11, 23, 45, 66, 81, 93, 104, 151, 172, 185, 203, 222})) + "." + std::to_string(g.Range(0, 255)) +
                             "." + std::to_string(g.Range(0, 255)) + "." + std::to_string(g.Range(1, 254));
  if (kind == "ipv6") return "2001:db8:" + g.Hex(4) + ":" + g.Hex(3) + "::" + g.Hex(4);
  // secret
  switch (g.Below(9)) {
    case 0: return "AKIA" + g.From("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 14) + g.Digits(1) + g.Upper(1);
    case 1: return "ghp_" + g.Alnum(34) + g.Digits(2);
    case 2: return "xoxb-" + g.Digits(12) + "-" + g.Digits(13) + "-" + g.Alnum(24);
    case 3: return "sk-proj-" + g.Alnum(46) + g.Digits(2);
    case 4: return "sk_live_" + g.Alnum(22) + g.Digits(2);
    case 5: return "AIza" + g.Alnum(33) + g.Digits(2);
    case 6: return "-----BEGIN RSA PRIVATE KEY-----";
    case 7: return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + g.Alnum(30) + "." + g.Alnum(43);
    default: return "password=" + g.Alnum(10) + "!" + g.Digits(2);
  }
}

// Returns this thread's CPU time in microseconds (robust on a shared machine, unlike wall time).
double ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct LabelledText {
  std::string text;
  std::vector<std::pair<std::string, std::string>> labels;  // kind, value as written
};

// Precision, recall per kind, clean false alarms and throughput on the labelled corpus.
void CorpusFigures(const fd::PiiScanner& scanner, const std::string& path, int repeat) {
  std::vector<LabelledText> corpus;
  std::ifstream in(path);
  std::string line;
  size_t bytes = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    LabelledText t{j.value("text", ""), {}};
    for (const auto& l : j["labels"]) t.labels.emplace_back(l["kind"], l["value"]);
    bytes += t.text.size();
    corpus.push_back(std::move(t));
  }
  if (corpus.empty()) {
    std::printf("labelled corpus: none at %s\n", path.c_str());
    return;
  }
  std::map<std::string, std::pair<size_t, size_t>> by_kind;  // found, labelled
  size_t findings = 0, true_findings = 0, clean = 0, clean_alarms = 0, misses = 0;
  for (const LabelledText& t : corpus) {
    auto all = scanner.Scan(t.text, {});
    findings += all.size();
    if (t.labels.empty()) {
      ++clean;
      clean_alarms += !all.empty();
      if (!all.empty() && clean_alarms <= 20)
        std::printf("  false alarm %s \"%s\" in: %s\n", all[0].kind.c_str(),
                    t.text.substr(all[0].offset, all[0].length).c_str(), t.text.c_str());
      continue;
    }
    std::vector<bool> explained(all.size(), false);
    for (const auto& [kind, value] : t.labels) {
      size_t at = t.text.find(value);
      bool hit = false;
      for (size_t i = 0; i < all.size(); ++i) {
        if (at == std::string::npos || all[i].offset >= at + value.size() || at >= all[i].offset + all[i].length) continue;
        explained[i] = true;
        hit = hit || all[i].kind == kind;
      }
      by_kind[kind].first += hit;
      ++by_kind[kind].second;
      if (!hit && ++misses <= 20) std::printf("  missed %s \"%s\" in: %s\n", kind.c_str(), value.c_str(), t.text.c_str());
    }
    true_findings += static_cast<size_t>(std::count(explained.begin(), explained.end(), true));
  }
  double t0 = ThreadCpuUs();
  size_t sink = 0;
  for (int r = 0; r < repeat; ++r)
    for (const LabelledText& t : corpus) sink += scanner.Scan(t.text, {}).size();
  double cpu_seconds = (ThreadCpuUs() - t0) / 1e6;
  size_t found = 0, labelled = 0;
  for (const auto& [kind, counts] : by_kind) {
    found += counts.first;
    labelled += counts.second;
  }
  std::printf("labelled corpus: %zu texts (%zu clean), %.3f MB, %s\n", corpus.size(), clean,
              static_cast<double>(bytes) / 1e6, path.c_str());
  std::printf("  precision %.4f (%zu of %zu findings on labelled values), recall %.4f (%zu/%zu), "
              "clean false alarms %.2f%% (%zu/%zu), throughput %.2f MB/s (1 thread, CPU time, %d passes, %zu findings)\n",
              findings ? static_cast<double>(true_findings) / static_cast<double>(findings) : 1.0, true_findings, findings,
              static_cast<double>(found) / static_cast<double>(labelled), found, labelled,
              100.0 * static_cast<double>(clean_alarms) / static_cast<double>(clean), clean_alarms, clean,
              static_cast<double>(bytes) * repeat / 1e6 / cpu_seconds, repeat, sink);
  for (const auto& [kind, counts] : by_kind)
    std::printf("  recall %-7s %.4f (%zu/%zu)\n", kind.c_str(),
                static_cast<double>(counts.first) / static_cast<double>(counts.second), counts.first, counts.second);
}

}  // namespace

int main(int argc, char** argv) {
  size_t traces = 10000, injected_per_kind = 200;
  uint64_t seed = 1;
  int repeat = 20;
  std::string corpus_path = PII_CORPUS;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--corpus") {
      corpus_path = argv[i + 1];
      continue;
    }
    uint64_t value = std::stoull(argv[i + 1]);
    if (flag == "--traces") traces = value;
    else if (flag == "--seed") seed = value;
    else if (flag == "--injected") injected_per_kind = value;
    else if (flag == "--repeat") repeat = static_cast<int>(value);
  }
  std::printf("command: %s --traces %zu --seed %llu --injected %zu --corpus %s --repeat %d\n", argv[0], traces,
              static_cast<unsigned long long>(seed), injected_per_kind, corpus_path.c_str(), repeat);

  auto created = fd::PiiScanner::Create({});
  if (!created.ok()) {
    std::fprintf(stderr, "detect_bench: %s\n", created.status().ToString().c_str());
    return 1;
  }
  const fd::PiiScanner& scanner = **created;
  CorpusFigures(scanner, corpus_path, repeat);
  const fd::ScanContext ctx{"bench-agent", "user-" + std::to_string(seed)};

  Gen g(seed);
  std::vector<Trace> corpus;
  corpus.reserve(traces);
  size_t bytes = 0;
  for (size_t i = 0; i < traces; ++i) {
    corpus.push_back(CleanTrace(g));
    for (const auto& t : corpus.back().texts) bytes += t.size();
  }

  // Clean corpus: throughput, latency, false positives.
  std::vector<double> per_trace_us;
  per_trace_us.reserve(traces);
  size_t false_positives = 0, traces_with_fp = 0;
  std::map<std::string, size_t> fp_by_kind;
  std::vector<std::string> examples;
  auto start = SteadyClock::now();
  double cpu_start = ThreadCpuUs();
  for (const Trace& t : corpus) {
    double t0 = ThreadCpuUs();
    size_t found = 0;
    for (const std::string& text : t.texts) {
      auto findings = scanner.Scan(text, ctx);
      found += findings.size();
      for (const auto& f : findings) {
        ++fp_by_kind[f.kind];
        if (examples.size() < 10) {
          size_t from = f.offset > 30 ? f.offset - 30 : 0;
          examples.push_back(f.kind + "/" + f.detail + " \"" + text.substr(f.offset, f.length) + "\" in \"..." +
                             text.substr(from, f.length + 60) + "...\"");
        }
      }
    }
    per_trace_us.push_back(ThreadCpuUs() - t0);
    false_positives += found;
    traces_with_fp += found > 0;
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  double cpu_seconds = (ThreadCpuUs() - cpu_start) / 1e6;

  std::printf("clean corpus: %zu traces, %.2f MB of text (input, tool arguments, final response)\n", traces,
              static_cast<double>(bytes) / 1e6);
  std::printf("throughput (1 thread, CPU time): %.0f traces/s, %.2f MB/s\n", static_cast<double>(traces) / cpu_seconds,
              static_cast<double>(bytes) / 1e6 / cpu_seconds);
  std::printf("throughput (1 thread, wall time): %.0f traces/s, %.2f MB/s\n", static_cast<double>(traces) / seconds,
              static_cast<double>(bytes) / 1e6 / seconds);
  std::printf("scan CPU time per trace: p50 %.1f us, p99 %.1f us, max %.1f us\n", Percentile(per_trace_us, 0.5),
              Percentile(per_trace_us, 0.99), Percentile(per_trace_us, 1.0));
  std::printf("false positives: %zu findings in %zu of %zu traces (%.4f%% of traces)\n", false_positives,
              traces_with_fp, traces, 100.0 * static_cast<double>(traces_with_fp) / static_cast<double>(traces));
  for (const auto& [kind, n] : fp_by_kind) std::printf("  %s: %zu\n", kind.c_str(), n);
  for (const auto& e : examples) std::printf("  e.g. %s\n", e.c_str());

  // Injected set: recall per kind.
  std::printf("recall on the injected set (%zu per kind, one value inside clean text):\n", injected_per_kind);
  size_t total_hit = 0, total = 0;
  for (const std::string& kind : fd::PiiKinds()) {
    size_t hit = 0;
    std::vector<std::string> misses;
    for (size_t i = 0; i < injected_per_kind; ++i) {
      std::string value = Injected(g, kind);
      std::string before = CleanSentence(g) + " Please note: ";
      std::string text = before + value + " , thanks. " + CleanSentence(g);
      bool found = false;
      for (const auto& f : scanner.Scan(text, ctx))
        if (f.kind == kind && f.offset < before.size() + value.size() && before.size() < f.offset + f.length) found = true;
      hit += found;
      if (!found && misses.size() < 3) misses.push_back(value);
    }
    total_hit += hit;
    total += injected_per_kind;
    std::printf("  %-7s %5.1f%% (%zu/%zu)", kind.c_str(), 100.0 * static_cast<double>(hit) / static_cast<double>(injected_per_kind),
                hit, injected_per_kind);
    for (const auto& m : misses) std::printf("  missed \"%s\"", m.c_str());
    std::printf("\n");
  }
  std::printf("  overall %5.1f%%\n", 100.0 * static_cast<double>(total_hit) / static_cast<double>(total));

  // Quality monitor: the cost of one Add (windows, categories, drift) per finished run.
  {
    fd::QualityMonitor monitor({});
    const std::vector<std::string> categories = {"billing", "shipping", "returns", "account", ""};
    const size_t runs = 20 * traces;
    size_t signals = 0;
    double t0 = ThreadCpuUs();
    for (size_t i = 0; i < runs; ++i) {
      fd::Observation o;
      o.at = 1'790'000'000'000 + static_cast<int64_t>(i) * 500;  // 2 runs/s per agent over the run
      o.category = categories[i % categories.size()];
      o.error = g.Below(50) == 0;
      o.tool_calls = static_cast<double>(g.Below(5));
      o.response_chars = 300 + static_cast<double>(g.Below(400));
      if (i % 3 == 0) o.score = 0.7 + 0.01 * static_cast<double>(g.Below(30));
      for (const auto& sig : monitor.Add("agent-" + std::to_string(i % 4), o)) {
        if (++signals <= 3) std::printf("  signal on a healthy stream: %s (SEV-%d) %s\n", sig.kind.c_str(), sig.severity, sig.reason.c_str());
      }
    }
    double us = ThreadCpuUs() - t0;
    std::printf("quality monitor: %zu runs of 4 agents over %.1f simulated hours, %.2f us CPU per Add, %zu signals\n",
                runs, static_cast<double>(runs) * 0.5 / 3600.0, us / static_cast<double>(runs), signals);
  }
  return 0;
}
