#include "read/order_view.h"

#include <flatbuffers/flatbuffers.h>

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "events/event_json.h"
#include "events/event_types.h"
#include "schema/order_events_generated.h"

namespace ordersd::read {

namespace {

namespace s = ordersd::schema;
using events::EventType;
using nlohmann::ordered_json;

std::string str(const flatbuffers::String* v) { return v ? v->str() : std::string(); }

template <typename Table>
const Table* root(const events::RecordedEvent& r) {
  return flatbuffers::GetRoot<Table>(r.payload().data());
}

std::vector<OrderRow::Line> lines(const flatbuffers::Vector<flatbuffers::Offset<s::ReservedLine>>* in) {
  std::vector<OrderRow::Line> out;
  if (in) {
    for (const auto* l : *in) out.push_back({str(l->sku()), l->quantity()});
  }
  return out;
}

Status cannot_apply(const events::RecordedEvent& e, const std::string& why) {
  return Status::corruption("the order view cannot apply the " + std::string(e.type()) + " event at position " +
                                std::to_string(e.position()) + ": " + why,
                            e.position());
}

void move_to(OrderRow& row, const std::string& status, const events::RecordedEvent& e) {
  if (row.status == status) return;
  row.status = status;
  row.history.push_back({status, e.position(), e.time_us()});
}

// The statuses a step's outcome moves an order on from, as the order's
// transition table has them; outcomes arriving while cancelling move nothing.
bool is(const OrderRow& row, const char* status) { return row.status == status; }

}  // namespace

bool is_order_stream_event(const events::RecordedEvent& event) { return event.stream().substr(0, 6) == "order-"; }

Status apply(OrderRow& row, const events::RecordedEvent& e) {
  const events::EventTypeInfo* info = events::find_event_type(e.type());
  if (!info) return cannot_apply(e, "unknown type");
  if (e.version() != row.version + 1) {
    return cannot_apply(e, "it is version " + std::to_string(e.version()) + " and the row is at version " +
                               std::to_string(row.version));
  }
  if (row.version == 0 && info->type != EventType::kOrderPlaced) return cannot_apply(e, "the order was never placed");
  switch (info->type) {
    case EventType::kOrderPlaced: {
      if (row.version != 0) return cannot_apply(e, "the order was placed before");
      auto* t = root<s::OrderPlaced>(e);
      row.order_id = str(t->order_id());
      row.customer_id = str(t->customer_id());
      if (t->items()) {
        for (const auto* i : *t->items()) row.items.push_back({str(i->sku()), i->quantity(), i->unit_price_cents()});
      }
      if (const auto* a = t->shipping_address()) {
        row.country = str(a->country());
        row.city = str(a->city());
      }
      row.total_cents = t->total_cents();
      row.placed_position = e.position();
      move_to(row, "placed", e);
      break;
    }
    case EventType::kPaymentProcessed:
      row.payment = {"charged", root<s::PaymentProcessed>(e)->amount_cents(), ""};
      if (is(row, "placed")) move_to(row, "payment_processed", e);
      break;
    case EventType::kPaymentDeclined: {
      auto* t = root<s::PaymentDeclined>(e);
      row.payment = {"declined", t->amount_cents(), str(t->reason())};
      if (is(row, "placed")) {
        row.cancel_reason = "payment_declined";
        move_to(row, "cancelling", e);
      }
      break;
    }
    case EventType::kPaymentRefunded:
      row.payment.status = "refunded";
      break;
    case EventType::kInventoryReserved:
      row.reservation = {"reserved", lines(root<s::InventoryReserved>(e)->lines()), "", ""};
      if (is(row, "payment_processed")) move_to(row, "inventory_reserved", e);
      break;
    case EventType::kInventoryReservationFailed: {
      auto* t = root<s::InventoryReservationFailed>(e);
      row.reservation = {"failed", {}, str(t->reason()), str(t->sku())};
      if (is(row, "payment_processed")) {
        row.cancel_reason = "out_of_stock";
        move_to(row, "cancelling", e);
      }
      break;
    }
    case EventType::kInventoryReleased:
      row.reservation.status = "released";
      break;
    case EventType::kShipmentInitiated: {
      auto* t = root<s::ShipmentInitiated>(e);
      row.shipment = {"initiated", str(t->shipment_id()), str(t->country()), ""};
      row.cancel_reason.clear();
      move_to(row, "shipment_initiated", e);
      break;
    }
    case EventType::kShipmentFailed: {
      auto* t = root<s::ShipmentFailed>(e);
      row.shipment = {"failed", "", str(t->country()), str(t->reason())};
      if (is(row, "inventory_reserved")) {
        row.cancel_reason = "shipping_unavailable";
        move_to(row, "cancelling", e);
      }
      break;
    }
    case EventType::kOrderDelivered:
      move_to(row, "delivered", e);
      break;
    case EventType::kCancellationRequested:
      row.cancel_reason = str(root<s::CancellationRequested>(e)->reason());
      move_to(row, "cancelling", e);
      break;
    case EventType::kOrderCancelled:
      row.cancel_reason = str(root<s::OrderCancelled>(e)->reason());
      move_to(row, "cancelled", e);
      break;
    default:
      return cannot_apply(e, "not an event of an order's stream");
  }
  row.version = e.version();
  row.position = e.position();
  return Status::ok();
}

std::string to_json(const OrderRow& row) {
  ordered_json j;
  j["order_id"] = row.order_id;
  j["customer_id"] = row.customer_id;
  j["status"] = row.status;
  j["items"] = ordered_json::array();
  for (const auto& i : row.items) {
    j["items"].push_back({{"sku", i.sku}, {"quantity", i.quantity}, {"unit_price_cents", i.unit_price_cents}});
  }
  j["total_cents"] = row.total_cents;
  j["shipping_address"] = {{"country", row.country}, {"city", row.city}};
  ordered_json payment = {{"status", row.payment.status}, {"amount_cents", row.payment.amount_cents}};
  if (!row.payment.reason.empty()) payment["reason"] = row.payment.reason;
  j["payment"] = row.payment.status.empty() ? ordered_json(nullptr) : payment;
  ordered_json reservation = {{"status", row.reservation.status}, {"lines", ordered_json::array()}};
  for (const auto& l : row.reservation.lines) reservation["lines"].push_back({{"sku", l.sku}, {"quantity", l.quantity}});
  if (!row.reservation.reason.empty()) reservation["reason"] = row.reservation.reason;
  if (!row.reservation.sku.empty()) reservation["sku"] = row.reservation.sku;
  j["reservation"] = row.reservation.status.empty() ? ordered_json(nullptr) : reservation;
  ordered_json shipment = {{"status", row.shipment.status}, {"country", row.shipment.country}};
  if (!row.shipment.shipment_id.empty()) shipment["shipment_id"] = row.shipment.shipment_id;
  if (!row.shipment.reason.empty()) shipment["reason"] = row.shipment.reason;
  j["shipment"] = row.shipment.status.empty() ? ordered_json(nullptr) : shipment;
  j["cancel_reason"] = row.cancel_reason.empty() ? ordered_json(nullptr) : ordered_json(row.cancel_reason);
  j["history"] = ordered_json::array();
  for (const auto& c : row.history) {
    j["history"].push_back(
        {{"status", c.status}, {"position", c.position}, {"time", events::format_time_us(c.time_us)}, {"time_us", c.time_us}});
  }
  j["version"] = row.version;
  j["placed_position"] = row.placed_position;
  j["position"] = row.position;
  return j.dump();
}

std::string order_row_key(std::string_view order_id) { return "o/" + std::string(order_id); }

std::string order_rank(uint64_t placed_position) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(UINT64_MAX - placed_position));
  return buf;
}

