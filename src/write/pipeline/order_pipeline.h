// The order's command pipeline: the order Decider (order.h) plugged into
// CommandPipeline. Placing an order is a creating command.
#pragma once

#include <string>
#include <string_view>

#include "write/pipeline/command_pipeline.h"
#include "write/domain/order.h"
#include "write/domain/order_codec.h"

namespace ordersd::write {

struct OrderDecider {
  using State = OrderState;
  using Event = OrderEvent;
  using Command = OrderCommand;
  using Refusal = write::Refusal;

  static std::string stream(std::string_view order_id) { return order_stream(order_id); }
  static Decision decide(const OrderState& s, const OrderCommand& c) { return write::decide(s, c); }
  static OrderState evolve(OrderState s, const OrderEvent& e) { return write::evolve(std::move(s), e); }
  static events::NewEvent encode(std::string_view order_id, const OrderEvent& e, Uuid id, Uuid correlation_id) {
    return to_new_event(order_id, e, id, correlation_id);
  }
  static Result<OrderEvent> decode(const events::RecordedEvent& r) { return order_event_from(r); }
  static bool creates(const OrderCommand& c) { return std::holds_alternative<PlaceOrder>(c); }
  static uint64_t version(const OrderState& s) { return s.version; }
};

using OrderPipeline = CommandPipeline<OrderDecider>;
using OrderCommandRequest = CommandRequest<OrderDecider>;
using OrderOutcome = Outcome<OrderDecider>;

}  // namespace ordersd::write
