#include "write/domain/service_codec.h"

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

events::NewEvent finish(FlatBufferBuilder& fbb, EventType type, Uuid id, Uuid correlation_id, Uuid causation_id) {
  return {id, std::string(events::stored_name(type)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), correlation_id,
          causation_id};
}

Status not_ours(const events::RecordedEvent& r, const char* service) {
  return Status::invalid_argument("a " + std::string(r.type()) + " event is not a " + service + " event");
}

// Snapshot and record bytes: a format byte, then fixed-width big-endian
// integers and length-prefixed strings.
constexpr char kWalletSnapshotV1 = 'W';
constexpr char kStockSnapshotV1 = 'S';
constexpr char kOrderPaymentV1 = 'P';

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Reads what put_* wrote; any read past the end makes ok() false.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint64_t u64() { return uint(8); }
  uint32_t u32() { return static_cast<uint32_t>(uint(4)); }
  uint8_t u8() { return static_cast<uint8_t>(uint(1)); }
  std::string str() {
    uint32_t n = u32();
    if (!ok_ || in_.size() < n) return fail(), std::string();
    std::string out(in_.substr(0, n));
    in_.remove_prefix(n);
    return out;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  void fail() { ok_ = false; }
  uint64_t uint(size_t bytes) {
    if (!ok_ || in_.size() < bytes) return fail(), 0;
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(bytes);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

std::string wallet_stream(std::string_view customer_id) { return "wallet-" + std::string(customer_id); }
std::string sku_stream(std::string_view sku) { return "sku-" + std::string(sku); }
std::string shipment_stream(std::string_view order_id) { return "shipment-" + std::string(order_id); }
std::string reservation_stream(std::string_view order_id) { return "reservation-" + std::string(order_id); }

events::NewEvent to_new_event(std::string_view customer_id, const WalletEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(128);
  auto customer = fbb.CreateString(customer_id.data(), customer_id.size());
  EventType type = std::visit(
      Overloaded{
          [&](const FundsDeposited& e) {
            fbb.Finish(s::CreateFundsDeposited(fbb, customer, e.amount_cents, e.balance_cents));
            return EventType::kFundsDeposited;
          },
          [&](const WalletCharged& e) {
            fbb.Finish(s::CreatePaymentProcessed(fbb, fbb.CreateString(e.order_id), customer, e.amount_cents));
            return EventType::kPaymentProcessed;
          },
          [&](const WalletDeclined& e) {
            fbb.Finish(s::CreatePaymentDeclined(fbb, fbb.CreateString(e.order_id), customer, e.amount_cents,
                                                fbb.CreateString(e.reason)));
            return EventType::kPaymentDeclined;
          },
          [&](const WalletRefunded& e) {
            fbb.Finish(s::CreatePaymentRefunded(fbb, fbb.CreateString(e.order_id), customer, e.amount_cents));
            return EventType::kPaymentRefunded;
          },
      },
      event);
  return finish(fbb, type, id, correlation_id, causation_id);
}

events::NewEvent to_new_event(std::string_view sku, const StockEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  FlatBufferBuilder fbb(128);
  auto name = fbb.CreateString(sku.data(), sku.size());
  auto movement = [&](const std::string& order_id, uint32_t quantity, EventType type) {
    fbb.Finish(s::CreateStockMovement(fbb, name, fbb.CreateString(order_id), quantity));
    return type;
  };
  EventType type = std::visit(
      Overloaded{
          [&](const StockRestocked& e) {
            fbb.Finish(s::CreateStockRestocked(fbb, name, e.quantity, e.available));
            return EventType::kStockRestocked;
          },
          [&](const StockReserved& e) { return movement(e.order_id, e.quantity, EventType::kStockReserved); },
          [&](const StockReleased& e) { return movement(e.order_id, e.quantity, EventType::kStockReleased); },
          [&](const StockShipped& e) { return movement(e.order_id, e.quantity, EventType::kStockShipped); },
      },
      event);
  return finish(fbb, type, id, correlation_id, causation_id);
}

events::NewEvent to_new_event(std::string_view order_id, const ShipmentEvent& event, Uuid id, Uuid correlation_id,
                              Uuid causation_id) {
  OrderEvent as_order = std::visit([](const auto& e) { return OrderEvent(e); }, event);
  return to_new_event(order_id, as_order, id, correlation_id, causation_id);
}

// The log verified each payload against its type when it read the record.
Result<WalletEvent> wallet_event_from(const events::RecordedEvent& r) {
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  if (!info) return not_ours(r, "wallet");
  switch (info->type) {
    case EventType::kFundsDeposited: {
      auto* t = payload_root<s::FundsDeposited>(r);
      return WalletEvent(FundsDeposited{t->amount_cents(), t->balance_cents()});
    }
    case EventType::kPaymentProcessed: {
      auto* t = payload_root<s::PaymentProcessed>(r);
      return WalletEvent(WalletCharged{string_of(t->order_id()), t->amount_cents()});
    }
    case EventType::kPaymentDeclined: {
      auto* t = payload_root<s::PaymentDeclined>(r);
      return WalletEvent(WalletDeclined{string_of(t->order_id()), t->amount_cents(), string_of(t->reason())});
    }
    case EventType::kPaymentRefunded: {
      auto* t = payload_root<s::PaymentRefunded>(r);
      return WalletEvent(WalletRefunded{string_of(t->order_id()), t->amount_cents()});
    }
    default:
      return not_ours(r, "wallet");
  }
}

Result<StockEvent> stock_event_from(const events::RecordedEvent& r) {
  const events::EventTypeInfo* info = events::find_event_type(r.type());
  if (!info) return not_ours(r, "stock");
  switch (info->type) {
    case EventType::kStockRestocked: {
      auto* t = payload_root<s::StockRestocked>(r);
      return StockEvent(StockRestocked{t->quantity(), t->available()});
    }
    case EventType::kStockReserved: {
      auto* t = payload_root<s::StockMovement>(r);
      return StockEvent(StockReserved{string_of(t->order_id()), t->quantity()});
    }
    case EventType::kStockReleased: {
      auto* t = payload_root<s::StockMovement>(r);
      return StockEvent(StockReleased{string_of(t->order_id()), t->quantity()});
    }
    case EventType::kStockShipped: {
      auto* t = payload_root<s::StockMovement>(r);
      return StockEvent(StockShipped{string_of(t->order_id()), t->quantity()});
    }
    default:
      return not_ours(r, "stock");
  }
}

std::string encode_snapshot(const WalletState& state) {
  std::string out(1, kWalletSnapshotV1);
  for (uint64_t v : {state.version, state.balance_cents, state.deposited_cents, state.charged_cents}) put_u64(out, v);
  return out;
}

std::optional<WalletState> wallet_snapshot_from(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != kWalletSnapshotV1) return std::nullopt;
  Reader in(bytes.substr(1));
  WalletState s;
  s.version = in.u64();
  s.balance_cents = in.u64();
  s.deposited_cents = in.u64();
  s.charged_cents = in.u64();
  if (!in.done() || s.deposited_cents != s.balance_cents + s.charged_cents) return std::nullopt;
  return s;
}

std::string encode_snapshot(const StockState& state) {
  std::string out(1, kStockSnapshotV1);
  for (uint64_t v : {state.version, state.restocked, state.available, state.reserved, state.shipped}) put_u64(out, v);
  put_u32(out, static_cast<uint32_t>(state.reservations.size()));
  for (const auto& [order, units] : state.reservations) {
    put_u32(out, static_cast<uint32_t>(order.size()));
    out += order;
    put_u32(out, units);
  }
  return out;
}

std::optional<StockState> stock_snapshot_from(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != kStockSnapshotV1) return std::nullopt;
  Reader in(bytes.substr(1));
  StockState s;
  s.version = in.u64();
  s.restocked = in.u64();
  s.available = in.u64();
  s.reserved = in.u64();
  s.shipped = in.u64();
  uint32_t n = in.u32();
  uint64_t held = 0;
  for (uint32_t i = 0; i < n && in.ok(); ++i) {
    std::string order = in.str();
    uint32_t units = in.u32();
    held += units;
    s.reservations.emplace_hint(s.reservations.end(), std::move(order), units);
  }
  if (!in.done() || s.reservations.size() != n || held != s.reserved ||
      s.restocked != s.available + s.reserved + s.shipped) {
    return std::nullopt;
  }
  return s;
}

std::string encode_order_payment(const OrderPayment& payment) {
  std::string out(1, kOrderPaymentV1);
  out.push_back(static_cast<char>(payment.outcome));
  put_u64(out, payment.amount_cents);
  return out;
}

std::optional<OrderPayment> order_payment_from(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != kOrderPaymentV1) return std::nullopt;
  Reader in(bytes.substr(1));
  uint8_t outcome = in.u8();
  uint64_t amount = in.u64();
  if (!in.done() || outcome > static_cast<uint8_t>(OrderPayment::Outcome::kRefunded)) return std::nullopt;
  return OrderPayment{static_cast<OrderPayment::Outcome>(outcome), amount};
}

Result<ShipmentEvent> shipment_event_from(const events::RecordedEvent& r) {
  auto event = order_event_from(r);
  if (!event) return event.status();
  if (auto* e = std::get_if<ShipmentInitiated>(&*event)) return ShipmentEvent(*e);
  if (auto* e = std::get_if<ShipmentFailed>(&*event)) return ShipmentEvent(*e);
  return not_ours(r, "shipment");
}

}  // namespace ordersd::write
