#include "events/event_types.h"

#include <flatbuffers/flatbuffers.h>

#include "schema/order_events_generated.h"

namespace ordersd::events {

namespace {

template <typename Table>
bool verify_table(const uint8_t* data, size_t size) {
  flatbuffers::Verifier verifier(data, size);
  return verifier.VerifyBuffer<Table>(nullptr);
}

namespace s = ordersd::schema;

// Stored names are the on-disk contract: never edit one, add a new entry.
constexpr EventTypeInfo kTypes[] = {
    {EventType::kOrderPlaced, "order.placed.v1", "OrderPlaced", verify_table<s::OrderPlaced>},
    {EventType::kPaymentProcessed, "payment.processed.v1", "PaymentProcessed", verify_table<s::PaymentProcessed>},
    {EventType::kPaymentDeclined, "payment.declined.v1", "PaymentDeclined", verify_table<s::PaymentDeclined>},
    {EventType::kPaymentRefunded, "payment.refunded.v1", "PaymentRefunded", verify_table<s::PaymentRefunded>},
    {EventType::kInventoryReserved, "inventory.reserved.v1", "InventoryReserved", verify_table<s::InventoryReserved>},
    {EventType::kInventoryReservationFailed, "inventory.reservation_failed.v1", "InventoryReservationFailed",
     verify_table<s::InventoryReservationFailed>},
    {EventType::kInventoryReleased, "inventory.released.v1", "InventoryReleased", verify_table<s::InventoryReleased>},
    {EventType::kShipmentInitiated, "shipment.initiated.v1", "ShipmentInitiated", verify_table<s::ShipmentInitiated>},
    {EventType::kShipmentFailed, "shipment.failed.v1", "ShipmentFailed", verify_table<s::ShipmentFailed>},
    {EventType::kOrderDelivered, "order.delivered.v1", "OrderDelivered", verify_table<s::OrderDelivered>},
    {EventType::kCancellationRequested, "order.cancellation_requested.v1", "CancellationRequested",
     verify_table<s::CancellationRequested>},
    {EventType::kOrderCancelled, "order.cancelled.v1", "OrderCancelled", verify_table<s::OrderCancelled>},
    {EventType::kFundsDeposited, "payment.funds_deposited.v1", "FundsDeposited", verify_table<s::FundsDeposited>},
    {EventType::kStockRestocked, "inventory.restocked.v1", "StockRestocked", verify_table<s::StockRestocked>},
    {EventType::kStockReserved, "inventory.stock_reserved.v1", "StockMovement", verify_table<s::StockMovement>},
    {EventType::kStockReleased, "inventory.stock_released.v1", "StockMovement", verify_table<s::StockMovement>},
    {EventType::kStockShipped, "inventory.stock_shipped.v1", "StockMovement", verify_table<s::StockMovement>},
    {EventType::kSagaChargeRequested, "saga.charge_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaRefundRequested, "saga.refund_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaReservationRequested, "saga.reservation_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaReleaseRequested, "saga.release_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaShipmentRequested, "saga.shipment_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaShipmentCancelRequested, "saga.shipment_cancel_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaStockShipRequested, "saga.stock_ship_requested.v1", "SagaStepRequested",
     verify_table<s::SagaStepRequested>},
    {EventType::kSagaCancelNoted, "saga.cancel_requested.v1", "SagaCancelNoted", verify_table<s::SagaCancelNoted>},
    {EventType::kSagaStuck, "saga.stuck.v1", "SagaStuck", verify_table<s::SagaStuck>},
    {EventType::kSagaCompleted, "saga.completed.v1", "SagaCompleted", verify_table<s::SagaCompleted>},
    {EventType::kSagaRetryRequested, "saga.retry_requested.v1", "SagaRetryRequested",
     verify_table<s::SagaRetryRequested>},
    {EventType::kComponentAction, "operator.component_action.v1", "ComponentAction",
     verify_table<s::ComponentAction>},
    {EventType::kInventoryShipped, "inventory.shipped.v1", "InventoryShipped", verify_table<s::InventoryShipped>},
    {EventType::kAdminActionAudited, "operator.action_audited.v1", "AdminActionAudited",
     verify_table<s::AdminActionAudited>},
};

}  // namespace

std::span<const EventTypeInfo> all_event_types() { return kTypes; }

const EventTypeInfo& event_type_info(EventType type) { return kTypes[static_cast<size_t>(type)]; }

const EventTypeInfo* find_event_type(std::string_view stored_name) {
  for (const auto& info : kTypes) {
    if (info.stored_name == stored_name) return &info;
  }
  return nullptr;
}

}  // namespace ordersd::events
