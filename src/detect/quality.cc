#include "detect/quality.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

namespace firebreak::detect {
namespace {

constexpr int64_t kMinuteMs = 60'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Counters of one set of runs (a minute, a window, a category).
struct Agg {
  int64_t n = 0, errors = 0, feedback = 0, negative = 0, scores = 0;
  double score_sum = 0;

  void Add(const Agg& o, int sign) {
    n += sign * o.n;
    errors += sign * o.errors;
    feedback += sign * o.feedback;
    negative += sign * o.negative;
    scores += sign * o.scores;
    score_sum += sign * o.score_sum;
  }
};

Agg FromObservation(const Observation& o) {
  Agg a;
  a.n = o.run ? 1 : 0;
  a.errors = o.run && o.error ? 1 : 0;
  if (o.negative_feedback) {
    a.feedback = 1;
    a.negative = *o.negative_feedback ? 1 : 0;
  }
  if (o.score) {
    a.scores = 1;
    a.score_sum = *o.score;
  }
  return a;
}

enum class Metric { kErrorRate, kNegativeFeedback, kScore };
constexpr std::array<Metric, 3> kWindowMetrics = {Metric::kErrorRate, Metric::kNegativeFeedback, Metric::kScore};

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kErrorRate: return "error_rate";
    case Metric::kNegativeFeedback: return "negative_feedback";
    case Metric::kScore: return "score";
  }
  return "";
}

struct Judgement {
  bool enough = false, degraded = false;
  bool healthy = true;  // less than half the degradation threshold away from the baseline
  double baseline = 0, current = 0;
  int64_t samples = 0;
};

Judgement Judge(const Agg& cur, const Agg& base, Metric m, const QualityOptions& opt) {
  Judgement j;
  int64_t cn = 0, bn = 0;
  switch (m) {
    case Metric::kErrorRate:
      cn = cur.n, bn = base.n;
      if (cn > 0) j.current = static_cast<double>(cur.errors) / cn;
      if (bn > 0) j.baseline = static_cast<double>(base.errors) / bn;
      break;
    case Metric::kNegativeFeedback:
      cn = cur.feedback, bn = base.feedback;
      if (cn > 0) j.current = static_cast<double>(cur.negative) / cn;
      if (bn > 0) j.baseline = static_cast<double>(base.negative) / bn;
      break;
    case Metric::kScore:
      cn = cur.scores, bn = base.scores;
      if (cn > 0) j.current = cur.score_sum / cn;
      if (bn > 0) j.baseline = base.score_sum / bn;
      break;
  }
  j.samples = cn;
  j.enough = cn >= opt.min_samples && bn >= opt.min_samples;
  if (!j.enough) return j;
  constexpr double kEps = 1e-9;
  switch (m) {
    case Metric::kErrorRate:
      j.degraded = j.current - j.baseline >= opt.error_rate_increase - kEps &&
                   j.current >= opt.error_rate_ratio * j.baseline - kEps;
      j.healthy = j.current - j.baseline < opt.error_rate_increase / 2;
      break;
    case Metric::kNegativeFeedback:
      j.degraded = j.current - j.baseline >= opt.negative_feedback_increase - kEps;
      j.healthy = j.current - j.baseline < opt.negative_feedback_increase / 2;
      break;
    case Metric::kScore:
      j.degraded = j.baseline - j.current >= opt.score_drop - kEps;
      j.healthy = j.baseline - j.current < opt.score_drop / 2;
      break;
  }
  return j;
}

std::string FormatValue(Metric m, double v) {
  char buf[64];
  if (m == Metric::kScore) std::snprintf(buf, sizeof buf, "%.2f", v);
  else std::snprintf(buf, sizeof buf, "%.1f%%", v * 100);
  return buf;
}

std::string FormatMinutes(int64_t ms) {
  char buf[32];
  if (ms % 3'600'000 == 0) std::snprintf(buf, sizeof buf, "%lld h", static_cast<long long>(ms / 3'600'000));
  else std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(ms / kMinuteMs));
  return buf;
}

const char* MetricPhrase(Metric m) {
  switch (m) {
    case Metric::kErrorRate: return "error rate";
    case Metric::kNegativeFeedback: return "negative-feedback rate";
    case Metric::kScore: return "mean evaluation score";
  }
  return "";
}

