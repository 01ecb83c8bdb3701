#include "read/summary_views.h"

#include <flatbuffers/flatbuffers.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "events/event_types.h"
#include "events/order_lifecycle.h"
#include "events/payload.h"
#include "events/json_writer.h"
#include "read/order_view.h"
#include "read/row_cache.h"
#include "schema/order_events_generated.h"

namespace ordersd::read {

namespace {

namespace s = ordersd::schema;
using events::payload_root;
using events::string_of;
using events::EventType;
using events::OrderStatus;
using nlohmann::json;

// Rows are kept in memory up to this many per cache (row_cache.h).
constexpr size_t kRowsKept = 65536;

// The event's type; nullopt for a stored name this build does not know (the
// log verifies types on append, so only a newer build writes one). Never
// mistaken for another type: each view says what it does with one.
std::optional<EventType> type_of(const events::RecordedEvent& e) {
  const events::EventTypeInfo* info = events::find_event_type(e.type());
  if (!info) return std::nullopt;
  return info->type;
}

bool in_stream(const events::RecordedEvent& e, std::string_view prefix) {
  return e.stream().substr(0, prefix.size()) == prefix;
}

// Counts by name, written with names in order and zero counts left out.
using Counts = std::map<std::string, int64_t, std::less<>>;

void add(Counts& counts, std::string_view name, int64_t delta) {
  auto it = counts.find(name);
  if (it == counts.end()) it = counts.emplace(std::string(name), 0).first;
  it->second += delta;
  if (it->second == 0) counts.erase(it);
}

void write_counts(JsonWriter& w, const Counts& counts) {
  w.open('{');
  for (const auto& [name, n] : counts) w.key(name).signed_number(n);
  w.close('}');
}

// Counts per order status, in the order of an order's life (placed first,
// cancelled last); a name that is no status (none is counted) after them.
void write_status_counts(JsonWriter& w, const Counts& counts) {
  w.open('{');
  for (OrderStatus status : events::kOrderStatuses) {
    if (auto it = counts.find(events::order_status_name(status)); it != counts.end()) {
      w.key(it->first).signed_number(it->second);
    }
  }
  for (const auto& [name, n] : counts) {
    if (!events::parse_order_status(name)) w.key(name).signed_number(n);
  }
  w.close('}');
}

Counts counts_from(const json& j) {
  Counts out;
  for (const auto& [name, n] : j.items()) out.emplace(name, n.get<int64_t>());
  return out;
}

// Parses a stored row with nlohmann: only done when a row is not in memory.
template <typename Row, typename Read>
Result<Row> parse_row(std::string_view text, Read read) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("not a JSON object", 0);
  try {
    return read(j);
  } catch (const json::exception& e) {
    return Status::corruption(std::string("malformed: ") + e.what(), 0);
  }
}

// Rows are the answers of GET /customers/{id} and GET /inventory/{sku} as
// they are, so their keys come in the API's order: identity first, then the
// figures. Rows written before that came in sorted key order (as nlohmann
// wrote them from a std::map); customer_answer() and stock_answer() re-encode
// those.

// "o/{order_id}": what the customer and stats views know of an order, to
// count it under the right status.
struct OrderStatusRow {
  std::string customer_id;
  std::string status;
  uint64_t version = 0;
  static Result<OrderStatusRow> parse(std::string_view text) {
    return parse_row<OrderStatusRow>(text, [](const json& j) {
      return OrderStatusRow{j.at("customer_id"), j.at("status"), j.at("version")};
    });
  }
  std::string to_json() const {
    JsonWriter w(64 + customer_id.size());
    w.open('{').key("customer_id").string(customer_id).key("status").string(status).key("version").number(version);
    return w.close('}').take();
  }
  // Shipped or over: changes only when someone delivers or cancels it.
  bool settled() const {
    auto s = events::parse_order_status(status);
    return s == OrderStatus::kShipmentInitiated || s == OrderStatus::kDelivered || s == OrderStatus::kCancelled;
  }
};

struct CustomerRow {
  std::string customer_id;
  uint64_t balance_cents = 0, deposited_cents = 0, spent_cents = 0;
  Counts orders;  // per status
  static Result<CustomerRow> parse(std::string_view text) {
    return parse_row<CustomerRow>(text, [](const json& j) {
      return CustomerRow{j.at("customer_id"), j.at("balance_cents"), j.at("deposited_cents"), j.at("spent_cents"),
                         counts_from(j.at("orders"))};
    });
  }
  std::string to_json() const {
    JsonWriter w(256);
    w.open('{').key("customer_id").string(customer_id).key("balance_cents").number(balance_cents);
    w.key("deposited_cents").number(deposited_cents).key("spent_cents").number(spent_cents).key("orders");
    write_status_counts(w, orders);
    return w.close('}').take();
  }
  static constexpr std::string_view kFirstKey = R"({"customer_id":)";
};

struct StockRow {
  std::string sku;
  uint64_t available = 0, reserved = 0, restocked = 0, shipped = 0;
  static Result<StockRow> parse(std::string_view text) {
    return parse_row<StockRow>(text, [](const json& j) {
      return StockRow{j.at("sku"), j.at("available"), j.at("reserved"), j.at("restocked"), j.at("shipped")};
    });
  }
  std::string to_json() const {
    JsonWriter w(128);
    w.open('{').key("sku").string(sku).key("restocked").number(restocked).key("available").number(available);
    w.key("reserved").number(reserved).key("shipped").number(shipped);
    return w.close('}').take();
  }
  static constexpr std::string_view kFirstKey = R"({"sku":)";
};

struct StatsRow {
  Counts cancellations;  // per reason
  Counts orders;         // per status
  uint64_t revenue_cents = 0;
  static Result<StatsRow> parse(std::string_view text) {
    return parse_row<StatsRow>(text, [](const json& j) {
      return StatsRow{counts_from(j.at("cancellations")), counts_from(j.at("orders")), j.at("revenue_cents")};
    });
  }
  std::string to_json() const {
    JsonWriter w(256);
    w.open('{').key("orders");
    write_status_counts(w, orders);
    w.key("revenue_cents").number(revenue_cents).key("cancellations");
    write_counts(w, cancellations);
    return w.close('}').take();
  }
};

// An order's status change, as the order view reads the order's stream.
struct StatusChange {
  std::string customer_id;
  OrderStatus before;  // kNone for a new order
  OrderStatus after;
};

// Folds an event of an order's stream into what the view knows of the order.
Result<std::optional<StatusChange>> order_status_change(const events::RecordedEvent& e, ViewBatch& view,
                                                         RowCache<OrderStatusRow>& orders) {
  auto known = orders.change(view, "o/" + std::string(e.stream().substr(6)), [] { return OrderStatusRow{}; });
  if (!known) return known.status();
  OrderStatusRow& o = **known;
  OrderRow row;
  row.customer_id = o.customer_id;
  row.status = o.status;
  row.version = o.version;
  std::optional<OrderStatus> before = order_status(row);
  // Refuses, among others, an event of a type this build does not know and a
  // kept status that is no order status.
  if (Status st = apply(row, e); !st) return st;
  std::optional<OrderStatus> after = order_status(row);
  std::optional<StatusChange> change;
  if (after != before) change = StatusChange{row.customer_id, *before, *after};
  o = {std::move(row.customer_id), std::move(row.status), row.version};
  return change;
}

// Counted under the statuses' names (events/order_lifecycle.h).
void count_status(Counts& orders, const StatusChange& change) {
  if (change.before != OrderStatus::kNone) add(orders, events::order_status_name(change.before), -1);
  add(orders, events::order_status_name(change.after), 1);
}

// A projection that keeps its rows in memory between batches (row_cache.h):
// Fold(event, view, caches...) per event, then every cache flushed.
class CustomerProjection {
 public:
  Status apply(const events::RecordedEvent& e, ViewBatch& view) {
    auto fresh = [](std::string id) { return [id = std::move(id)] { return CustomerRow{id, 0, 0, 0, {}}; }; };
    if (in_stream(e, "wallet-")) {
      std::optional<EventType> type = type_of(e);
      // A decline moves no money. A type this build does not know is ignored
      // deliberately, like every wallet event this view does not count: a
      // newer build's wallet event is not this view's to refuse.
      if (type != EventType::kFundsDeposited && type != EventType::kPaymentProcessed &&
          type != EventType::kPaymentRefunded) {
        return Status::ok();
      }
      std::string customer(e.stream().substr(7));
      auto row = customers_.change(view, customer_row_key(customer), fresh(customer));
      if (!row) return row.status();
      CustomerRow& r = **row;
      if (type == EventType::kFundsDeposited) {
        auto* t = payload_root<s::FundsDeposited>(e);
        r.balance_cents = t->balance_cents();
        r.deposited_cents += t->amount_cents();
      } else if (type == EventType::kPaymentProcessed) {
        uint64_t amount = payload_root<s::PaymentProcessed>(e)->amount_cents();
        r.balance_cents -= amount;
        r.spent_cents += amount;
      } else {
        uint64_t amount = payload_root<s::PaymentRefunded>(e)->amount_cents();
        r.balance_cents += amount;
        r.spent_cents -= amount;
      }
      return Status::ok();
    }
    if (!is_order_stream_event(e)) return Status::ok();
    auto change = order_status_change(e, view, orders_);
    if (!change) return change.status();
    if (!*change) return Status::ok();
    auto row = customers_.change(view, customer_row_key((*change)->customer_id), fresh((*change)->customer_id));
    if (!row) return row.status();
    count_status((*row)->orders, **change);
    return Status::ok();
  }
  void flush(ViewBatch& view) {
    customers_.flush(view);
    orders_.flush(view);
  }
  void clear() {
    customers_.clear();
    orders_.clear();
  }

