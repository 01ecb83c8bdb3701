#include "write/saga/saga_codec.h"

#include <flatbuffers/flatbuffers.h>

#include "events/event_types.h"
#include "events/payload.h"
#include "schema/order_events_generated.h"
#include "write/domain/order_codec.h"
#include "write/domain/overloaded.h"

namespace ordersd::write {

namespace {

namespace s = ordersd::schema;
using events::payload_root;
using events::string_of;
using events::EventType;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

constexpr EventType kStepTypes[] = {
    EventType::kSagaChargeRequested,         EventType::kSagaReservationRequested,
    EventType::kSagaShipmentRequested,       EventType::kSagaShipmentCancelRequested,
    EventType::kSagaReleaseRequested,        EventType::kSagaRefundRequested,
    EventType::kSagaStockShipRequested,
};  // indexed by SagaStep

std::optional<SagaStep> step_of(EventType type) {
  for (size_t i = 0; i < std::size(kStepTypes); ++i) {
    if (kStepTypes[i] == type) return static_cast<SagaStep>(i);
  }
  return std::nullopt;
}

std::optional<SagaStep> step_named(std::string_view name) {
  for (size_t i = 0; i < std::size(kStepTypes); ++i) {
    if (step_name(static_cast<SagaStep>(i)) == name) return static_cast<SagaStep>(i);
  }
  return std::nullopt;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

std::string saga_stream(std::string_view order_id) { return "saga-" + std::string(order_id); }
std::string operator_stream(std::string_view order_id) { return "operator-" + std::string(order_id); }

events::NewEvent to_new_event(std::string_view order_id, const SagaEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(256);
  auto oid = fbb.CreateString(order_id.data(), order_id.size());
  EventType type = std::visit(
      Overloaded{
          [&](const StepRequested& e) {
            std::vector<Offset<s::ReservedLine>> lines;
            for (const auto& l : e.order.lines) {
              lines.push_back(s::CreateReservedLine(fbb, fbb.CreateString(l.sku), l.quantity));
            }
            fbb.Finish(s::CreateSagaStepRequested(fbb, oid, fbb.CreateString(e.order.customer_id),
                                                  e.order.amount_cents, fbb.CreateVector(lines),
                                                  fbb.CreateString(e.order.country), e.attempt, e.deadline_us,
                                                  fbb.CreateString(e.cancel_reason)));
            return kStepTypes[static_cast<size_t>(e.step)];
          },
          [&](const CancelNoted& e) {
            fbb.Finish(s::CreateSagaCancelNoted(fbb, oid, fbb.CreateString(e.reason)));
            return EventType::kSagaCancelNoted;
          },
          [&](const SagaParked& e) {
            fbb.Finish(s::CreateSagaStuck(fbb, oid, fbb.CreateString(std::string(step_name(e.step))), e.attempts));
            return EventType::kSagaStuck;
          },
          [&](const SagaEnded& e) {
            fbb.Finish(s::CreateSagaCompleted(fbb, oid, fbb.CreateString(e.outcome), fbb.CreateString(e.reason)));
            return EventType::kSagaCompleted;
          },
      },
      event);
  return {id, std::string(events::stored_name(type)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), correlation_id,
          causation_id};
}

std::optional<StepRequested> step_request_from(const events::RecordedEvent& r) {
  if (r.type().substr(0, 5) != "saga.") return std::nullopt;
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  if (!info || !step_of(info->type)) return std::nullopt;
  auto event = saga_event_from(r);
  if (!event) return std::nullopt;
  return std::get<StepRequested>(std::move(*event));
}

events::NewEvent retry_request_event(std::string_view order_id, Uuid id) {
  FlatBufferBuilder fbb(64);
  fbb.Finish(s::CreateSagaRetryRequested(fbb, fbb.CreateString(order_id.data(), order_id.size())));
  return {id, std::string(events::stored_name(EventType::kSagaRetryRequested)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), {}, {}};
}

// The log verified each payload against its type when it read the record.
Result<SagaEvent> saga_event_from(const events::RecordedEvent& r) {
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  auto not_saga = [&] { return Status::invalid_argument("a " + std::string(r.type()) + " event is not a saga event"); };
  if (!info) return not_saga();
  if (auto step = step_of(info->type)) {
    auto* t = payload_root<s::SagaStepRequested>(r);
    SagaOrder order{string_of(t->order_id()), string_of(t->customer_id()), t->amount_cents(), {}, string_of(t->country())};
    if (t->lines()) {
      for (const auto* l : *t->lines()) order.lines.push_back({string_of(l->sku()), l->quantity()});
    }
    return SagaEvent(StepRequested{*step, std::move(order), t->attempt(), t->deadline_us(), string_of(t->cancel_reason())});
  }
  switch (info->type) {
    case EventType::kSagaCancelNoted:
      return SagaEvent(CancelNoted{string_of(payload_root<s::SagaCancelNoted>(r)->reason())});
    case EventType::kSagaStuck: {
      auto* t = payload_root<s::SagaStuck>(r);
      auto step = step_named(string_of(t->step()));
      if (!step) return Status::invalid_argument("saga.stuck.v1 names an unknown step '" + string_of(t->step()) + "'");
      return SagaEvent(SagaParked{*step, t->attempts()});
    }
    case EventType::kSagaCompleted: {
      auto* t = payload_root<s::SagaCompleted>(r);
      return SagaEvent(SagaEnded{string_of(t->outcome()), string_of(t->reason())});
    }
    default:
      return not_saga();
  }
}

namespace {

// The order an answer is about: the first field of each of these tables.
std::string order_id_of(const events::RecordedEvent& r, EventType type) {
  switch (type) {
    case EventType::kOrderPlaced: return string_of(payload_root<s::OrderPlaced>(r)->order_id());
    case EventType::kCancellationRequested: return string_of(payload_root<s::CancellationRequested>(r)->order_id());
    case EventType::kPaymentProcessed: return string_of(payload_root<s::PaymentProcessed>(r)->order_id());
    case EventType::kPaymentDeclined: return string_of(payload_root<s::PaymentDeclined>(r)->order_id());
    case EventType::kPaymentRefunded: return string_of(payload_root<s::PaymentRefunded>(r)->order_id());
    case EventType::kInventoryReserved: return string_of(payload_root<s::InventoryReserved>(r)->order_id());
    case EventType::kInventoryReservationFailed: return string_of(payload_root<s::InventoryReservationFailed>(r)->order_id());
    case EventType::kInventoryReleased: return string_of(payload_root<s::InventoryReleased>(r)->order_id());
    case EventType::kShipmentInitiated: return string_of(payload_root<s::ShipmentInitiated>(r)->order_id());
    case EventType::kShipmentFailed: return string_of(payload_root<s::ShipmentFailed>(r)->order_id());
    case EventType::kSagaRetryRequested: return string_of(payload_root<s::SagaRetryRequested>(r)->order_id());
    case EventType::kInventoryShipped: return string_of(payload_root<s::InventoryShipped>(r)->order_id());
    default: return {};
  }
}

// Where each input comes from: the saga acts on the participants' answers in
// their own streams, never on the copies it records on the order.
std::string_view input_stream_prefix(EventType type) {
  switch (type) {
    case EventType::kOrderPlaced:
    case EventType::kCancellationRequested: return "order-";
    case EventType::kPaymentProcessed:
    case EventType::kPaymentDeclined:
    case EventType::kPaymentRefunded: return "wallet-";
    case EventType::kInventoryReserved:
    case EventType::kInventoryReservationFailed:
    case EventType::kInventoryReleased:
    case EventType::kInventoryShipped: return "reservation-";
    case EventType::kShipmentInitiated:
    case EventType::kShipmentFailed: return "shipment-";
    case EventType::kSagaRetryRequested: return "operator-";
    default: return {};
  }
}

}  // namespace

std::optional<AddressedInput> saga_input_from(const events::RecordedEvent& r) {
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  if (!info) return std::nullopt;
  std::string_view prefix = input_stream_prefix(info->type);
  if (prefix.empty() || !starts_with(r.stream(), prefix)) return std::nullopt;  // not a saga's business
  std::string order_id = order_id_of(r, info->type);
  if (info->type == EventType::kSagaRetryRequested) return AddressedInput{std::move(order_id), RetryRequested{}};
  if (info->type == EventType::kInventoryShipped) {
    auto shipped = inventory_shipped_from(r);
    if (!shipped) return std::nullopt;
    return AddressedInput{std::move(order_id), SagaInput(std::move(shipped).value())};
  }
  auto event = order_event_from(r);
  if (!event) return std::nullopt;
  std::optional<AddressedInput> out;
  std::visit(
      [&](auto&& e) {
        if constexpr (std::is_constructible_v<SagaInput, std::decay_t<decltype(e)>>) {
          out = AddressedInput{std::move(order_id), SagaInput(std::move(e))};
        }
      },
      std::move(*event));
  return out;
}

}  // namespace ordersd::write