// The behaviour metrics watched for drift.
enum DriftMetric { kDriftError, kDriftRefusal, kDriftScore, kDriftToolCalls, kDriftResponseChars, kDriftCount };
const char* kDriftNames[kDriftCount] = {"error_rate", "refusal_rate", "score", "tool_calls", "response_chars"};

// Two-sided Page-Hinkley over standardised values (docs/detect.md).
struct PageHinkley {
  int64_t n = 0;
  double mean = 0, m2 = 0;         // Welford running mean and sum of squared deviations
  double up = 0, up_min = 0;       // cumulative (z - delta) and its minimum
  double down = 0, down_min = 0;   // cumulative (-z - delta) and its minimum
  double recent = 0;               // EWMA of the latest values, for the signal's "current"

  // Adds x; returns +1 / -1 when an upward / downward change is detected, else 0.
  int Add(double x, const QualityOptions& opt) {
    int alarm = 0;
    recent = n == 0 ? x : recent + 0.05 * (x - recent);
    if (n >= std::max(opt.drift_min_samples, 2)) {
      double sd = std::sqrt(m2 / static_cast<double>(n - 1));
      sd = std::max(sd, 0.05 * std::max(std::fabs(mean), 1.0));
      double z = std::clamp((x - mean) / sd, -opt.drift_clip, opt.drift_clip);
      up += z - opt.drift_delta;
      up_min = std::min(up_min, up);
      down += -z - opt.drift_delta;
      down_min = std::min(down_min, down);
      if (up - up_min > opt.drift_lambda) alarm = 1;
      else if (down - down_min > opt.drift_lambda) alarm = -1;
    }
    ++n;
    double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
    return alarm;
  }
};

struct Bucket {
  Agg all;
  std::map<std::string, Agg> by_category;
  bool current = true;  // counted in the current window (else in the baseline)
};

struct AlertState {
  bool active = false;
  TimeMs last_signal = std::numeric_limits<TimeMs>::min();
};

}  // namespace

struct QualityMonitor::AgentState {
  int64_t now_minute = std::numeric_limits<int64_t>::min();
  std::map<int64_t, Bucket> buckets;
  Agg cur_all, base_all;
  std::map<std::string, Agg> cur_cat, base_cat;
  std::map<std::string, AlertState> alerts;  // "kind|category|metric"
  std::array<PageHinkley, kDriftCount> drift;
};

QualityMonitor::QualityMonitor(QualityOptions options) : options_(std::move(options)) {}
QualityMonitor::~QualityMonitor() = default;

