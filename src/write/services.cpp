#include "write/services.h"

#include "write/service_codec.h"

namespace ordersd::write {

std::string WalletDecider::stream(std::string_view customer_id) { return wallet_stream(customer_id); }
WalletDecision WalletDecider::decide(const WalletState& state, const WalletCommand& command) {
  return write::decide(state, command);
}
WalletState WalletDecider::evolve(WalletState state, const WalletEvent& event) {
  return write::evolve(std::move(state), event);
}
events::NewEvent WalletDecider::encode(std::string_view customer_id, const WalletEvent& event, Uuid id,
                                       Uuid correlation_id) {
  return to_new_event(customer_id, event, id, correlation_id);
}
Result<WalletEvent> WalletDecider::decode(const events::RecordedEvent& recorded) {
  return wallet_event_from(recorded);
}

std::string StockDecider::stream(std::string_view sku) { return sku_stream(sku); }
StockDecision StockDecider::decide(const StockState& state, const StockCommand& command) {
  return write::decide(state, command);
}
StockState StockDecider::evolve(StockState state, const StockEvent& event) {
  return write::evolve(std::move(state), event);
}
events::NewEvent StockDecider::encode(std::string_view sku, const StockEvent& event, Uuid id, Uuid correlation_id) {
  return to_new_event(sku, event, id, correlation_id);
}
Result<StockEvent> StockDecider::decode(const events::RecordedEvent& recorded) { return stock_event_from(recorded); }

}  // namespace ordersd::write
