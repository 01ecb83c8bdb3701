#include "write/service_codec.h"

#include <flatbuffers/flatbuffers.h>

#include "events/event_types.h"
#include "events/payload.h"
#include "schema/order_events_generated.h"
#include "write/order_codec.h"
#include "write/overloaded.h"

namespace ordersd::write {

namespace {

namespace s = ordersd::schema;
using events::payload_root;
using events::string_of;
using events::EventType;
using flatbuffers::FlatBufferBuilder;

events::NewEvent finish(FlatBufferBuilder& fbb, EventType type, Uuid id, Uuid correlation_id, Uuid causation_id) {
  return {id, std::string(events::stored_name(type)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), correlation_id,
          causation_id};
}

Status not_ours(const events::RecordedEvent& r, const char* service) {
  return Status::invalid_argument("a " + std::string(r.type()) + " event is not a " + service + " event");
}

}  // namespace

std::string wallet_stream(std::string_view customer_id) { return "wallet-" + std::string(customer_id); }
std::string sku_stream(std::string_view sku) { return "sku-" + std::string(sku); }
std::string shipment_stream(std::string_view order_id) { return "shipment-" + std::string(order_id); }
std::string reservation_stream(std::string_view order_id) { return "reservation-" + std::string(order_id); }

events::NewEvent to_new_event(std::string_view customer_id, const WalletEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(128);
  auto customer = fbb.CreateString(customer_id.data(), customer_id.size());
  EventType type = std::visit(
      Overloaded{
          [&](const FundsDeposited& e) {
            fbb.Finish(s::CreateFundsDeposited(fbb, customer, e.amount_cents, e.balance_cents));
            return EventType::kFundsDeposited;
          },
          [&](const WalletCharged& e) {
            fbb.Finish(s::CreatePaymentProcessed(fbb, fbb.CreateString(e.order_id), customer, e.amount_cents));
            return EventType::kPaymentProcessed;
          },
          [&](const WalletDeclined& e) {
            fbb.Finish(s::CreatePaymentDeclined(fbb, fbb.CreateString(e.order_id), customer, e.amount_cents,
                                                fbb.CreateString(e.reason)));
            return EventType::kPaymentDeclined;
          },
          [&](const WalletRefunded& e) {
            fbb.Finish(s::CreatePaymentRefunded(fbb, fbb.CreateString(e.order_id), customer, e.amount_cents));
            return EventType::kPaymentRefunded;
          },
      },
      event);
  return finish(fbb, type, id, correlation_id, causation_id);
}

events::NewEvent to_new_event(std::string_view sku, const StockEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(128);
  auto name = fbb.CreateString(sku.data(), sku.size());
  auto movement = [&](const std::string& order_id, uint32_t quantity, EventType type) {
    fbb.Finish(s::CreateStockMovement(fbb, name, fbb.CreateString(order_id), quantity));
    return type;
  };
  EventType type = std::visit(
      Overloaded{
          [&](const StockRestocked& e) {
            fbb.Finish(s::CreateStockRestocked(fbb, name, e.quantity, e.available));
            return EventType::kStockRestocked;
          },
          [&](const StockReserved& e) { return movement(e.order_id, e.quantity, EventType::kStockReserved); },
          [&](const StockReleased& e) { return movement(e.order_id, e.quantity, EventType::kStockReleased); },
          [&](const StockShipped& e) { return movement(e.order_id, e.quantity, EventType::kStockShipped); },
      },
      event);
  return finish(fbb, type, id, correlation_id, causation_id);
}

events::NewEvent to_new_event(std::string_view order_id, const ShipmentEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  OrderEvent as_order = std::visit([](const auto& e) { return OrderEvent(e); }, event);
  return to_new_event(order_id, as_order, id, correlation_id, causation_id);
}

// The log verified each payload against its type when it read the record.
Result<WalletEvent> wallet_event_from(const events::RecordedEvent& r) {
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  if (!info) return not_ours(r, "wallet");
  switch (info->type) {
    case EventType::kFundsDeposited: {
      auto* t = payload_root<s::FundsDeposited>(r);
      return WalletEvent(FundsDeposited{t->amount_cents(), t->balance_cents()});
    }
    case EventType::kPaymentProcessed: {
      auto* t = payload_root<s::PaymentProcessed>(r);
      return WalletEvent(WalletCharged{string_of(t->order_id()), t->amount_cents()});
    }
    case EventType::kPaymentDeclined: {
      auto* t = payload_root<s::PaymentDeclined>(r);
      return WalletEvent(WalletDeclined{string_of(t->order_id()), t->amount_cents(), string_of(t->reason())});
    }
    case EventType::kPaymentRefunded: {
      auto* t = payload_root<s::PaymentRefunded>(r);
      return WalletEvent(WalletRefunded{string_of(t->order_id()), t->amount_cents()});
    }
    default:
      return not_ours(r, "wallet");
  }
}

Result<StockEvent> stock_event_from(const events::RecordedEvent& r) {
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  if (!info) return not_ours(r, "stock");
  switch (info->type) {
    case EventType::kStockRestocked: {
      auto* t = payload_root<s::StockRestocked>(r);
      return StockEvent(StockRestocked{t->quantity(), t->available()});
    }
    case EventType::kStockReserved: {
      auto* t = payload_root<s::StockMovement>(r);
      return StockEvent(StockReserved{string_of(t->order_id()), t->quantity()});
    }
    case EventType::kStockReleased: {
      auto* t = payload_root<s::StockMovement>(r);
      return StockEvent(StockReleased{string_of(t->order_id()), t->quantity()});
    }
    case EventType::kStockShipped: {
      auto* t = payload_root<s::StockMovement>(r);
      return StockEvent(StockShipped{string_of(t->order_id()), t->quantity()});
    }
    default:
      return not_ours(r, "stock");
  }
}

Result<ShipmentEvent> shipment_event_from(const events::RecordedEvent& r) {
  auto event = order_event_from(r);
  if (!event) return event.status();
  if (auto* e = std::get_if<ShipmentInitiated>(&*event)) return ShipmentEvent(*e);
  if (auto* e = std::get_if<ShipmentFailed>(&*event)) return ShipmentEvent(*e);
  return not_ours(r, "shipment");
}

}  // namespace ordersd::write
