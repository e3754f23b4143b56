// CLI verbs under `firebreak comms`: lint (local: runs the message lint, no server), affected
// (the users an incident reached) and notify (one notice per affected user).
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/clock.h"
#include "comms/lint.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string id, message, from, to, cursor, incident, override_reason;
  int64_t update = 0;
  int limit = 100;
  std::string text, audience = "internal", next_update, eta;
  bool root_cause_confirmed = false, evidence = false;
  std::optional<int64_t> affected, active;
};

// Prints findings as FindingsJson gives them; returns 1 when one blocks, else 0.
int PrintFindings(Context& ctx, const Json& answer) {
  bool blocking = answer.value("blocking", false);
  const Json& findings = answer["findings"];
  if (ctx.json) {
    ctx.PrintJson(answer);
  } else if (findings.empty()) {
    std::cout << "no findings\n";
  } else {
    Table t({"RULE", "LEVEL", "AT", "MESSAGE"});
    for (const auto& f : findings) {
      t.Add({Str(f, "rule"), f.value("blocking", false) ? "blocking" : "warning",
             f.value("phrase", "").empty() ? "-" : Str(f, "offset"), Str(f, "message")});
    }
    t.Print(std::cout);
  }
  return blocking ? 1 : 0;
}

// `comms lint --incident`: the server lints against what it knows of the incident (confirmed
// root cause, evidence, measured affected users).
int LintOnServer(Context& ctx, const Options& o) {
  Json body = {{"text", o.text}, {"audience", o.audience}};
  if (!o.next_update.empty()) body["next_update_at"] = o.next_update;
  if (!o.eta.empty()) body["eta"] = o.eta;
  auto res = ctx.Call("POST", "/api/v1/incidents/" + Escape(o.incident) + "/lint", body);
  if (!res) return 2;
  return PrintFindings(ctx, *res);
}

// Exit codes of `comms lint`: 0 nothing blocks, 1 a finding blocks, 2 bad input.
int LintCommand(Context& ctx, const Options& o) {
  if (!o.incident.empty()) return LintOnServer(ctx, o);
  auto audience = comms::ParseAudience(o.audience);
  if (!audience.ok()) {
    std::cerr << "error: " << audience.status().message() << "\n";
    return 2;
  }
  comms::LintFacts facts;
  facts.audience = *audience;
  facts.root_cause_confirmed = o.root_cause_confirmed;
  facts.evidence_attached = o.evidence;
  facts.affected_users = o.affected;
  facts.active_users = o.active;
  for (const auto& [name, value] : {std::pair{"--next-update", &o.next_update}, {"--eta", &o.eta}}) {
    if (value->empty()) continue;
    if (!ParseTime(*value)) {
      std::cerr << "error: " << name << " must be an RFC 3339 time (2026-11-29T15:04:05Z)\n";
      return 2;
    }
    facts.next_update_given = true;
  }
  auto report = comms::Lint(o.text, facts);
  if (!report.ok()) {
    std::cerr << "error: " << report.status().message() << "\n";
    return 2;
  }
  return PrintFindings(ctx, {{"blocking", report->blocking},
                             {"threshold", comms::MinimisingThreshold(facts)},
                             {"findings", comms::FindingsJson(report->findings)}});
}

