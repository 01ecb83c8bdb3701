#include "read/summary_views.h"

#include <flatbuffers/flatbuffers.h>

#include <map>
#include <nlohmann/json.hpp>

#include "events/event_types.h"
#include "events/payload.h"
#include "read/order_view.h"
#include "schema/order_events_generated.h"

namespace ordersd::read {

namespace {

namespace s = ordersd::schema;
using events::payload_root;
using events::string_of;
using events::EventType;
using nlohmann::json;

EventType type_of(const events::RecordedEvent& e) {
  const events::EventTypeInfo* info = events::find_event_type(e.type());
  return info ? info->type : EventType::kOrderPlaced;  // the log only holds known types
}

bool in_stream(const events::RecordedEvent& e, std::string_view prefix) {
  return e.stream().substr(0, prefix.size()) == prefix;
}

// The rows a batch touches, parsed once when first read and written once at
// the end of the batch.
class JsonRows {
 public:
  explicit JsonRows(ViewBatch& view) : view_(view) {}

  Result<json> get(const std::string& key, json fresh) {
    if (auto it = rows_.find(key); it != rows_.end()) return it->second;
    auto stored = view_.get(key);
    if (!stored) return stored.status();
    if (!*stored) return fresh;
    auto j = json::parse(**stored, nullptr, false);
    if (j.is_discarded()) return Status::corruption("the row " + key + " is not JSON", 0);
    rows_.emplace(key, j);
    return j;
  }
  void put(const std::string& key, json row) { rows_.insert_or_assign(key, std::move(row)); }
  void flush() {
    for (auto& [key, row] : rows_) view_.put(key, row.dump());
    rows_.clear();
  }

