// The post-mortem document: the Google SRE template's fields as people write them, the parts
// Firebreak measures and generates (impact, minute-by-minute timeline), the corrective and
// preventive actions, the one state machine (draft -> in review -> published), and their JSON.
// Pure: no store, no clock, no HTTP (docs/postmortem.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak::postmortem {

enum class State { kDraft, kInReview, kPublished };

// Returns "draft", "in_review" or "published".
const char* StateName(State state);
// Returns the state named by StateName; nullopt for anything else.
std::optional<State> ParseState(std::string_view name);
// Returns OK when `from` -> `to` is a move of the state machine (draft <-> in review ->
// published); kConflict saying what to do otherwise.
Status CheckMove(State from, State to);

// The root cause as written while it is not known yet.
inline constexpr char kPendingRootCause[] = "pending";

// A note a person adds to the generated timeline at a minute; generated lines never change.
struct Annotation {
  TimeMs at = 0;
  std::string author;
  std::string text;
};

// What people write.
struct Document {
  std::string title;
  std::vector<std::string> authors;
  std::string summary;
  std::string failure_mode;  // exactly one sentence
  std::string root_cause;    // text, or kPendingRootCause
  std::string trigger;
  std::string detection;
  std::string resolution;
  std::string went_well;
  std::string went_wrong;
  std::string lucky;  // where we got lucky
  std::optional<TimeMs> follow_up_at;  // the follow-up review
  std::vector<Annotation> annotations;  // by time
};

// A corrective or preventive action. id 0: not stored yet.
struct Action {
  int64_t id = 0;
  std::string kind = "corrective";  // corrective | preventive
  std::string description;          // one line
  std::string owner;                // a person; "" : nobody yet
  std::optional<TimeMs> due_at;
  std::string priority = "P2";    // P1 | P2 | P3
  std::string status = "open";    // open | done | dropped
  std::string drop_reason;
};

// Impact measured from traces, the incident record and the outbox, never typed.
struct Impact {
  std::optional<int64_t> affected_users;  // distinct users of the incident's traces
  std::optional<int64_t> active_users;    // the same measure over the incident window
  TimeMs detected_at = 0;
  std::optional<TimeMs> resolved_at;
  std::optional<int64_t> duration_ms;  // resolved_at - detected_at
  std::optional<int64_t> time_to_classify_ms;
  std::optional<int64_t> time_to_contain_ms;
  int64_t pages_sent = 0;  // page deliveries the outbox delivered
  std::string first_signal;  // "pii.card from pii"; "" : declared by a person
  std::optional<TimeMs> first_bad_trace_at;  // earliest trace of the signals' evidence
  std::optional<int64_t> detection_delay_ms;  // detected_at - first_bad_trace_at
};

// One generated timeline line: an event of the incident, at its minute.
struct TimelineLine {
  TimeMs at = 0;
  std::string actor;
  std::string what;
};

struct Generated {
  Impact impact;
  std::vector<TimelineLine> timeline;  // oldest first
  TimeMs generated_at = 0;
};

// The whole post-mortem as it is read and exported.
struct Postmortem {
  int64_t incident_id = 0;
  std::string incident_title;
  int severity = 0;  // 0: unclassified
  std::string incident_state;
  State state = State::kDraft;
  int64_t version = 0;
  Document doc;
  Generated generated;
  std::vector<Action> actions;  // by id
  std::optional<TimeMs> due_at;  // 48 hours after the resolution; nullopt while unresolved
  bool overdue = false;
  std::string created_by, updated_by;
  TimeMs created_at = 0, updated_at = 0;
  std::optional<TimeMs> published_at;
};

// Bounds on what people write (every field checked on each save).
struct Limits {
  size_t max_text_bytes = 20'000;  // summary, root cause, lessons, ...
  size_t max_title_bytes = 200;
  size_t max_line_bytes = 2'000;  // one-line fields: failure mode, action description
  size_t max_name_bytes = 128;    // an author or owner
  size_t max_authors = 20;
  size_t max_actions = 100;
  size_t max_annotations = 500;
};

// Returns OK when the document and actions keep to `limits` and the rules of each field
// (valid UTF-8, one-line fields without line breaks, known kinds, priorities and statuses,
// drop reasons on dropped actions); kInvalidArgument or kTooLarge naming the field otherwise.
Status CheckDocument(const Document& doc, const std::vector<Action>& actions,
                     const Limits& limits = {});

// Parses a date as people give one: "2026-12-01" (the end of that day, UTC) or an RFC 3339
// time. nullopt for anything else.
std::optional<TimeMs> ParseDate(std::string_view text);
// Formats a time as ParseDate reads it back: "2026-12-01" for the end of a day, RFC 3339
// otherwise.
std::string FormatDate(TimeMs t);

// The JSON of each part, as stored, answered by the API and read back by the CLI.
nlohmann::json DocumentJson(const Document& doc);
nlohmann::json ActionJson(const Action& a);
nlohmann::json GeneratedJson(const Generated& g);

// Reads a document from JSON (the API's PUT body or the store). Every field is optional (absent:
// empty); a field of the wrong type or a bad date is kInvalidArgument naming it. `author` is
// given to annotations that name none.
StatusOr<Document> DocumentFromJson(const nlohmann::json& j, const std::string& author = "");
// Reads actions from a JSON array; same rules.
StatusOr<std::vector<Action>> ActionsFromJson(const nlohmann::json& j);
// Reads what generate stored (trusted: written by GeneratedJson).
Generated GeneratedFromJson(const nlohmann::json& j);

}  // namespace firebreak::postmortem
