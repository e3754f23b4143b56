#include "paging/payloads.h"

#include "common/crypto.h"
#include "common/text.h"

namespace firebreak::paging {
namespace {

using nlohmann::json;

constexpr size_t kPdSummaryMax = 1024;     // PagerDuty: payload.summary
constexpr size_t kSlackHeaderMax = 150;    // Block Kit: header text
constexpr size_t kSlackSectionMax = 3000;  // Block Kit: section text
constexpr size_t kSlackFieldMax = 2000;    // Block Kit: each section field
constexpr size_t kSlackEvidenceShown = 5;

std::string Clip(const std::string& s, size_t max_bytes) { return TruncateUtf8(s, max_bytes, "..."); }

// Escapes the three characters Slack mrkdwn reserves for its own syntax.
std::string SlackEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : CleanUtf8(s)) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string IncidentKey(const PageContent& c) { return "INC-" + std::to_string(c.incident_id); }

std::string SeverityLabel(const PageContent& c) {
  if (!c.severity_name.empty()) return CleanUtf8(c.severity_name);
  return c.severity >= 1 && c.severity <= 4 ? "SEV-" + std::to_string(c.severity) : "unclassified";
}

json EvidenceArray(const PageContent& c) {
  json out = json::array();
  for (const std::string& h : c.evidence) out.push_back(CleanUtf8(h));
  return out;
}

json SlackField(const std::string& name, const std::string& escaped_value) {
  return {{"type", "mrkdwn"},
          {"text", TruncateUtf8("*" + name + "*\n" + escaped_value, kSlackFieldMax, "...")}};
}

}  // namespace

const char* PdActionName(PdAction action) {
  switch (action) {
    case PdAction::kTrigger:
      return "trigger";
    case PdAction::kAcknowledge:
      return "acknowledge";
    case PdAction::kResolve:
      return "resolve";
  }
  return "trigger";
}

const char* PagerDutySeverity(int severity) {
  switch (severity) {
    case 1:
      return "critical";
    case 2:
      return "error";
    case 3:
      return "warning";
    default:
      return "info";
  }
}

nlohmann::json PagerDutyEvent(PdAction action, const std::string& routing_key,
                              const std::string& dedup_key, const PageContent& c) {
  json event = {{"routing_key", CleanUtf8(routing_key)},
                {"event_action", PdActionName(action)},
                {"dedup_key", CleanUtf8(dedup_key)}};
  if (action != PdAction::kTrigger) return event;

  std::string summary = "[" + SeverityLabel(c) + "] " + IncidentKey(c) + ": " + c.title;
  if (!c.agent.empty()) summary += " (agent " + c.agent + ")";
  json payload = {{"summary", Clip(summary, kPdSummaryMax)},
                  {"source", c.source.empty() ? "firebreak" : CleanUtf8(c.source)},
                  {"severity", PagerDutySeverity(c.severity)},
                  {"timestamp", FormatTime(c.detected_at)},
                  {"group", "agents"}};
  if (!c.agent.empty()) payload["component"] = CleanUtf8(c.agent);
  if (!c.reason.empty()) payload["class"] = Clip(c.reason, 255);
  json details = {{"incident", IncidentKey(c)},
                  {"incident_id", c.incident_id},
                  {"title", CleanUtf8(c.title)},
                  {"agent", CleanUtf8(c.agent)},
                  {"severity", SeverityLabel(c)},
                  {"state", CleanUtf8(c.state)},
                  {"reason", CleanUtf8(c.reason)},
                  {"evidence", EvidenceArray(c)},
                  {"detected_at", FormatTime(c.detected_at)}};
  if (!c.incident_url.empty()) details["incident_url"] = CleanUtf8(c.incident_url);
  payload["custom_details"] = std::move(details);
  event["payload"] = std::move(payload);
  event["client"] = "Firebreak";
  if (!c.incident_url.empty()) {
    event["client_url"] = CleanUtf8(c.incident_url);
    event["links"] = json::array(
        {{{"href", CleanUtf8(c.incident_url)}, {"text", IncidentKey(c) + " in Firebreak"}}});
  }
  return event;
}

