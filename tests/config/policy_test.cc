#include "config/policy.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::TempDir;

class PolicyTest : public ::testing::Test {
 protected:
  StatusOr<ResponsePolicy> Load(const std::string& toml) {
    std::string path = dir_.path() + "/firebreak.toml";
    std::ofstream(path) << toml;
    return LoadResponsePolicy(path, [this](const char* n) -> const char* {
      auto it = env_.find(n);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }
  TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(PolicyTest, WithoutAFileTheRunbookDefaultsApply) {
  auto p = LoadResponsePolicy("", [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->classification.rules.empty());  // DefaultRules()
  EXPECT_TRUE(p->detect.enabled);
  EXPECT_TRUE(p->paging.targets.empty());
  EXPECT_EQ(p->paging.business_hours.start, "09:00");
  EXPECT_EQ(p->classification.max_agent_severity, 2);
}

TEST_F(PolicyTest, TheCeilingOfAgentSuggestionsIsReadAndBounded) {
  auto p = Load("[classification]\nmax_agent_severity = 3\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->classification.max_agent_severity, 3);
  for (const char* bad : {"0", "5", "\"SEV-1\""}) {
    auto r = Load(std::string("[classification]\nmax_agent_severity = ") + bad + "\n");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("max_agent_severity"), std::string::npos)
        << r.status().message();
  }
}

TEST_F(PolicyTest, AFullConfigurationIsRead) {
  env_["PD_KEY"] = "routing-123";
  auto p = Load(R"(
listen = "127.0.0.1:7070"
[classification]
open_incident_up_to = 2
[[classification.rules]]
name = "latency"
kind = "alert.Latency*"
severity = 2
reason = "latency hurts everyone"
[detect]
default_region = "DE"
regions = ["AT", "CH"]
[detect.agent_regions]
"support-fr" = ["FR", "BE"]
[detect.allow]
"support-bot" = [".*@shop\\.example"]
[detect.quality]
window_minutes = 10
baseline_hours = 12
[paging]
escalation = [["pd", "slack"], ["pd"]]
ack_timeout_minutes = 5
[paging.business_hours]
time_zone = "Europe/Berlin"
holidays = ["2026-12-25"]
[paging.targets.pd]
type = "pagerduty"
routing_key = "env:PD_KEY"
[paging.targets.slack]
type = "slack"
url = "https://hooks.slack.example/T/B/x"
)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->classification.open_incident_up_to, 2);
  ASSERT_EQ(p->classification.rules.size(), 1u);
  EXPECT_EQ(p->classification.rules[0].kind, "alert.Latency*");
  EXPECT_EQ(p->detect.pii.default_region, "DE");
  EXPECT_EQ(p->detect.pii.regions, (std::vector<std::string>{"AT", "CH"}));
  EXPECT_EQ(p->detect.pii.agent_regions["support-fr"], (std::vector<std::string>{"FR", "BE"}));
  EXPECT_EQ(p->detect.pii.allow["support-bot"].size(), 1u);
  EXPECT_EQ(p->detect.quality.window_ms, 10 * 60'000);
  EXPECT_EQ(p->detect.quality.baseline_ms, 12 * 3'600'000);
  EXPECT_EQ(p->paging.escalation.size(), 2u);
  EXPECT_EQ(p->paging.ack_timeout_minutes, 5);
  EXPECT_EQ(p->paging.business_hours.time_zone, "Europe/Berlin");
  EXPECT_EQ(p->paging.targets["pd"].routing_key, "routing-123");
  EXPECT_EQ(p->paging.targets["pd"].url, "https://events.pagerduty.com/v2/enqueue");
}

TEST_F(PolicyTest, MistakesAreRefusedNamingTheKey) {
  auto typo = Load("[paging]\nack_timout_minutes = 5\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("paging.ack_timout_minutes"), std::string::npos)
      << typo.status().message();
  auto missing_env = Load("[paging.targets.pd]\ntype = \"pagerduty\"\nrouting_key = \"env:NOPE\"\n");
  ASSERT_FALSE(missing_env.ok());
  EXPECT_NE(missing_env.status().message().find("NOPE"), std::string::npos);
  auto unknown_target = Load("[paging]\nescalation = [[\"ghost\"]]\n");
  ASSERT_FALSE(unknown_target.ok());
  EXPECT_NE(unknown_target.status().message().find("ghost"), std::string::npos);
  auto bad_rule = Load("[[classification.rules]]\nname = \"x\"\nkind = \"pii\"\nseverity = 7\nreason = \"r\"\n");
  ASSERT_FALSE(bad_rule.ok());
  EXPECT_NE(bad_rule.status().message().find("classification.rules[0].severity"), std::string::npos)
      << bad_rule.status().message();
  auto bad_zone = Load("[paging.business_hours]\ntime_zone = \"Mars/Olympus\"\n");
  EXPECT_FALSE(bad_zone.ok());
  auto bad_regions = Load("[detect]\nregions = \"DE\"\n");
  ASSERT_FALSE(bad_regions.ok());
  EXPECT_NE(bad_regions.status().message().find("detect.regions"), std::string::npos)
      << bad_regions.status().message();
  auto bad_pattern = Load("[detect.allow]\n\"*\" = [\"(unclosed\"]\n");
  // The pattern is compiled when the scanner is created (DetectionPipeline::Create), not here.
  EXPECT_TRUE(bad_pattern.ok());
}

TEST_F(PolicyTest, TheNoticeTargetMustBeAConfiguredWebhook) {
  auto ok = Load(R"([comms]
notify_target = "notices"
[paging.targets.notices]
type = "webhook"
url = "https://hooks.example/notices"
secret = "s"
)");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->paging.user_notice_target, "notices");
  EXPECT_EQ(Load("")->paging.user_notice_target, "");

  auto ghost = Load("[comms]\nnotify_target = \"ghost\"\n");
  ASSERT_FALSE(ghost.ok());
  EXPECT_NE(ghost.status().message().find("comms.notify_target"), std::string::npos)
      << ghost.status().message();
  auto slack = Load(R"([comms]
notify_target = "chat"
[paging.targets.chat]
type = "slack"
url = "https://hooks.example/chat"
)");
  ASSERT_FALSE(slack.ok());
  EXPECT_NE(slack.status().message().find("webhook"), std::string::npos);
  auto typo = Load("[comms]\nnotify_targets = \"x\"\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("comms.notify_targets"), std::string::npos)
      << typo.status().message();
}

TEST_F(PolicyTest, IsolationIsManualByDefaultAndReadPerSeverity) {
  auto none = Load("");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->isolation.auto_steps.empty());
  auto p = Load(R"(
[isolation]
auto = { "SEV-1" = ["rollback", "memory", "traces", "banner"], "SEV-2" = ["memory", "rollback"], "SEV-3" = [] }
auto_only_for_signals = ["pii", "action.unauthorised"]
)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->isolation.auto_steps[1].size(), 4u);
  // Steps keep the playbook's order whatever order the file names them in.
  EXPECT_EQ(p->isolation.auto_steps[2],
            (std::vector<IsolationStep>{IsolationStep::kRollback, IsolationStep::kMemory}));
  EXPECT_TRUE(p->isolation.auto_steps[3].empty());
  EXPECT_EQ(p->isolation.auto_only_for_signals,
            (std::vector<std::string>{"pii", "action.unauthorised"}));
}

TEST_F(PolicyTest, IsolationMistakesNameTheKey) {
  auto step = Load("[isolation]\nauto = { \"SEV-1\" = [\"rollback\", \"reboot\"] }\n");
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("isolation.auto.SEV-1"), std::string::npos)
      << step.status().message();
  EXPECT_NE(step.status().message().find("reboot"), std::string::npos);
  auto severity = Load("[isolation]\nauto = { \"SEV-9\" = [\"rollback\"] }\n");
  ASSERT_FALSE(severity.ok());
  EXPECT_NE(severity.status().message().find("isolation.auto.SEV-9"), std::string::npos)
      << severity.status().message();
  auto shape = Load("[isolation]\nauto = [\"rollback\"]\n");
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("isolation.auto"), std::string::npos);
  auto typo = Load("[isolation]\nautomatic = {}\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("isolation.automatic"), std::string::npos);
  auto kinds = Load("[isolation]\nauto_only_for_signals = \"pii\"\n");
  ASSERT_FALSE(kinds.ok());
  EXPECT_NE(kinds.status().message().find("isolation.auto_only_for_signals"), std::string::npos);
}

TEST_F(PolicyTest, AlertmanagerLabelsAreReadAndChecked) {
  auto d = LoadResponsePolicy("", [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->alertmanager.agent_label, "agent");
  EXPECT_EQ(d->alertmanager.default_severity, 3);
  auto p = Load("[alertmanager]\nagent_label = \"ai_agent\"\ndefault_severity = 2\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->alertmanager.agent_label, "ai_agent");
  EXPECT_EQ(p->alertmanager.default_severity, 2);
  for (const char* bad : {"agent_label = \"\"", "agent_label = \"1agent\"", "agent_label = \"ai-agent\"",
                          "agent_label = 5", "default_severity = 0", "default_severity = 5",
                          "default_severity = \"SEV-2\"", "agent = \"x\""}) {
    auto r = Load(std::string("[alertmanager]\n") + bad + "\n");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("alertmanager."), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace firebreak
