// The payment and inventory services' command pipelines: the wallet and
// stock Deciders plugged into CommandPipeline. (Shipping is decided by the
// saga's shipping step, which arrives with the orchestrator.)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "write/pipeline/command_pipeline.h"
#include "write/domain/service_codec.h"
#include "write/domain/stock.h"
#include "write/domain/wallet.h"

namespace ordersd::write {

struct WalletDecider {
  using State = WalletState;
  using Event = WalletEvent;
  using Command = WalletCommand;
  using Refusal = WalletRefusal;

  static std::string stream(std::string_view customer_id) { return wallet_stream(customer_id); }
  // Deposits only: a charge or a refund needs its order's record, which the
  // payment participant keeps (payment_participant.cpp).
  static WalletDecision decide(const WalletState& s, const WalletCommand& c) {
    if (!std::holds_alternative<Deposit>(c)) {
      return WalletRefusal{"charges and refunds are the payment service's to decide, with the order's record"};
    }
    return write::decide(s, c, OrderPayment{});
  }
  static WalletState evolve(WalletState s, const WalletEvent& e) { return write::evolve(std::move(s), e); }
  static events::NewEvent encode(std::string_view customer_id, const WalletEvent& e, Uuid id, Uuid correlation_id) {
    return to_new_event(customer_id, e, id, correlation_id);
  }
  static Result<WalletEvent> decode(const events::RecordedEvent& r) { return wallet_event_from(r); }
  static bool creates(const WalletCommand&) { return false; }
  static uint64_t version(const WalletState& s) { return s.version; }
  static std::string encode_snapshot(const WalletState& s) { return write::encode_snapshot(s); }
  static std::optional<WalletState> decode_snapshot(std::string_view bytes) { return wallet_snapshot_from(bytes); }
};

struct StockDecider {
  using State = StockState;
  using Event = StockEvent;
  using Command = StockCommand;
  using Refusal = StockRefusal;

  static std::string stream(std::string_view sku) { return sku_stream(sku); }
  static StockDecision decide(const StockState& s, const StockCommand& c) { return write::decide(s, c); }
  static StockState evolve(StockState s, const StockEvent& e) { return write::evolve(std::move(s), e); }
  static events::NewEvent encode(std::string_view sku, const StockEvent& e, Uuid id, Uuid correlation_id) {
    return to_new_event(sku, e, id, correlation_id);
  }
  static Result<StockEvent> decode(const events::RecordedEvent& r) { return stock_event_from(r); }
  static bool creates(const StockCommand&) { return false; }
  static uint64_t version(const StockState& s) { return s.version; }
  static std::string encode_snapshot(const StockState& s) { return write::encode_snapshot(s); }
  static std::optional<StockState> decode_snapshot(std::string_view bytes) { return stock_snapshot_from(bytes); }
};

using WalletPipeline = CommandPipeline<WalletDecider>;
using StockPipeline = CommandPipeline<StockDecider>;

}  // namespace ordersd::write
