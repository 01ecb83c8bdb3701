// Encoding and verification of the stored envelope (schemas/envelope.fbs).
// Private to src/events. Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/status.h"
#include "events/uuid.h"

namespace ordersd::events {

struct EnvelopeFields {
  uint64_t position = 0;
  std::string_view stream;
  uint64_t version = 0;
  Uuid id;
  std::string_view type;
  int64_t time_us = 0;
  Uuid correlation_id;
  Uuid causation_id;
  std::string_view payload;
};

std::string encode_envelope(const EnvelopeFields& fields);

// Ok when `bytes` is a well-formed Envelope stored at `position` whose type is
// known and whose payload verifies against that type's table; otherwise
// kCorruption naming the position.
Status verify_envelope(std::string_view bytes, uint64_t position);
// The same for an envelope copied out of another log (a message from the
// bus), whose position is that log's: any position will do.
Status verify_copied_envelope(std::string_view bytes);

// Ok when `payload` is a well-formed buffer for the stored type name `type`;
// otherwise kInvalidArgument.
Status verify_payload(std::string_view type, std::string_view payload);

}  // namespace ordersd::events
