// Unit tests of the quality monitor: degraded overall (SEV-2) with its cooldown, one category
// (SEV-3), drift (SEV-4), too few samples, and refusal detection. Time comes from the
// observations, so a day passes in a loop.
#include "detect/quality.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>
#include <thread>

namespace firebreak::detect {
namespace {

constexpr TimeMs kT0 = 1'790'000'000'000;
constexpr int64_t kMinute = 60'000;
const std::vector<std::string> kCategories = {"billing", "shipping", "returns"};

// Feeds runs of one agent every `step_ms`, with an error every `error_every`-th run of the
// categories for which `failing` says so.
struct Feeder {
  explicit Feeder(QualityMonitor& m) : monitor(m) {}
  QualityMonitor& monitor;
  TimeMs now = kT0;
  int64_t count = 0;
  std::vector<QualitySignal> signals;

  void Run(int64_t duration_ms, int64_t step_ms, const std::function<bool(const std::string&, int64_t)>& error) {
    for (TimeMs end = now + duration_ms; now < end; now += step_ms) {
      Observation o;
      o.at = now;
      o.category = kCategories[count % kCategories.size()];
      o.error = error(o.category, count);
      o.tool_calls = 2;
      o.response_chars = 400;
      ++count;
      for (auto& s : monitor.Add("support-bot", o)) signals.push_back(s);
    }
  }

