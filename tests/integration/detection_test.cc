// Detection and paging as users meet them: the real binary with a paging configuration, a
// local receiver standing in for PagerDuty and Slack, traces, Alertmanager and the CLI.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "support/receiver.h"
#include "support/server_process.h"
#include "support/test_util.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

// A TOML config paging `pd` (PagerDuty format) and `slack` on the receiver, fast retries.
std::string WriteConfig(const TempDir& dir, const Receiver& receiver) {
  std::string path = dir.path() + "/firebreak.toml";
  std::ofstream(path) << "[paging]\n"
                      << "escalation = [[\"pd\", \"slack\"]]\n"
                      << "retry_base_ms = 200\n"
                      << "retry_max_ms = 400\n"
                      << "[paging.targets.pd]\n"
                      << "type = \"pagerduty\"\n"
                      << "url = \"" << receiver.url("/pd") << "\"\n"
                      << "routing_key = \"env:TEST_PD_ROUTING_KEY\"\n"
                      << "[paging.targets.slack]\n"
                      << "type = \"slack\"\n"
                      << "url = \"" << receiver.url("/slack") << "\"\n";
  return path;
}

std::vector<ReceivedRequest> To(const Receiver& r, const std::string& path) {
  std::vector<ReceivedRequest> out;
  for (auto& q : r.requests()) {
    if (q.target == path) out.push_back(q);
  }
  return out;
}

