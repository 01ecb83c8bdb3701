#include "read/order_view.h"

#include <flatbuffers/flatbuffers.h>

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "events/event_json.h"
#include "events/event_types.h"
#include "events/order_lifecycle.h"
#include "events/payload.h"
#include "events/json_writer.h"
#include "schema/order_events_generated.h"

namespace ordersd::read {

namespace {

namespace s = ordersd::schema;
using events::payload_root;
using events::string_of;
using events::EventType;
using events::OrderStatus;
using nlohmann::ordered_json;

std::vector<OrderRow::Line> lines(const flatbuffers::Vector<flatbuffers::Offset<s::ReservedLine>>* in) {
  std::vector<OrderRow::Line> out;
  if (in) {
    for (const auto* l : *in) out.push_back({string_of(l->sku()), l->quantity()});
  }
  return out;
}

Status cannot_apply(const events::RecordedEvent& e, const std::string& why) {
  return Status::corruption("the order view cannot apply the " + std::string(e.type()) + " event at position " +
                                std::to_string(e.position()) + ": " + why,
                            e.position());
}

void move_to(OrderRow& row, OrderStatus status, const events::RecordedEvent& e) {
  std::string_view name = events::order_status_name(status);
  if (row.status == name) return;
  row.status = name;
  row.history.push_back({row.status, e.position(), e.time_us()});
}

}  // namespace

bool is_order_stream_event(const events::RecordedEvent& event) { return event.stream().substr(0, 6) == "order-"; }

std::optional<OrderStatus> order_status(const OrderRow& row) {
  if (row.status.empty()) return OrderStatus::kNone;
  return events::parse_order_status(row.status);
}

Status apply(OrderRow& row, const events::RecordedEvent& e) {
  const events::EventTypeInfo* info = events::find_event_type(e.type());
  if (!info) return cannot_apply(e, "unknown type");
  if (e.version() != row.version + 1) {
    return cannot_apply(e, "it is version " + std::to_string(e.version()) + " and the row is at version " +
                               std::to_string(row.version));
  }
  if (row.version == 0 && info->type != EventType::kOrderPlaced) return cannot_apply(e, "the order was never placed");
  std::optional<OrderStatus> status = order_status(row);
  if (!status) return cannot_apply(e, "the row's status \"" + row.status + "\" is not an order's status");
  // The status this event moves the order to, as the order's life has it
  // (events/order_lifecycle.h); nullopt when it stays. Outcomes arriving
  // while cancelling move nothing.
  std::optional<OrderStatus> next = events::next_order_status(*status, info->type);
  switch (info->type) {
    case EventType::kOrderPlaced: {
      if (row.version != 0) return cannot_apply(e, "the order was placed before");
      auto* t = payload_root<s::OrderPlaced>(e);
      row.order_id = string_of(t->order_id());
      row.customer_id = string_of(t->customer_id());
      if (t->items()) {
        for (const auto* i : *t->items()) row.items.push_back({string_of(i->sku()), i->quantity(), i->unit_price_cents()});
      }
      if (const auto* a = t->shipping_address()) {
        row.country = string_of(a->country());
        row.city = string_of(a->city());
      }
      row.total_cents = t->total_cents();
      row.placed_position = e.position();
      break;
    }
    case EventType::kPaymentProcessed:
      row.payment = {"charged", payload_root<s::PaymentProcessed>(e)->amount_cents(), ""};
      break;
    case EventType::kPaymentDeclined: {
      auto* t = payload_root<s::PaymentDeclined>(e);
      row.payment = {"declined", t->amount_cents(), string_of(t->reason())};
      if (next) row.cancel_reason = "payment_declined";
      break;
    }
    case EventType::kPaymentRefunded:
      row.payment.status = "refunded";
      break;
    case EventType::kInventoryReserved:
      row.reservation = {"reserved", lines(payload_root<s::InventoryReserved>(e)->lines()), "", ""};
      break;
    case EventType::kInventoryReservationFailed: {
      auto* t = payload_root<s::InventoryReservationFailed>(e);
      row.reservation = {"failed", {}, string_of(t->reason()), string_of(t->sku())};
      if (next) row.cancel_reason = "out_of_stock";
      break;
    }
    case EventType::kInventoryReleased:
      row.reservation.status = "released";
      break;
    case EventType::kShipmentInitiated: {
      auto* t = payload_root<s::ShipmentInitiated>(e);
      row.shipment = {"initiated", string_of(t->shipment_id()), string_of(t->country()), ""};
      row.cancel_reason.clear();
      break;
    }
    case EventType::kShipmentFailed: {
      auto* t = payload_root<s::ShipmentFailed>(e);
      row.shipment = {"failed", "", string_of(t->country()), string_of(t->reason())};
      if (next) row.cancel_reason = "shipping_unavailable";
      break;
    }
    case EventType::kOrderDelivered:
      break;
    case EventType::kCancellationRequested:
      row.cancel_reason = string_of(payload_root<s::CancellationRequested>(e)->reason());
      break;
    case EventType::kOrderCancelled:
      row.cancel_reason = string_of(payload_root<s::OrderCancelled>(e)->reason());
      break;
    default:
      return cannot_apply(e, "not an event of an order's stream");
  }
  if (next) move_to(row, *next, e);
  row.version = e.version();
  row.position = e.position();
  return Status::ok();
}

std::string to_json(const OrderRow& row) {
  JsonWriter w(512 + row.history.size() * 96 + row.items.size() * 64);
  w.open('{');
  w.key("order_id").string(row.order_id);
  w.key("customer_id").string(row.customer_id);
  w.key("status").string(row.status);
  w.key("items").open('[');
  for (const auto& i : row.items) {
    w.open('{').key("sku").string(i.sku).key("quantity").number(i.quantity);
    w.key("unit_price_cents").number(i.unit_price_cents).close('}');
  }
  w.close(']');
  w.key("total_cents").number(row.total_cents);
  w.key("shipping_address").open('{').key("country").string(row.country).key("city").string(row.city).close('}');
  w.key("payment");
  if (row.payment.status.empty()) {
    w.null();
  } else {
    w.open('{').key("status").string(row.payment.status).key("amount_cents").number(row.payment.amount_cents);
    if (!row.payment.reason.empty()) w.key("reason").string(row.payment.reason);
    w.close('}');
  }
  w.key("reservation");
  if (row.reservation.status.empty()) {
    w.null();
  } else {
    w.open('{').key("status").string(row.reservation.status).key("lines").open('[');
    for (const auto& l : row.reservation.lines) {
      w.open('{').key("sku").string(l.sku).key("quantity").number(l.quantity).close('}');
    }
    w.close(']');
    if (!row.reservation.reason.empty()) w.key("reason").string(row.reservation.reason);
    if (!row.reservation.sku.empty()) w.key("sku").string(row.reservation.sku);
    w.close('}');
  }
  w.key("shipment");
  if (row.shipment.status.empty()) {
    w.null();
  } else {
    w.open('{').key("status").string(row.shipment.status).key("country").string(row.shipment.country);
    if (!row.shipment.shipment_id.empty()) w.key("shipment_id").string(row.shipment.shipment_id);
    if (!row.shipment.reason.empty()) w.key("reason").string(row.shipment.reason);
    w.close('}');
  }
  w.key("cancel_reason");
  if (row.cancel_reason.empty()) w.null();
  else w.string(row.cancel_reason);
  w.key("history").open('[');
  for (const auto& c : row.history) {
    w.open('{').key("status").string(c.status).key("time").string(events::format_time_us(c.time_us));
    w.key("position").number(c.position).close('}');
  }
  w.close(']');
  w.key("version").number(row.version);
  w.key("placed_position").number(row.placed_position);
  w.key("position").number(row.position);
  w.close('}');
  return w.take();
}

std::string order_answer(std::string stored) {
  // Only rows written before history entries lost `time_us` hold the key
  // (ids cannot hold a '"', and a quote inside a city is escaped).
  if (stored.find("\"time_us\":") == std::string::npos) return stored;
  auto row = order_row_from_json(stored);
  if (!row) return stored;  // a damaged row is answered as it is, as always
  return to_json(*row);
}

std::string order_row_key(std::string_view order_id) { return "o/" + std::string(order_id); }

std::string order_rank(uint64_t placed_position) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(UINT64_MAX - placed_position));
  return buf;
}

