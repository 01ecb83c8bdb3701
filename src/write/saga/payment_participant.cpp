#include <map>
#include <set>

#include "events/logging.h"
#include "write/pipeline/aggregate_cache.h"
#include "write/saga/participants.h"
#include "write/domain/payment_records.h"
#include "write/saga/saga_codec.h"
#include "write/pipeline/wallet_stock_pipelines.h"

namespace ordersd::write {

Uuid answer_id(const events::EventLog& log, const events::RecordedEvent& request, size_t i) {
  return log.name_id(request.id().to_string() + "/answer/" + std::to_string(i));
}

std::string payment_record_key(std::string_view customer_id, std::string_view order_id) {
  std::string key;
  key.reserve(customer_id.size() + 1 + order_id.size());
  key.append(customer_id).append("/").append(order_id);
  return key;
}

namespace {

// The records of the orders one batch touches: what the wallets answered each
// of them before (read from the payment-orders space), and what the batch
// decided since. A data directory written before the records were kept has
// none for its older orders: the first time a wallet is asked about an order
// with no record, its records are built from the wallet's stream, once, and
// a marker (key "{customer}/", an empty order id) says they are complete.
class PaymentRecords {
 public:
  explicit PaymentRecords(const events::EventLog& log) : log_(log) {}

  void clear() {
    records_.clear();
    complete_.clear();
    marked_.clear();
  }

  // The record of `order_id` in `customer_id`'s wallet, as this batch sees it.
  Result<OrderPayment*> get(const std::string& customer_id, const std::string& order_id) {
    std::string key = payment_record_key(customer_id, order_id);
    if (auto it = records_.find(key); it != records_.end()) return &it->second.payment;
    auto stored = log_.get(kPaymentRecordSpace, key);
    if (!stored) return stored.status();
    if (*stored) {
      auto payment = order_payment_from(**stored);
      if (!payment) return Status::corruption("the payment record of " + key + " is unreadable", 0);
      return &records_.emplace(key, Entry{*payment, false}).first->second.payment;
    }
    if (Status s = complete(customer_id); !s) return s;
    // Building may have found the order; otherwise the wallet never answered it.
    return &records_.try_emplace(key, Entry{}).first->second.payment;
  }

  // `event`, decided for the order of `customer_id`'s wallet got before.
  void add(const std::string& customer_id, const WalletEvent& event) {
    Entry& e = records_.at(payment_record_key(customer_id, order_of(event)));
    e.payment = evolve(e.payment, event);
    e.changed = true;
  }

  void write_to(events::SideWrites& writes) const {
    for (const auto& [key, e] : records_) {
      if (e.changed) writes.put(kPaymentRecordSpace, key, encode_order_payment(e.payment));
    }
    for (const auto& customer : marked_) writes.put(kPaymentRecordSpace, payment_record_key(customer, ""), "");
  }

 private:
  struct Entry {
    OrderPayment payment;
    bool changed = false;  // to be written with the batch
  };

  // Makes sure every order `customer_id`'s wallet answered has a record.
  Status complete(const std::string& customer_id) {
    if (complete_.count(customer_id)) return Status::ok();
    auto marker = log_.get(kPaymentRecordSpace, payment_record_key(customer_id, ""));
    if (!marker) return marker.status();
    complete_.insert(customer_id);
    if (*marker) return Status::ok();
    // Every charge, decline and refund is this participant's, and each of its
    // appends completed before this batch began: the stream holds them all.
    std::string stream = wallet_stream(customer_id);
    size_t orders = 0;
    constexpr size_t kPage = 512;
    for (uint64_t next = 1;;) {
      auto page = log_.read_stream(stream, next, kPage);
      if (!page) return page.status();
      for (const auto& recorded : *page) {
        auto event = wallet_event_from(recorded);
        if (!event) return event.status();
        const std::string& order_id = order_of(*event);
        if (order_id.empty()) continue;
        auto [it, added] = records_.try_emplace(payment_record_key(customer_id, order_id), Entry{});
        it->second.payment = evolve(it->second.payment, *event);
        it->second.changed = true;
        orders += added;
      }
      if (page->size() < kPage) break;
      next = page->back().version() + 1;
    }
    marked_.insert(customer_id);
    if (orders > 0) {
      logging::info("payment", "built the order records of a wallet written before they were kept",
                    {{"customer", customer_id}, {"orders", std::to_string(orders)}});
    }
    return Status::ok();
  }

  const events::EventLog& log_;
  std::map<std::string, Entry, std::less<>> records_;
  std::set<std::string, std::less<>> complete_;  // wallets whose records are all there (or in records_)
  std::set<std::string, std::less<>> marked_;    // of those, the ones this batch completed
};

class PaymentParticipant final : public Participant {
 public:
  PaymentParticipant(events::EventLog& log, StreamTurns& turns)
      : Participant(log, "payment"), wallets_(log, true, &turns), records_(log) {}
  ~PaymentParticipant() override { stop(); }

 protected:
  Result<events::AppendRequest> handle(const std::vector<events::RecordedEvent>& batch) override {
    wallets_.begin();
    records_.clear();
    for (const auto& recorded : batch) {
      auto request = step_request_from(recorded);
      if (!request || (request->step != SagaStep::kCharge && request->step != SagaStep::kRefund)) continue;
      const SagaOrder& order = request->order;
      auto wallet = wallets_.get(order.customer_id);
      if (!wallet) return wallet.status();
      auto record = records_.get(order.customer_id, order.order_id);
      if (!record) return record.status();
      WalletCommand command = request->step == SagaStep::kCharge
                                  ? WalletCommand(Charge{order.order_id, order.amount_cents})
                                  : WalletCommand(Refund{order.order_id});
      auto decided = decide(**wallet, command, **record);
      if (auto* refusal = std::get_if<WalletRefusal>(&decided)) {
        // Not a request a wallet can answer; the saga's deadline deals with it.
        logging::warn("payment", "ignores a request",
                      {{"position", std::to_string(recorded.position())}, {"reason", refusal->message}});
        continue;
      }
      size_t i = 0;
      for (const auto& event : std::get<std::vector<WalletEvent>>(decided)) {
        wallets_.add(order.customer_id, event,
                     to_new_event(order.customer_id, event, answer_id(log_, recorded, i++), recorded.correlation_id(),
                                  recorded.id()));
        records_.add(order.customer_id, event);
      }
    }
    events::AppendRequest out;
    wallets_.append_to(out);
    records_.write_to(out.side_writes);
    return out;
  }
  void committed() override {
    wallets_.commit();
    records_.clear();
  }
  Status recover() override {
    wallets_.reset();
    records_.clear();
    return Status::ok();
  }
  void abandoned() override {
    wallets_.abandon();
    records_.clear();
  }

 private:
  AggregateCache<WalletDecider> wallets_;
  PaymentRecords records_;
};

}  // namespace

std::unique_ptr<Participant> make_payment_participant(events::EventLog& log, StreamTurns& turns) {
  return std::make_unique<PaymentParticipant>(log, turns);
}

}  // namespace ordersd::write