  std::vector<QualitySignal> Of(const std::string& kind) const {
    std::vector<QualitySignal> out;
    for (const auto& s : signals)
      if (s.kind == kind) out.push_back(s);
    return out;
  }
};

// Healthy: one error in 50 runs, spread over the categories.
bool Healthy(const std::string&, int64_t i) { return i % 50 == 7; }

TEST(QualityMonitorTest, ErrorBurstEverywhereGivesOneSev2WithCooldown) {
  QualityMonitor monitor({});
  Feeder f(monitor);
  f.Run(3 * 3'600'000, 5'000, Healthy);
  EXPECT_TRUE(f.signals.empty());

  // Half of all runs fail, in every category.
  f.Run(30 * kMinute, 5'000, [](const std::string&, int64_t i) { return i % 2 == 0; });
  auto sev2 = f.Of("quality.degraded");
  ASSERT_EQ(sev2.size(), 1u);
  EXPECT_EQ(sev2[0].severity, 2);
  EXPECT_EQ(sev2[0].agent, "support-bot");
  EXPECT_EQ(sev2[0].metric, "error_rate");
  EXPECT_EQ(sev2[0].category, "");
  EXPECT_NEAR(sev2[0].baseline, 0.02, 0.005);
  EXPECT_GE(sev2[0].current, 0.12);
  EXPECT_GE(sev2[0].samples, 30);
  EXPECT_NE(sev2[0].reason.find("error rate"), std::string::npos);
  EXPECT_NE(sev2[0].reason.find("all 3 categories"), std::string::npos) << sev2[0].reason;
  EXPECT_TRUE(f.Of("quality.category").empty());

  // Recovers, then fails again within the cooldown: quiet.
  f.Run(20 * kMinute, 5'000, Healthy);
  f.Run(20 * kMinute, 5'000, [](const std::string&, int64_t i) { return i % 2 == 0; });
  EXPECT_EQ(f.Of("quality.degraded").size(), 1u);

  // After the cooldown, a new burst is a new signal.
  f.Run(60 * kMinute, 5'000, Healthy);
  f.Run(20 * kMinute, 5'000, [](const std::string&, int64_t i) { return i % 2 == 0; });
  EXPECT_EQ(f.Of("quality.degraded").size(), 2u);
}

TEST(QualityMonitorTest, ErrorsInOneCategoryGiveSev3) {
  QualityMonitor monitor({});
  Feeder f(monitor);
  f.Run(3 * 3'600'000, 5'000, Healthy);
  f.Run(20 * kMinute, 5'000, [](const std::string& c, int64_t i) { return c == "billing" ? i % 5 < 3 : Healthy(c, i); });
  EXPECT_TRUE(f.Of("quality.degraded").empty());
  auto sev3 = f.Of("quality.category");
  ASSERT_EQ(sev3.size(), 1u);
  EXPECT_EQ(sev3[0].severity, 3);
  EXPECT_EQ(sev3[0].category, "billing");
  EXPECT_EQ(sev3[0].metric, "error_rate");
  EXPECT_GE(sev3[0].current, 0.12);
  EXPECT_NE(sev3[0].reason.find("\"billing\""), std::string::npos);
}

TEST(QualityMonitorTest, ScoreDropAndNegativeFeedback) {
  QualityMonitor monitor({});
  TimeMs now = kT0;
  std::vector<QualitySignal> signals;
  auto run = [&](int n, double score, bool negative) {
    for (int i = 0; i < n; ++i, now += 5'000) {
      Observation o;
      o.at = now;
      o.score = score + (i % 3) * 0.01;
      o.negative_feedback = negative ? (i % 2 == 0) : (i % 20 == 0);
      for (auto& s : monitor.Add("a", o)) signals.push_back(s);
    }
  };
  run(2000, 0.9, false);
  EXPECT_TRUE(signals.empty());
  run(400, 0.6, true);
  std::set<std::string> metrics;
  for (const auto& s : signals)
    if (s.kind == "quality.degraded") metrics.insert(s.metric);
  EXPECT_EQ(metrics, (std::set<std::string>{"score", "negative_feedback"}));
}

TEST(QualityMonitorTest, TooFewSamplesSayNothing) {
  QualityMonitor monitor({});
  TimeMs now = kT0;
  for (int i = 0; i < 25; ++i, now += kMinute) {
    Observation o;
    o.at = now;
    EXPECT_TRUE(monitor.Add("a", o).empty());
  }
  now += 20 * kMinute;
  for (int i = 0; i < 25; ++i, now += 10'000) {
    Observation o;
    o.at = now;
    o.error = true;
    o.refusal = true;
    EXPECT_TRUE(monitor.Add("a", o).empty());
  }
}

TEST(QualityMonitorTest, SlowTrendInResponseLengthIsDrift) {
  QualityMonitor monitor({});
  std::mt19937 rng(42);
  auto noise = [&] { return static_cast<double>(rng() % 101) - 50.0; };  // uniform in [-50, 50]
  TimeMs now = kT0;
  std::vector<QualitySignal> signals;
  auto add = [&](double chars) {
    Observation o;
    o.at = now;
    now += 30'000;
    o.response_chars = chars;
    o.tool_calls = 2;
    for (auto& s : monitor.Add("writer", o)) signals.push_back(s);
  };
  for (int i = 0; i < 3000; ++i) add(500 + noise());
  EXPECT_TRUE(signals.empty()) << signals[0].reason;  // stationary noise raises no alarm

  for (int i = 0; i < 1500; ++i) add(500 + 0.2 * i + noise());  // +0.2 characters per run
  ASSERT_FALSE(signals.empty());
  EXPECT_EQ(signals[0].kind, "drift");
  EXPECT_EQ(signals[0].severity, 4);
  EXPECT_EQ(signals[0].metric, "response_chars");
  EXPECT_GT(signals[0].current, signals[0].baseline);
  EXPECT_NE(signals[0].reason.find("drifting up"), std::string::npos);
  for (const auto& s : signals) EXPECT_EQ(s.kind, "drift");
}

TEST(QualityMonitorTest, ABaselineThatExpiredJudgesNothing) {
  QualityMonitor monitor({});
  Feeder f(monitor);
  f.Run(3 * 3'600'000, 5'000, Healthy);
  // Two quiet days: the healthy runs leave the baseline, so a burst has nothing to compare to.
  f.now += 48 * 3'600'000;
  f.Run(30 * kMinute, 5'000, [](const std::string&, int64_t i) { return i % 2 == 0; });
  EXPECT_TRUE(f.Of("quality.degraded").empty());
  EXPECT_TRUE(f.Of("quality.category").empty());
}

TEST(QualityMonitorTest, ConcurrentAddsAreSafe) {
  QualityMonitor monitor({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&monitor, t] {
      for (int i = 0; i < 2000; ++i) {
        Observation o;
        o.at = kT0 + i * 1'000;
        o.category = kCategories[i % 3];
        o.error = i % 40 == 0;
        (void)monitor.Add("agent-" + std::to_string(t % 2), o);
      }
    });
  }
  for (auto& th : threads) th.join();
  SUCCEED();
}

TEST(QualityMonitorTest, AgentsAreIndependent) {
  QualityMonitor monitor({});
  TimeMs now = kT0;
  for (int i = 0; i < 2000; ++i, now += 5'000) {
    Observation o;
    o.at = now;
    o.error = i % 50 == 0;
    EXPECT_TRUE(monitor.Add("a", o).empty());
  }
  // Agent b has never been healthy: no baseline, no signal.
  for (int i = 0; i < 200; ++i, now += 5'000) {
    Observation o;
    o.at = now;
    o.error = true;
    EXPECT_TRUE(monitor.Add("b", o).empty());
  }
}

TEST(IsRefusalTest, RecognisesRefusals) {
  EXPECT_TRUE(IsRefusal("I can't help with that."));
  EXPECT_TRUE(IsRefusal("I\xE2\x80\x99m sorry, but I cannot share account details."));
  EXPECT_TRUE(IsRefusal("I'M SORRY, BUT I CAN'T DO THAT"));
  EXPECT_TRUE(IsRefusal("Unfortunately I am unable to assist with refunds."));
  EXPECT_FALSE(IsRefusal("I'm unable to find an order with that number; could you check it?"));
  EXPECT_FALSE(IsRefusal("Your refund of $42 was processed."));
  EXPECT_FALSE(IsRefusal("I can help with that! Here is your order status."));
  EXPECT_FALSE(IsRefusal(""));
}

}  // namespace
}  // namespace firebreak::detect