std::vector<QualitySignal> QualityMonitor::Add(const std::string& agent, const Observation& o) {
  const QualityOptions& opt = options_;
  const int64_t w = std::max<int64_t>(1, (opt.window_ms + kMinuteMs - 1) / kMinuteMs);
  const int64_t b = std::max<int64_t>(1, (opt.baseline_ms + kMinuteMs - 1) / kMinuteMs);
  std::vector<QualitySignal> out;

  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = agents_[agent];
  if (!slot) slot = std::make_unique<AgentState>();
  AgentState& st = *slot;

  // Slide the windows: buckets leaving the current window join the baseline; buckets leaving
  // the baseline are dropped. Each bucket moves at most twice, so the cost is amortised.
  const int64_t minute = FloorDiv(o.at, kMinuteMs);
  if (minute > st.now_minute) {
    st.now_minute = minute;
    for (auto it = st.buckets.begin(); it != st.buckets.end() && it->first <= minute - w;) {
      Bucket& bk = it->second;
      if (it->first <= minute - w - b) {
        (bk.current ? st.cur_all : st.base_all).Add(bk.all, -1);
        auto& from_cat = bk.current ? st.cur_cat : st.base_cat;
        for (const auto& [c, a] : bk.by_category) from_cat[c].Add(a, -1);
        it = st.buckets.erase(it);
        continue;
      }
      if (bk.current) {
        bk.current = false;
        st.cur_all.Add(bk.all, -1);
        st.base_all.Add(bk.all, 1);
        for (const auto& [c, a] : bk.by_category) {
          st.cur_cat[c].Add(a, -1);
          st.base_cat[c].Add(a, 1);
        }
      }
      ++it;
    }
    // Categories with no runs left in either window are forgotten.
    for (auto it = st.cur_cat.begin(); it != st.cur_cat.end();) {
      auto bit = st.base_cat.find(it->first);
      if (it->second.n == 0 && (bit == st.base_cat.end() || bit->second.n == 0)) {
        if (bit != st.base_cat.end()) st.base_cat.erase(bit);
        it = st.cur_cat.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = st.base_cat.begin(); it != st.base_cat.end();) {
      if (it->second.n == 0 && !st.cur_cat.count(it->first)) it = st.base_cat.erase(it);
      else ++it;
    }
  }

  if (minute > st.now_minute - w - b) {
    std::string category = o.category;
    if (!st.cur_cat.count(category) && !st.base_cat.count(category) &&
        static_cast<int>(std::max(st.cur_cat.size(), st.base_cat.size())) >= opt.max_categories)
      category = "other";
    Agg a = FromObservation(o);
    Bucket& bk = st.buckets[minute];
    bk.current = minute > st.now_minute - w;
    bk.all.Add(a, 1);
    bk.by_category[category].Add(a, 1);
    (bk.current ? st.cur_all : st.base_all).Add(a, 1);
    (bk.current ? st.cur_cat : st.base_cat)[category].Add(a, 1);
    (bk.current ? st.base_cat : st.cur_cat)[category];  // both maps know the category
  }

  auto fire = [&](const std::string& key, QualitySignal s) {
    AlertState& as = st.alerts[key];
    if (as.active) return;
    as.active = true;
    if (as.last_signal != std::numeric_limits<TimeMs>::min() && o.at - as.last_signal < opt.cooldown_ms) return;
    as.last_signal = o.at;
    out.push_back(std::move(s));
  };
  auto quiet = [&](const std::string& key) {
    auto it = st.alerts.find(key);
    if (it != st.alerts.end()) it->second.active = false;
  };

  const std::string window = FormatMinutes(opt.window_ms), baseline = FormatMinutes(opt.baseline_ms);
  for (Metric m : kWindowMetrics) {
    Judgement overall = Judge(st.cur_all, st.base_all, m, opt);
    std::vector<std::pair<std::string, Judgement>> degraded;
    int judged = 0, unclear = 0;  // unclear: neither degraded nor clearly healthy
    for (const auto& [c, cur] : st.cur_cat) {
      if (c.empty()) continue;  // uncategorised runs count only overall
      auto bit = st.base_cat.find(c);
      Judgement j = Judge(cur, bit == st.base_cat.end() ? Agg{} : bit->second, m, opt);
      if (!j.enough) continue;
      ++judged;
      if (j.degraded) degraded.emplace_back(c, j);
      else if (!j.healthy) ++unclear;
    }
    const int d = static_cast<int>(degraded.size());
    // SEV-2: degraded overall and in every category with enough runs (or there is none).
    // SEV-3: degraded in some categories only (one, a minority, or a majority but not all),
    // judged only when every other category is clearly healthy, so that a degradation still
    // spreading over all categories is not first reported as one category's.
    const bool everywhere = overall.degraded && d == judged;
    std::set<std::string> active;
    const std::string name = MetricName(m);
    if (everywhere) {
      std::string key = "quality.degraded||" + name;
      active.insert(key);
      QualitySignal s{"quality.degraded", agent, "", name, overall.baseline, overall.current, overall.samples, 2, ""};
      s.reason = "The " + std::string(MetricPhrase(m)) + " of agent " + agent + " is " +
                 FormatValue(m, overall.current) + " over the last " + window + " (" +
                 std::to_string(overall.samples) + " samples) against " + FormatValue(m, overall.baseline) +
                 " over the " + baseline + " before, " +
                 (judged == 0 ? std::string("with no category large enough to judge apart")
                              : "in all " + std::to_string(judged) + " categories with enough runs") +
                 ".";
      fire(key, std::move(s));
    } else if (d >= 1 && unclear == 0) {
      for (const auto& [c, j] : degraded) {
        std::string key = "quality.category|" + c + "|" + name;
        active.insert(key);
        QualitySignal s{"quality.category", agent, c, name, j.baseline, j.current, j.samples, 3, ""};
        s.reason = "The " + std::string(MetricPhrase(m)) + " of agent " + agent + " in category \"" + c +
                   "\" is " + FormatValue(m, j.current) + " over the last " + window + " (" +
                   std::to_string(j.samples) + " samples) against " + FormatValue(m, j.baseline) +
                   " over the " + baseline + " before; " + std::to_string(d) + " of " +
                   std::to_string(judged) + " categories are degraded" +
                   (overall.degraded ? "." : ", the agent overall is not.");
        fire(key, std::move(s));
      }
    }
    for (const auto& [key, as] : st.alerts) {
      if (key.rfind("drift|", 0) == 0) continue;
      if (key.size() > name.size() && key.compare(key.size() - name.size() - 1, std::string::npos, "|" + name) == 0 &&
          !active.count(key))
        quiet(key);
    }
  }

  // Drift on behaviour and on the same quality metrics, run by run.
  std::array<std::optional<double>, kDriftCount> values = {
      o.error ? 1.0 : 0.0, o.refusal ? 1.0 : 0.0, o.score, o.tool_calls, o.response_chars};
  if (!o.run) {  // a late score: only the score's drift moves
    for (int k = 0; k < kDriftCount; ++k) {
      if (std::string_view(kDriftNames[k]) != "score") values[k].reset();
    }
  }
  for (int k = 0; k < kDriftCount; ++k) {
    if (!values[k]) continue;
    PageHinkley& ph = st.drift[k];
    int alarm = ph.Add(*values[k], opt);
    if (alarm == 0) continue;
    QualitySignal s{"drift", agent, "", kDriftNames[k], ph.mean, ph.recent, ph.n, 4, ""};
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "The %s of agent %s is drifting %s: recent runs average %.3g against a running mean of "
                  "%.3g over %lld runs (Page-Hinkley, threshold %.3g std devs).",
                  kDriftNames[k], agent.c_str(), alarm > 0 ? "up" : "down", ph.recent, ph.mean,
                  static_cast<long long>(ph.n), opt.drift_lambda);
    s.reason = buf;
    ph = PageHinkley{};  // learn the new level before testing again
    std::string key = std::string("drift||") + kDriftNames[k];
    quiet(key);  // drift is an event, not a state: each alarm may fire once the cooldown allows
    fire(key, std::move(s));
  }
  return out;
}

