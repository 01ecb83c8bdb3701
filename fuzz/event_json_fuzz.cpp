// Event JSON rendering (src/events/event_json.h) of any envelope that
// verifies, as `ordersd events` and GET /events render stored events: the
// answer must be one JSON object, and the payload must render.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/envelope.h"
#include "events/event.h"
#include "events/event_json.h"

using namespace ordersd;
using namespace ordersd::events;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!verify_copied_envelope(bytes)) return 0;
  RecordedEvent event(std::move(bytes));
  std::string json = event_to_json(event);
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) __builtin_trap();
  (void)format_time_us(event.time_us());
  return 0;
}
