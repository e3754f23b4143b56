#include "postmortem/markdown.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "common/text.h"

namespace firebreak::postmortem {
namespace {

constexpr TimeMs kMinuteMs = 60'000;
constexpr TimeMs kDayMs = 24 * 60 * kMinuteMs;

// Header keys people edit, and the ones shown for reading only.
constexpr const char* kFixedKeys[] = {"incident", "state", "severity", "detected", "resolved", "due"};

// Section headings and the text field each holds.
const std::vector<std::pair<std::string, std::string Document::*>>& TextSections() {
  static const auto* sections = new std::vector<std::pair<std::string, std::string Document::*>>{
      {"Summary", &Document::summary},       {"Failure mode", &Document::failure_mode},
      {"Root cause", &Document::root_cause}, {"Trigger", &Document::trigger},
      {"Detection", &Document::detection},   {"Resolution", &Document::resolution}};
  return *sections;
}

const std::vector<std::pair<std::string, std::string Document::*>>& LessonSections() {
  static const auto* sections = new std::vector<std::pair<std::string, std::string Document::*>>{
      {"What went well", &Document::went_well},
      {"What went wrong", &Document::went_wrong},
      {"Where we got lucky", &Document::lucky}};
  return *sections;
}

constexpr char kImpactHeading[] = "Impact (measured)";
constexpr char kLessonsHeading[] = "Lessons";
constexpr char kActionsHeading[] = "Actions";
constexpr char kTimelineHeading[] = "Timeline (UTC)";

// A line of a person's text that would read as a heading (or starts with the escape itself)
// gets a backslash in front; ParseMarkdown takes it off.
std::string EscapeText(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!first) out += "\n";
    first = false;
    if (!line.empty() && (line[0] == '#' || line[0] == '\\')) out += "\\";
    out += line;
  }
  return out;
}

std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Duration(const std::optional<int64_t>& ms, const char* none) {
  return ms ? FormatDuration(*ms) : none;
}

std::string Minute(TimeMs t) { return FormatTime(t).substr(11, 5); }
std::string Day(TimeMs t) { return FormatTime(t).substr(0, 10); }

void RenderImpact(const Impact& i, std::ostream& out) {
  out << "- Affected users: "
      << (i.affected_users ? std::to_string(*i.affected_users) + " (measured from traces)"
                           : std::string("not measured"))
      << "\n";
  if (i.active_users) out << "- Active users in the window: " << *i.active_users << "\n";
  out << "- Duration: "
      << (i.duration_ms ? FormatDuration(*i.duration_ms) + " (detected " + FormatTime(i.detected_at) +
                              ", resolved " + FormatTime(*i.resolved_at) + ")"
                        : "ongoing (detected " + FormatTime(i.detected_at) + ")")
      << "\n";
  out << "- Time to classify: " << Duration(i.time_to_classify_ms, "not classified") << "\n";
  out << "- Time to contain: " << Duration(i.time_to_contain_ms, "not contained") << "\n";
  out << "- Pages sent: " << i.pages_sent << "\n";
  out << "- Detected by: " << (i.first_signal.empty() ? "a person (no signal)" : i.first_signal);
  if (i.first_bad_trace_at && i.detection_delay_ms) {
    out << ", " << FormatDuration(*i.detection_delay_ms) << " after the first bad trace ("
        << FormatTime(*i.first_bad_trace_at) << ")";
  }
  out << "\n";
}

void RenderActions(const std::vector<Action>& actions, std::ostream& out) {
  out << "| id | kind | priority | owner | due | status | description | drop reason |\n"
      << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& a : actions) {
    out << "| " << a.id << " | " << a.kind << " | " << a.priority << " | " << Cell(a.owner) << " | "
        << (a.due_at ? FormatDate(*a.due_at) : "") << " | " << a.status << " | "
        << Cell(a.description) << " | " << Cell(a.drop_reason) << " |\n";
  }
}

