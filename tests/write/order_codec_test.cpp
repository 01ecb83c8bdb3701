// Order events to and from the log's stored form: every OrderEvent alternative
// is stored under its type name with a payload the events layer accepts, and
// reads back from a real EventLog as an equal event.
#include "write/domain/order_codec.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/event_types.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::write;
using ordersd::test::TempDir;

namespace {

// The stored type name of each OrderEvent alternative, in the variant's order.
const std::vector<std::string> kStoredNames = {
    "order.placed.v1",       "payment.processed.v1",  "payment.declined.v1",
    "payment.refunded.v1",   "inventory.reserved.v1", "inventory.reservation_failed.v1",
    "inventory.released.v1", "shipment.initiated.v1", "shipment.failed.v1",
    "order.delivered.v1",    "order.cancellation_requested.v1", "order.cancelled.v1"};

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();

// Every alternative with realistic values, then again at the edges: empty
// strings and lists, the largest numbers, non-ASCII text.
std::vector<OrderEvent> every_order_event(const std::string& order_id) {
  return {
      OrderPlaced{order_id,
                  "c-1",
                  {{"sku-beans", 2, 1'250}, {"sku-filter", 1, 500}},
                  {"NL", "Amsterdam", "Keizersgracht 1", "1015CD"},
                  3'000},
      PaymentProcessed{3'000},
      PaymentDeclined{3'000, "card_declined"},
      PaymentRefunded{3'000},
      InventoryReserved{{{"sku-beans", 2}, {"sku-filter", 1}}},
      InventoryReservationFailed{"sku-beans", 2, 1, "insufficient_stock"},
      InventoryReleased{{{"sku-beans", 2}, {"sku-filter", 1}}},
      ShipmentInitiated{"ship-7", "NL"},
      ShipmentFailed{"NL", "no_carrier"},
      OrderDelivered{},
      CancellationRequested{"customer_cancelled"},
      OrderCancelled{"customer_cancelled"},

      OrderPlaced{order_id, "", {}, {}, 0},
      OrderPlaced{order_id, "kunde-ä", {{"sku-max", kMaxU32, kMaxU64}}, {"DE", "Köln", "Straße 1", ""}, kMaxU64},
      PaymentProcessed{0},
      PaymentProcessed{kMaxU64},
      PaymentDeclined{},
      PaymentRefunded{kMaxU64},
      InventoryReserved{},
      InventoryReserved{{{"", 0}, {"sku-max", kMaxU32}}},
      InventoryReservationFailed{},
      InventoryReservationFailed{"sku-max", kMaxU32, kMaxU64, "käse"},
      InventoryReleased{},
      ShipmentInitiated{},
      ShipmentFailed{},
      CancellationRequested{},
      OrderCancelled{"step_timeout"},
  };
}

Uuid event_id(size_t i) { return uuid_from_name("order-codec-test-" + std::to_string(i)); }

}  // namespace

TEST_CASE("an order's stream is named order-<id>") {
  CHECK(order_stream("abc") == "order-abc");
  CHECK(order_stream("") == "order-");
  CHECK(order_stream("o-1") == "order-o-1");
}

TEST_CASE("the samples cover every order event") {
  std::vector<bool> seen(std::variant_size_v<OrderEvent>, false);
  for (const auto& e : every_order_event("o-1")) seen[e.index()] = true;
  for (size_t i = 0; i < seen.size(); ++i) CHECK_MESSAGE(seen[i], "no sample of alternative ", i);
  CHECK(kStoredNames.size() == std::variant_size_v<OrderEvent>);
}

TEST_CASE("each order event is stored under its type name with a payload the events layer accepts") {
  const Uuid correlation = uuid_from_name("correlation");
  const Uuid causation = uuid_from_name("causation");
  size_t i = 0;
  for (const auto& event : every_order_event("o-1")) {
    INFO("sample ", i, ", alternative ", event.index());
    events::NewEvent stored = to_new_event("o-1", event, event_id(i), correlation, causation);
    CHECK(stored.type == kStoredNames[event.index()]);
    CHECK(stored.id == event_id(i));
    CHECK(stored.correlation_id == correlation);
    CHECK(stored.causation_id == causation);
    const events::EventTypeInfo* info = events::find_event_type(stored.type);
    REQUIRE(info != nullptr);
    CHECK(static_cast<size_t>(info->type) == event.index());
    CHECK(info->verify_payload(reinterpret_cast<const uint8_t*>(stored.payload.data()), stored.payload.size()));
    ++i;
  }
}

TEST_CASE("correlation and causation default to nil") {
  events::NewEvent stored = to_new_event("o-1", OrderDelivered{}, event_id(0));
  CHECK(stored.correlation_id.is_nil());
  CHECK(stored.causation_id.is_nil());
}

TEST_CASE("every order event appended to the log reads back as an equal event") {
  TempDir dir;
  events::EventLogOptions options;
  options.durability = events::Durability::kAsync;
  auto opened = events::EventLog::open(dir.path(), std::move(options));
  REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
  std::unique_ptr<events::EventLog> log = std::move(opened).value();

  const std::string order_id = "o-42";
  const std::string stream = order_stream(order_id);
  const std::vector<OrderEvent> originals = every_order_event(order_id);
  const Uuid correlation = uuid_from_name("correlation");
  std::vector<events::NewEvent> batch;
  for (size_t i = 0; i < originals.size(); ++i) {
    batch.push_back(to_new_event(order_id, originals[i], event_id(i), correlation, event_id(i + 1000)));
  }
  auto appended = log->append(stream, events::ExpectedVersion::no_stream(), std::move(batch));
  REQUIRE_MESSAGE(appended.is_ok(), appended.status().to_string());
  CHECK(appended->next_version() == originals.size());

  auto read = log->read_stream(stream, 1, 1'000);
  REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
  const std::vector<events::RecordedEvent>& recorded = read.value();
  REQUIRE(recorded.size() == originals.size());
  for (size_t i = 0; i < recorded.size(); ++i) {
    INFO("event ", i, " (", kStoredNames[originals[i].index()], ")");
    const events::RecordedEvent& r = recorded[i];
    CHECK(r.stream() == stream);
    CHECK(r.version() == i + 1);
    CHECK(r.id() == event_id(i));
    CHECK(r.type() == kStoredNames[originals[i].index()]);
    CHECK(r.correlation_id() == correlation);
    CHECK(r.causation_id() == event_id(i + 1000));
    Result<OrderEvent> back = order_event_from(r);
    REQUIRE_MESSAGE(back.is_ok(), back.status().to_string());
    CHECK(back->index() == originals[i].index());
    CHECK(back.value() == originals[i]);
  }
}
