// The order's command pipeline: the order Decider (order.h) plugged into
// CommandPipeline. Placing an order is a creating command.
#pragma once

#include <string>
#include <string_view>

#include "write/command_pipeline.h"
#include "write/order.h"

namespace ordersd::write {

struct OrderDecider {
  using State = OrderState;
  using Event = OrderEvent;
  using Command = OrderCommand;
  using Refusal = write::Refusal;

  static std::string stream(std::string_view order_id);
  static Decision decide(const OrderState& state, const OrderCommand& command);
  static OrderState evolve(OrderState state, const OrderEvent& event);
  static events::NewEvent encode(std::string_view order_id, const OrderEvent& event, Uuid id, Uuid correlation_id);
  static Result<OrderEvent> decode(const events::RecordedEvent& recorded);
  static bool creates(const OrderCommand& command) { return std::holds_alternative<PlaceOrder>(command); }
  static uint64_t version(const OrderState& state) { return state.version; }
};

using OrderService = CommandPipeline<OrderDecider>;
using OrderCommandRequest = CommandRequest<OrderDecider>;
using OrderOutcome = Outcome<OrderDecider>;

}  // namespace ordersd::write