// Generated lines and notes, by minute, with a heading per day.
void RenderTimeline(const std::vector<TimelineLine>& lines, const std::vector<Annotation>& notes,
                    std::ostream& out) {
  struct Entry {
    TimeMs minute;
    bool note;
    std::string text;
  };
  std::vector<Entry> entries;
  for (const auto& l : lines) {
    entries.push_back({l.at - ((l.at % kMinuteMs) + kMinuteMs) % kMinuteMs, false,
                       Minute(l.at) + " **" + l.actor + "**: " + l.what});
  }
  for (const auto& n : notes) {
    entries.push_back({n.at - ((n.at % kMinuteMs) + kMinuteMs) % kMinuteMs, true,
                       Minute(n.at) + " note" + (n.author.empty() ? "" : " (" + n.author + ")") +
                           ": " + n.text});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.minute != b.minute ? a.minute < b.minute : (!a.note && b.note);
  });
  std::string day;
  for (const auto& e : entries) {
    if (Day(e.minute) != day) {
      day = Day(e.minute);
      out << "\n### " << day << "\n\n";
    }
    out << "- " << e.text << "\n";
  }
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

Status LineError(size_t line, const std::string& why) {
  return InvalidArgument("line " + std::to_string(line) + ": " + why);
}

// Splits a table row into its cells ("\|" is a '|' inside a cell).
std::vector<std::string> SplitRow(const std::string& row) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && (row[i + 1] == '|' || row[i + 1] == '\\')) {
      cell += row[++i];
    } else if (row[i] == '|') {
      cells.push_back(Trim(cell));
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  cells.push_back(Trim(cell));
  // "| a | b |": the text before the first and after the last bar is not a cell.
  if (!cells.empty() && cells.front().empty()) cells.erase(cells.begin());
  if (!cells.empty() && cells.back().empty()) cells.pop_back();
  return cells;
}

StatusOr<Action> ParseActionRow(const std::string& row, size_t line) {
  std::vector<std::string> cells = SplitRow(row);
  // An empty drop reason is the last cell, dropped by SplitRow with the closing bar.
  if (cells.size() == 7) cells.emplace_back();
  if (cells.size() != 8) {
    return LineError(line, "an action row has 8 cells: id | kind | priority | owner | due | "
                           "status | description | drop reason");
  }
  Action a;
  if (!cells[0].empty() && cells[0] != "new" && cells[0] != "0") {
    try {
      size_t used = 0;
      a.id = std::stoll(cells[0], &used);
      if (used != cells[0].size() || a.id <= 0) throw std::invalid_argument("id");
    } catch (const std::exception&) {
      return LineError(line, "an action's id is a number from the table, or empty for a new one");
    }
  }
  a.kind = cells[1];
  a.priority = cells[2];
  a.owner = cells[3];
  if (!cells[4].empty()) {
    a.due_at = ParseDate(cells[4]);
    if (!a.due_at) return LineError(line, "the due date must look like 2026-12-01");
  }
  a.status = cells[5].empty() ? "open" : cells[5];
  a.description = cells[6];
  a.drop_reason = cells[7];
  return a;
}

