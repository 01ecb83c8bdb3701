// The payment and inventory services' command pipelines: the wallet and
// stock Deciders plugged into CommandPipeline. (Shipping is decided by the
// saga's shipping step, which arrives with the orchestrator.)
#pragma once

#include <string>
#include <string_view>

#include "write/command_pipeline.h"
#include "write/stock.h"
#include "write/wallet.h"

namespace ordersd::write {

struct WalletDecider {
  using State = WalletState;
  using Event = WalletEvent;
  using Command = WalletCommand;
  using Refusal = WalletRefusal;

  static std::string stream(std::string_view customer_id);
  static WalletDecision decide(const WalletState& state, const WalletCommand& command);
  static WalletState evolve(WalletState state, const WalletEvent& event);
  static events::NewEvent encode(std::string_view customer_id, const WalletEvent& event, Uuid id,
                                 Uuid correlation_id);
  static Result<WalletEvent> decode(const events::RecordedEvent& recorded);
  static bool creates(const WalletCommand&) { return false; }
  static uint64_t version(const WalletState& state) { return state.version; }
};

struct StockDecider {
  using State = StockState;
  using Event = StockEvent;
  using Command = StockCommand;
  using Refusal = StockRefusal;

  static std::string stream(std::string_view sku);
  static StockDecision decide(const StockState& state, const StockCommand& command);
  static StockState evolve(StockState state, const StockEvent& event);
  static events::NewEvent encode(std::string_view sku, const StockEvent& event, Uuid id, Uuid correlation_id);
  static Result<StockEvent> decode(const events::RecordedEvent& recorded);
  static bool creates(const StockCommand&) { return false; }
  static uint64_t version(const StockState& state) { return state.version; }
};

using WalletService = CommandPipeline<WalletDecider>;
using StockService = CommandPipeline<StockDecider>;

}  // namespace ordersd::write
