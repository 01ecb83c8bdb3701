#include "write/wallet.h"

#include <limits>

#include "write/overloaded.h"

namespace ordersd::write {

WalletDecision decide(const WalletState& state, const WalletCommand& command) {
  using Payment = WalletState::Payment;
  return std::visit(
      Overloaded{
          [&](const Deposit& c) -> WalletDecision {
            if (c.amount_cents == 0 || c.amount_cents > kMaxDepositCents) {
              return WalletRefusal{"a deposit is 1 to " + std::to_string(kMaxDepositCents) + " cents"};
            }
            // The balance never exceeds what was deposited, so bounding that bounds both.
            constexpr uint64_t kMaxTotal = std::numeric_limits<int64_t>::max();
            if (state.deposited_cents > kMaxTotal - c.amount_cents) {
              return WalletRefusal{"the wallet's deposits would overflow"};
            }
            return std::vector<WalletEvent>{FundsDeposited{c.amount_cents, state.balance_cents + c.amount_cents}};
          },
          [&](const Charge& c) -> WalletDecision {
            if (state.orders.count(c.order_id)) return std::vector<WalletEvent>{};  // answered before
            if (state.balance_cents < c.amount_cents) {
              return std::vector<WalletEvent>{WalletDeclined{c.order_id, c.amount_cents, "insufficient_funds"}};
            }
            return std::vector<WalletEvent>{WalletCharged{c.order_id, c.amount_cents}};
          },
          [&](const Refund& c) -> WalletDecision {
            auto it = state.orders.find(c.order_id);
            if (it == state.orders.end()) {
              // Never asked to charge (yet): void the order, so a charge that
              // arrives late declines instead of taking money no one refunds.
              return std::vector<WalletEvent>{WalletDeclined{c.order_id, 0, "voided"}};
            }
            if (it->second.outcome != Payment::kCharged) return std::vector<WalletEvent>{};  // declined or refunded
            return std::vector<WalletEvent>{WalletRefunded{c.order_id, it->second.amount_cents}};
          },
      },
      command);
}

WalletState evolve(WalletState s, const WalletEvent& event) {
  using Payment = WalletState::Payment;
  ++s.version;
  std::visit(Overloaded{
                 [&](const FundsDeposited& e) {
                   s.balance_cents += e.amount_cents;
                   s.deposited_cents += e.amount_cents;
                 },
                 [&](const WalletCharged& e) {
                   s.balance_cents -= e.amount_cents;
                   s.orders[e.order_id] = {Payment::kCharged, e.amount_cents};
                 },
                 [&](const WalletDeclined& e) { s.orders[e.order_id] = {Payment::kDeclined, e.amount_cents}; },
                 [&](const WalletRefunded& e) {
                   s.balance_cents += e.amount_cents;
                   s.orders[e.order_id] = {Payment::kRefunded, e.amount_cents};
                 },
             },
             event);
  return s;
}

}  // namespace ordersd::write
