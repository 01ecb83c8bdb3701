#include "write/pipeline/aggregate_cache.h"
#include "write/saga/participants.h"
#include "write/saga/saga_codec.h"
#include "write/domain/service_codec.h"

namespace ordersd::write {

namespace {

struct ShipmentDecider {
  using State = ShipmentState;
  using Event = ShipmentEvent;
  static std::string stream(std::string_view order_id) { return shipment_stream(order_id); }
  static ShipmentState evolve(ShipmentState s, const ShipmentEvent& e) { return write::evolve(std::move(s), e); }
  static Result<ShipmentEvent> decode(const events::RecordedEvent& r) { return shipment_event_from(r); }
  static uint64_t version(const ShipmentState& s) { return s.version; }
};

class ShippingParticipant final : public Participant {
 public:
  ShippingParticipant(events::EventLog& log, ServedCountries served)
      : Participant(log, "shipping"), served_(std::move(served)), shipments_(log, false) {}
  ~ShippingParticipant() override { stop(); }

 protected:
  Result<events::AppendRequest> handle(const std::vector<events::RecordedEvent>& batch) override {
    shipments_.begin();
    for (const auto& recorded : batch) {
      auto request = step_request_from(recorded);
      if (!request || (request->step != SagaStep::kShip && request->step != SagaStep::kShipmentCancel)) continue;
      const SagaOrder& order = request->order;
      auto shipment = shipments_.get(order.order_id);
      if (!shipment) return shipment.status();
      ShipmentCommand command = request->step == SagaStep::kShip
                                    ? ShipmentCommand(CreateShipment{order.order_id, order.country})
                                    : ShipmentCommand(CancelShipment{order.order_id});
      size_t i = 0;
      for (const auto& event : decide(**shipment, command, served_)) {
        shipments_.add(order.order_id, event,
                       to_new_event(order.order_id, event, answer_id(log_, recorded, i++), recorded.correlation_id(),
                                    recorded.id()));
      }
    }
    events::AppendRequest out;
    shipments_.append_to(out);
    return out;
  }
  void committed() override { shipments_.commit(); }
  Status recover() override {
    shipments_.reset();
    return Status::ok();
  }
  void abandoned() override { shipments_.abandon(); }

 private:
  const ServedCountries served_;
  AggregateCache<ShipmentDecider> shipments_;
};

}  // namespace

std::unique_ptr<Participant> make_shipping_participant(events::EventLog& log, ServedCountries served) {
  return std::make_unique<ShippingParticipant>(log, std::move(served));
}

}  // namespace ordersd::write