// "HH:MM" at the start of `text` as minutes into the day; nullopt otherwise.
std::optional<TimeMs> ParseMinute(std::string_view text) {
  if (text.size() < 5 || text[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return (h * 60 + m) * kMinuteMs;
}

// Reads "- HH:MM note (author): text" or "- HH:MM note: text"; nullopt when the line is no note.
StatusOr<std::optional<Annotation>> ParseNote(const std::string& line, std::optional<TimeMs> day,
                                              size_t number) {
  if (line.size() < 13 || line.compare(0, 2, "- ") != 0) return std::optional<Annotation>();
  auto minute = ParseMinute(std::string_view(line).substr(2));
  bool plain = line.compare(7, 6, " note:") == 0;
  bool with_author = line.compare(7, 7, " note (") == 0;
  if (!minute || (!plain && !with_author)) return std::optional<Annotation>();
  if (!day) return LineError(number, "a note needs the day above it (### 2026-11-29)");
  Annotation n;
  n.at = *day + *minute;
  size_t colon = 12;  // "- HH:MM note:"
  if (with_author) {
    size_t close = line.find("):", 14);
    if (close == std::string::npos) return LineError(number, "a note reads '- HH:MM note: text'");
    n.author = line.substr(14, close - 14);
    colon = close + 1;
  }
  n.text = Trim(std::string_view(line).substr(colon + 1));
  if (n.text.empty()) return LineError(number, "the note is empty");
  return std::optional<Annotation>(std::move(n));
}

// Joins the lines of a section: blank lines at either end dropped, escapes taken off.
std::string JoinText(const std::vector<std::string>& lines) {
  size_t b = 0, e = lines.size();
  while (b < e && Trim(lines[b]).empty()) ++b;
  while (e > b && Trim(lines[e - 1]).empty()) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) {
    if (i > b) out += "\n";
    std::string_view l = lines[i];
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (!l.empty() && l[0] == '\\') l.remove_prefix(1);
    out += l;
  }
  return out;
}

struct Parser {
  Edited out;
  std::map<std::string, std::vector<std::string>> texts;  // heading -> lines
  std::string section, subsection;
  std::optional<TimeMs> day;
  bool table_header = false;

  Status FrontMatter(const std::string& key, const std::string& value, size_t number) {
    if (key == "version") {
      try {
        size_t used = 0;
        out.version = std::stoll(value, &used);
        if (used != value.size() || out.version <= 0) throw std::invalid_argument("version");
      } catch (const std::exception&) {
        return LineError(number, "'version' must be the version number the file was made from");
      }
    } else if (key == "title") {
      out.doc.title = value;
    } else if (key == "authors") {
      std::istringstream list(value);
      std::string name;
      while (std::getline(list, name, ',')) {
        if (!Trim(name).empty()) out.doc.authors.push_back(Trim(name));
      }
    } else if (key == "follow_up") {
      if (!value.empty()) {
        out.doc.follow_up_at = ParseDate(value);
        if (!out.doc.follow_up_at) return LineError(number, "'follow_up' must look like 2026-12-01");
      }
    } else if (std::find(std::begin(kFixedKeys), std::end(kFixedKeys), key) != std::end(kFixedKeys)) {
      out.fixed += key + ": " + value + "\n";
    } else {
      return LineError(number, "unknown header field '" + key + "'");
    }
    return Status::Ok();
  }

  Status Heading(const std::string& title, size_t number) {
    bool known = title == kImpactHeading || title == kLessonsHeading || title == kActionsHeading ||
                 title == kTimelineHeading;
    for (const auto& [name, field] : TextSections()) known = known || title == name;
    if (!known) return LineError(number, "unknown section '## " + title + "'");
    section = title;
    subsection.clear();
    return Status::Ok();
  }

  Status Subheading(const std::string& title, size_t number) {
    if (section == kLessonsHeading) {
      for (const auto& [name, field] : LessonSections()) {
        if (title == name) {
          subsection = title;
          return Status::Ok();
        }
      }
      return LineError(number, "unknown lessons section '### " + title + "'");
    }
    if (section == kTimelineHeading) {
      auto t = title.size() == 10 ? ParseTime(title + "T00:00:00Z") : std::nullopt;
      if (!t) return LineError(number, "a timeline day reads '### 2026-11-29'");
      day = *t;
      out.fixed += "### " + title + "\n";
      return Status::Ok();
    }
    return LineError(number, "'### " + title + "' belongs under ## Lessons or ## Timeline (UTC)");
  }

  Status Body(const std::string& line, size_t number) {
    std::string trimmed = Trim(line);
    if (section.empty()) {
      if (trimmed.empty() || trimmed.rfind("# ", 0) == 0) return Status::Ok();
      return LineError(number, "text before the first section");
    }
    if (section == kImpactHeading) {
      if (!trimmed.empty()) out.fixed += trimmed + "\n";
      return Status::Ok();
    }
    if (section == kActionsHeading) return ActionLine(trimmed, number);
    if (section == kTimelineHeading) return TimelineLine(trimmed, number);
    if (section == kLessonsHeading && subsection.empty()) {
      if (trimmed.empty()) return Status::Ok();
      return LineError(number, "lessons go under ### What went well, ### What went wrong or "
                               "### Where we got lucky");
    }
    texts[section == kLessonsHeading ? subsection : section].push_back(line);
    return Status::Ok();
  }

  Status ActionLine(const std::string& trimmed, size_t number) {
    if (trimmed.empty()) return Status::Ok();
    if (trimmed[0] != '|') return LineError(number, "actions are rows of the table");
    if (!table_header) {
      table_header = true;  // the column names
      return Status::Ok();
    }
    if (trimmed.find_first_not_of("|-: ") == std::string::npos) return Status::Ok();
    FB_ASSIGN_OR_RETURN(Action a, ParseActionRow(trimmed, number));
    out.actions.push_back(std::move(a));
    return Status::Ok();
  }

  Status TimelineLine(const std::string& trimmed, size_t number) {
    if (trimmed.empty()) return Status::Ok();
    FB_ASSIGN_OR_RETURN(std::optional<Annotation> note, ParseNote(trimmed, day, number));
    if (note) {
      out.doc.annotations.push_back(std::move(*note));
      return Status::Ok();
    }
    if (trimmed.size() > 10 && trimmed.compare(0, 2, "- ") == 0 &&
        ParseMinute(std::string_view(trimmed).substr(2)) && trimmed.compare(7, 3, " **") == 0) {
      out.fixed += trimmed + "\n";
      return Status::Ok();
    }
    return LineError(number, "the timeline holds generated lines and notes; add a note as "
                             "'- HH:MM note: what happened'");
  }

  void Finish() {
    for (const auto& [name, field] : TextSections()) out.doc.*field = JoinText(texts[name]);
    for (const auto& [name, field] : LessonSections()) out.doc.*field = JoinText(texts[name]);
  }
};

}  // namespace

