#include "releases/manifest.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/text.h"

namespace firebreak {
namespace {

constexpr size_t kMaxText = 200;
constexpr size_t kMaxPromptHash = 128;
constexpr size_t kMaxTools = 256;
constexpr size_t kMaxCommandArgs = 64;
constexpr size_t kMaxCommandArg = 4096;
constexpr size_t kMaxUrl = 2048;

StatusOr<std::string> Text(const nlohmann::json& j, const std::string& path, const char* key,
                           bool required, size_t max) {
  auto it = j.find(key);
  std::string field = path + "." + key;
  if (it == j.end() || it->is_null()) {
    if (required) return InvalidArgument("'" + field + "' is required");
    return std::string();
  }
  if (!it->is_string()) return InvalidArgument("'" + field + "' must be a string");
  std::string value = it->get<std::string>();
  if (required && value.empty()) return InvalidArgument("'" + field + "' must not be empty");
  if (value.size() > max) {
    return InvalidArgument("'" + field + "' is longer than " + std::to_string(max) + " bytes");
  }
  return value;
}

Status OnlyKnown(const nlohmann::json& j, const std::string& path,
                 std::initializer_list<const char*> known) {
  for (const auto& item : j.items()) {
    // Not a structured binding: clang 14 (the fuzz preset) cannot capture one in a lambda.
    const std::string& key = item.key();
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      return InvalidArgument("'" + path + "." + key + "' is not a manifest field");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<nlohmann::json> ValidateRegressionProvider(const nlohmann::json& section,
                                                    const std::string& path) {
  if (!section.is_object()) return InvalidArgument("'" + path + "' must be a JSON object");
  FB_RETURN_IF_ERROR(OnlyKnown(section, path, {"provider", "command", "url", "timeout_ms"}));
  FB_ASSIGN_OR_RETURN(std::string provider, Text(section, path, "provider", true, kMaxText));
  int64_t timeout_ms = kDefaultProviderTimeoutMs;
  if (auto t = section.find("timeout_ms"); t != section.end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 1 ||
        t->get<int64_t>() > kMaxProviderTimeoutMs) {
      return InvalidArgument("'" + path + ".timeout_ms' must be a whole number in 1.." +
                             std::to_string(kMaxProviderTimeoutMs));
    }
    timeout_ms = t->get<int64_t>();
  }
  nlohmann::json out = {{"provider", provider}, {"timeout_ms", timeout_ms}};
  if (provider == "exec") {
    if (section.contains("url")) {
      return InvalidArgument("'" + path + ".url' belongs to the http provider");
    }
    auto c = section.find("command");
    if (c == section.end() || !c->is_array() || c->empty() || c->size() > kMaxCommandArgs) {
      return InvalidArgument("'" + path + ".command' must be an array of 1 to " +
                             std::to_string(kMaxCommandArgs) +
                             " strings (the program and its arguments; no shell)");
    }
    for (size_t i = 0; i < c->size(); ++i) {
      const auto& arg = (*c)[i];
      std::string field = path + ".command[" + std::to_string(i) + "]";
      if (!arg.is_string()) return InvalidArgument("'" + field + "' must be a string");
      const std::string& a = arg.get_ref<const std::string&>();
      if ((i == 0 && a.empty()) || a.size() > kMaxCommandArg ||
          a.find('\0') != std::string::npos || !IsValidUtf8(a)) {
        return InvalidArgument("'" + field + "' must be UTF-8 text of at most " +
                               std::to_string(kMaxCommandArg) + " bytes without NUL" +
                               (i == 0 ? ", not empty" : ""));
      }
    }
    out["command"] = *c;
  } else if (provider == "http") {
    if (section.contains("command")) {
      return InvalidArgument("'" + path + ".command' belongs to the exec provider");
    }
    FB_ASSIGN_OR_RETURN(std::string url, Text(section, path, "url", true, kMaxUrl));
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return InvalidArgument("'" + path + ".url' must start with http:// or https://");
    }
    out["url"] = url;
  } else {
    return InvalidArgument("'" + path + ".provider' must be exec or http (got '" + provider + "')");
  }
  return out;
}

const std::vector<std::string>& EffectClasses() {
  static const std::vector<std::string> kClasses = {
      "read-only", "outbound-message", "payment", "record-change", "data-export", "code-execution",
  };
  return kClasses;
}

StatusOr<nlohmann::json> ValidateManifest(const nlohmann::json& manifest) {
  const std::string root = "manifest";
  if (!manifest.is_object()) return InvalidArgument("'manifest' must be a JSON object");
  FB_RETURN_IF_ERROR(
      OnlyKnown(manifest, root, {"label", "model", "prompt_hash", "tools", "config", "regression"}));
  FB_ASSIGN_OR_RETURN(std::string label, Text(manifest, root, "label", false, kMaxText));
  FB_ASSIGN_OR_RETURN(std::string model, Text(manifest, root, "model", true, kMaxText));
  FB_ASSIGN_OR_RETURN(std::string prompt_hash,
                      Text(manifest, root, "prompt_hash", true, kMaxPromptHash));
  for (char c : prompt_hash) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '-' && c != '_') {
      return InvalidArgument(
          "'manifest.prompt_hash' may hold only letters, digits, ':', '-' and '_'");
    }
  }

