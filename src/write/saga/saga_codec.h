// The saga's events to and from the log's stored form, and the inputs it
// reads: which stored events concern a saga, and which saga. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/event.h"
#include "events/status.h"
#include "write/saga/saga.h"

namespace ordersd::write {

std::string saga_stream(std::string_view order_id);      // "saga-" + id
std::string operator_stream(std::string_view order_id);  // "operator-" + id: an operator's requests

events::NewEvent to_new_event(std::string_view order_id, const SagaEvent& event, Uuid id, Uuid correlation_id = {},
                              Uuid causation_id = {});
// kInvalidArgument for a type that is not a saga event.
Result<SagaEvent> saga_event_from(const events::RecordedEvent& recorded);

// The step request a stored event is, or nullopt: what a participant reads.
std::optional<StepRequested> step_request_from(const events::RecordedEvent& recorded);

// The operator's request to retry a stuck saga.
events::NewEvent retry_request_event(std::string_view order_id, Uuid id);

struct AddressedInput {
  std::string order_id;
  SagaInput input;
};
// The saga input a stored event carries, or nullopt for an event no saga
// acts on: the saga acts on an order's placement and its customer's cancel,
// on the participants' answers in their own streams (not on the copies it
// records on the order), and on operators' retries.
std::optional<AddressedInput> saga_input_from(const events::RecordedEvent& recorded);

}  // namespace ordersd::write
