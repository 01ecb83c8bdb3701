// The inventory service's reservation of one order, as a Decider over the
// stream reservation-{order_id} together with the stock of every sku the
// order names (stock.h).
//
//   reserve(order, lines) -> InventoryReserved here and StockReserved on every
//                            sku, when every sku has the units; else
//                            InventoryReservationFailed naming the first sku
//                            short ("out_of_stock") and nothing on any sku;
//                            nothing if this order's reservation was decided before
//   release(order)        -> InventoryReleased here and StockReleased on every
//                            sku still held; InventoryReleased with no lines
//                            when nothing was decided yet (the order is voided:
//                            a late reserve does nothing); nothing otherwise
//   ship(order)           -> InventoryShipped here and StockShipped on every
//                            sku still held: the reservation becomes shipped
//                            stock; nothing if it is not held (shipped already,
//                            released, failed or never made)
//
// The caller appends the reservation's and the skus' events in one atomic
// multi-stream append, each stream at the version it decided on: all lines
// or none. Pure; plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "write/domain/order.h"
#include "write/domain/stock.h"

namespace ordersd::write {

using ReservationEvent = std::variant<InventoryReserved, InventoryReservationFailed, InventoryReleased, InventoryShipped>;

struct ReservationState {
  enum class Status { kNone, kHeld, kFailed, kReleased, kShipped };
  Status status = Status::kNone;
  uint64_t version = 0;
  std::vector<StockLine> lines;  // what was reserved
  friend bool operator==(const ReservationState&, const ReservationState&) = default;
};

struct ReserveStock {
  std::string order_id;
  std::vector<StockLine> lines;  // one per sku
};
struct ReleaseStock {
  std::string order_id;
};
struct ShipStock {
  std::string order_id;
};
using ReservationCommand = std::variant<ReserveStock, ReleaseStock, ShipStock>;

// The stock of the skus a command names, as the caller loaded them.
using SkuStates = std::map<std::string, const StockState*, std::less<>>;

struct ReservationDecision {
  std::vector<ReservationEvent> reservation;
  std::vector<std::pair<std::string, StockEvent>> stock;  // (sku, event)
  bool empty() const { return reservation.empty() && stock.empty(); }
};

// The skus `command` touches, given the reservation's state.
std::vector<std::string> skus_of(const ReservationState& state, const ReservationCommand& command);

ReservationDecision decide(const ReservationState& state, const ReservationCommand& command, const SkuStates& skus);
ReservationState evolve(ReservationState state, const ReservationEvent& event);

}  // namespace ordersd::write