namespace {
bool is_finished(const OrderRow& row) {
  std::optional<OrderStatus> status = order_status(row);
  return status == OrderStatus::kCancelled || status == OrderStatus::kDelivered;
}
}  // namespace

Status OrderProjection::operator()(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  Status s = apply_batch(batch, view);
  if (!s) rows_.clear();  // some rows may hold part of the refused batch
  return s;
}

Status OrderProjection::apply_batch(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  std::vector<std::pair<const std::string, Known>*> touched;
  for (const auto& event : batch) {
    if (!is_order_stream_event(event)) continue;
    std::string order_id(event.stream().substr(6));
    auto it = rows_.find(order_id);
    if (it == rows_.end()) {
      Known known;
      // An order's first event starts its row: there is nothing to read.
      Result<std::optional<std::string>> stored = std::optional<std::string>();
      if (event.version() != 1) stored = view.get(order_row_key(order_id));
      if (!stored) return stored.status();
      if (*stored) {
        auto parsed = order_row_from_json(**stored);
        if (!parsed) {
          return Status::corruption(parsed.status().message() + " (order " + order_id + ")", event.position());
        }
        known.row = std::move(parsed).value();
        known.stored_status = known.row.status;
      }
      it = rows_.emplace(std::move(order_id), std::move(known)).first;
    }
    if (!it->second.touched) {
      it->second.touched = true;
      touched.push_back(&*it);
    }
    if (Status s = apply(it->second.row, event); !s) return s;
  }
  for (auto* entry : touched) {
    const std::string& order_id = entry->first;
    Known& known = entry->second;
    const OrderRow& row = known.row;
    std::string rank = order_rank(row.placed_position);
    if (known.stored_status.empty()) {
      view.put("t/" + rank + "/" + order_id, "");
      view.put("c/" + row.customer_id + "/" + rank + "/" + order_id, "");
    }
    if (known.stored_status != row.status) {
      if (!known.stored_status.empty()) view.erase("s/" + known.stored_status + "/" + rank + "/" + order_id);
      view.put("s/" + row.status + "/" + rank + "/" + order_id, "");
    }
    view.put(order_row_key(order_id), to_json(row));
    known.stored_status = row.status;
    known.touched = false;
  }
  // Finished orders take no more events; the rest stay until there are too
  // many, and then those whose shipment is initiated go first (they change
  // only when someone delivers or cancels them), then, if need be, all.
  if (rows_.size() > kRowsKept) {
    std::erase_if(rows_, [](const auto& kv) {
      return order_status(kv.second.row) == OrderStatus::kShipmentInitiated;
    });
    if (rows_.size() > kRowsKept / 2) rows_.clear();
  } else {
    for (auto* entry : touched) {
      if (is_finished(entry->second.row)) rows_.erase(rows_.find(entry->first));
    }
  }
  return Status::ok();
}

Projector::Apply order_projection() {
  auto projection = std::make_shared<OrderProjection>();
  return [projection](const std::vector<events::RecordedEvent>& batch, ViewBatch& view) { return (*projection)(batch, view); };
}

Status project_orders(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  return OrderProjection()(batch, view);
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
    for (const auto& c : j.at("history")) {
      // Rows written before the answers dropped `time_us` carry both; newer ones `time` alone.
      int64_t time_us = 0;
      if (auto us = c.find("time_us"); us != c.end()) {
        time_us = *us;
      } else {
        auto parsed = events::parse_time_us(c.at("time").get<std::string>());
        if (!parsed) return Status::corruption("an order row's history holds a time that is not RFC 3339", 0);
        time_us = *parsed;
      }
      row.history.push_back({c.at("status"), c.at("position"), time_us});
    }
    row.version = j.at("version");
    row.placed_position = j.at("placed_position");
    row.position = j.at("position");
    return row;
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("an order row is malformed: ") + e.what(), 0);
  }
}

}  // namespace ordersd::read
