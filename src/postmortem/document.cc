#include "postmortem/document.h"

#include <algorithm>

#include "common/text.h"

namespace firebreak::postmortem {
namespace {

using Json = nlohmann::json;

constexpr TimeMs kDayMs = 24LL * 3600 * 1000;

StatusOr<std::string> StringAt(const Json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return InvalidArgument("'" + where + name + "' must be a string");
  return it->get<std::string>();
}

StatusOr<std::optional<TimeMs>> DateAt(const Json& j, const char* name, const std::string& where) {
  FB_ASSIGN_OR_RETURN(std::string text, StringAt(j, name, where));
  if (text.empty()) return std::optional<TimeMs>();
  auto t = ParseDate(text);
  if (!t) {
    return InvalidArgument("'" + where + name + "' must be a date (2026-12-01) or an RFC 3339 time");
  }
  return std::optional<TimeMs>(*t);
}

Json OptDate(const std::optional<TimeMs>& t) { return t ? Json(FormatDate(*t)) : Json(nullptr); }
Json OptInt(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

std::optional<int64_t> IntOf(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::optional<TimeMs> TimeOf(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return ParseTime(it->get<std::string>());
}

Status CheckOneLine(const std::string& field, const std::string& text, size_t max, bool required) {
  FB_RETURN_IF_ERROR(CheckText(field, text, max, required));
  if (text.find_first_of("\r\n") != std::string::npos) {
    return InvalidArgument("'" + field + "' must be one line");
  }
  return Status::Ok();
}

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kDraft:
      return "draft";
    case State::kInReview:
      return "in_review";
    case State::kPublished:
      return "published";
  }
  return "draft";
}

std::optional<State> ParseState(std::string_view name) {
  for (State s : {State::kDraft, State::kInReview, State::kPublished}) {
    if (name == StateName(s)) return s;
  }
  return std::nullopt;
}

Status CheckMove(State from, State to) {
  if (from == to) return Conflict(std::string("the post-mortem is already ") + StateName(to));
  if (from == State::kPublished) return Conflict("the post-mortem is published, which is final");
  if (from == State::kDraft && to == State::kPublished) {
    return Conflict("the post-mortem is still a draft: send it to review first");
  }
  return Status::Ok();
}

std::optional<TimeMs> ParseDate(std::string_view text) {
  bool date_only = text.size() == 10 && text[4] == '-' && text[7] == '-';
  if (date_only) return ParseTime(std::string(text) + "T23:59:59.999Z");
  return ParseTime(text);
}

std::string FormatDate(TimeMs t) {
  TimeMs in_day = ((t % kDayMs) + kDayMs) % kDayMs;
  std::string full = FormatTime(t);
  return in_day == kDayMs - 1 ? full.substr(0, 10) : full;
}

Status CheckDocument(const Document& doc, const std::vector<Action>& actions, const Limits& limits) {
  FB_RETURN_IF_ERROR(CheckOneLine("title", doc.title, limits.max_title_bytes, false));
  if (doc.authors.size() > limits.max_authors) {
    return InvalidArgument("'authors' lists more than " + std::to_string(limits.max_authors));
  }
  for (const auto& a : doc.authors) {
    FB_RETURN_IF_ERROR(CheckOneLine("authors", a, limits.max_name_bytes, true));
    if (a.find(',') != std::string::npos) return InvalidArgument("'authors' names hold no commas");
  }
  FB_RETURN_IF_ERROR(CheckOneLine("failure_mode", doc.failure_mode, limits.max_line_bytes, false));
  for (const auto& [name, text] :
       {std::pair<const char*, const std::string*>{"summary", &doc.summary},
        {"root_cause", &doc.root_cause},
        {"trigger", &doc.trigger},
        {"detection", &doc.detection},
        {"resolution", &doc.resolution},
        {"lessons.went_well", &doc.went_well},
        {"lessons.went_wrong", &doc.went_wrong},
        {"lessons.lucky", &doc.lucky}}) {
    FB_RETURN_IF_ERROR(CheckText(name, *text, limits.max_text_bytes, false));
  }
  if (doc.annotations.size() > limits.max_annotations) {
    return InvalidArgument("'annotations' lists more than " + std::to_string(limits.max_annotations));
  }
  for (const auto& n : doc.annotations) {
    FB_RETURN_IF_ERROR(CheckOneLine("annotations.text", n.text, limits.max_line_bytes, true));
    FB_RETURN_IF_ERROR(CheckOneLine("annotations.author", n.author, limits.max_name_bytes, false));
  }
  if (actions.size() > limits.max_actions) {
    return InvalidArgument("'actions' lists more than " + std::to_string(limits.max_actions));
  }
  for (const auto& a : actions) {
    if (a.kind != "corrective" && a.kind != "preventive") {
      return InvalidArgument("an action's 'kind' must be corrective or preventive");
    }
    if (a.priority != "P1" && a.priority != "P2" && a.priority != "P3") {
      return InvalidArgument("an action's 'priority' must be P1, P2 or P3");
    }
    if (a.status != "open" && a.status != "done" && a.status != "dropped") {
      return InvalidArgument("an action's 'status' must be open, done or dropped");
    }
    FB_RETURN_IF_ERROR(CheckOneLine("actions.description", a.description, limits.max_line_bytes, true));
    FB_RETURN_IF_ERROR(CheckOneLine("actions.owner", a.owner, limits.max_name_bytes, false));
    FB_RETURN_IF_ERROR(CheckOneLine("actions.drop_reason", a.drop_reason, limits.max_line_bytes,
                                    a.status == "dropped"));
  }
  return Status::Ok();
}

Json DocumentJson(const Document& doc) {
  Json notes = Json::array();
  for (const auto& n : doc.annotations) {
    notes.push_back({{"at", FormatTime(n.at)}, {"author", n.author}, {"text", n.text}});
  }
  return {{"title", doc.title},
          {"authors", doc.authors},
          {"summary", doc.summary},
          {"failure_mode", doc.failure_mode},
          {"root_cause", doc.root_cause},
          {"trigger", doc.trigger},
          {"detection", doc.detection},
          {"resolution", doc.resolution},
          {"lessons", {{"went_well", doc.went_well}, {"went_wrong", doc.went_wrong}, {"lucky", doc.lucky}}},
          {"follow_up", OptDate(doc.follow_up_at)},
          {"annotations", notes}};
}

Json ActionJson(const Action& a) {
  Json j = {{"id", a.id},
            {"kind", a.kind},
            {"description", a.description},
            {"owner", a.owner},
            {"due", OptDate(a.due_at)},
            {"priority", a.priority},
            {"status", a.status}};
  if (!a.drop_reason.empty()) j["drop_reason"] = a.drop_reason;
  return j;
}

Json GeneratedJson(const Generated& g) {
  const Impact& i = g.impact;
  Json timeline = Json::array();
  for (const auto& l : g.timeline) {
    timeline.push_back({{"at", FormatTime(l.at)}, {"actor", l.actor}, {"what", l.what}});
  }
  return {{"generated_at", FormatTime(g.generated_at)},
          {"impact",
           {{"affected_users", OptInt(i.affected_users)},
            {"active_users", OptInt(i.active_users)},
            {"detected_at", FormatTime(i.detected_at)},
            {"resolved_at", i.resolved_at ? Json(FormatTime(*i.resolved_at)) : Json(nullptr)},
            {"duration_ms", OptInt(i.duration_ms)},
            {"time_to_classify_ms", OptInt(i.time_to_classify_ms)},
            {"time_to_contain_ms", OptInt(i.time_to_contain_ms)},
            {"pages_sent", i.pages_sent},
            {"first_signal", i.first_signal},
            {"first_bad_trace_at",
             i.first_bad_trace_at ? Json(FormatTime(*i.first_bad_trace_at)) : Json(nullptr)},
            {"detection_delay_ms", OptInt(i.detection_delay_ms)}}},
          {"timeline", timeline}};
}

StatusOr<Document> DocumentFromJson(const Json& j, const std::string& author) {
  if (!j.is_object()) return InvalidArgument("the post-mortem must be a JSON object");
  Document doc;
  for (const auto& [name, slot] :
       {std::pair<const char*, std::string*>{"title", &doc.title},
        {"summary", &doc.summary},
        {"failure_mode", &doc.failure_mode},
        {"root_cause", &doc.root_cause},
        {"trigger", &doc.trigger},
        {"detection", &doc.detection},
        {"resolution", &doc.resolution}}) {
    FB_ASSIGN_OR_RETURN(*slot, StringAt(j, name, ""));
  }
  if (auto it = j.find("authors"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("'authors' must be an array of names");
    for (const auto& a : *it) {
      if (!a.is_string()) return InvalidArgument("'authors' must be an array of names");
      doc.authors.push_back(a.get<std::string>());
    }
  }
  if (auto it = j.find("lessons"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("'lessons' must be an object");
    FB_ASSIGN_OR_RETURN(doc.went_well, StringAt(*it, "went_well", "lessons."));
    FB_ASSIGN_OR_RETURN(doc.went_wrong, StringAt(*it, "went_wrong", "lessons."));
    FB_ASSIGN_OR_RETURN(doc.lucky, StringAt(*it, "lucky", "lessons."));
  }
  FB_ASSIGN_OR_RETURN(doc.follow_up_at, DateAt(j, "follow_up", ""));
  if (auto it = j.find("annotations"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("'annotations' must be an array");
    for (const auto& n : *it) {
      if (!n.is_object()) return InvalidArgument("each annotation must be an object {at, text}");
      Annotation a;
      FB_ASSIGN_OR_RETURN(std::string at, StringAt(n, "at", "annotations."));
      auto t = ParseTime(at);
      if (!t) return InvalidArgument("'annotations.at' must be an RFC 3339 time");
      a.at = *t;
      FB_ASSIGN_OR_RETURN(a.text, StringAt(n, "text", "annotations."));
      FB_ASSIGN_OR_RETURN(a.author, StringAt(n, "author", "annotations."));
      if (a.author.empty()) a.author = author;
      doc.annotations.push_back(std::move(a));
    }
    std::stable_sort(doc.annotations.begin(), doc.annotations.end(),
                     [](const Annotation& x, const Annotation& y) { return x.at < y.at; });
  }
  return doc;
}

StatusOr<std::vector<Action>> ActionsFromJson(const Json& j) {
  if (!j.is_array()) return InvalidArgument("'actions' must be an array");
  std::vector<Action> out;
  for (const auto& e : j) {
    if (!e.is_object()) return InvalidArgument("each action must be an object");
    Action a;
    if (auto it = e.find("id"); it != e.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0) {
        return InvalidArgument("'actions.id' must be the id of an action (0 or absent: a new one)");
      }
      a.id = it->get<int64_t>();
    }
    FB_ASSIGN_OR_RETURN(std::string kind, StringAt(e, "kind", "actions."));
    if (!kind.empty()) a.kind = kind;
    FB_ASSIGN_OR_RETURN(a.description, StringAt(e, "description", "actions."));
    FB_ASSIGN_OR_RETURN(a.owner, StringAt(e, "owner", "actions."));
    FB_ASSIGN_OR_RETURN(a.due_at, DateAt(e, "due", "actions."));
    FB_ASSIGN_OR_RETURN(std::string priority, StringAt(e, "priority", "actions."));
    if (!priority.empty()) a.priority = priority;
    FB_ASSIGN_OR_RETURN(std::string status, StringAt(e, "status", "actions."));
    if (!status.empty()) a.status = status;
    FB_ASSIGN_OR_RETURN(a.drop_reason, StringAt(e, "drop_reason", "actions."));
    out.push_back(std::move(a));
  }
  return out;
}

Generated GeneratedFromJson(const Json& j) {
  Generated g;
  if (!j.is_object()) return g;
  g.generated_at = TimeOf(j, "generated_at").value_or(0);
  const Json impact = j.value("impact", Json::object());
  Impact& i = g.impact;
  i.affected_users = IntOf(impact, "affected_users");
  i.active_users = IntOf(impact, "active_users");
  i.detected_at = TimeOf(impact, "detected_at").value_or(0);
  i.resolved_at = TimeOf(impact, "resolved_at");
  i.duration_ms = IntOf(impact, "duration_ms");
  i.time_to_classify_ms = IntOf(impact, "time_to_classify_ms");
  i.time_to_contain_ms = IntOf(impact, "time_to_contain_ms");
  i.pages_sent = IntOf(impact, "pages_sent").value_or(0);
  i.first_signal = impact.value("first_signal", "");
  i.first_bad_trace_at = TimeOf(impact, "first_bad_trace_at");
  i.detection_delay_ms = IntOf(impact, "detection_delay_ms");
  for (const auto& l : j.value("timeline", Json::array())) {
    if (!l.is_object()) continue;
    g.timeline.push_back({TimeOf(l, "at").value_or(0), l.value("actor", ""), l.value("what", "")});
  }
  return g;
}

}  // namespace firebreak::postmortem
