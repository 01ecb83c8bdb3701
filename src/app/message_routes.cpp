#include "app/message_routes.h"

#include <optional>

#include "events/logging.h"
#include "write/saga/saga_codec.h"

namespace ordersd::app {

std::string MessageRoutes::operator()(const events::RecordedEvent& event) {
  if (!shards_.sharded()) return {};
  if (bus::stream_kind(event.stream()) != "saga") return shards_.route(event.stream(), {});
  return shards_.route(event.stream(), saga_customer(event));
}

std::string MessageRoutes::saga_customer(const events::RecordedEvent& event) {
  std::string stream(event.stream());
  if (auto it = customers_.find(stream); it != customers_.end()) return it->second;
  std::optional<write::StepRequested> request = write::step_request_from(event);
  if (!request) {
    auto first = log_.read_stream(stream, 1, 1);
    if (first && !first->empty()) request = write::step_request_from(first->front());
  }
  if (!request || request->order.customer_id.empty()) {
    // Never so today: a saga begins with its charge request.
    logging::log_limited(logging::Level::kError, "routes/saga", "relay",
                         "a saga stream names no customer: its events go to payment shard 0", {{"stream", stream}});
    return {};
  }
  customers_.insert_or_assign(stream, request->order.customer_id);
  return request->order.customer_id;
}

}  // namespace ordersd::app