 private:
  ViewBatch& view_;
  std::map<std::string, json> rows_;
};

Result<json> load(JsonRows& view, const std::string& key, json fresh) { return view.get(key, std::move(fresh)); }

void add(json& counter, const std::string& name, int64_t delta) {
  int64_t now = counter.value(name, int64_t{0}) + delta;
  if (now == 0) counter.erase(name);
  else counter[name] = now;
}

// An order's status change, as the order view reads the order's stream; the
// view keeps "o/{order_id}" -> {customer, status, version} to fold it.
struct StatusChange {
  std::string customer_id;
  std::string before;  // "" for a new order
  std::string after;
};

Result<std::optional<StatusChange>> order_status_change(const events::RecordedEvent& e, JsonRows& view) {
  std::string key = "o/" + std::string(e.stream().substr(6));
  auto known = load(view, key, json::object());
  if (!known) return known.status();
  OrderRow row;
  row.customer_id = known->value("customer_id", "");
  row.status = known->value("status", "");
  row.version = known->value("version", uint64_t{0});
  if (Status st = apply(row, e); !st) return st;
  view.put(key, json{{"customer_id", row.customer_id}, {"status", row.status}, {"version", row.version}});
  std::string before = known->value("status", "");
  if (before == row.status) return std::optional<StatusChange>();
  return std::optional<StatusChange>(StatusChange{row.customer_id, before, row.status});
}

void count_status(json& orders, const StatusChange& change) {
  if (!change.before.empty()) add(orders, change.before, -1);
  add(orders, change.after, 1);
}

}  // namespace

std::string customer_row_key(std::string_view customer_id) { return "c/" + std::string(customer_id); }
std::string stock_row_key(std::string_view sku) { return "s/" + std::string(sku); }

static Status fold_customer(const events::RecordedEvent& e, JsonRows& view) {
  auto fresh = [](const std::string& id) {
    return json{{"customer_id", id}, {"balance_cents", 0}, {"deposited_cents", 0}, {"spent_cents", 0},
                {"orders", json::object()}};
  };
  if (in_stream(e, "wallet-")) {
    std::string customer(e.stream().substr(7));
    std::string key = customer_row_key(customer);
    auto row = load(view, key, fresh(customer));
    if (!row) return row.status();
    json& r = *row;
    switch (type_of(e)) {
      case EventType::kFundsDeposited: {
        auto* t = payload_root<s::FundsDeposited>(e);
        r["balance_cents"] = t->balance_cents();
        r["deposited_cents"] = r["deposited_cents"].get<uint64_t>() + t->amount_cents();
        break;
      }
      case EventType::kPaymentProcessed: {
        uint64_t amount = payload_root<s::PaymentProcessed>(e)->amount_cents();
        r["balance_cents"] = r["balance_cents"].get<uint64_t>() - amount;
        r["spent_cents"] = r["spent_cents"].get<uint64_t>() + amount;
        break;
      }
      case EventType::kPaymentRefunded: {
        uint64_t amount = payload_root<s::PaymentRefunded>(e)->amount_cents();
        r["balance_cents"] = r["balance_cents"].get<uint64_t>() + amount;
        r["spent_cents"] = r["spent_cents"].get<uint64_t>() - amount;
        break;
      }
      default:
        return Status::ok();  // a decline moves no money
    }
    view.put(key, r);
    return Status::ok();
  }
  if (!is_order_stream_event(e)) return Status::ok();
  auto change = order_status_change(e, view);
  if (!change) return change.status();
  if (!*change) return Status::ok();
  std::string key = customer_row_key((*change)->customer_id);
  auto row = load(view, key, fresh((*change)->customer_id));
  if (!row) return row.status();
  count_status((*row)["orders"], **change);
  view.put(key, *row);
  return Status::ok();
}

static Status fold_inventory(const events::RecordedEvent& e, JsonRows& view) {
  if (!in_stream(e, "sku-")) return Status::ok();
  std::string sku(e.stream().substr(4));
  std::string key = stock_row_key(sku);
  auto row = load(view, key,
                  json{{"sku", sku}, {"restocked", 0}, {"available", 0}, {"reserved", 0}, {"shipped", 0}});
  if (!row) return row.status();
  json& r = *row;
  auto move = [&](const char* from, const char* to, uint64_t units) {
    r[from] = r[from].get<uint64_t>() - units;
    r[to] = r[to].get<uint64_t>() + units;
  };
  switch (type_of(e)) {
    case EventType::kStockRestocked: {
      auto* t = payload_root<s::StockRestocked>(e);
      r["restocked"] = r["restocked"].get<uint64_t>() + t->quantity();
      r["available"] = t->available();
      break;
    }
    case EventType::kStockReserved: move("available", "reserved", payload_root<s::StockMovement>(e)->quantity()); break;
    case EventType::kStockReleased: move("reserved", "available", payload_root<s::StockMovement>(e)->quantity()); break;
    case EventType::kStockShipped: move("reserved", "shipped", payload_root<s::StockMovement>(e)->quantity()); break;
    default:
      return Status::corruption("the inventory view cannot apply a " + std::string(e.type()) +
                                    " event in a sku's stream at position " + std::to_string(e.position()),
                                e.position());
  }
  view.put(key, r);
  return Status::ok();
}

static Status fold_stats(const events::RecordedEvent& e, JsonRows& view) {
  bool wallet = in_stream(e, "wallet-"), order = is_order_stream_event(e);
  if (!wallet && !order) return Status::ok();
  auto row = load(view, kStatsRowKey,
                  json{{"orders", json::object()}, {"revenue_cents", 0}, {"cancellations", json::object()}});
  if (!row) return row.status();
  json& r = *row;
  if (wallet) {
    EventType type = type_of(e);
    if (type == EventType::kPaymentProcessed) {
      r["revenue_cents"] = r["revenue_cents"].get<uint64_t>() + payload_root<s::PaymentProcessed>(e)->amount_cents();
    } else if (type == EventType::kPaymentRefunded) {
      r["revenue_cents"] = r["revenue_cents"].get<uint64_t>() - payload_root<s::PaymentRefunded>(e)->amount_cents();
    } else {
      return Status::ok();
    }
  } else {
    auto change = order_status_change(e, view);
    if (!change) return change.status();
    if (type_of(e) == EventType::kOrderCancelled) add(r["cancellations"], string_of(payload_root<s::OrderCancelled>(e)->reason()), 1);
    if (*change) count_status(r["orders"], **change);
    if (!*change && type_of(e) != EventType::kOrderCancelled) return Status::ok();
  }
  view.put(kStatsRowKey, r);
  return Status::ok();
}

namespace {

template <Status (*Fold)(const events::RecordedEvent&, JsonRows&)>
Status fold_batch(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  JsonRows rows(view);
  for (const auto& e : batch) {
    if (Status s = Fold(e, rows); !s) return s;
  }
  rows.flush();
  return Status::ok();
}

}  // namespace

Status project_customers(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  return fold_batch<fold_customer>(batch, view);
}
Status project_inventory(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  return fold_batch<fold_inventory>(batch, view);
}
Status project_stats(const std::vector<events::RecordedEvent>& batch, ViewBatch& view) {
  return fold_batch<fold_stats>(batch, view);
}

}  // namespace ordersd::read
