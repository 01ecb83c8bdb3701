#include "write/pipeline/aggregate_cache.h"
#include "write/domain/order_codec.h"
#include "write/saga/participants.h"
#include "write/domain/reservation.h"
#include "write/saga/saga_codec.h"
#include "write/domain/service_codec.h"
#include "write/pipeline/wallet_stock_pipelines.h"

namespace ordersd::write {

namespace {

struct ReservationDecider {
  using State = ReservationState;
  using Event = ReservationEvent;
  static std::string stream(std::string_view order_id) { return reservation_stream(order_id); }
  static ReservationState evolve(ReservationState s, const ReservationEvent& e) {
    return write::evolve(std::move(s), e);
  }
  static Result<ReservationEvent> decode(const events::RecordedEvent& r) {
    if (auto shipped = inventory_shipped_from(r)) return ReservationEvent(std::move(shipped).value());
    auto event = order_event_from(r);
    if (!event) return event.status();
    if (auto* e = std::get_if<InventoryReserved>(&*event)) return ReservationEvent(*e);
    if (auto* e = std::get_if<InventoryReservationFailed>(&*event)) return ReservationEvent(*e);
    if (auto* e = std::get_if<InventoryReleased>(&*event)) return ReservationEvent(*e);
    return Status::invalid_argument("a " + std::string(r.type()) + " event is not a reservation event");
  }
  static uint64_t version(const ReservationState& s) { return s.version; }
};

class InventoryParticipant final : public Participant {
 public:
  InventoryParticipant(events::EventLog& log, StreamTurns& turns)
      : Participant(log, "inventory"), reservations_(log, false), skus_(log, true, &turns) {}
  ~InventoryParticipant() override { stop(); }

 protected:
  Result<events::AppendRequest> handle(const std::vector<events::RecordedEvent>& batch) override {
    reservations_.begin();
    skus_.begin();
    for (const auto& recorded : batch) {
      auto request = step_request_from(recorded);
      if (!request) continue;
      const std::string& order_id = request->order.order_id;
      ReservationCommand command;
      switch (request->step) {
        case SagaStep::kReserve: command = ReserveStock{order_id, request->order.lines}; break;
        case SagaStep::kRelease: command = ReleaseStock{order_id}; break;
        case SagaStep::kStockShip: command = ShipStock{order_id}; break;
        default: continue;  // another participant's
      }
      auto reservation = reservations_.get(order_id);
      if (!reservation) return reservation.status();
      SkuStates skus;
      for (const auto& sku : skus_of(**reservation, command)) {
        auto stock = skus_.get(sku);
        if (!stock) return stock.status();
        skus.emplace(sku, *stock);
      }
      ReservationDecision decided = decide(**reservation, command, skus);
      size_t i = 0;
      for (const auto& event : decided.reservation) {
        Uuid id = answer_id(log_, recorded, i++);
        reservations_.add(order_id, event, std::visit([&](const auto& e) {
                            if constexpr (std::is_same_v<std::decay_t<decltype(e)>, InventoryShipped>) {
                              return to_new_event(order_id, e, id, recorded.correlation_id(), recorded.id());
                            } else {
                              return to_new_event(order_id, OrderEvent(e), id, recorded.correlation_id(), recorded.id());
                            }
                          }, event));
      }
      for (const auto& [sku, event] : decided.stock) {
        skus_.add(sku, event,
                  to_new_event(sku, event, answer_id(log_, recorded, i++), recorded.correlation_id(), recorded.id()));
      }
    }
    events::AppendRequest out;
    reservations_.append_to(out);
    skus_.append_to(out);
    return out;
  }
  void committed() override {
    reservations_.commit();
    skus_.commit();
  }
  Status recover() override {
    reservations_.reset();
    skus_.reset();
    return Status::ok();
  }
  void abandoned() override {
    reservations_.abandon();
    skus_.abandon();
  }

 private:
  AggregateCache<ReservationDecider> reservations_;
  AggregateCache<StockDecider> skus_;
};

}  // namespace

std::unique_ptr<Participant> make_inventory_participant(events::EventLog& log, StreamTurns& turns) {
  return std::make_unique<InventoryParticipant>(log, turns);
}

}  // namespace ordersd::write