// Polls `GET /api/v1/deliveries` until `n` deliveries are delivered (bounded).
bool WaitDelivered(const ServerProcess& server, size_t n) {
  for (int i = 0; i < 200; ++i) {
    auto r = server.Call("GET", "/api/v1/deliveries?status=delivered");
    if (r.status == 200 && Json::parse(r.body)["deliveries"].size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class DetectionIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(receiver_.Start());
    ::setenv("TEST_PD_ROUTING_KEY", "R0UT1NGKEY", 1);
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--config", WriteConfig(config_dir_, receiver_)});
    agent_token_ = server_->CreateToken("bot", "agent", "support-bot");
  }

  HttpResult IngestNative(const Json& trace) {
    return server_->Call("POST", "/api/v1/traces", Json{{"traces", {trace}}}.dump(), &agent_token_);
  }

  TempDir config_dir_;
  Receiver receiver_;
  std::unique_ptr<ServerProcess> server_;
  std::string agent_token_;
};

TEST_F(DetectionIntegration, ACardInTheFinalResponseOpensASev1IncidentAndPagesPagerDuty) {
  HttpResult ingest = IngestNative({{"trace_id", "run-1"},
                                    {"agent", "support-bot"},
                                    {"version", "v7"},
                                    {"input", "refund my order please"},
                                    {"output", "Refunded to 5555-5555-5555-4444. Anything else?"}});
  ASSERT_EQ(ingest.status, 201) << ingest.body;
  std::string hash = Json::parse(ingest.body)["hashes"][0];

  // The incident exists when the ingest has been answered: detection runs on the ingest path.
  auto list = server_->Call("GET", "/api/v1/incidents");
  ASSERT_EQ(list.status, 200);
  Json incidents = Json::parse(list.body)["incidents"];
  ASSERT_EQ(incidents.size(), 1u);
  Json inc = incidents[0];
  EXPECT_EQ(inc["severity"], "SEV-1");
  EXPECT_EQ(inc["state"], "triaged");
  EXPECT_EQ(inc["classified_by"], "rule:personal-data");
  std::string reason = inc["classification_reason"];
  EXPECT_NE(reason.find(hash.substr(0, 16)), std::string::npos) << reason;
  EXPECT_NE(reason.find("payment card"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("5555-5555-5555-4444"), std::string::npos) << "no raw card in the reason";

  // A PagerDuty trigger arrives at the receiver.
  ASSERT_TRUE(receiver_.WaitForRequests(2));
  auto pd = To(receiver_, "/pd");
  ASSERT_EQ(pd.size(), 1u);
  Json event = pd[0].Json();
  EXPECT_EQ(event["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(event["event_action"], "trigger");
  EXPECT_EQ(event["dedup_key"], "firebreak-" + inc["id"].get<std::string>());
  EXPECT_EQ(event["payload"]["severity"], "critical");
  EXPECT_EQ(event["payload"]["component"], "support-bot");
  EXPECT_FALSE(event["payload"]["summary"].get<std::string>().empty());
  ASSERT_EQ(To(receiver_, "/slack").size(), 1u);

  // The CLI shows the signal, the deliveries and the pages of the incident.
  CommandResult signals = server_->Cli({"signal", "list"});
  ASSERT_EQ(signals.exit_code, 0) << signals.err;
  EXPECT_NE(signals.out.find("pii"), std::string::npos);
  EXPECT_NE(signals.out.find("personal-data"), std::string::npos);
  ASSERT_TRUE(WaitDelivered(*server_, 2));
  CommandResult deliveries = server_->Cli({"deliveries", "--json"});
  ASSERT_EQ(deliveries.exit_code, 0) << deliveries.err;
  Json d = Json::parse(deliveries.out)["deliveries"];
  ASSERT_EQ(d.size(), 2u);
  for (const auto& x : d) EXPECT_EQ(x["status"], "delivered");
  // The outbox is watchable: a growing pending count would mean paging itself fails.
  std::string metrics = server_->Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("firebreak_deliveries{status=\"delivered\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("firebreak_deliveries{status=\"pending\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("firebreak_detector_traces_total 1"), std::string::npos);

  std::string id = inc["id"];
  CommandResult timeline = server_->Cli({"incident", "show", id});
  EXPECT_NE(timeline.out.find("signal.opened"), std::string::npos);
  EXPECT_NE(timeline.out.find("page.queued"), std::string::npos);
  EXPECT_NE(timeline.out.find("delivery.delivered"), std::string::npos);

  // A responder pages again by hand.
  CommandResult page = server_->Cli({"incident", "page", id, "--target", "pd", "--message", "all hands"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  ASSERT_TRUE(receiver_.WaitForRequests(3));
  EXPECT_EQ(To(receiver_, "/pd").size(), 2u);

  // Acknowledging acknowledges the PagerDuty alert.
  ASSERT_EQ(server_->Cli({"incident", "ack", id}).exit_code, 0);
  ASSERT_TRUE(receiver_.WaitForRequests(4));
  EXPECT_EQ(To(receiver_, "/pd").back().Json()["event_action"], "acknowledge");
}

// The [detect] policy's phone regions, per agent, reach the scanner; retrieved content is
// scanned and a leak into the reply names the document it came from.
TEST(DetectionPolicy, PhoneRegionsPerAgentAndLeaksFromRetrievedContent) {
  TempDir dir;
  std::string config = dir.path() + "/firebreak.toml";
  std::ofstream(config) << "[detect]\n"
                        << "regions = []\n"
                        << "[detect.agent_regions]\n"
                        << "\"support-fr\" = [\"FR\"]\n";
  ServerProcess server({"--config", config});
  std::string us = server.CreateToken("us", "agent", "support-us");
  std::string fr = server.CreateToken("fr", "agent", "support-fr");
  auto ingest = [&](const std::string& token, Json trace) {
    HttpResult r = server.Call("POST", "/api/v1/traces", Json{{"traces", {trace}}}.dump(), &token);
    EXPECT_EQ(r.status, 201) << r.body;
  };
  const std::string reply = "Son numéro : 06 12 34 56 78.";
  ingest(us, {{"trace_id", "us-1"}, {"agent", "support-us"}, {"input", "numéro ?"}, {"output", reply}});
  auto signals = [&] { return Json::parse(server.Call("GET", "/api/v1/signals").body)["signals"]; };
  EXPECT_TRUE(signals().empty()) << "a French national number is not read in the US-only region list";
  ingest(fr, {{"trace_id", "fr-1"},
              {"agent", "support-fr"},
              {"input", "numéro ?"},
              {"retrieved", {{{"source", "crm/contact-88"}, {"content", "Tél. 06.12.34.56.78"}}}},
              {"output", reply}});
  Json found = signals();
  ASSERT_EQ(found.size(), 1u);
  std::string reason = found[0]["reason"];
  EXPECT_NE(reason.find("phone number (FR) +33 *** *** 5678 in the final response, from retrieved content "
                        "crm/contact-88"),
            std::string::npos)
      << reason;
  EXPECT_EQ(reason.find("06 12 34 56 78"), std::string::npos) << "no raw number in the reason";

  // A region the scanner does not know keeps the server from starting, naming it.
  std::ofstream(config) << "[detect.agent_regions]\n\"support-xx\" = [\"XX\"]\n";
  CommandResult refused = RunCommand(
      {FirebreakBinary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir.path(), "--config", config}, {});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE((refused.out + refused.err).find("XX"), std::string::npos) << refused.err;
}

TEST_F(DetectionIntegration, AlertmanagerAlertsBecomeSignalsOnceAndResolve) {
  std::string responder = server_->CreateToken("alertmanager", "responder");
  Json payload = {{"version", "4"},
                  {"groupKey", "{}:{alertname=\"ErrorRate\"}"},
                  {"status", "firing"},
                  {"receiver", "firebreak"},
                  {"groupLabels", {{"alertname", "ErrorRate"}}},
                  {"commonLabels", {{"alertname", "ErrorRate"}}},
                  {"commonAnnotations", Json::object()},
                  {"externalURL", "http://alertmanager:9093"},
                  {"alerts",
                   {{{"status", "firing"},
                     {"labels", {{"alertname", "ErrorRate"}, {"agent", "support-bot"}, {"severity", "critical"}}},
                     {"annotations", {{"summary", "error rate 23% for support-bot"}}},
                     {"startsAt", "2026-11-29T10:00:00Z"},
                     {"endsAt", "0001-01-01T00:00:00Z"},
                     {"generatorURL", "http://prometheus/graph"},
                     {"fingerprint", "c0ffee"}}}}};
  auto r = server_->Call("POST", "/api/v1/alerts/alertmanager", payload.dump(), &responder);
  ASSERT_EQ(r.status, 200) << r.body;
  Json s = Json::parse(r.body)["signals"][0];
  EXPECT_EQ(s["kind"], "alert.ErrorRate");
  EXPECT_EQ(s["severity"], "SEV-2");
  EXPECT_TRUE(s["opened_incident"].get<bool>());

  // Alertmanager repeats the notification: the same signal, nothing new.
  r = server_->Call("POST", "/api/v1/alerts/alertmanager", payload.dump(), &responder);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(Json::parse(r.body)["signals"][0]["duplicate"].get<bool>());

  payload["status"] = "resolved";
  payload["alerts"][0]["status"] = "resolved";
  r = server_->Call("POST", "/api/v1/alerts/alertmanager", payload.dump(), &responder);
  ASSERT_EQ(r.status, 200);
  auto list = Json::parse(server_->Call("GET", "/api/v1/signals").body)["signals"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "resolved");
  EXPECT_EQ(Json::parse(server_->Call("GET", "/api/v1/incidents").body)["incidents"].size(), 1u);

  // Wrong role, wrong version, garbage: refused, nothing written.
  EXPECT_EQ(server_->Call("POST", "/api/v1/alerts/alertmanager", payload.dump(), &agent_token_).status, 403);
  payload["version"] = "3";
  EXPECT_EQ(server_->Call("POST", "/api/v1/alerts/alertmanager", payload.dump(), &responder).status, 400);
  EXPECT_EQ(server_->Call("POST", "/api/v1/alerts/alertmanager", "{\"alerts\": 5}", &responder).status, 400);
  EXPECT_EQ(server_->Call("POST", "/api/v1/alerts/alertmanager", "not json", &responder).status, 400);
  EXPECT_EQ(Json::parse(server_->Call("GET", "/api/v1/signals").body)["signals"].size(), 1u);
}

// An Alertmanager 0.25 notification: one group, its alerts, as the webhook receiver sends it.
Json Notification(const std::vector<Json>& labels) {
  Json alerts = Json::array();
  for (size_t i = 0; i < labels.size(); ++i) {
    alerts.push_back({{"status", "firing"},
                      {"labels", labels[i]},
                      {"annotations", {{"summary", "alert " + std::to_string(i)}}},
                      {"startsAt", "2026-11-29T10:00:00.512Z"},
                      {"endsAt", "0001-01-01T00:00:00Z"},
                      {"generatorURL", "http://prometheus:9090/graph?g0.expr=up"},
                      {"fingerprint", "f00d" + std::to_string(i)}});
  }
  return {{"receiver", "firebreak"}, {"status", "firing"}, {"alerts", alerts},
          {"groupLabels", {{"job", "support-bot-exporter"}}},
          {"commonLabels", {{"job", "support-bot-exporter"}}}, {"commonAnnotations", Json::object()},
          {"externalURL", "http://alertmanager:9093"}, {"version", "4"},
          {"groupKey", "{}:{job=\"support-bot-exporter\"}"}, {"truncatedAlerts", 0}};
}

TEST_F(DetectionIntegration, NoAlertmanagerSeverityValueRefusesTheNotification) {
  std::string responder = server_->CreateToken("alertmanager", "responder");
  Json batch = Notification({
      {{"alertname", "HighErrorRate"}, {"agent", "support-bot"}, {"severity", "major"}, {"job", "support-bot-exporter"}},
      {{"alertname", "RefundsStuck"}, {"agent", "support-bot"}, {"severity", "critical"}, {"job", "support-bot-exporter"}},
      {{"alertname", "SlowAnswers"}, {"agent", "support-bot"}, {"severity", "catastrophic"}},
      {{"alertname", "TokenSpend"}, {"agent", "support-bot"}, {"severity", " Warning "}},
      {{"alertname", "ExporterDown"}, {"job", "support-bot-exporter"}, {"severity", "P4"}},
      {{"agent", "support-bot"}},
  });
  auto r = server_->Call("POST", "/api/v1/alerts/alertmanager", batch.dump(), &responder);
  ASSERT_EQ(r.status, 200) << r.body;
  Json signals = r.json["signals"];
  ASSERT_EQ(signals.size(), 6u) << "every alert of the group is recorded";
  auto check = [&](size_t i, const char* kind, const char* agent, const char* severity, const Json& label,
                   const char* from) {
    SCOPED_TRACE(kind);
    EXPECT_EQ(signals[i]["kind"], kind);
    EXPECT_EQ(signals[i]["agent"], agent);
    EXPECT_EQ(signals[i]["severity"], severity);
    EXPECT_EQ(signals[i]["measured"]["severity"]["label"], label);
    EXPECT_EQ(signals[i]["measured"]["severity"]["from"], from);
    EXPECT_EQ(signals[i]["measured"]["labels"].value("severity", Json()), label);
  };
  check(0, "alert.HighErrorRate", "support-bot", "SEV-2", "major", "label");
  check(1, "alert.RefundsStuck", "support-bot", "SEV-2", "critical", "label");
  check(2, "alert.SlowAnswers", "support-bot", "SEV-3", "catastrophic", "default");
  check(3, "alert.TokenSpend", "support-bot", "SEV-3", " Warning ", "label");
  // `job` names the exporter, not the AI agent: it is not taken for one.
  check(4, "alert.ExporterDown", "unassigned", "SEV-4", "P4", "label");
  check(5, "alert.unnamed", "support-bot", "SEV-3", Json(), "default");
  EXPECT_EQ(server_->Call("GET", "/api/v1/signals?kind=alert.").json["signals"].size(), 6u);

  // The envelope's own shape is still checked: nothing recorded.
  Json bad = batch;
  bad["alerts"][1]["labels"] = "severity=major";
  EXPECT_EQ(server_->Call("POST", "/api/v1/alerts/alertmanager", bad.dump(), &responder).status, 400);
  bad = batch;
  bad["commonLabels"] = Json::array();
  EXPECT_EQ(server_->Call("POST", "/api/v1/alerts/alertmanager", bad.dump(), &responder).status, 400);
  EXPECT_EQ(server_->Call("GET", "/api/v1/signals?kind=alert.").json["signals"].size(), 6u);
}

TEST(AlertmanagerPolicy, TheAgentLabelAndTheDefaultSeverityAreConfigured) {
  TempDir dir;
  std::string path = dir.path() + "/firebreak.toml";
  std::ofstream(path) << "[alertmanager]\nagent_label = \"ai_agent\"\ndefault_severity = 4\n";
  ServerProcess server({"--config", path});
  Json batch = Notification({
      {{"alertname", "SlowAnswers"}, {"ai_agent", "support-bot"}, {"job", "blackbox"}, {"severity", "catastrophic"}},
      {{"alertname", "Errors"}, {"agent", "billing-bot"}, {"severity", "critical"}},
  });
  batch["commonLabels"] = {{"ai_agent", "triage-bot"}};
  auto r = server.Call("POST", "/api/v1/alerts/alertmanager", batch.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["signals"].size(), 2u);
  EXPECT_EQ(r.json["signals"][0]["agent"], "support-bot");
  EXPECT_EQ(r.json["signals"][0]["severity"], "SEV-4");
  EXPECT_EQ(r.json["signals"][0]["measured"]["severity"]["from"], "default");
  // Not the configured label: the group's common one names the agent.
  EXPECT_EQ(r.json["signals"][1]["agent"], "triage-bot");
  EXPECT_EQ(r.json["signals"][1]["severity"], "SEV-2");
}

TEST_F(DetectionIntegration, GenericSignalsAreCheckedAndScopedToTheAgentsToken) {
  Json signal = {{"kind", "latency"}, {"agent", "support-bot"}, {"severity", "SEV-3"},
                 {"reason", "p99 above 20 s"}, {"evidence", {"abcdef0123456789"}}};
  auto r = server_->Call("POST", "/api/v1/signals", signal.dump(), &agent_token_);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Json::parse(r.body)["signals"][0]["severity"], "SEV-3");

  Json other = signal;
  other["agent"] = "billing-bot";
  EXPECT_EQ(server_->Call("POST", "/api/v1/signals", other.dump(), &agent_token_).status, 403);
  Json bad = signal;
  bad["severity"] = "SEV-9";
  auto refused = server_->Call("POST", "/api/v1/signals", bad.dump(), &agent_token_);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("severity"), std::string::npos);
  bad = signal;
  bad.erase("reason");
  EXPECT_EQ(server_->Call("POST", "/api/v1/signals", bad.dump(), &agent_token_).status, 400);
  EXPECT_EQ(Json::parse(server_->Call("GET", "/api/v1/signals").body)["signals"].size(), 1u);

  // Scores need a stored trace, a value in 0..1 or a feedback word.
  auto t = IngestNative({{"trace_id", "run-9"}, {"agent", "support-bot"}, {"input", "hi"}, {"output", "hello"}});
  ASSERT_EQ(t.status, 201);
  std::string hash = Json::parse(t.body)["hashes"][0];
  EXPECT_EQ(server_->Call("POST", "/api/v1/scores", R"({"trace":"deadbeefdeadbeef","value":0.5})", &agent_token_).status, 404);
  EXPECT_EQ(server_->Call("POST", "/api/v1/scores", Json{{"trace", hash}, {"value", 7}}.dump(), &agent_token_).status, 400);
  auto ok = server_->Call("POST", "/api/v1/scores", Json{{"trace", hash}, {"feedback", "negative"}}.dump(), &agent_token_);
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST(DetectionRestart, APageInFlightWhenTheServerDiesIsDeliveredAfterTheRestart) {
  Receiver receiver;
  ASSERT_TRUE(receiver.Start());
  receiver.SetDelayMs(5000);  // the first answer comes too late: the server dies waiting
  TempDir dir;
  std::string path = dir.path() + "/firebreak.toml";
  std::ofstream(path) << "[paging]\n"
                      << "escalation = [[\"pd\"]]\n"
                      << "lease_seconds = 2\n"
                      << "[paging.targets.pd]\n"
                      << "type = \"pagerduty\"\n"
                      << "url = \"" << receiver.url("/pd") << "\"\n"
                      << "routing_key = \"rk\"\n"
                      << "timeout_ms = 1500\n";
  ServerProcess server({"--config", path});
  auto r = server.Call("POST", "/api/v1/signals",
                       Json{{"kind", "pii"}, {"agent", "support-bot"}, {"reason", "email in reply"}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(receiver.WaitForRequests(1));
  server.Kill();  // the delivery is claimed, not answered: its lease runs out 2 s later
  receiver.SetDelayMs(0);
  server.Start();
  ASSERT_TRUE(receiver.WaitForRequests(2, std::chrono::seconds(15)));
  ASSERT_TRUE(WaitDelivered(server, 1));
  auto all = Json::parse(server.Call("GET", "/api/v1/deliveries").body)["deliveries"];
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["status"], "delivered");
  EXPECT_EQ(To(receiver, "/pd").back().Json()["event_action"], "trigger");
}

}  // namespace
}  // namespace firebreak::testing
