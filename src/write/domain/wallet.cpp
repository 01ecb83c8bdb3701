#include "write/domain/wallet.h"

#include <limits>

#include "write/domain/overloaded.h"

namespace ordersd::write {

WalletDecision decide(const WalletState& state, const WalletCommand& command, const OrderPayment& order) {
  using Outcome = OrderPayment::Outcome;
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
            if (order.outcome != Outcome::kNone) return std::vector<WalletEvent>{};  // answered before
            if (state.balance_cents < c.amount_cents) {
              return std::vector<WalletEvent>{WalletDeclined{c.order_id, c.amount_cents, "insufficient_funds"}};
            }
            return std::vector<WalletEvent>{WalletCharged{c.order_id, c.amount_cents}};
          },
          [&](const Refund& c) -> WalletDecision {
            if (order.outcome == Outcome::kNone) {
              // Never asked to charge (yet): void the order, so a charge that
              // arrives late declines instead of taking money no one refunds.
              return std::vector<WalletEvent>{WalletDeclined{c.order_id, 0, "voided"}};
            }
            if (order.outcome != Outcome::kCharged) return std::vector<WalletEvent>{};  // declined or refunded
            return std::vector<WalletEvent>{WalletRefunded{c.order_id, order.amount_cents}};
          },
      },
      command);
}

WalletState evolve(WalletState s, const WalletEvent& event) {
  ++s.version;
  std::visit(Overloaded{
                 [&](const FundsDeposited& e) {
                   s.balance_cents += e.amount_cents;
                   s.deposited_cents += e.amount_cents;
                 },
                 [&](const WalletCharged& e) {
                   s.balance_cents -= e.amount_cents;
                   s.charged_cents += e.amount_cents;
                 },
                 [&](const WalletDeclined&) {},
                 [&](const WalletRefunded& e) {
                   s.balance_cents += e.amount_cents;
                   s.charged_cents -= e.amount_cents;
                 },
             },
             event);
  return s;
}

OrderPayment evolve(OrderPayment order, const WalletEvent& event) {
  using Outcome = OrderPayment::Outcome;
  std::visit(Overloaded{
                 [&](const FundsDeposited&) {},
                 [&](const WalletCharged& e) { order = {Outcome::kCharged, e.amount_cents}; },
                 [&](const WalletDeclined& e) { order = {Outcome::kDeclined, e.amount_cents}; },
                 [&](const WalletRefunded& e) { order = {Outcome::kRefunded, e.amount_cents}; },
             },
             event);
  return order;
}

const std::string& order_of(const WalletEvent& event) {
  static const std::string kNone;
  return std::visit(Overloaded{
                        [&](const FundsDeposited&) -> const std::string& { return kNone; },
                        [](const auto& e) -> const std::string& { return e.order_id; },
                    },
                    event);
}

const std::string& order_of(const WalletCommand& command) {
  static const std::string kNone;
  return std::visit(Overloaded{
                        [&](const Deposit&) -> const std::string& { return kNone; },
                        [](const auto& c) -> const std::string& { return c.order_id; },
                    },
                    command);
}

}  // namespace ordersd::write
