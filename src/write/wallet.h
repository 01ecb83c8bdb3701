// The payment service's wallet: one per customer, as a Decider over the
// stream wallet-{customer_id}.
//
//   deposit(amount)           -> FundsDeposited
//   charge(order, amount)     -> PaymentProcessed, or PaymentDeclined when the
//                                balance is short; nothing if this order was
//                                already charged or declined
//   refund(order)             -> PaymentRefunded of what the order was charged;
//                                PaymentDeclined("voided") for an order never
//                                charged nor declined, so a late charge does nothing;
//                                nothing if it was declined or already refunded
//
// Each order is charged at most once and refunded at most once, however often
// a command is redelivered: decide() answers a repeat with no events, and
// the caller reads the earlier outcome from the state. Pure; plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace ordersd::write {

inline constexpr uint64_t kMaxDepositCents = 1'000'000'000'000;  // per deposit

struct FundsDeposited {
  uint64_t amount_cents = 0;
  uint64_t balance_cents = 0;  // after the deposit
  friend bool operator==(const FundsDeposited&, const FundsDeposited&) = default;
};
struct WalletCharged {  // stored as payment.processed.v1
  std::string order_id;
  uint64_t amount_cents = 0;
  friend bool operator==(const WalletCharged&, const WalletCharged&) = default;
};
struct WalletDeclined {  // stored as payment.declined.v1
  std::string order_id;
  uint64_t amount_cents = 0;
  std::string reason;  // "insufficient_funds", or "voided" by a refund that came first
  friend bool operator==(const WalletDeclined&, const WalletDeclined&) = default;
};
struct WalletRefunded {  // stored as payment.refunded.v1
  std::string order_id;
  uint64_t amount_cents = 0;
  friend bool operator==(const WalletRefunded&, const WalletRefunded&) = default;
};
using WalletEvent = std::variant<FundsDeposited, WalletCharged, WalletDeclined, WalletRefunded>;

struct Deposit {
  uint64_t amount_cents = 0;  // 1..kMaxDepositCents
};
struct Charge {
  std::string order_id;
  uint64_t amount_cents = 0;
};
struct Refund {
  std::string order_id;
};
using WalletCommand = std::variant<Deposit, Charge, Refund>;

struct WalletState {
  enum class Payment { kCharged, kDeclined, kRefunded };
  struct OrderPayment {
    Payment outcome;
    uint64_t amount_cents;
    friend bool operator==(const OrderPayment&, const OrderPayment&) = default;
  };
  uint64_t version = 0;
  uint64_t balance_cents = 0;
  uint64_t deposited_cents = 0;               // ever
  std::map<std::string, OrderPayment> orders;  // every order this wallet answered
  friend bool operator==(const WalletState&, const WalletState&) = default;
};

struct WalletRefusal {
  std::string message;
};

using WalletDecision = std::variant<std::vector<WalletEvent>, WalletRefusal>;

WalletDecision decide(const WalletState& state, const WalletCommand& command);
WalletState evolve(WalletState state, const WalletEvent& event);

}  // namespace ordersd::write
