#include "write/domain/reservation.h"

#include "write/domain/overloaded.h"

namespace ordersd::write {

namespace {

using Status = ReservationState::Status;

const StockState& stock_of(const SkuStates& skus, const std::string& sku) {
  static const StockState kNone{};
  auto it = skus.find(sku);
  return it == skus.end() || !it->second ? kNone : *it->second;
}

// Every held sku's `Command` (Release or Ship), as the stock decides it.
template <typename Command>
std::vector<std::pair<std::string, StockEvent>> per_sku(const ReservationState& state, const std::string& order_id,
                                                        const SkuStates& skus) {
  std::vector<std::pair<std::string, StockEvent>> out;
  for (const auto& line : state.lines) {
    auto decided = decide(stock_of(skus, line.sku), StockCommand(Command{order_id}));
    if (auto* events = std::get_if<std::vector<StockEvent>>(&decided)) {
      for (auto& e : *events) out.emplace_back(line.sku, std::move(e));
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> skus_of(const ReservationState& state, const ReservationCommand& command) {
  std::vector<std::string> out;
  if (auto* reserve = std::get_if<ReserveStock>(&command)) {
    for (const auto& line : reserve->lines) out.push_back(line.sku);
  } else {
    for (const auto& line : state.lines) out.push_back(line.sku);
  }
  return out;
}

ReservationDecision decide(const ReservationState& state, const ReservationCommand& command, const SkuStates& skus) {
  ReservationDecision out;
  std::visit(
      Overloaded{
          [&](const ReserveStock& c) {
            if (state.status != Status::kNone || c.lines.empty()) return;  // decided before
            for (const auto& line : c.lines) {
              auto decided = decide(stock_of(skus, line.sku), StockCommand(Reserve{c.order_id, line.quantity}));
              if (auto* refusal = std::get_if<StockRefusal>(&decided)) {
                out.stock.clear();
                out.reservation.push_back(
                    InventoryReservationFailed{line.sku, line.quantity, refusal->available, "out_of_stock"});
                return;
              }
              for (auto& e : std::get<std::vector<StockEvent>>(decided)) out.stock.emplace_back(line.sku, std::move(e));
            }
            out.reservation.push_back(InventoryReserved{c.lines});
          },
          [&](const ReleaseStock& c) {
            if (state.status == Status::kNone) {
              out.reservation.push_back(InventoryReleased{});  // void: nothing was reserved
              return;
            }
            if (state.status != Status::kHeld) return;
            out.stock = per_sku<Release>(state, c.order_id, skus);
            if (out.stock.empty()) return;  // shipped already: nothing to give back
            std::vector<StockLine> released;
            for (const auto& [sku, e] : out.stock) released.push_back({sku, std::get<StockReleased>(e).quantity});
            out.reservation.push_back(InventoryReleased{std::move(released)});
          },
          [&](const ShipStock& c) {
            if (state.status != Status::kHeld) return;
            out.stock = per_sku<Ship>(state, c.order_id, skus);
            std::vector<StockLine> shipped;
            for (const auto& [sku, e] : out.stock) shipped.push_back({sku, std::get<StockShipped>(e).quantity});
            out.reservation.push_back(InventoryShipped{std::move(shipped)});
          },
      },
      command);
  return out;
}

ReservationState evolve(ReservationState s, const ReservationEvent& event) {
  ++s.version;
  std::visit(Overloaded{
                 [&](const InventoryReserved& e) {
                   s.status = Status::kHeld;
                   s.lines = e.lines;
                 },
                 [&](const InventoryReservationFailed&) { s.status = Status::kFailed; },
                 [&](const InventoryReleased&) { s.status = Status::kReleased; },
                 [&](const InventoryShipped&) { s.status = Status::kShipped; },
             },
             event);
  return s;
}

}  // namespace ordersd::write
