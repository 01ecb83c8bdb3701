// The inventory service's stock of one sku, as a Decider over the stream
// sku-{sku}.
//
//   restock(quantity)        -> StockRestocked
//   reserve(order, quantity) -> StockReserved; refused when fewer are available;
//                               nothing if this order holds a reservation of
//                               this sku now (a redelivery)
//   release(order)           -> StockReleased of the order's reservation; nothing
//                               if it holds none
//   ship(order)              -> StockShipped: the reservation becomes shipped stock;
//                               nothing if it holds none
//
// An order's reservation of several skus is all or nothing: the inventory
// service decides each sku, and only when every one accepts appends them all
// in one multi-stream append, each at the version it decided on.
// Invariant: restocked = available + reserved + shipped. Pure; plain values.
//
// The state remembers only the reservations held now, so it is bounded by the
// orders in flight. That an order reserves at most once, even after its stock
// was released or shipped, is its reservation stream's to say: the inventory
// service asks a sku to reserve only for an order whose reservation was never
// decided (reservation.h), and that stream is the order's alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace ordersd::write {

inline constexpr uint64_t kMaxRestock = 1'000'000'000;  // per restock

struct StockRestocked {
  uint64_t quantity = 0;
  uint64_t available = 0;  // after the restock
  friend bool operator==(const StockRestocked&, const StockRestocked&) = default;
};
struct StockReserved {
  std::string order_id;
  uint32_t quantity = 0;
  friend bool operator==(const StockReserved&, const StockReserved&) = default;
};
struct StockReleased {
  std::string order_id;
  uint32_t quantity = 0;
  friend bool operator==(const StockReleased&, const StockReleased&) = default;
};
struct StockShipped {
  std::string order_id;
  uint32_t quantity = 0;
  friend bool operator==(const StockShipped&, const StockShipped&) = default;
};
using StockEvent = std::variant<StockRestocked, StockReserved, StockReleased, StockShipped>;

struct Restock {
  uint64_t quantity = 0;  // 1..kMaxRestock
};
struct Reserve {
  std::string order_id;
  uint32_t quantity = 0;
};
struct Release {
  std::string order_id;
};
struct Ship {
  std::string order_id;
};
using StockCommand = std::variant<Restock, Reserve, Release, Ship>;

struct StockState {
  uint64_t version = 0;
  uint64_t restocked = 0;  // ever
  uint64_t available = 0;
  uint64_t reserved = 0;
  uint64_t shipped = 0;
  std::map<std::string, uint32_t> reservations;  // order -> units held now
  friend bool operator==(const StockState&, const StockState&) = default;
};

struct StockRefusal {
  enum class Kind { kInvalid, kInsufficient } kind;
  uint64_t available = 0;  // for kInsufficient
  std::string message;
};

using StockDecision = std::variant<std::vector<StockEvent>, StockRefusal>;

StockDecision decide(const StockState& state, const StockCommand& command);
StockState evolve(StockState state, const StockEvent& event);

}  // namespace ordersd::write
