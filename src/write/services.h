// The payment and inventory services' command pipelines: the wallet and
// stock Deciders plugged into CommandPipeline. (Shipping is decided by the
// saga's shipping step, which arrives with the orchestrator.)
#pragma once

#include <string>
#include <string_view>

#include "write/command_pipeline.h"
#include "write/service_codec.h"
#include "write/stock.h"
#include "write/wallet.h"

namespace ordersd::write {

struct WalletDecider {
  using State = WalletState;
  using Event = WalletEvent;
  using Command = WalletCommand;
  using Refusal = WalletRefusal;

  static std::string stream(std::string_view customer_id) { return wallet_stream(customer_id); }
  static WalletDecision decide(const WalletState& s, const WalletCommand& c) { return write::decide(s, c); }
  static WalletState evolve(WalletState s, const WalletEvent& e) { return write::evolve(std::move(s), e); }
  static events::NewEvent encode(std::string_view customer_id, const WalletEvent& e, Uuid id, Uuid correlation_id) {
    return to_new_event(customer_id, e, id, correlation_id);
  }
  static Result<WalletEvent> decode(const events::RecordedEvent& r) { return wallet_event_from(r); }
  static bool creates(const WalletCommand&) { return false; }
  static uint64_t version(const WalletState& s) { return s.version; }
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
};

using WalletService = CommandPipeline<WalletDecider>;
using StockService = CommandPipeline<StockDecider>;

}  // namespace ordersd::write
