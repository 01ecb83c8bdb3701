// Where the payment service keeps what each wallet answered each order: one
// record per order (an encode_order_payment() value, service_codec.h) in the
// side-written space "payment-orders", under "{customer_id}/{order_id}",
// written in the same atomic append as the wallet's event that changed it.
// The key "{customer_id}/" (no order) marks a wallet whose every order has
// its record; a wallet without it was written before the records were kept,
// and its records are built from its stream when first needed.
// See docs/bounded-state.md.
#pragma once

#include <string>
#include <string_view>

namespace ordersd::write {

inline constexpr std::string_view kPaymentRecordSpace = "payment-orders";

std::string payment_record_key(std::string_view customer_id, std::string_view order_id);

}  // namespace ordersd::write
