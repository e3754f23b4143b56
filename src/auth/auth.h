// Auth: API tokens, roles and the checks every protected endpoint makes.
//
// A token is a random secret shown once at creation; the store keeps only its SHA-256 (the
// secret has 256 bits of entropy, so a slow password hash would add nothing). Roles:
//   agent      one agent's runtime: ingest, runtime and memory of that agent only
//   viewer     reads everything
//   responder  viewer + incident actions, rollback, quarantine
//   admin      responder + tokens, purge, wipe, erasure, retention
// Creating and revoking tokens are audited events.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace firebreak {

enum class Role { kAgent, kViewer, kResponder, kAdmin };

std::string_view RoleName(Role r);
std::optional<Role> ParseRole(std::string_view text);

// Who is calling: the token behind a request.
struct Principal {
  int64_t token_id = 0;
  std::string name;
  Role role = Role::kViewer;
  std::string agent;  // for Role::kAgent
};

// Returns OK when `p` may use an endpoint that needs `needed` (viewer < responder < admin; the
// agent role satisfies only agent endpoints), kPermissionDenied naming both roles otherwise.
Status Authorize(const Principal& p, Role needed);

// Returns OK when `p` may act for `agent`: an agent token of that agent, or responder and above.
Status AuthorizeForAgent(const Principal& p, std::string_view agent);

struct CreatedToken {
  TokenRecord record;
  std::string secret;  // shown once, never stored
};

class TokenService {
 public:
  TokenService(Store& store, const EventLog& log, const Clock& clock)
      : store_(store), log_(log), clock_(clock) {}

  // Creates a token. `agent` is required for the agent role and refused for the others.
  StatusOr<CreatedToken> Create(const std::string& actor, const std::string& name, Role role,
                                const std::string& agent);

  // Returns the principal of an `Authorization` header value ("Bearer <secret>");
  // kUnauthenticated when it is missing, malformed, unknown or revoked.
  StatusOr<Principal> Authenticate(std::string_view authorization_header);

  StatusOr<std::vector<TokenRecord>> List();

  // Revokes the active token with this name (or numeric id).
  Status Revoke(const std::string& actor, const std::string& name_or_id);

  // Creates the first admin token when the store holds no token at all; returns it, or nullopt
  // when tokens already exist.
  StatusOr<std::optional<CreatedToken>> BootstrapAdmin();

 private:
  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
};

}  // namespace firebreak
