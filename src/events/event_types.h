// The closed set of event types ordersd stores, with their stable stored names.
//
// A stored name ("order.placed.v1") is part of the on-disk format and never
// changes; the C++ enum and the schema table may be renamed freely. A new
// version of an event is a new stored name. Immutable tables: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ordersd::events {

enum class EventType : uint8_t {
  kOrderPlaced,
  kPaymentProcessed,
  kPaymentDeclined,
  kPaymentRefunded,
  kInventoryReserved,
  kInventoryReservationFailed,
  kInventoryReleased,
  kShipmentInitiated,
  kShipmentFailed,
  kOrderDelivered,
  kCancellationRequested,
  kOrderCancelled,
  kFundsDeposited,
  kStockRestocked,
  kStockReserved,
  kStockReleased,
  kStockShipped,
  kSagaChargeRequested,
  kSagaRefundRequested,
  kSagaReservationRequested,
  kSagaReleaseRequested,
  kSagaShipmentRequested,
  kSagaShipmentCancelRequested,
  kSagaStockShipRequested,
  kSagaCancelNoted,
  kSagaStuck,
  kSagaCompleted,
  kSagaRetryRequested,
  kComponentAction,
  kInventoryShipped,
  kAdminActionAudited,
};

struct EventTypeInfo {
  EventType type;
  std::string_view stored_name;  // e.g. "order.placed.v1"
  std::string_view table_name;   // the payload's table in schemas/order_events.fbs
  // Whether `payload` is a well-formed buffer of this type's table.
  bool (*verify_payload)(const uint8_t* data, size_t size);
};

std::span<const EventTypeInfo> all_event_types();
const EventTypeInfo& event_type_info(EventType type);
// nullptr for a name this build does not know.
const EventTypeInfo* find_event_type(std::string_view stored_name);

inline std::string_view stored_name(EventType type) { return event_type_info(type).stored_name; }

}  // namespace ordersd::events
