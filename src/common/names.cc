#include "common/names.h"

#include <string>

namespace firebreak {

Status CheckName(std::string_view field, std::string_view name, size_t max_bytes) {
  std::string f(field);
  if (name.empty()) return InvalidArgument("'" + f + "' is required");
  if (name.size() > max_bytes) {
    return InvalidArgument("'" + f + "' is longer than " + std::to_string(max_bytes) + " bytes");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return InvalidArgument("'" + f + "' may hold only letters, digits, '.', '_', ':' and '-'");
    }
  }
  if (name.find("..") != std::string_view::npos) {
    return InvalidArgument("'" + f + "' may not contain '..'");
  }
  return Status::Ok();
}

}  // namespace firebreak
