#include <cstdio>

#include "events/logging.h"
#include "write/aggregate_cache.h"
#include "write/participants.h"
#include "write/saga_codec.h"
#include "write/services.h"

namespace ordersd::write {

Uuid answer_id(const events::RecordedEvent& request, size_t i) {
  return uuid_from_name(request.id().to_string() + "/answer/" + std::to_string(i));
}

namespace {

class PaymentParticipant final : public Participant {
 public:
  PaymentParticipant(events::EventLog& log, StreamTurns& turns)
      : Participant(log, "payment"), wallets_(log, true, &turns) {}
  ~PaymentParticipant() override { stop(); }

 protected:
  Result<events::AppendRequest> handle(const std::vector<events::RecordedEvent>& batch) override {
    wallets_.begin();
    for (const auto& recorded : batch) {
      auto request = step_request_from(recorded);
      if (!request || (request->step != SagaStep::kCharge && request->step != SagaStep::kRefund)) continue;
      const SagaOrder& order = request->order;
      auto wallet = wallets_.get(order.customer_id);
      if (!wallet) return wallet.status();
      WalletCommand command = request->step == SagaStep::kCharge
                                  ? WalletCommand(Charge{order.order_id, order.amount_cents})
                                  : WalletCommand(Refund{order.order_id});
      auto decided = decide(**wallet, command);
      if (auto* refusal = std::get_if<WalletRefusal>(&decided)) {
        // Not a request a wallet can answer; the saga's deadline deals with it.
        logging::warn("payment", "ignoring a request: " + refusal->message,
                      {{"position", std::to_string(recorded.position())}, {"order_id", order.order_id}});
        continue;
      }
      size_t i = 0;
      for (const auto& event : std::get<std::vector<WalletEvent>>(decided)) {
        wallets_.add(order.customer_id, event,
                     to_new_event(order.customer_id, event, answer_id(recorded, i++), recorded.correlation_id(),
                                  recorded.id()));
      }
    }
    events::AppendRequest out;
    wallets_.append_to(out);
    return out;
  }
  void committed() override { wallets_.commit(); }
  Status recover() override {
    wallets_.reset();
    return Status::ok();
  }
  void abandoned() override { wallets_.abandon(); }

 private:
  AggregateCache<WalletDecider> wallets_;
};

}  // namespace

std::unique_ptr<Participant> make_payment_participant(events::EventLog& log, StreamTurns& turns) {
  return std::make_unique<PaymentParticipant>(log, turns);
}

}  // namespace ordersd::write