 private:
  RowCache<CustomerRow> customers_{kRowsKept};
  RowCache<OrderStatusRow> orders_{kRowsKept};
};

class InventoryProjection {
 public:
  Status apply(const events::RecordedEvent& e, ViewBatch& view) {
    if (!in_stream(e, "sku-")) return Status::ok();
    std::string sku(e.stream().substr(4));
    auto row = stock_.change(view, stock_row_key(sku), [&] { return StockRow{sku, 0, 0, 0, 0}; });
    if (!row) return row.status();
    StockRow& r = **row;
    auto move = [](uint64_t& from, uint64_t& to, uint64_t units) {
      from -= units;
      to += units;
    };
    auto cannot_apply = [&] {
      return Status::corruption("the inventory view cannot apply a " + std::string(e.type()) +
                                    " event in a sku's stream at position " + std::to_string(e.position()),
                                e.position());
    };
    // A type this build does not know may move stock: refused, like any other
    // event the view cannot apply, rather than guessed at.
    std::optional<EventType> type = type_of(e);
    if (!type) return cannot_apply();
    switch (*type) {
      case EventType::kStockRestocked: {
        auto* t = payload_root<s::StockRestocked>(e);
        r.restocked += t->quantity();
        r.available = t->available();
        break;
      }
      case EventType::kStockReserved: move(r.available, r.reserved, payload_root<s::StockMovement>(e)->quantity()); break;
      case EventType::kStockReleased: move(r.reserved, r.available, payload_root<s::StockMovement>(e)->quantity()); break;
      case EventType::kStockShipped: move(r.reserved, r.shipped, payload_root<s::StockMovement>(e)->quantity()); break;
      default:
        return cannot_apply();
    }
    return Status::ok();
  }
  void flush(ViewBatch& view) { stock_.flush(view); }
  void clear() { stock_.clear(); }

