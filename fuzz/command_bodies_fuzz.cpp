// Every command body parser (src/api/command_bodies.h) on any bytes: the
// first byte picks the parser, the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/command_bodies.h"

using namespace ordersd::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: {
      auto r = parse_place_order(body);
      if (r) (void)r->items.size();
      break;
    }
    case 1: (void)parse_cancel_order(body); break;
    case 2: (void)parse_deliver_order(body); break;
    case 3: (void)parse_empty_body(body, "the request"); break;
    case 4: (void)parse_deposit(body); break;
    case 5: (void)parse_restock(body); break;
    case 6: (void)parse_skip(body); break;
    default:
      (void)valid_id(body);
      break;
  }
  return 0;
}
