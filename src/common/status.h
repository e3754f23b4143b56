// Status and StatusOr: the one error strategy of Firebreak.
//
// Every fallible function returns a Status (or StatusOr<T>). Exceptions thrown by libraries
// (JSON, SQLite adapters, Boost) are caught inside the component that calls them and turned
// into a Status; they never cross a component's header. The HTTP layer maps a Status code to an
// HTTP status in exactly one place (http/errors.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace firebreak {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // malformed or semantically wrong input
  kUnauthenticated,     // no or unknown credentials
  kPermissionDenied,    // credentials valid, role insufficient
  kNotFound,            // unknown id
  kConflict,            // state does not allow the operation (illegal transition, gate refused)
  kAlreadyExists,       // unique name taken
  kTooLarge,            // body or field over a limit
  kUnsupportedMediaType,
  kResourceExhausted,   // rate limited
  kUnavailable,         // overloaded or shutting down
  kInternal,            // a bug or an unexpected failure of a dependency
};

// Returns the stable snake_case name of a code, as used in JSON error bodies.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns "code: message", for logs.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
inline Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
inline Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
inline Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
inline Status Conflict(std::string msg) { return {StatusCode::kConflict, std::move(msg)}; }
inline Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
inline Status TooLarge(std::string msg) { return {StatusCode::kTooLarge, std::move(msg)}; }
inline Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
inline Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Internal("StatusOr constructed from an OK status without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace firebreak

// Returns early from the calling function when `expr` yields a non-OK Status.
#define FB_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::firebreak::Status fb_status_ = (expr);       \
    if (!fb_status_.ok()) return fb_status_;       \
  } while (0)

#define FB_CONCAT_INNER_(a, b) a##b
#define FB_CONCAT_(a, b) FB_CONCAT_INNER_(a, b)

// Declares `lhs` from a StatusOr expression, or returns its Status from the calling function.
#define FB_ASSIGN_OR_RETURN(lhs, expr) \
  FB_ASSIGN_OR_RETURN_IMPL_(FB_CONCAT_(fb_statusor_, __LINE__), lhs, expr)
#define FB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
