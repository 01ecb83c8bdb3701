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
// the caller reads the earlier outcome from the order's record.
//
// What the wallet knows of each order is not in WalletState, which would then
// grow with every order the customer ever placed: it is the order's own
// OrderPayment record, which the caller keeps beside the wallet (the payment
// service stores one per order, written atomically with the wallet's event;
// see docs/bounded-state.md) and hands to decide() with the command. evolve()
// folds an event into the wallet, and into the record of the order it names.
// Pure; plain values.
#pragma once

#include <cstdint>
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

// The wallet's answer to one order so far.
struct OrderPayment {
  enum class Outcome : uint8_t { kNone, kCharged, kDeclined, kRefunded };
  Outcome outcome = Outcome::kNone;  // kNone: never charged, declined nor voided
  uint64_t amount_cents = 0;         // charged, refunded, or asked for and declined
  friend bool operator==(const OrderPayment&, const OrderPayment&) = default;
};

// A fixed size, however many orders the wallet paid.
struct WalletState {
  uint64_t version = 0;
  uint64_t balance_cents = 0;
  uint64_t deposited_cents = 0;  // ever
  uint64_t charged_cents = 0;    // charged and not refunded: deposited = balance + charged
  friend bool operator==(const WalletState&, const WalletState&) = default;
};

struct WalletRefusal {
  std::string message;
};

using WalletDecision = std::variant<std::vector<WalletEvent>, WalletRefusal>;

// `order`: the record of the order a Charge or Refund names (OrderPayment{}
// when the wallet never answered it); ignored for a Deposit.
WalletDecision decide(const WalletState& state, const WalletCommand& command, const OrderPayment& order);
WalletState evolve(WalletState state, const WalletEvent& event);
// The record of the order `event` names, after it. A deposit names none and
// leaves `order` as it was.
OrderPayment evolve(OrderPayment order, const WalletEvent& event);
// The order `event` answers; empty for a deposit.
const std::string& order_of(const WalletEvent& event);
const std::string& order_of(const WalletCommand& command);

}  // namespace ordersd::write