  nlohmann::json tools = nlohmann::json::array();
  auto t = manifest.find("tools");
  if (t != manifest.end() && !t->is_null()) {
    if (!t->is_array()) return InvalidArgument("'manifest.tools' must be an array");
    if (t->size() > kMaxTools) {
      return InvalidArgument("'manifest.tools' has more than " + std::to_string(kMaxTools) +
                             " tools");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < t->size(); ++i) {
      const auto& tool = (*t)[i];
      std::string path = "manifest.tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) return InvalidArgument("'" + path + "' must be an object");
      FB_RETURN_IF_ERROR(OnlyKnown(tool, path, {"name", "effect_class", "requires_approval"}));
      FB_ASSIGN_OR_RETURN(std::string name, Text(tool, path, "name", true, kMaxText));
      if (!names.insert(name).second) {
        return InvalidArgument("'" + path + ".name': tool '" + name + "' is listed twice");
      }
      FB_ASSIGN_OR_RETURN(std::string effect, Text(tool, path, "effect_class", true, kMaxText));
      const auto& classes = EffectClasses();
      if (std::find(classes.begin(), classes.end(), effect) == classes.end()) {
        std::string list;
        for (const auto& c : classes) list += (list.empty() ? "" : ", ") + c;
        return InvalidArgument("'" + path + ".effect_class' must be one of " + list + " (got '" +
                               effect + "')");
      }
      bool approval = false;
      auto a = tool.find("requires_approval");
      if (a != tool.end() && !a->is_null()) {
        if (!a->is_boolean()) {
          return InvalidArgument("'" + path + ".requires_approval' must be true or false");
        }
        approval = a->get<bool>();
      }
      tools.push_back({{"name", name}, {"effect_class", effect}, {"requires_approval", approval}});
    }
  }

  nlohmann::json config = nlohmann::json::object();
  auto c = manifest.find("config");
  if (c != manifest.end() && !c->is_null()) {
    if (!c->is_object()) return InvalidArgument("'manifest.config' must be a JSON object");
    config = *c;
  }
  nlohmann::json regression = nullptr;  // this version has no provider of its own
  if (auto r = manifest.find("regression"); r != manifest.end() && !r->is_null()) {
    FB_ASSIGN_OR_RETURN(regression, ValidateRegressionProvider(*r, root + ".regression"));
  }
  return nlohmann::json{{"label", label},   {"model", model},
                        {"prompt_hash", prompt_hash}, {"tools", tools},
                        {"config", config}, {"regression", regression}};
}

}  // namespace firebreak
