#include "support/sample_events.h"

#include <flatbuffers/flatbuffers.h>

#include "events/event_types.h"
#include "schema/order_events_generated.h"

namespace ordersd::test {

namespace s = ordersd::schema;

namespace {
std::string finish(flatbuffers::FlatBufferBuilder& fbb) {
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}
}  // namespace

std::string order_placed_payload(const std::string& order_id) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto sku = fbb.CreateString("sku-espresso-beans-1kg");
  std::vector<flatbuffers::Offset<s::OrderLine>> lines = {s::CreateOrderLine(fbb, sku, 2, 1899)};
  auto items = fbb.CreateVector(lines);
  auto address = s::CreateAddress(fbb, fbb.CreateString("NL"), fbb.CreateString("Amsterdam"),
                                  fbb.CreateString("Keizersgracht 1"), fbb.CreateString("1015CD"));
  auto id = fbb.CreateString(order_id);
  auto customer = fbb.CreateString("customer-0042");
  fbb.Finish(s::CreateOrderPlaced(fbb, id, customer, items, address, 3798));
  return finish(fbb);
}

std::string order_delivered_payload(const std::string& order_id) {
  flatbuffers::FlatBufferBuilder fbb(64);
  fbb.Finish(s::CreateOrderDelivered(fbb, fbb.CreateString(order_id)));
  return finish(fbb);
}

events::NewEvent order_placed(const std::string& order_id) {
  static RandomUuidGenerator ids;
  return {ids.next(), std::string(events::stored_name(events::EventType::kOrderPlaced)),
          order_placed_payload(order_id), Uuid{}, Uuid{}};
}

events::NewEvent order_delivered(const std::string& order_id, Uuid id) {
  return {id, std::string(events::stored_name(events::EventType::kOrderDelivered)),
          order_delivered_payload(order_id), Uuid{}, Uuid{}};
}

}  // namespace ordersd::test
