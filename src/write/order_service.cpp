#include "write/order_service.h"

#include "write/order_codec.h"

namespace ordersd::write {

std::string OrderDecider::stream(std::string_view order_id) { return order_stream(order_id); }

Decision OrderDecider::decide(const OrderState& state, const OrderCommand& command) {
  return write::decide(state, command);
}

OrderState OrderDecider::evolve(OrderState state, const OrderEvent& event) {
  return write::evolve(std::move(state), event);
}

events::NewEvent OrderDecider::encode(std::string_view order_id, const OrderEvent& event, Uuid id,
                                      Uuid correlation_id) {
  return to_new_event(order_id, event, id, correlation_id);
}

Result<OrderEvent> OrderDecider::decode(const events::RecordedEvent& recorded) { return order_event_from(recorded); }

}  // namespace ordersd::write
