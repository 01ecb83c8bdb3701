#include "read/timeline_view.h"

#include <memory>

#include <nlohmann/json.hpp>

#include "events/event_types.h"
#include "events/json_writer.h"
#include "events/payload.h"
#include "schema/order_events_generated.h"

namespace ordersd::read {

namespace {

namespace s = ordersd::schema;

// The streams named after an order (see timeline_own_streams).
constexpr std::string_view kOwnStreamPrefixes[] = {"order-", "saga-", "reservation-", "shipment-"};

// The order a per-order stream belongs to: "saga-o-1" -> "o-1" for the
// prefix "saga-"; "" for another stream.
std::string_view order_of(std::string_view stream, std::string_view prefix) {
  if (!stream.starts_with(prefix) || stream.size() == prefix.size()) return {};
  return stream.substr(prefix.size());
}

}  // namespace

std::string timeline_order_key(std::string_view order_id) { return "o/" + std::string(order_id); }

std::string timeline_correlation_prefix(const Uuid& correlation) { return "t/" + correlation.to_string() + "/"; }

std::string timeline_order_prefix(std::string_view order_id) { return "e/" + std::string(order_id) + "/"; }

std::string timeline_position_bytes(uint64_t position) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(position & 0xff);
    position >>= 8;
  }
  return out;
}

uint64_t timeline_key_position(std::string_view key) {
  uint64_t v = 0;
  if (key.size() < 8) return 0;
  for (unsigned char c : key.substr(key.size() - 8)) v = (v << 8) | c;
  return v;
}

std::string to_json(const TimelineOrder& order) {
  JsonWriter w(128 + order.customer_id.size());
  w.open('{');
  w.key("correlation_id").string(order.correlation_id.to_string());
  w.key("customer_id").string(order.customer_id);
  w.key("placed_position").number(order.placed_position);
  w.close('}');
  return w.take();
}

Result<TimelineOrder> timeline_order_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("a timeline order row that is not JSON", 0);
  try {
    TimelineOrder order;
    auto correlation = Uuid::parse(j.at("correlation_id").get<std::string>());
    if (!correlation) return Status::corruption("a timeline order row with a malformed correlation_id", 0);
    order.correlation_id = *correlation;
    order.customer_id = j.at("customer_id");
    order.placed_position = j.at("placed_position");
    return order;
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("a timeline order row is malformed: ") + e.what(), 0);
  }
}

std::vector<std::string> timeline_own_streams(std::string_view order_id) {
  std::vector<std::string> streams;
  for (std::string_view prefix : kOwnStreamPrefixes) streams.push_back(std::string(prefix) + std::string(order_id));
  return streams;
}

Status project_timeline(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  for (const auto& e : batch) {
    const std::string_view stream = e.stream();
    if (std::string_view id = order_of(stream, "order-"); !id.empty()) {
      const events::EventTypeInfo* info = events::find_event_type(e.type());
      if (info && info->type == events::EventType::kOrderPlaced && e.version() == 1) {
        auto* placed = events::payload_root<s::OrderPlaced>(e);
        TimelineOrder row{e.correlation_id(), events::string_of(placed->customer_id()), e.position()};
        view.put(timeline_order_key(id), to_json(row));
      }
      continue;
    }
    bool own = false;
    for (std::string_view prefix : kOwnStreamPrefixes) own = own || !order_of(stream, prefix).empty();
    if (own) continue;  // the query reads these streams from the log
    if (std::string_view id = order_of(stream, "operator-"); !id.empty()) {
      // operator-{order} holds an operator's retries of the order's saga
      // (operator-component-..., operator-audit:... hold other events).
      const events::EventTypeInfo* info = events::find_event_type(e.type());
      if (info && info->type == events::EventType::kSagaRetryRequested) {
        view.put(timeline_order_prefix(id) + timeline_position_bytes(e.position()), "");
        continue;
      }
    }
    const Uuid correlation = e.correlation_id();
    if (!correlation.is_nil()) {
      view.put(timeline_correlation_prefix(correlation) + timeline_position_bytes(e.position()), "");
    }
  }
  return Status::ok();
}

Projector::Apply timeline_projection() { return project_timeline; }

}  // namespace ordersd::read
