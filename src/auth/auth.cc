#include "auth/auth.h"

#include <algorithm>
#include <cctype>

#include "common/crypto.h"

namespace firebreak {
namespace {

constexpr std::string_view kSecretPrefix = "fbk_";
constexpr size_t kSecretBytes = 32;
constexpr size_t kShownPrefix = 12;  // "fbk_" + 8 hex

int Rank(Role r) {
  switch (r) {
    case Role::kAgent: return 0;
    case Role::kViewer: return 1;
    case Role::kResponder: return 2;
    case Role::kAdmin: return 3;
  }
  return 0;
}

Status CheckTokenName(const std::string& name) {
  if (name.empty() || name.size() > 64) return InvalidArgument("'name' must be 1..64 characters");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@') {
      return InvalidArgument("'name' may hold only letters, digits, '-', '_', '.' and '@'");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kAgent: return "agent";
    case Role::kViewer: return "viewer";
    case Role::kResponder: return "responder";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view text) {
  for (Role r : {Role::kAgent, Role::kViewer, Role::kResponder, Role::kAdmin}) {
    if (RoleName(r) == text) return r;
  }
  return std::nullopt;
}

Status Authorize(const Principal& p, Role needed) {
  bool allowed = needed == Role::kAgent ? true
                 : p.role == Role::kAgent ? false
                                          : Rank(p.role) >= Rank(needed);
  if (allowed) return Status::Ok();
  return PermissionDenied("token '" + p.name + "' has role " + std::string(RoleName(p.role)) +
                          "; this needs " + std::string(RoleName(needed)));
}

Status AuthorizeForAgent(const Principal& p, std::string_view agent) {
  if (p.role == Role::kAgent) {
    if (p.agent == agent) return Status::Ok();
    return PermissionDenied("token '" + p.name + "' belongs to agent '" + p.agent +
                            "', not '" + std::string(agent) + "'");
  }
  return Authorize(p, Role::kResponder);
}

StatusOr<CreatedToken> TokenService::Create(const std::string& actor, const std::string& name,
                                            Role role, const std::string& agent) {
  FB_RETURN_IF_ERROR(CheckTokenName(name));
  if (role == Role::kAgent && agent.empty()) {
    return InvalidArgument("an agent token needs 'agent': the agent it belongs to");
  }
  if (role != Role::kAgent && !agent.empty()) {
    return InvalidArgument("'agent' is only for tokens with role agent");
  }
  CreatedToken out;
  out.secret = std::string(kSecretPrefix) + RandomHex(kSecretBytes);
  TokenRecord& t = out.record;
  t.name = name;
  t.role = std::string(RoleName(role));
  t.agent = agent;
  t.secret_hash = Sha256Hex(out.secret);
  t.prefix = out.secret.substr(0, kShownPrefix);
  t.created_by = actor;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    t.created_at = clock_.NowMs();
    FB_ASSIGN_OR_RETURN(t.id, txn.tokens().Insert(t));
    nlohmann::json details = {{"token_id", t.id}, {"name", t.name}, {"role", t.role}};
    if (!agent.empty()) details["agent"] = agent;
    return log_.Append(txn, {std::nullopt, actor, "token.created", details}).status();
  }));
  return out;
}

StatusOr<Principal> TokenService::Authenticate(std::string_view header) {
  if (header.empty()) return Unauthenticated("missing token: send 'Authorization: Bearer <token>'");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return Unauthenticated("malformed Authorization header: expected 'Bearer <token>'");
  }
  std::string_view secret = header.substr(kBearer.size());
  while (!secret.empty() && secret.back() == ' ') secret.remove_suffix(1);
  // The lookup is by hash, so no secret is ever compared byte by byte.
  std::string hash = Sha256Hex(secret);
  TokenRecord t;
  Status s = store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(t, txn.tokens().GetBySecretHash(hash));
    return Status::Ok();
  });
  if (s.code() == StatusCode::kNotFound) return Unauthenticated("unknown token");
  FB_RETURN_IF_ERROR(s);
  if (t.revoked_at) return Unauthenticated("token '" + t.name + "' was revoked");
  Principal p;
  p.token_id = t.id;
  p.name = t.name;
  p.role = ParseRole(t.role).value_or(Role::kViewer);
  p.agent = t.agent;
  return p;
}

StatusOr<std::vector<TokenRecord>> TokenService::List() {
  std::vector<TokenRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.tokens().List());
    return Status::Ok();
  }));
  return out;
}

Status TokenService::Revoke(const std::string& actor, const std::string& name_or_id) {
  return store_.Write([&](Txn& txn) -> Status {
    TokenRecord t;
    auto by_name = txn.tokens().GetByName(name_or_id);
    if (by_name.ok()) {
      t = *by_name;
    } else {
      bool numeric = !name_or_id.empty() && name_or_id.size() < 19 &&
                     std::all_of(name_or_id.begin(), name_or_id.end(), ::isdigit);
      if (!numeric) return by_name.status();
      FB_ASSIGN_OR_RETURN(auto all, txn.tokens().List());
      int64_t id = std::stoll(name_or_id);
      auto it = std::find_if(all.begin(), all.end(), [&](const TokenRecord& r) {
        return r.id == id && !r.revoked_at;
      });
      if (it == all.end()) return NotFound("no active token with id " + name_or_id);
      t = *it;
    }
    FB_RETURN_IF_ERROR(txn.tokens().Revoke(t.id, clock_.NowMs()));
    return log_.Append(txn, {std::nullopt, actor, "token.revoked",
                             {{"token_id", t.id}, {"name", t.name}, {"role", t.role}}})
        .status();
  });
}

StatusOr<std::optional<CreatedToken>> TokenService::BootstrapAdmin() {
  int64_t count = 0;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(count, txn.tokens().Count());
    return Status::Ok();
  }));
  if (count > 0) return std::optional<CreatedToken>();
  FB_ASSIGN_OR_RETURN(CreatedToken t, Create("system", "admin", Role::kAdmin, ""));
  return std::optional<CreatedToken>(std::move(t));
}

}  // namespace firebreak
