// The services' events survive the trip through the log unchanged, under
// their stored type names, in the services' own streams.
#include "write/domain/service_codec.h"

#include <doctest/doctest.h>

#include "events/event_log.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::write;
using events::ExpectedVersion;

namespace {

// Appends `event` with `encode` and reads it back through the log.
template <typename Event, typename Encode>
events::RecordedEvent round_trip(const std::string& stream, const Event& event, Encode encode) {
  test::TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  static RandomUuidGenerator ids;
  auto appended = log->append(stream, ExpectedVersion::any(), {encode(event, ids.next())});
  REQUIRE_MESSAGE(appended.is_ok(), appended.status().to_string());
  auto read = log->read_stream(stream, 1, 1);
  REQUIRE(read.is_ok());
  REQUIRE(read->size() == 1);
  return read->front();
}

}  // namespace

TEST_CASE("the services' streams are named for what they hold") {
  CHECK(wallet_stream("c-1") == "wallet-c-1");
  CHECK(sku_stream("espresso") == "sku-espresso");
  CHECK(shipment_stream("o-1") == "shipment-o-1");
}

TEST_CASE("every wallet event reads back equal, under its stored type name") {
  struct Case {
    WalletEvent event;
    const char* type;
  };
  for (const Case& c : {Case{FundsDeposited{500, 1500}, "payment.funds_deposited.v1"},
                        Case{WalletCharged{"o-1", 1200}, "payment.processed.v1"},
                        Case{WalletDeclined{"o-2", 90000, "insufficient_funds"}, "payment.declined.v1"},
                        Case{WalletRefunded{"o-1", 1200}, "payment.refunded.v1"}}) {
    auto recorded = round_trip(wallet_stream("c-1"), c.event,
                               [](const WalletEvent& e, Uuid id) { return to_new_event("c-1", e, id); });
    CHECK(recorded.type() == c.type);
    auto back = wallet_event_from(recorded);
    REQUIRE(back.is_ok());
    CHECK(*back == c.event);
  }
}

TEST_CASE("every stock event reads back equal, under its stored type name") {
  struct Case {
    StockEvent event;
    const char* type;
  };
  for (const Case& c : {Case{StockRestocked{40, 42}, "inventory.restocked.v1"},
                        Case{StockReserved{"o-1", 3}, "inventory.stock_reserved.v1"},
                        Case{StockReleased{"o-1", 3}, "inventory.stock_released.v1"},
                        Case{StockShipped{"o-2", 7}, "inventory.stock_shipped.v1"}}) {
    auto recorded = round_trip(sku_stream("espresso"), c.event,
                               [](const StockEvent& e, Uuid id) { return to_new_event("espresso", e, id); });
    CHECK(recorded.type() == c.type);
    auto back = stock_event_from(recorded);
    REQUIRE(back.is_ok());
    CHECK(*back == c.event);
  }
}

TEST_CASE("every shipment event reads back equal") {
  for (const ShipmentEvent& event :
       {ShipmentEvent(ShipmentInitiated{"shp-o-1", "NL"}), ShipmentEvent(ShipmentFailed{"BR", "shipping_unavailable"})}) {
    auto recorded = round_trip(shipment_stream("o-1"), event,
                               [](const ShipmentEvent& e, Uuid id) { return to_new_event("o-1", e, id); });
    auto back = shipment_event_from(recorded);
    REQUIRE(back.is_ok());
    CHECK(*back == event);
  }
}

TEST_CASE("an event of another service is refused, not misread") {
  auto deposit = round_trip(wallet_stream("c-1"), WalletEvent(FundsDeposited{1, 1}),
                            [](const WalletEvent& e, Uuid id) { return to_new_event("c-1", e, id); });
  CHECK(stock_event_from(deposit).status().code() == Status::Code::kInvalidArgument);
  CHECK(shipment_event_from(deposit).status().code() == Status::Code::kInvalidArgument);
  auto restock = round_trip(sku_stream("s"), StockEvent(StockRestocked{1, 1}),
                            [](const StockEvent& e, Uuid id) { return to_new_event("s", e, id); });
  CHECK(wallet_event_from(restock).status().code() == Status::Code::kInvalidArgument);
}
