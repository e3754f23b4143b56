// CLI verbs under `firebreak postmortem`: generate, show, edit ($EDITOR on the Markdown, or
// --set field=value), export, review, publish, overdue, and actions (with done and drop).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/clock.h"
#include "postmortem/document.h"
#include "postmortem/markdown.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string id, owner, incident, status, reason, output;
  std::vector<std::string> sets;
  bool overdue = false;
  int64_t action = 0;
  int limit = 100;
};

std::string PostmortemPath(const std::string& id) {
  return "/api/v1/incidents/" + Escape(id) + "/postmortem";
}

// Prints the lint's findings of a post-mortem answer.
void PrintFindings(const Json& pm) {
  const Json& findings = pm["findings"];
  if (findings.empty()) {
    std::cout << "lint: no findings\n";
    return;
  }
  std::cout << "lint:\n";
  Table t({"FIELD", "RULE", "LEVEL", "MESSAGE"});
  for (const auto& f : findings) {
    t.Add({Str(f, "field"), Str(f, "rule"), f.value("blocking", false) ? "blocking" : "warning",
           Str(f, "message")});
  }
  t.Print(std::cout);
}

void PrintActions(const Json& actions, bool with_incident) {
  std::vector<std::string> header = {"ID", "KIND", "PRIORITY", "OWNER", "DUE", "STATUS", "DESCRIPTION"};
  if (with_incident) header.insert(header.begin() + 1, "INCIDENT");
  Table t(header);
  for (const auto& a : actions) {
    std::vector<std::string> row = {Str(a, "id"), Str(a, "kind"), Str(a, "priority"),
                                    Str(a, "owner"), Str(a, "due"), Str(a, "status"),
                                    Str(a, "description")};
    if (with_incident) row.insert(row.begin() + 1, Str(a, "incident"));
    t.Add(row);
  }
  t.Print(std::cout);
}

int PrintPostmortem(Context& ctx, const Json& pm) {
  if (ctx.json) return ctx.PrintJson(pm);
  std::cout << Str(pm, "incident") << " post-mortem: " << Str(pm["document"], "title") << "\n"
            << "state " << Str(pm, "state") << ", version " << Str(pm, "version") << ", due "
            << (pm["due_at"].is_null() ? "48 h after the resolution" : Short(Str(pm, "due_at")))
            << (pm.value("overdue", false) ? " (OVERDUE)" : "") << "\n";
  const Json& impact = pm["generated"]["impact"];
  std::cout << "impact: " << Str(impact, "affected_users") << " affected users, pages sent "
            << Str(impact, "pages_sent") << "\n\n";
  if (!pm["actions"].empty()) {
    PrintActions(pm["actions"], false);
    std::cout << "\n";
  }
  PrintFindings(pm);
  return 0;
}

int GenerateCommand(Context& ctx, const Options& o) {
  auto res = ctx.Call("POST", PostmortemPath(o.id) + "/generate");
  if (!res) return 1;
  return PrintPostmortem(ctx, *res);
}

int ShowCommand(Context& ctx, const Options& o) {
  auto res = ctx.Call("GET", PostmortemPath(o.id));
  if (!res) return 1;
  return PrintPostmortem(ctx, *res);
}

int ExportCommand(Context& ctx, const Options& o) {
  auto md = ctx.CallText("GET", PostmortemPath(o.id) + ".md");
  if (!md) return 1;
  if (o.output.empty()) {
    std::cout << *md;
    return 0;
  }
  std::ofstream out(o.output, std::ios::trunc);
  out << *md;
  out.close();
  if (!out) {
    std::cerr << "error: cannot write " << o.output << "\n";
    return 1;
  }
  return 0;
}

int Saved(Context& ctx, const std::optional<Json>& res) {
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  std::cout << "saved version " << Str(*res, "version") << "\n";
  PrintFindings(*res);
  return 0;
}

// Applies one --set field=value to the document or actions of a post-mortem answer.
Status ApplySet(const std::string& set, Json& doc, Json& actions) {
  size_t eq = set.find('=');
  if (eq == std::string::npos) return InvalidArgument("--set takes field=value, not '" + set + "'");
  std::string field = set.substr(0, eq), value = set.substr(eq + 1);
  for (const char* text : {"title", "summary", "failure_mode", "root_cause", "trigger", "detection",
                           "resolution", "follow_up"}) {
    if (field == text) {
      doc[text] = value;
      return Status::Ok();
    }
  }
  for (const char* lesson : {"went_well", "went_wrong", "lucky"}) {
    if (field == lesson) {
      doc["lessons"][lesson] = value;
      return Status::Ok();
    }
  }
  if (field == "authors") {
    Json names = Json::array();
    std::istringstream list(value);
    std::string name;
    while (std::getline(list, name, ',')) {
      size_t b = name.find_first_not_of(' '), e = name.find_last_not_of(' ');
      if (b != std::string::npos) names.push_back(name.substr(b, e - b + 1));
    }
    doc["authors"] = names;
    return Status::Ok();
  }
  // actions[N].field: N counts from 1; one past the last adds an action.
  size_t close = field.find("].");
  if (field.rfind("actions[", 0) == 0 && close != std::string::npos) {
    size_t n = 0;
    try {
      n = std::stoul(field.substr(8, close - 8));
    } catch (const std::exception&) {
    }
    std::string key = field.substr(close + 2);
    bool known = key == "kind" || key == "description" || key == "owner" || key == "due" ||
                 key == "priority";
    if (n == 0 || n > actions.size() + 1 || !known) {
      return InvalidArgument("'" + field + "': use actions[N].kind|description|owner|due|priority "
                             "with N from 1 to " + std::to_string(actions.size() + 1));
    }
    if (n == actions.size() + 1) actions.push_back(Json::object());
    actions[n - 1][key] = value;
    return Status::Ok();
  }
  return InvalidArgument("unknown field '" + field + "' (title, authors, summary, failure_mode, "
                         "root_cause, trigger, detection, resolution, went_well, went_wrong, "
                         "lucky, follow_up, actions[N].field)");
}

