// Payloads: the message shapes Firebreak sends when it pages, built from one PageContent.
//
// PagerDuty Events API v2 events (trigger, acknowledge, resolve), Slack-compatible incoming
// webhook messages (fallback text plus Block Kit blocks) and the generic webhook body with its
// HMAC-SHA256 signature headers. Pure functions of their arguments (no clock, no I/O), safe
// from any thread. Shapes, limits and examples: docs/paging.md.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace firebreak::paging {

// What the pager says about one incident.
struct PageContent {
  int64_t incident_id = 0;                  // shown as INC-<id>
  std::string title, agent, severity_name;  // severity_name "SEV-1".."SEV-4"
  int severity = 0;
  std::string reason;                 // classification reason
  std::string state;                  // incident state
  std::vector<std::string> evidence;  // trace hashes
  TimeMs detected_at = 0;
  std::string incident_url;  // may be empty
  std::string source = "firebreak";
};

enum class PdAction { kTrigger, kAcknowledge, kResolve };

// Returns "trigger", "acknowledge" or "resolve".
const char* PdActionName(PdAction action);

// Returns the PagerDuty severity of a SEV level: 1 critical, 2 error, 3 warning, else info.
const char* PagerDutySeverity(int severity);

// Returns the PagerDuty Events API v2 body (POST to https://events.pagerduty.com/v2/enqueue).
// Every action carries routing_key, event_action and dedup_key. A trigger also carries payload
// {summary (at most 1024 bytes), source, severity, timestamp (RFC 3339 of detected_at),
// component (agent), group, class (reason), custom_details}, links (when incident_url is set)
// and client / client_url.
nlohmann::json PagerDutyEvent(PdAction action, const std::string& routing_key,
                              const std::string& dedup_key, const PageContent& c);

// Returns a Slack-compatible incoming webhook body: {"text": fallback, "blocks": [header
// (headline, plain text, at most 150 chars), section (title, fields: severity, agent, state,
// detected, reason, evidence), context (source and link)]}. User text is escaped for mrkdwn.
nlohmann::json SlackMessage(const PageContent& c, const std::string& headline);

// Returns the generic webhook body: {"event", "source", "incident": {...}}; `event` names what
// happened, e.g. "incident.page", "incident.escalate", "incident.resolve".
nlohmann::json WebhookBody(const std::string& event, const PageContent& c);

// Returns the signature headers for a generic webhook body sent at `now`:
// "X-Firebreak-Timestamp: <unix seconds>" and "X-Firebreak-Signature: v1=<hex>", where hex is
// the lowercase HMAC-SHA256 under `secret` of timestamp + "." + body.
std::vector<std::pair<std::string, std::string>> WebhookSignatureHeaders(const std::string& secret,
                                                                         const std::string& body,
                                                                         TimeMs now);

// Returns whether `signature` (the X-Firebreak-Signature value; several comma-separated
// "v1=<hex>" entries are accepted, for secret rotation) matches `body` and `timestamp` under
// `secret`. Compares in constant time. Does not judge the timestamp's age (see the overload).
bool VerifyWebhookSignature(const std::string& secret, const std::string& body,
                            const std::string& timestamp, const std::string& signature);

// As above, and also refuses a timestamp more than `tolerance_ms` away from `now` (replays).
bool VerifyWebhookSignature(const std::string& secret, const std::string& body,
                            const std::string& timestamp, const std::string& signature, TimeMs now,
                            int64_t tolerance_ms);

}  // namespace firebreak::paging
