// The saga's participants: the payment, inventory and shipping services, each
// answering the step requests addressed to it (see participant.h).
//
//   payment    charge, refund              -> wallet-{customer_id}
//   inventory  reserve, release, stock_ship -> reservation-{order_id}, sku-{sku}
//   shipping   ship, shipment_cancel        -> shipment-{order_id}
//
// Every answer's event id derives from the request's, and its causation id is
// the request's id.
#pragma once

#include <memory>

#include "write/saga/participant.h"
#include "write/domain/shipping.h"
#include "write/pipeline/stream_turns.h"

namespace ordersd::write {

std::unique_ptr<Participant> make_payment_participant(events::EventLog& log, StreamTurns& turns);
std::unique_ptr<Participant> make_inventory_participant(events::EventLog& log, StreamTurns& turns);
std::unique_ptr<Participant> make_shipping_participant(events::EventLog& log, ServedCountries served);

// The id of the i-th event answering `request`.
Uuid answer_id(const events::EventLog& log, const events::RecordedEvent& request, size_t i);

}  // namespace ordersd::write
