// Writes the valid seeds of the fuzz corpora: envelopes and payloads made by
// the project's own encoders. Usage: fuzz_seeds <fuzz/corpus directory>.
// The invalid seeds are checked in by hand beside them.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "events/envelope.h"
#include "events/event_types.h"
#include "support/sample_events.h"
#include "write/domain/order_codec.h"

using namespace ordersd;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <fuzz/corpus directory>\n";
    return 2;
  }
  fs::path corpus = argv[1];
  write::OrderPlaced placed{"o-1", "c-1", {{"sku-1", 2, 1899}, {"sku-2", 1, 500}}, {"NL", "Amsterdam", "Keizersgracht 1", "1015CD"}, 4298};
  std::vector<events::NewEvent> samples = {
      write::to_new_event("o-1", placed, Uuid{1, 1}, Uuid{2, 2}, Uuid{3, 3}),
      write::to_new_event("o-1", write::PaymentDeclined{4298, "insufficient_funds"}, Uuid{1, 2}),
      write::to_new_event("o-1", write::InventoryReserved{{{"sku-1", 2}, {"sku-2", 1}}}, Uuid{1, 3}),
      write::to_new_event("o-1", write::ShipmentInitiated{"s-1", "NL"}, Uuid{1, 4}),
      write::to_new_event("o-1", write::OrderDelivered{}, Uuid{1, 5}),
      write::to_new_event("o-1", write::OrderCancelled{"customer_cancelled"}, Uuid{1, 6}),
      test::order_placed("o-2"),
  };
  int n = 0;
  for (const auto& e : samples) {
    ++n;
    std::string stream = write::order_stream("o-1");
    std::string envelope = events::encode_envelope({static_cast<uint64_t>(n), stream, static_cast<uint64_t>(n), e.id,
                                                    e.type, 1'790'000'000'000'000 + n, e.correlation_id,
                                                    e.causation_id, e.payload});
    if (!events::verify_copied_envelope(envelope)) {
      std::cerr << "seed " << n << " does not verify\n";
      return 1;
    }
    std::string name = "valid-" + std::to_string(n) + "-" + e.type;
    write_file(corpus / "envelope" / name, envelope);
    write_file(corpus / "event_json" / name, envelope);
    // payload: the type's index in all_event_types(), then the payload.
    auto types = events::all_event_types();
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i].stored_name == e.type) write_file(corpus / "payload" / name, std::string(1, static_cast<char>(i)) + e.payload);
    }
  }
  std::cout << "wrote " << n << " envelopes and payloads under " << corpus << "\n";
  return 0;
}
