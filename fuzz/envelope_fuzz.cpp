// Envelope verification (src/events/envelope.h) on any bytes, as the log
// reads a record and as the importer reads a message from the bus: at an
// aligned address and at an odd one (RocksDB hands values out anywhere). A
// record that verifies is read through RecordedEvent's accessors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/envelope.h"
#include "events/event.h"

using namespace ordersd;
using namespace ordersd::events;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Status copied = verify_copied_envelope(bytes);

  std::string odd = " " + std::string(bytes);  // the same bytes one past an aligned address
  Status odd_copied = verify_copied_envelope(std::string_view(odd).substr(1));
  if (static_cast<bool>(copied) != static_cast<bool>(odd_copied)) __builtin_trap();

  if (copied) {
    RecordedEvent e{std::string(bytes)};
    if (!verify_envelope(bytes, e.position())) __builtin_trap();  // the same record at its own position
    (void)e.stream();
    (void)e.version();
    (void)e.id();
    (void)e.type();
    (void)e.time_us();
    (void)e.correlation_id();
    (void)e.causation_id();
    if (!verify_payload(e.type(), e.payload())) __builtin_trap();
  }
  (void)verify_envelope(bytes, 1);
  return 0;
}