int AffectedCommand(Context& ctx, const Options& o) {
  std::string path = "/api/v1/incidents/" + Escape(o.id) +
                     "/affected-users?limit=" + std::to_string(o.limit);
  if (!o.from.empty()) path += "&from=" + Escape(o.from);
  if (!o.to.empty()) path += "&to=" + Escape(o.to);
  if (!o.cursor.empty()) path += "&cursor=" + Escape(o.cursor);
  auto res = ctx.Call("GET", path);
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  const Json& w = (*res)["window"];
  std::cout << Str(*res, "incident") << ": " << Str(*res, "total_users") << " affected users ("
            << Str(*res, "traces") << " traces, " << Str(*res, "evidence_traces")
            << " with evidence; " << Str(*res, "unknown_user_traces")
            << " traces without a user id)\n"
            << "window: agent " << Str(w, "agent") << ", " << Short(Str(w, "from")) << " .. "
            << Short(Str(w, "to")) << "\n\n";
  Table t({"USER", "TRACES", "EVIDENCE", "FIRST", "LAST"});
  for (const auto& u : (*res)["users"]) {
    t.Add({Str(u, "user_id"), Str(u, "traces"), Str(u, "evidence_traces"),
           Short(Str(u, "first_at")), Short(Str(u, "last_at"))});
  }
  t.Print(std::cout);
  if (res->contains("next_cursor")) {
    std::cout << "\nmore: --cursor " << Str(*res, "next_cursor") << "\n";
  }
  return 0;
}

int NotifyCommand(Context& ctx, const Options& o) {
  Json body = {{"update", o.update}, {"message", o.message}};
  if (!o.override_reason.empty()) body["override_reason"] = o.override_reason;
  auto res = ctx.Call("POST", "/api/v1/incidents/" + Escape(o.id) + "/notify", body);
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  std::cout << "queued " << Str(*res, "queued") << " notice(s); " << Str(*res, "already_queued")
            << " user(s) already had update " << Str(*res, "update") << "\n";
  return 0;
}

}  // namespace

void AddCommsCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();
  auto* comms = app.add_subcommand(
      "comms", "incident communication: message lint, affected users, notices");
  comms->require_subcommand(1);

  auto* lint = comms->add_subcommand(
      "lint", "check a message before it goes out (local; exit 1 when a finding blocks)");
  lint->add_option("text", o->text, "the message")->required();
  lint->add_option("--audience", o->audience, "internal, affected or public")
      ->check(CLI::IsMember({"internal", "affected", "public"}));
  lint->add_flag("--root-cause-confirmed", o->root_cause_confirmed,
                 "the root cause is confirmed (a stated cause is allowed)");
  lint->add_flag("--evidence", o->evidence,
                 "the incident has evidence attached (naming the model provider is allowed)");
  lint->add_option("--affected", o->affected, "measured affected users")
      ->check(CLI::NonNegativeNumber);
  lint->add_option("--active", o->active, "active users in the incident window")
      ->check(CLI::NonNegativeNumber);
  lint->add_option("--next-update", o->next_update, "when the next update is due (RFC 3339)");
  lint->add_option("--eta", o->eta, "when a fix is expected (RFC 3339)");
  lint->add_option("--incident", o->incident,
                   "lint on the server against this incident's facts (INC-42) instead of the flags");
  lint->callback([&ctx, &action, o] { action = [&ctx, o] { return LintCommand(ctx, *o); }; });

  auto* affected = comms->add_subcommand("affected", "the users an incident's traces reached");
  affected->add_option("id", o->id, "the incident (INC-42)")->required();
  affected->add_option("--from", o->from, "window start (RFC 3339; default detection - 24 h)");
  affected->add_option("--to", o->to, "window end (RFC 3339; default resolution or now)");
  affected->add_option("--cursor", o->cursor, "next_cursor of the previous page");
  affected->add_option("--limit", o->limit, "at most this many users")->check(CLI::Range(1, 1000));
  affected->callback(
      [&ctx, &action, o] { action = [&ctx, o] { return AffectedCommand(ctx, *o); }; });

  auto* notify = comms->add_subcommand("notify", "send each affected user a notice, once per update");
  notify->add_option("id", o->id, "the incident (INC-42)")->required();
  notify->add_option("--update", o->update, "the id of the update the notice belongs to")
      ->required()
      ->check(CLI::PositiveNumber);
  notify->add_option("--message", o->message, "what each user reads")->required();
  notify->add_option("--override-reason", o->override_reason,
                     "send despite blocking lint findings, for this reason (audited)");
  notify->callback([&ctx, &action, o] { action = [&ctx, o] { return NotifyCommand(ctx, *o); }; });
}

}  // namespace firebreak::cli
