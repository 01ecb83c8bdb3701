#include "write/domain/stock.h"

#include "write/domain/overloaded.h"

namespace ordersd::write {

StockDecision decide(const StockState& state, const StockCommand& command) {
  return std::visit(
      Overloaded{
          [&](const Restock& c) -> StockDecision {
            if (c.quantity == 0 || c.quantity > kMaxRestock) {
              return StockRefusal{StockRefusal::Kind::kInvalid, 0,
                                  "a restock is 1 to " + std::to_string(kMaxRestock) + " units"};
            }
            return std::vector<StockEvent>{StockRestocked{c.quantity, state.available + c.quantity}};
          },
          [&](const Reserve& c) -> StockDecision {
            if (c.quantity == 0) return StockRefusal{StockRefusal::Kind::kInvalid, 0, "a reservation needs units"};
            if (state.reservations.count(c.order_id)) {
              return std::vector<StockEvent>{};  // reserved before: a redelivery
            }
            if (state.available < c.quantity) {
              return StockRefusal{StockRefusal::Kind::kInsufficient, state.available,
                                  std::to_string(c.quantity) + " requested, " + std::to_string(state.available) +
                                      " available"};
            }
            return std::vector<StockEvent>{StockReserved{c.order_id, c.quantity}};
          },
          [&](const Release& c) -> StockDecision {
            auto it = state.reservations.find(c.order_id);
            if (it == state.reservations.end()) return std::vector<StockEvent>{};
            return std::vector<StockEvent>{StockReleased{c.order_id, it->second}};
          },
          [&](const Ship& c) -> StockDecision {
            auto it = state.reservations.find(c.order_id);
            if (it == state.reservations.end()) return std::vector<StockEvent>{};
            return std::vector<StockEvent>{StockShipped{c.order_id, it->second}};
          },
      },
      command);
}

StockState evolve(StockState s, const StockEvent& event) {
  ++s.version;
  std::visit(Overloaded{
                 [&](const StockRestocked& e) {
                   s.restocked += e.quantity;
                   s.available += e.quantity;
                 },
                 [&](const StockReserved& e) {
                   s.available -= e.quantity;
                   s.reserved += e.quantity;
                   s.reservations[e.order_id] = e.quantity;
                 },
                 [&](const StockReleased& e) {
                   s.reserved -= e.quantity;
                   s.available += e.quantity;
                   s.reservations.erase(e.order_id);
                 },
                 [&](const StockShipped& e) {
                   s.reserved -= e.quantity;
                   s.shipped += e.quantity;
                   s.reservations.erase(e.order_id);
                 },
             },
             event);
  return s;
}

}  // namespace ordersd::write