bool IsRefusal(std::string_view response) {
  std::string text;
  for (size_t i = 0; i < response.size() && text.size() < 400; ++i) {
    // U+2019 (right single quotation mark) reads as an apostrophe.
    if (i + 2 < response.size() && response.substr(i, 3) == "\xE2\x80\x99") {
      text.push_back('\'');
      i += 2;
      continue;
    }
    char c = response[i];
    text.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  static const char* kPhrases[] = {
      "i can't help with",   "i cannot help with",   "i can't assist",   "i cannot assist",
      "i'm sorry, but i can", "i am sorry, but i can", "i'm sorry, i can", "sorry, but i can't",
      "i must decline",      "i can't provide",      "i cannot provide", "i'm not allowed to",
      "i am not allowed to", "i can't do that",      "i cannot do that", "i can't comply",
      "i cannot comply",     "i'm not permitted to", "as an ai, i can",  "i can not help",
      "i can't fulfill",     "i cannot fulfill"};
  for (const char* p : kPhrases)
    if (text.find(p) != std::string::npos) return true;
  // "I'm unable to" refuses only with a verb of helping: "I'm unable to find your order" is
  // an answer, not a refusal.
  static const char* kUnable[] = {"i'm unable to ", "i am unable to ", "i'm not able to ", "i am not able to ",
                                  "i won't be able to ", "i will not be able to "};
  static const char* kVerbs[] = {"help", "assist", "provide", "comply", "share", "fulfill", "support",
                                 "answer", "discuss", "do that", "engage", "disclose"};
  for (const char* u : kUnable) {
    for (size_t at = text.find(u); at != std::string::npos; at = text.find(u, at + 1)) {
      std::string_view rest = std::string_view(text).substr(at + std::strlen(u));
      for (const char* v : kVerbs)
        if (rest.substr(0, std::strlen(v)) == v) return true;
    }
  }
  return false;
}

}  // namespace firebreak::detect