 private:
  RowCache<StockRow> stock_{kRowsKept};
};

class StatsProjection {
 public:
  Status apply(const events::RecordedEvent& e, ViewBatch& view) {
    bool wallet = in_stream(e, "wallet-");
    if (!wallet && !is_order_stream_event(e)) return Status::ok();
    // An unknown type in a wallet's stream is ignored, as by the customer view;
    // in an order's stream the order view's apply refuses it.
    std::optional<EventType> type = type_of(e);
    if (wallet && type != EventType::kPaymentProcessed && type != EventType::kPaymentRefunded) return Status::ok();
    std::optional<StatusChange> change;
    if (!wallet) {
      auto changed = order_status_change(e, view, orders_);
      if (!changed) return changed.status();
      change = std::move(*changed);
      if (!change && type != EventType::kOrderCancelled) return Status::ok();
    }
    auto row = stats_.change(view, kStatsRowKey, [] { return StatsRow{}; });
    if (!row) return row.status();
    StatsRow& r = **row;
    if (type == EventType::kPaymentProcessed && wallet) {
      r.revenue_cents += payload_root<s::PaymentProcessed>(e)->amount_cents();
    } else if (type == EventType::kPaymentRefunded && wallet) {
      r.revenue_cents -= payload_root<s::PaymentRefunded>(e)->amount_cents();
    } else {
      if (type == EventType::kOrderCancelled) add(r.cancellations, string_of(payload_root<s::OrderCancelled>(e)->reason()), 1);
      if (change) count_status(r.orders, *change);
    }
    return Status::ok();
  }
  void flush(ViewBatch& view) {
    stats_.flush(view);
    orders_.flush(view);
  }
  void clear() {
    stats_.clear();
    orders_.clear();
  }

 private:
  RowCache<StatsRow> stats_{1};
  RowCache<OrderStatusRow> orders_{kRowsKept};
};

template <typename Projection>
Status apply_batch(Projection& projection, const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  for (const auto& e : batch) {
    if (Status s = projection.apply(e, view); !s) {
      projection.clear();  // some rows may hold part of the refused batch
      return s;
    }
  }
  projection.flush(view);
  return Status::ok();
}

template <typename Projection>
Projector::Apply kept() {
  auto projection = std::make_shared<Projection>();
  return [projection](const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
    return apply_batch(*projection, batch, view);
  };
}

// A stored row as it is answered: as stored when written in the API's key
// order, else re-encoded (a damaged row is answered as it is).
template <typename Row>
std::string answer(std::string stored) {
  if (std::string_view(stored).starts_with(Row::kFirstKey)) return stored;
  auto row = Row::parse(stored);
  if (!row) return stored;
  return row->to_json();
}

}  // namespace

std::string customer_answer(std::string stored) { return answer<CustomerRow>(std::move(stored)); }
std::string stock_answer(std::string stored) { return answer<StockRow>(std::move(stored)); }

std::string customer_row_key(std::string_view customer_id) { return "c/" + std::string(customer_id); }
std::string stock_row_key(std::string_view sku) { return "s/" + std::string(sku); }

Projector::Apply customer_projection() { return kept<CustomerProjection>(); }
Projector::Apply inventory_projection() { return kept<InventoryProjection>(); }
Projector::Apply stats_projection() { return kept<StatsProjection>(); }

Status project_customers(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  CustomerProjection projection;
  return apply_batch(projection, batch, view);
}
Status project_inventory(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  InventoryProjection projection;
  return apply_batch(projection, batch, view);
}
Status project_stats(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  StatsProjection projection;
  return apply_batch(projection, batch, view);
}

}  // namespace ordersd::read