nlohmann::json SlackMessage(const PageContent& c, const std::string& headline) {
  std::string key = IncidentKey(c);
  std::string head = headline.empty() ? key + " " + SeverityLabel(c) : headline;
  std::string fallback = head + " | " + key + " [" + SeverityLabel(c) + "] " + c.title;
  if (!c.agent.empty()) fallback += " (agent " + c.agent + ")";

  std::string link = c.incident_url.empty() ? "*" + key + "*"
                                            : "*<" + SlackEscape(c.incident_url) + "|" + key + ">*";
  json fields = json::array();
  fields.push_back(SlackField("Severity", SlackEscape(SeverityLabel(c))));
  fields.push_back(SlackField("Agent", c.agent.empty() ? "-" : SlackEscape(c.agent)));
  if (!c.state.empty()) fields.push_back(SlackField("State", SlackEscape(c.state)));
  fields.push_back(SlackField("Detected", FormatTime(c.detected_at)));
  if (!c.reason.empty()) fields.push_back(SlackField("Reason", SlackEscape(c.reason)));
  if (!c.evidence.empty()) {
    std::string ev;
    for (size_t i = 0; i < c.evidence.size() && i < kSlackEvidenceShown; ++i) {
      if (!ev.empty()) ev += " ";
      ev += "`" + SlackEscape(c.evidence[i].substr(0, 12)) + "`";
    }
    if (c.evidence.size() > kSlackEvidenceShown) {
      ev += " +" + std::to_string(c.evidence.size() - kSlackEvidenceShown) + " more";
    }
    fields.push_back(SlackField("Evidence", ev));
  }
  std::string context = "Sent by " + SlackEscape(c.source.empty() ? "firebreak" : c.source);
  if (!c.incident_url.empty())
    context += " | <" + SlackEscape(c.incident_url) + "|Open " + key + ">";

  json blocks = json::array();
  blocks.push_back(
      {{"type", "header"},
       {"text", {{"type", "plain_text"}, {"text", Clip(head, kSlackHeaderMax)}, {"emoji", true}}}});
  blocks.push_back({{"type", "section"},
                    {"text",
                     {{"type", "mrkdwn"},
                      {"text", TruncateUtf8(link + " " + SlackEscape(c.title), kSlackSectionMax, "...")}}},
                    {"fields", std::move(fields)}});
  blocks.push_back(
      {{"type", "context"},
       {"elements",
        json::array({{{"type", "mrkdwn"}, {"text", TruncateUtf8(context, kSlackFieldMax, "...")}}})}});
  return {{"text", TruncateUtf8(SlackEscape(fallback), kSlackSectionMax, "...")},
          {"blocks", std::move(blocks)}};
}

nlohmann::json WebhookBody(const std::string& event, const PageContent& c) {
  json incident = {
      {"id", c.incident_id},
      {"key", IncidentKey(c)},
      {"title", CleanUtf8(c.title)},
      {"agent", CleanUtf8(c.agent)},
      {"severity", SeverityLabel(c)},
      {"severity_level", c.severity},
      {"state", CleanUtf8(c.state)},
      {"reason", CleanUtf8(c.reason)},
      {"evidence", EvidenceArray(c)},
      {"detected_at", FormatTime(c.detected_at)},
      {"url", c.incident_url.empty() ? json(nullptr) : json(CleanUtf8(c.incident_url))}};
  return {{"event", CleanUtf8(event)},
          {"source", c.source.empty() ? "firebreak" : CleanUtf8(c.source)},
          {"incident", std::move(incident)}};
}

std::vector<std::pair<std::string, std::string>> WebhookSignatureHeaders(const std::string& secret,
                                                                         const std::string& body,
                                                                         TimeMs now) {
  std::string ts = std::to_string(now / 1000);
  return {{"X-Firebreak-Timestamp", ts},
          {"X-Firebreak-Signature", "v1=" + HmacSha256Hex(secret, ts + "." + body)}};
}

bool VerifyWebhookSignature(const std::string& secret, const std::string& body,
                            const std::string& timestamp, const std::string& signature) {
  if (timestamp.empty()) return false;
  std::string expected = HmacSha256Hex(secret, timestamp + "." + body);
  bool match = false;
  size_t pos = 0;
  while (pos <= signature.size()) {
    size_t comma = signature.find(',', pos);
    if (comma == std::string::npos) comma = signature.size();
    std::string entry = signature.substr(pos, comma - pos);
    size_t b = entry.find_first_not_of(' ');
    size_t e = entry.find_last_not_of(' ');
    entry = b == std::string::npos ? "" : entry.substr(b, e - b + 1);
    if (entry.rfind("v1=", 0) == 0 && ConstantTimeEquals(entry.substr(3), expected)) match = true;
    pos = comma + 1;
  }
  return match;
}

bool VerifyWebhookSignature(const std::string& secret, const std::string& body,
                            const std::string& timestamp, const std::string& signature, TimeMs now,
                            int64_t tolerance_ms) {
  if (timestamp.empty() || timestamp.size() > 15 ||
      timestamp.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int64_t sent_ms = std::stoll(timestamp) * 1000;
  if (std::llabs(now - sent_ms) > tolerance_ms) return false;
  return VerifyWebhookSignature(secret, body, timestamp, signature);
}

}  // namespace firebreak::paging
