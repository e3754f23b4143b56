// The post-mortem as Markdown: what GET .../postmortem.md exports and what `firebreak
// postmortem edit` opens in $EDITOR and reads back. Front matter holds the version and the
// short fields; one "##" section per field; actions as a table; the generated timeline as
// "- HH:MM **actor**: what" lines under a "### YYYY-MM-DD" heading per day, with people's notes
// as "- HH:MM note (author): text" lines. Pure: no store, no clock, no HTTP
// (docs/postmortem.md).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "postmortem/document.h"

namespace firebreak::postmortem {

// Returns the post-mortem as Markdown.
std::string RenderMarkdown(const Postmortem& pm);

// What a person may change in the Markdown.
struct Edited {
  int64_t version = 0;
  Document doc;                 // annotations without an author are new ones
  std::vector<Action> actions;  // id 0: a new row
  // The parts nobody edits (incident, state, dates, measured impact, generated timeline
  // lines), as text: the same before and after an edit that kept them.
  std::string fixed;
};

// Reads Markdown as RenderMarkdown writes it, after a person edited it. kInvalidArgument naming
// the line for what it cannot read (unknown header keys or sections, a bad table row, a date or
// time it cannot parse); kTooLarge past max_bytes.
StatusOr<Edited> ParseMarkdown(std::string_view markdown, size_t max_bytes = 1 << 20);

}  // namespace firebreak::postmortem
