// Payload verification (verify_payload and every event type's verifier in
// src/events/event_types.h) on any bytes: the first byte picks the event
// type, the rest is the payload, read from an aligned copy as the payload of
// a verified envelope is (4-aligned inside an 8-aligned envelope). A payload
// that verifies is rendered as JSON.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "events/envelope.h"
#include "events/event_json.h"
#include "events/event_types.h"

using namespace ordersd;
using namespace ordersd::events;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto types = all_event_types();
  const EventTypeInfo& info = types[data[0] % types.size()];
  std::vector<uint64_t> aligned((size - 1) / sizeof(uint64_t) + 1);
  std::memcpy(aligned.data(), data + 1, size - 1);
  std::string_view payload(reinterpret_cast<const char*>(aligned.data()), size - 1);

  bool direct = info.verify_payload(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  Status by_name = verify_payload(info.stored_name, payload);
  if (direct != static_cast<bool>(by_name)) __builtin_trap();
  if (direct) (void)payload_to_json(info.stored_name, payload);
  return 0;
}