int SetFields(Context& ctx, const Options& o) {
  auto pm = ctx.Call("GET", PostmortemPath(o.id));
  if (!pm) return 1;
  Json doc = (*pm)["document"];
  Json actions = (*pm)["actions"];
  for (const auto& set : o.sets) {
    if (Status applied = ApplySet(set, doc, actions); !applied.ok()) {
      std::cerr << "error: " << applied.message() << "\n";
      return 2;
    }
  }
  Json body = {{"version", (*pm)["version"]}, {"document", doc}, {"actions", actions}};
  return Saved(ctx, ctx.Call("PUT", PostmortemPath(o.id), body));
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs $EDITOR (or vi) on `path` through the shell, as git does.
Status RunEditor(const std::string& path) {
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  std::string command = std::string(editor && *editor ? editor : "vi") + " '" + path + "'";
  int rc = std::system(command.c_str());
  if (rc != 0) return Unavailable("the editor exited with status " + std::to_string(rc) + "; nothing saved");
  return Status::Ok();
}

int EditInEditor(Context& ctx, const Options& o) {
  auto original = ctx.CallText("GET", PostmortemPath(o.id) + ".md");
  if (!original) return 1;
  char path[] = "/tmp/firebreak-postmortem-XXXXXX.md";
  int fd = mkstemps(path, 3);
  if (fd < 0) {
    std::cerr << "error: cannot create a temporary file\n";
    return 1;
  }
  bool written = ::write(fd, original->data(), original->size()) == static_cast<ssize_t>(original->size());
  ::close(fd);
  Status ran = written ? RunEditor(path) : Unavailable("cannot write " + std::string(path));
  StatusOr<std::string> edited = ran.ok() ? ReadFile(path) : StatusOr<std::string>(ran);
  std::remove(path);
  if (!edited.ok()) {
    std::cerr << "error: " << edited.status().message() << "\n";
    return 1;
  }
  if (*edited == *original) {
    std::cout << "no changes\n";
    return 0;
  }
  auto before = postmortem::ParseMarkdown(*original);
  auto after = postmortem::ParseMarkdown(*edited);
  if (!before.ok() || !after.ok()) {
    std::cerr << "error: " << (before.ok() ? after.status() : before.status()).message() << "\n";
    return 2;
  }
  if (before->fixed != after->fixed) {
    std::cerr << "error: the header's incident, state and dates, the measured impact and the "
                 "generated timeline lines cannot be edited (add a note as '- HH:MM note: text')\n";
    return 2;
  }
  Json actions = Json::array();
  for (const auto& a : after->actions) actions.push_back(postmortem::ActionJson(a));
  Json body = {{"version", after->version},
               {"document", postmortem::DocumentJson(after->doc)},
               {"actions", actions}};
  return Saved(ctx, ctx.Call("PUT", PostmortemPath(o.id), body));
}

int MoveCommand(Context& ctx, const Options& o, const char* state) {
  auto res = ctx.Call("POST", PostmortemPath(o.id) + "/state", Json{{"state", state}});
  if (!res) {
    // The refusal names the blocking findings; show them all, warnings too.
    if (auto pm = ctx.Call("GET", PostmortemPath(o.id)); pm && !ctx.json) PrintFindings(*pm);
    return 1;
  }
  if (ctx.json) return ctx.PrintJson(*res);
  std::cout << Str(*res, "incident") << " post-mortem is " << Str(*res, "state") << " (version "
            << Str(*res, "version") << ")\n";
  return 0;
}

int OverdueCommand(Context& ctx, const Options& o) {
  auto res = ctx.Call("GET", "/api/v1/postmortems/overdue?limit=" + std::to_string(o.limit));
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  Table t({"INCIDENT", "TITLE", "RESOLVED", "DUE", "POST-MORTEM"});
  for (const auto& p : (*res)["postmortems"]) {
    t.Add({Str(p, "incident"), Str(p, "title"), Short(Str(p, "resolved_at")), Short(Str(p, "due_at")),
           p["state"].is_null() ? "none" : Str(p, "state")});
  }
  t.Print(std::cout);
  return 0;
}

int ActionsCommand(Context& ctx, const Options& o) {
  std::string path = "/api/v1/postmortems/actions?limit=" + std::to_string(o.limit);
  if (o.overdue) path += "&overdue=true";
  if (!o.owner.empty()) path += "&owner=" + Escape(o.owner);
  if (!o.incident.empty()) path += "&incident=" + Escape(o.incident);
  if (!o.status.empty()) path += "&status=" + Escape(o.status);
  auto res = ctx.Call("GET", path);
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  PrintActions((*res)["actions"], true);
  return 0;
}

int FinishCommand(Context& ctx, const Options& o, bool done) {
  Json body = Json::object();
  if (!o.reason.empty()) body["reason"] = o.reason;
  auto res = ctx.Call("POST", "/api/v1/postmortems/actions/" + std::to_string(o.action) +
                                  (done ? "/done" : "/drop"),
                      body);
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  std::cout << "action " << Str(*res, "id") << " (" << Str(*res, "incident") << ") is "
            << Str(*res, "status") << "\n";
  return 0;
}

}  // namespace

void AddPostmortemCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();
  auto* pm = app.add_subcommand("postmortem", "post-mortems: generate, edit, publish, follow-ups");
  pm->require_subcommand(1);
  auto with_id = [&](const char* name, const char* help) {
    auto* sub = pm->add_subcommand(name, help);
    sub->add_option("id", o->id, "the incident (INC-42)")->required();
    return sub;
  };

  with_id("generate", "make the draft, or measure and generate its timeline again")
      ->callback([&ctx, &action, o] { action = [&ctx, o] { return GenerateCommand(ctx, *o); }; });
  with_id("show", "the post-mortem, its actions and what the lint finds")
      ->callback([&ctx, &action, o] { action = [&ctx, o] { return ShowCommand(ctx, *o); }; });
  auto* exp = with_id("export", "the post-mortem as Markdown");
  exp->add_option("-o,--output", o->output, "write to this file instead of stdout");
  exp->callback([&ctx, &action, o] { action = [&ctx, o] { return ExportCommand(ctx, *o); }; });
  auto* edit = with_id("edit", "edit the Markdown in $EDITOR, or set fields with --set");
  edit->add_option("--set", o->sets,
                   "field=value (title, authors, summary, failure_mode, root_cause, trigger, "
                   "detection, resolution, went_well, went_wrong, lucky, follow_up, "
                   "actions[N].kind|description|owner|due|priority); repeatable");
  edit->callback([&ctx, &action, o] {
    action = [&ctx, o] { return o->sets.empty() ? EditInEditor(ctx, *o) : SetFields(ctx, *o); };
  });
  with_id("review", "send the draft to review")
      ->callback([&ctx, &action, o] { action = [&ctx, o] { return MoveCommand(ctx, *o, "in_review"); }; });
  with_id("publish", "publish the reviewed post-mortem (refused while the lint blocks)")
      ->callback([&ctx, &action, o] { action = [&ctx, o] { return MoveCommand(ctx, *o, "published"); }; });

  auto* overdue = pm->add_subcommand("overdue", "post-mortems past their 48 hours");
  overdue->add_option("--limit", o->limit, "at most this many")->check(CLI::Range(1, 1000));
  overdue->callback([&ctx, &action, o] { action = [&ctx, o] { return OverdueCommand(ctx, *o); }; });

  auto* actions = pm->add_subcommand("actions", "corrective and preventive actions, tracked to done");
  actions->require_subcommand(0, 1);
  actions->add_flag("--overdue", o->overdue, "only open actions past their due date");
  actions->add_option("--owner", o->owner, "only this owner's");
  actions->add_option("--incident", o->incident, "only this incident's (INC-42)");
  actions->add_option("--status", o->status, "open, done or dropped")
      ->check(CLI::IsMember({"open", "done", "dropped"}));
  actions->add_option("--limit", o->limit, "at most this many")->check(CLI::Range(1, 1000));
  auto* done = actions->add_subcommand("done", "mark an action done");
  done->add_option("action", o->action, "the action's id")->required()->check(CLI::PositiveNumber);
  done->callback([&ctx, &action, o] { action = [&ctx, o] { return FinishCommand(ctx, *o, true); }; });
  auto* drop = actions->add_subcommand("drop", "drop an action, with the reason");
  drop->add_option("action", o->action, "the action's id")->required()->check(CLI::PositiveNumber);
  drop->add_option("--reason", o->reason, "why it will not be done")->required();
  drop->callback([&ctx, &action, o] { action = [&ctx, o] { return FinishCommand(ctx, *o, false); }; });
  actions->callback([&ctx, &action, o, actions] {
    if (actions->get_subcommands().empty()) {
      action = [&ctx, o] { return ActionsCommand(ctx, *o); };
    }
  });
}

}  // namespace firebreak::cli
