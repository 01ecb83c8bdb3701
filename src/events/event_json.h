// JSON renderings of stored events, for the CLI and the HTTP API.
// Thread-safe: each thread keeps its own parsed copy of the payload schema.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.h"
#include "events/status.h"

namespace ordersd::events {

// The payload of stored type `type` as a compact JSON object.
Result<std::string> payload_to_json(std::string_view type, std::string_view payload);

// One event as a compact JSON object: position, stream, version, type, time
// (RFC 3339 UTC with microseconds), id, correlation_id, causation_id, payload.
std::string event_to_json(const RecordedEvent& event);

// "2026-11-26T05:00:53.123456Z"
std::string format_time_us(int64_t time_us);
// The microseconds since the epoch of a time format_time_us wrote; nullopt
// for any other text.
std::optional<int64_t> parse_time_us(std::string_view text);

}  // namespace ordersd::events
