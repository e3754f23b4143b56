#include "paging/payloads.h"

#include <gtest/gtest.h>

#include <set>

namespace firebreak::paging {
namespace {

using nlohmann::json;

PageContent Sample() {
  PageContent c;
  c.incident_id = 42;
  c.title = "Card number in a reply";
  c.agent = "support-bot";
  c.severity = 1;
  c.severity_name = "SEV-1";
  c.reason = "personal data (payment card) in a final response";
  c.state = "open";
  c.evidence = {"92beb3fb0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"};
  c.detected_at = 1795962245123;  // 2026-11-29T14:24:05.123Z
  c.incident_url = "http://127.0.0.1:7070/incidents/42";
  return c;
}

std::set<std::string> Keys(const json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
  return out;
}

TEST(PagerDutyEvent, TriggerHasTheDocumentedShape) {
  json e = PagerDutyEvent(PdAction::kTrigger, "R0UT1NGKEY", "firebreak-INC-42", Sample());
  EXPECT_EQ(Keys(e), (std::set<std::string>{"routing_key", "event_action", "dedup_key", "payload",
                                            "client", "client_url", "links"}));
  EXPECT_EQ(e["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(e["event_action"], "trigger");
  EXPECT_EQ(e["dedup_key"], "firebreak-INC-42");
  const json& p = e["payload"];
  EXPECT_EQ(Keys(p), (std::set<std::string>{"summary", "source", "severity", "timestamp",
                                            "component", "group", "class", "custom_details"}));
  EXPECT_EQ(p["summary"], "[SEV-1] INC-42: Card number in a reply (agent support-bot)");
  EXPECT_EQ(p["source"], "firebreak");
  EXPECT_EQ(p["severity"], "critical");
  EXPECT_EQ(p["timestamp"], "2026-11-29T14:24:05.123Z");
  EXPECT_EQ(ParseTime(p["timestamp"].get<std::string>()), 1795962245123);
  EXPECT_EQ(p["component"], "support-bot");
  EXPECT_EQ(p["group"], "agents");
  EXPECT_EQ(p["class"], "personal data (payment card) in a final response");
  const json& d = p["custom_details"];
  EXPECT_EQ(d["incident"], "INC-42");
  EXPECT_EQ(d["incident_id"], 42);
  EXPECT_EQ(d["severity"], "SEV-1");
  EXPECT_EQ(d["state"], "open");
  EXPECT_EQ(d["evidence"], json::array({Sample().evidence[0]}));
  EXPECT_EQ(e["links"], json::parse(R"([{"href":"http://127.0.0.1:7070/incidents/42",
                                          "text":"INC-42 in Firebreak"}])"));
  EXPECT_EQ(e["client"], "Firebreak");
  EXPECT_EQ(e["client_url"], "http://127.0.0.1:7070/incidents/42");
}

TEST(PagerDutyEvent, SeverityMapsFromTheSev) {
  const char* expected[] = {"critical", "error", "warning", "info"};
  for (int sev = 1; sev <= 4; ++sev) {
    PageContent c = Sample();
    c.severity = sev;
    c.severity_name = "SEV-" + std::to_string(sev);
    EXPECT_EQ(PagerDutyEvent(PdAction::kTrigger, "k", "d", c)["payload"]["severity"],
              expected[sev - 1]);
  }
  EXPECT_STREQ(PagerDutySeverity(0), "info");
}

TEST(PagerDutyEvent, AcknowledgeAndResolveCarryOnlyTheKeys) {
  for (auto [action, name] : {std::pair{PdAction::kAcknowledge, "acknowledge"},
                              std::pair{PdAction::kResolve, "resolve"}}) {
    json e = PagerDutyEvent(action, "R0UT1NGKEY", "firebreak-INC-42", Sample());
    EXPECT_EQ(e, json({{"routing_key", "R0UT1NGKEY"},
                       {"event_action", name},
                       {"dedup_key", "firebreak-INC-42"}}));
  }
}

TEST(PagerDutyEvent, SummaryIsCutTo1024BytesOnACharacterBoundary) {
  PageContent c = Sample();
  c.title.clear();
  for (int i = 0; i < 600; ++i) c.title += "\xC3\xA9";  // é, two bytes each
  json e = PagerDutyEvent(PdAction::kTrigger, "k", "d", c);
  std::string summary = e["payload"]["summary"];
  EXPECT_LE(summary.size(), 1024u);
  EXPECT_EQ(summary.substr(summary.size() - 3), "...");
  EXPECT_NO_THROW(e.dump());
}

TEST(PagerDutyEvent, OptionalPartsAreLeftOutWhenEmpty) {
  PageContent c = Sample();
  c.incident_url.clear();
  c.reason.clear();
  json e = PagerDutyEvent(PdAction::kTrigger, "k", "d", c);
  EXPECT_FALSE(e.contains("links"));
  EXPECT_FALSE(e.contains("client_url"));
  EXPECT_FALSE(e["payload"].contains("class"));
}

TEST(Payloads, InvalidUtf8FromAnAgentNeverBreaksSerialisation) {
  PageContent c = Sample();
  c.title = "bad \xFF\xFE bytes";
  c.reason = "\xC3";
  EXPECT_NO_THROW(PagerDutyEvent(PdAction::kTrigger, "k", "d", c).dump());
  EXPECT_NO_THROW(SlackMessage(c, "headline").dump());
  EXPECT_NO_THROW(WebhookBody("incident.page", c).dump());
}

TEST(SlackMessage, HasTextAndHeaderSectionContextBlocks) {
  json m = SlackMessage(Sample(), "SEV-1 page: INC-42");
  EXPECT_EQ(Keys(m), (std::set<std::string>{"text", "blocks"}));
  ASSERT_TRUE(m["text"].is_string());
  EXPECT_NE(m["text"].get<std::string>().find("INC-42"), std::string::npos);
  ASSERT_EQ(m["blocks"].size(), 3u);

  const json& header = m["blocks"][0];
  EXPECT_EQ(header["type"], "header");
  EXPECT_EQ(header["text"]["type"], "plain_text");
  EXPECT_EQ(header["text"]["text"], "SEV-1 page: INC-42");

  const json& section = m["blocks"][1];
  EXPECT_EQ(section["type"], "section");
  EXPECT_EQ(section["text"]["type"], "mrkdwn");
  EXPECT_EQ(section["text"]["text"],
            "*<http://127.0.0.1:7070/incidents/42|INC-42>* Card number in a reply");
  ASSERT_TRUE(section["fields"].is_array());
  EXPECT_LE(section["fields"].size(), 10u);
  std::vector<std::string> fields;
  for (const json& f : section["fields"]) {
    EXPECT_EQ(f["type"], "mrkdwn");
    EXPECT_LE(f["text"].get<std::string>().size(), 2000u);
    fields.push_back(f["text"]);
  }
  EXPECT_EQ(fields[0], "*Severity*\nSEV-1");
  EXPECT_EQ(fields[1], "*Agent*\nsupport-bot");
  EXPECT_EQ(fields[2], "*State*\nopen");
  EXPECT_EQ(fields[3], "*Detected*\n2026-11-29T14:24:05.123Z");
  EXPECT_EQ(fields[4], "*Reason*\npersonal data (payment card) in a final response");
  EXPECT_EQ(fields[5], "*Evidence*\n`92beb3fb0c1d`");

  const json& context = m["blocks"][2];
  EXPECT_EQ(context["type"], "context");
  ASSERT_EQ(context["elements"].size(), 1u);
  EXPECT_EQ(context["elements"][0]["type"], "mrkdwn");
}

TEST(SlackMessage, EscapesMrkdwnAndRespectsBlockLimits) {
  PageContent c = Sample();
  c.title = "<!channel> refunds & <b>";
  json m = SlackMessage(c, std::string(400, 'H'));
  EXPECT_EQ(
      m["blocks"][1]["text"]["text"],
      "*<http://127.0.0.1:7070/incidents/42|INC-42>* &lt;!channel&gt; refunds &amp; &lt;b&gt;");
  EXPECT_LE(m["blocks"][0]["text"]["text"].get<std::string>().size(), 150u);
  EXPECT_EQ(m["text"].get<std::string>().find("<!channel>"), std::string::npos);
}

TEST(WebhookBody, CarriesTheEventAndTheIncident) {
  json b = WebhookBody("incident.page", Sample());
  EXPECT_EQ(b["event"], "incident.page");
  EXPECT_EQ(b["source"], "firebreak");
  const json& i = b["incident"];
  EXPECT_EQ(i["id"], 42);
  EXPECT_EQ(i["key"], "INC-42");
  EXPECT_EQ(i["title"], "Card number in a reply");
  EXPECT_EQ(i["agent"], "support-bot");
  EXPECT_EQ(i["severity"], "SEV-1");
  EXPECT_EQ(i["severity_level"], 1);
  EXPECT_EQ(i["state"], "open");
  EXPECT_EQ(i["detected_at"], "2026-11-29T14:24:05.123Z");
  EXPECT_EQ(i["url"], "http://127.0.0.1:7070/incidents/42");
  EXPECT_EQ(i["evidence"].size(), 1u);
  PageContent no_url = Sample();
  no_url.incident_url.clear();
  EXPECT_TRUE(WebhookBody("incident.page", no_url)["incident"]["url"].is_null());
}

TEST(WebhookSignature, MatchesHmacSha256OfTimestampDotBody) {
  // echo -n '1795962245.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
  auto headers = WebhookSignatureHeaders("whsec_test", R"({"a":1})", 1795962245123);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0],
            (std::pair<std::string, std::string>{"X-Firebreak-Timestamp", "1795962245"}));
  EXPECT_EQ(headers[1].first, "X-Firebreak-Signature");
  EXPECT_EQ(headers[1].second,
            "v1=3fabf3e31ea7386016cc60f9181099abdd6d81ea6be774ae9e1c8b5037020c19");
}

TEST(WebhookSignature, VerifiesAndRejectsTampering) {
  std::string body = WebhookBody("incident.page", Sample()).dump();
  auto h = WebhookSignatureHeaders("s3cret", body, 1795962245123);
  const std::string& ts = h[0].second;
  const std::string& sig = h[1].second;
  EXPECT_TRUE(VerifyWebhookSignature("s3cret", body, ts, sig));
  std::string tampered = body;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", tampered, ts, sig));
  EXPECT_FALSE(VerifyWebhookSignature("other", body, ts, sig));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", body, "1795962246", sig));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", body, ts, sig.substr(3)));  // no "v1="
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", body, ts, ""));
  // Secret rotation: any listed v1 entry may match.
  EXPECT_TRUE(VerifyWebhookSignature("s3cret", body, ts, "v1=00ff, " + sig));
  // With a clock: fresh within tolerance, stale or future refused.
  EXPECT_TRUE(VerifyWebhookSignature("s3cret", body, ts, sig, 1795962245123 + 60'000, 300'000));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", body, ts, sig, 1795962245123 + 600'000, 300'000));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", body, ts, sig, 1795962245123 - 600'000, 300'000));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", body, "12x", sig, 1795962245123, 300'000));
}

}  // namespace
}  // namespace firebreak::paging