Status project_orders(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  struct Touched {
    OrderRow row;
    std::string status_before;  // at the start of the batch; "" for a new order
  };
  std::map<std::string, Touched> touched;
  for (const auto& event : batch) {
    if (!is_order_stream_event(event)) continue;
    std::string order_id(event.stream().substr(6));
    auto it = touched.find(order_id);
    if (it == touched.end()) {
      auto stored = view.get(order_row_key(order_id));
      if (!stored) return stored.status();
      Touched t;
      if (*stored) {
        auto parsed = order_row_from_json(**stored);
        if (!parsed) {
          return Status::corruption(parsed.status().message() + " (order " + order_id + ")", event.position());
        }
        t.row = std::move(parsed).value();
        t.status_before = t.row.status;
      }
      it = touched.emplace(order_id, std::move(t)).first;
    }
    if (Status s = apply(it->second.row, event); !s) return s;
  }
  for (const auto& [order_id, t] : touched) {
    const OrderRow& row = t.row;
    std::string rank = order_rank(row.placed_position);
    if (t.status_before.empty()) {
      view.put("t/" + rank + "/" + order_id, "");
      view.put("c/" + row.customer_id + "/" + rank + "/" + order_id, "");
    }
    if (t.status_before != row.status) {
      if (!t.status_before.empty()) view.erase("s/" + t.status_before + "/" + rank + "/" + order_id);
      view.put("s/" + row.status + "/" + rank + "/" + order_id, "");
    }
    view.put(order_row_key(order_id), to_json(row));
  }
  return Status::ok();
}

Status project_order(const events::RecordedEvent& event, ViewBatch& view) {
  return project_orders(std::vector<events::RecordedEvent>{event}, view);
}

Result<OrderRow> order_row_from_json(std::string_view text) {
  auto j = ordered_json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("an order row that is not JSON", 0);
  try {
    OrderRow row;
    row.order_id = j.at("order_id");
    row.customer_id = j.at("customer_id");
    row.status = j.at("status");
    for (const auto& i : j.at("items")) row.items.push_back({i.at("sku"), i.at("quantity"), i.at("unit_price_cents")});
    row.total_cents = j.at("total_cents");
    row.country = j.at("shipping_address").at("country");
    row.city = j.at("shipping_address").at("city");
    if (const auto& p = j.at("payment"); !p.is_null()) {
      row.payment = {p.at("status"), p.at("amount_cents"), p.value("reason", "")};
    }
    if (const auto& r = j.at("reservation"); !r.is_null()) {
      row.reservation.status = r.at("status");
      for (const auto& l : r.at("lines")) row.reservation.lines.push_back({l.at("sku"), l.at("quantity")});
      row.reservation.reason = r.value("reason", "");
      row.reservation.sku = r.value("sku", "");
    }
    if (const auto& sh = j.at("shipment"); !sh.is_null()) {
      row.shipment = {sh.at("status"), sh.value("shipment_id", ""), sh.at("country"), sh.value("reason", "")};
    }
    if (!j.at("cancel_reason").is_null()) row.cancel_reason = j.at("cancel_reason");
    for (const auto& c : j.at("history")) row.history.push_back({c.at("status"), c.at("position"), c.at("time_us")});
    row.version = j.at("version");
    row.placed_position = j.at("placed_position");
    row.position = j.at("position");
    return row;
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("an order row is malformed: ") + e.what(), 0);
  }
}

}  // namespace ordersd::read
