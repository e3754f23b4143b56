#include "traces/span.h"

namespace firebreak::traces {

nlohmann::json SpanToJson(const SpanData& s) {
  nlohmann::json j = {{"trace_id", s.trace_id},
                      {"span_id", s.span_id},
                      {"parent_span_id", s.parent_span_id},
                      {"name", s.name},
                      {"kind", s.kind},
                      {"start_ns", std::to_string(s.start_ns)},
                      {"end_ns", std::to_string(s.end_ns)},
                      {"attributes", s.attributes},
                      {"resource", s.resource},
                      {"scope", s.scope},
                      {"status", {{"code", s.status_code}, {"message", s.status_message}}},
                      {"events", s.events}};
  return j;
}

StatusOr<SpanData> SpanFromJson(const nlohmann::json& j) {
  try {
    SpanData s;
    s.trace_id = j.at("trace_id").get<std::string>();
    s.span_id = j.at("span_id").get<std::string>();
    s.parent_span_id = j.at("parent_span_id").get<std::string>();
    s.name = j.at("name").get<std::string>();
    s.kind = j.at("kind").get<int>();
    s.start_ns = std::stoull(j.at("start_ns").get<std::string>());
    s.end_ns = std::stoull(j.at("end_ns").get<std::string>());
    s.attributes = j.at("attributes");
    s.resource = j.at("resource");
    s.scope = j.at("scope").get<std::string>();
    s.status_code = j.at("status").at("code").get<int>();
    s.status_message = j.at("status").at("message").get<std::string>();
    s.events = j.at("events");
    return s;
  } catch (const std::exception& e) {
    return Internal(std::string("stored span is not readable: ") + e.what());
  }
}

}  // namespace firebreak::traces
