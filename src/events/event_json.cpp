#include "events/event_json.h"

#include <flatbuffers/idl.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "events/event_types.h"
#include "events/schema_text.h"

namespace ordersd::events {

namespace {

// A flatbuffers::Parser that knows schemas/order_events.fbs, one per thread
// because SetRootType mutates it.
flatbuffers::Parser* payload_parser() {
  thread_local std::unique_ptr<flatbuffers::Parser> parser = [] {
    flatbuffers::IDLOptions opts;
    opts.strict_json = true;
    opts.indent_step = -1;
    opts.output_default_scalars_in_json = true;
    auto p = std::make_unique<flatbuffers::Parser>(opts);
    if (!p->Parse(order_events_schema_text())) p.reset();
    return p;
  }();
  return parser.get();
}

}  // namespace

Result<std::string> payload_to_json(std::string_view type, std::string_view payload) {
  const EventTypeInfo* info = find_event_type(type);
  if (!info) return Status::invalid_argument("unknown event type '" + std::string(type) + "'");
  flatbuffers::Parser* parser = payload_parser();
  if (!parser) return Status::corruption("the compiled-in payload schema does not parse", 0);
  if (!parser->SetRootType(std::string(info->table_name).c_str())) {
    return Status::corruption("the payload schema has no table " + std::string(info->table_name), 0);
  }
  std::string json;
  if (!flatbuffers::GenerateText(*parser, payload.data(), &json)) {
    return Status::corruption("payload of type " + std::string(type) + " cannot be rendered", 0);
  }
  return json;
}

std::string format_time_us(int64_t time_us) {
  std::time_t seconds = static_cast<std::time_t>(time_us / 1000000);
  int64_t micros = time_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(micros));
  return out;
}

std::string event_to_json(const RecordedEvent& event) {
  nlohmann::ordered_json j;
  j["position"] = event.position();
  j["stream"] = std::string(event.stream());
  j["version"] = event.version();
  j["type"] = std::string(event.type());
  j["time"] = format_time_us(event.time_us());
  j["id"] = event.id().to_string();
  j["correlation_id"] = event.correlation_id().to_string();
  j["causation_id"] = event.causation_id().to_string();
  auto payload = payload_to_json(event.type(), event.payload());
  if (payload) {
    j["payload"] = nlohmann::json::parse(*payload);
  } else {
    j["payload_error"] = payload.status().message();
  }
  return j.dump();
}

}  // namespace ordersd::events