std::string RenderMarkdown(const Postmortem& pm) {
  const Document& d = pm.doc;
  std::ostringstream out;
  std::string authors;
  for (const auto& a : d.authors) authors += (authors.empty() ? "" : ", ") + a;
  out << "---\n"
      << "incident: INC-" << pm.incident_id << "\n"
      << "version: " << pm.version << "\n"
      << "state: " << StateName(pm.state) << "\n"
      << "severity: " << (pm.severity > 0 ? "SEV-" + std::to_string(pm.severity) : "unclassified")
      << "\n"
      << "detected: " << FormatTime(pm.generated.impact.detected_at) << "\n"
      << "resolved: "
      << (pm.generated.impact.resolved_at ? FormatTime(*pm.generated.impact.resolved_at) : "-")
      << "\n"
      << "due: " << (pm.due_at ? FormatTime(*pm.due_at) : "-") << "\n"
      << "title: " << d.title << "\n"
      << "authors: " << authors << "\n"
      << "follow_up: " << (d.follow_up_at ? FormatDate(*d.follow_up_at) : "") << "\n"
      << "---\n\n"
      << "# INC-" << pm.incident_id << " post-mortem: " << d.title << "\n";
  auto section = [&out](const std::string& heading, const std::string& text) {
    out << "\n## " << heading << "\n\n";
    if (!text.empty()) out << EscapeText(text) << "\n";
  };
  section("Summary", d.summary);
  out << "\n## " << kImpactHeading << "\n\n";
  RenderImpact(pm.generated.impact, out);
  section("Failure mode", d.failure_mode);
  section("Root cause", d.root_cause);
  section("Trigger", d.trigger);
  section("Detection", d.detection);
  section("Resolution", d.resolution);
  out << "\n## " << kLessonsHeading << "\n";
  for (const auto& [name, field] : LessonSections()) {
    out << "\n### " << name << "\n\n";
    if (!(d.*field).empty()) out << EscapeText(d.*field) << "\n";
  }
  out << "\n## " << kActionsHeading << "\n\n";
  RenderActions(pm.actions, out);
  out << "\n## " << kTimelineHeading << "\n";
  RenderTimeline(pm.generated.timeline, d.annotations, out);
  return out.str();
}

StatusOr<Edited> ParseMarkdown(std::string_view markdown, size_t max_bytes) {
  if (markdown.size() > max_bytes) {
    return TooLarge("the Markdown is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!IsValidUtf8(markdown)) return InvalidArgument("the Markdown is not valid UTF-8");
  Parser p;
  std::istringstream in{std::string(markdown)};
  std::string line;
  size_t number = 0;
  if (!std::getline(in, line) || Trim(line) != "---") {
    return LineError(1, "the file starts with its header between '---' lines");
  }
  ++number;
  bool closed = false;
  while (std::getline(in, line)) {
    ++number;
    if (Trim(line) == "---") {
      closed = true;
      break;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) return LineError(number, "a header line reads 'key: value'");
    FB_RETURN_IF_ERROR(p.FrontMatter(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)), number));
  }
  if (!closed) return LineError(number, "the header has no closing '---'");
  if (p.out.version == 0) return InvalidArgument("the header has no 'version'");
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("## ", 0) == 0) {
      FB_RETURN_IF_ERROR(p.Heading(Trim(line.substr(3)), number));
    } else if (line.rfind("### ", 0) == 0) {
      FB_RETURN_IF_ERROR(p.Subheading(Trim(line.substr(4)), number));
    } else {
      FB_RETURN_IF_ERROR(p.Body(line, number));
    }
  }
  p.Finish();
  return std::move(p.out);
}

}  // namespace firebreak::postmortem
