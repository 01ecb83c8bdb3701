#include "write/domain/order_codec.h"

#include <flatbuffers/flatbuffers.h>

#include "events/event_types.h"
#include "events/payload.h"
#include "schema/order_events_generated.h"
#include "write/domain/overloaded.h"

namespace ordersd::write {

namespace {

namespace s = ordersd::schema;
using events::payload_root;
using events::string_of;
using events::EventType;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<flatbuffers::Vector<Offset<s::ReservedLine>>> stock_lines(FlatBufferBuilder& fbb,
                                                                  const std::vector<StockLine>& lines) {
  std::vector<Offset<s::ReservedLine>> out;
  for (const auto& l : lines) out.push_back(s::CreateReservedLine(fbb, fbb.CreateString(l.sku), l.quantity));
  return fbb.CreateVector(out);
}

std::vector<StockLine> stock_lines(const flatbuffers::Vector<Offset<s::ReservedLine>>* lines) {
  std::vector<StockLine> out;
  if (lines) {
    for (const auto* l : *lines) out.push_back({string_of(l->sku()), l->quantity()});
  }
  return out;
}

// Builds the payload of `event` into `fbb`; returns its stored type.
EventType build(FlatBufferBuilder& fbb, std::string_view order_id, const OrderEvent& event) {
  auto id = fbb.CreateString(order_id.data(), order_id.size());
  return std::visit(
      Overloaded{
          [&](const OrderPlaced& e) {
            std::vector<Offset<s::OrderLine>> items;
            for (const auto& l : e.items) {
              items.push_back(s::CreateOrderLine(fbb, fbb.CreateString(l.sku), l.quantity, l.unit_price_cents));
            }
            const Address& a = e.shipping_address;
            auto address = s::CreateAddress(fbb, fbb.CreateString(a.country), fbb.CreateString(a.city),
                                            fbb.CreateString(a.line1), fbb.CreateString(a.postal_code));
            fbb.Finish(s::CreateOrderPlaced(fbb, id, fbb.CreateString(e.customer_id), fbb.CreateVector(items),
                                            address, e.total_cents));
            return EventType::kOrderPlaced;
          },
          [&](const PaymentProcessed& e) {
            fbb.Finish(s::CreatePaymentProcessed(fbb, id, 0, e.amount_cents));
            return EventType::kPaymentProcessed;
          },
          [&](const PaymentDeclined& e) {
            fbb.Finish(s::CreatePaymentDeclined(fbb, id, 0, e.amount_cents, fbb.CreateString(e.reason)));
            return EventType::kPaymentDeclined;
          },
          [&](const PaymentRefunded& e) {
            fbb.Finish(s::CreatePaymentRefunded(fbb, id, 0, e.amount_cents));
            return EventType::kPaymentRefunded;
          },
          [&](const InventoryReserved& e) {
            fbb.Finish(s::CreateInventoryReserved(fbb, id, stock_lines(fbb, e.lines)));
            return EventType::kInventoryReserved;
          },
          [&](const InventoryReservationFailed& e) {
            fbb.Finish(s::CreateInventoryReservationFailed(fbb, id, fbb.CreateString(e.sku), e.requested, e.available,
                                                           fbb.CreateString(e.reason)));
            return EventType::kInventoryReservationFailed;
          },
          [&](const InventoryReleased& e) {
            fbb.Finish(s::CreateInventoryReleased(fbb, id, stock_lines(fbb, e.lines)));
            return EventType::kInventoryReleased;
          },
          [&](const ShipmentInitiated& e) {
            fbb.Finish(
                s::CreateShipmentInitiated(fbb, id, fbb.CreateString(e.shipment_id), fbb.CreateString(e.country)));
            return EventType::kShipmentInitiated;
          },
          [&](const ShipmentFailed& e) {
            fbb.Finish(s::CreateShipmentFailed(fbb, id, fbb.CreateString(e.country), fbb.CreateString(e.reason)));
            return EventType::kShipmentFailed;
          },
          [&](const OrderDelivered&) {
            fbb.Finish(s::CreateOrderDelivered(fbb, id));
            return EventType::kOrderDelivered;
          },
          [&](const CancellationRequested& e) {
            fbb.Finish(s::CreateCancellationRequested(fbb, id, fbb.CreateString(e.reason)));
            return EventType::kCancellationRequested;
          },
          [&](const OrderCancelled& e) {
            fbb.Finish(s::CreateOrderCancelled(fbb, id, fbb.CreateString(e.reason)));
            return EventType::kOrderCancelled;
          },
      },
      event);
}

}  // namespace

std::string order_stream(std::string_view order_id) { return "order-" + std::string(order_id); }

events::NewEvent to_new_event(std::string_view order_id, const OrderEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(256);
  EventType type = build(fbb, order_id, event);
  return {id, std::string(events::stored_name(type)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), correlation_id,
          causation_id};
}

events::NewEvent to_new_event(std::string_view order_id, const InventoryShipped& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(256);
  fbb.Finish(s::CreateInventoryShipped(fbb, fbb.CreateString(order_id.data(), order_id.size()),
                                       stock_lines(fbb, event.lines)));
  return {id, std::string(events::stored_name(EventType::kInventoryShipped)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), correlation_id,
          causation_id};
}

Result<InventoryShipped> inventory_shipped_from(const events::RecordedEvent& recorded) {
  if (recorded.type() != events::stored_name(EventType::kInventoryShipped)) {
    return Status::invalid_argument("not an inventory.shipped.v1 event: '" + std::string(recorded.type()) + "'");
  }
  return InventoryShipped{stock_lines(payload_root<s::InventoryShipped>(recorded)->lines())};
}

// The log verified the payload against its type when it read the record.
Result<OrderEvent> order_event_from(const events::RecordedEvent& recorded) {
  const events::EventTypeInfo* info = events::find_event_type(recorded.type());
  if (!info) return Status::invalid_argument("unknown event type '" + std::string(recorded.type()) + "'");
  switch (info->type) {
    case EventType::kOrderPlaced: {
      auto* t = payload_root<s::OrderPlaced>(recorded);
      OrderPlaced e{string_of(t->order_id()), string_of(t->customer_id()), {}, {}, t->total_cents()};
      if (t->items()) {
        for (const auto* l : *t->items()) e.items.push_back({string_of(l->sku()), l->quantity(), l->unit_price_cents()});
      }
      if (const auto* a = t->shipping_address()) {
        e.shipping_address = {string_of(a->country()), string_of(a->city()), string_of(a->line1()), string_of(a->postal_code())};
      }
      return OrderEvent(std::move(e));
    }
    case EventType::kPaymentProcessed:
      return OrderEvent(PaymentProcessed{payload_root<s::PaymentProcessed>(recorded)->amount_cents()});
    case EventType::kPaymentDeclined: {
      auto* t = payload_root<s::PaymentDeclined>(recorded);
      return OrderEvent(PaymentDeclined{t->amount_cents(), string_of(t->reason())});
    }
    case EventType::kPaymentRefunded:
      return OrderEvent(PaymentRefunded{payload_root<s::PaymentRefunded>(recorded)->amount_cents()});
    case EventType::kInventoryReserved:
      return OrderEvent(InventoryReserved{stock_lines(payload_root<s::InventoryReserved>(recorded)->lines())});
    case EventType::kInventoryReservationFailed: {
      auto* t = payload_root<s::InventoryReservationFailed>(recorded);
      return OrderEvent(InventoryReservationFailed{string_of(t->sku()), t->requested(), t->available(), string_of(t->reason())});
    }
    case EventType::kInventoryReleased:
      return OrderEvent(InventoryReleased{stock_lines(payload_root<s::InventoryReleased>(recorded)->lines())});
    case EventType::kShipmentInitiated: {
      auto* t = payload_root<s::ShipmentInitiated>(recorded);
      return OrderEvent(ShipmentInitiated{string_of(t->shipment_id()), string_of(t->country())});
    }
    case EventType::kShipmentFailed: {
      auto* t = payload_root<s::ShipmentFailed>(recorded);
      return OrderEvent(ShipmentFailed{string_of(t->country()), string_of(t->reason())});
    }
    case EventType::kOrderDelivered:
      return OrderEvent(OrderDelivered{});
    case EventType::kCancellationRequested:
      return OrderEvent(CancellationRequested{string_of(payload_root<s::CancellationRequested>(recorded)->reason())});
    case EventType::kOrderCancelled:
      return OrderEvent(OrderCancelled{string_of(payload_root<s::OrderCancelled>(recorded)->reason())});
    case EventType::kFundsDeposited:
    case EventType::kStockRestocked:
    case EventType::kStockReserved:
    case EventType::kStockReleased:
    case EventType::kStockShipped:
    case EventType::kSagaChargeRequested:
    case EventType::kSagaRefundRequested:
    case EventType::kSagaReservationRequested:
    case EventType::kSagaReleaseRequested:
    case EventType::kSagaShipmentRequested:
    case EventType::kSagaShipmentCancelRequested:
    case EventType::kSagaStockShipRequested:
    case EventType::kSagaCancelNoted:
    case EventType::kSagaStuck:
    case EventType::kSagaCompleted:
    case EventType::kSagaRetryRequested:
    case EventType::kComponentAction:
    case EventType::kInventoryShipped:
    case EventType::kAdminActionAudited:
      break;  // the services' and the saga's own events, never in an order's stream
  }
  return Status::invalid_argument("not an order event: '" + std::string(recorded.type()) + "'");
}

}  // namespace ordersd::write
