// The payment, inventory and shipping services' events to and from the log's
// stored form. Wallet charges, declines and refunds are stored under the
// same type names as their order-facing outcomes (payment.processed.v1, ...),
// with the customer filled in. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/event.h"
#include "events/status.h"
#include "write/domain/shipping.h"
#include "write/domain/stock.h"
#include "write/domain/wallet.h"

namespace ordersd::write {

std::string wallet_stream(std::string_view customer_id);  // "wallet-" + id
std::string sku_stream(std::string_view sku);             // "sku-" + sku
std::string shipment_stream(std::string_view order_id);   // "shipment-" + id
std::string reservation_stream(std::string_view order_id);  // "reservation-" + id

events::NewEvent to_new_event(std::string_view customer_id, const WalletEvent& event, Uuid id,
                              Uuid correlation_id = {}, Uuid causation_id = {});
events::NewEvent to_new_event(std::string_view sku, const StockEvent& event, Uuid id, Uuid correlation_id = {},
                              Uuid causation_id = {});
events::NewEvent to_new_event(std::string_view order_id, const ShipmentEvent& event, Uuid id,
                              Uuid correlation_id = {}, Uuid causation_id = {});

// kInvalidArgument for a type that is not one of the service's events.
Result<WalletEvent> wallet_event_from(const events::RecordedEvent& recorded);
Result<StockEvent> stock_event_from(const events::RecordedEvent& recorded);
Result<ShipmentEvent> shipment_event_from(const events::RecordedEvent& recorded);

// Snapshots of a wallet's and a sku's state (fold.h), and the payment
// service's record of one order (payment_participant.cpp), in a compact
// binary form that starts with a format byte. The decoders give nullopt for
// bytes that are not one (damaged, or a format this build does not know):
// the caller then folds the stream, or reads the wallet's events, instead.
std::string encode_snapshot(const WalletState& state);
std::optional<WalletState> wallet_snapshot_from(std::string_view bytes);
std::string encode_snapshot(const StockState& state);
std::optional<StockState> stock_snapshot_from(std::string_view bytes);
std::string encode_order_payment(const OrderPayment& payment);
std::optional<OrderPayment> order_payment_from(std::string_view bytes);

}  // namespace ordersd::write
