#include "api/order_api.h"

#include <map>
#include <nlohmann/json.hpp>

#include "api/command_bodies.h"
#include "api/problems.h"
#include "events/event_json.h"
#include "events/json_writer.h"
#include "http/params.h"
#include "write/domain/order.h"
#include "write/domain/order_codec.h"

namespace ordersd::api {

using http::Request;
using http::Responder;
using http::Response;

namespace {

constexpr size_t kMaxEventsPerPage = 1000;
constexpr size_t kDefaultEventsPerPage = 100;

// An array of events, each as events::event_to_json writes it.
void events_array(JsonWriter& w, const std::vector<events::RecordedEvent>& events) {
  w.open('[');
  for (const auto& e : events) w.json(events::event_to_json(e));
  w.close(']');
}

nlohmann::ordered_json state_json(const write::OrderState& s) {
  nlohmann::ordered_json j;
  j["order_id"] = s.order_id;
  j["status"] = std::string(write::status_name(s.status));
  j["customer_id"] = s.customer_id;
  j["items"] = nlohmann::json::array();
  for (const auto& l : s.items) {
    j["items"].push_back({{"sku", l.sku}, {"quantity", l.quantity}, {"unit_price_cents", l.unit_price_cents}});
  }
  j["shipping_address"] = {{"country", s.shipping_address.country},
                           {"city", s.shipping_address.city},
                           {"line1", s.shipping_address.line1},
                           {"postal_code", s.shipping_address.postal_code}};
  j["total_cents"] = s.total_cents;
  j["paid"] = s.paid;
  j["reserved"] = s.reserved;
  if (s.shipment_id) j["shipment_id"] = *s.shipment_id;
  if (s.cancel_reason) j["cancel_reason"] = *s.cancel_reason;
  j["version"] = s.version;
  return j;
}

}  // namespace

OrderApi::OrderApi(events::EventLog& log, write::OrderPipeline& orders, write::WorkQueue& work,
                   IdempotencyStore& idempotency, UuidGenerator& ids, CommandGate gate)
    : log_(log), orders_(orders), work_(work), ids_(ids), runner_(log, work, idempotency, ids, std::move(gate)) {}

void OrderApi::add_routes(Access& access, http::Router& router) {
  access.add(router, "POST", "/orders", [this](Request r, http::Router::Params, const Caller& caller, Responder respond) {
    place(std::move(r), caller, std::move(respond));
  });
  // The routes of one order: a caller bound to a customer reaches only its own.
  auto own = [this](void (OrderApi::*route)(Request, std::string, Responder)) {
    return [this, route](Request r, http::Router::Params p, const Caller& caller, Responder respond) {
      if (!caller.principal.customer_id) return (this->*route)(std::move(r), std::move(p[0]), std::move(respond));
      if (!valid_id(p[0])) return respond(bad_id("an order id"));
      work_.post([this, route, r = std::move(r), order_id = std::move(p[0]), customer = *caller.principal.customer_id,
                  respond = std::move(respond)]() mutable {
        auto state = orders_.load(order_id, UINT64_MAX);
        if (!state) return respond(server_error(state.status()));
        if (state->status == write::OrderStatus::kNone || state->customer_id != customer) {
          return respond(not_found("no order " + order_id));
        }
        (this->*route)(std::move(r), std::move(order_id), std::move(respond));
      });
    };
  };
  access.add(router, "POST", "/orders/{id}/cancel", own(&OrderApi::cancel));
  access.add(router, "POST", "/orders/{id}/deliver", own(&OrderApi::deliver));
  access.add(router, "GET", "/orders/{id}/events", own(&OrderApi::order_events));
  access.add(router, "GET", "/orders/{id}/state", own(&OrderApi::order_state));
  access.add(router, "GET", "/events", [this](Request r, http::Router::Params, Responder respond) {
    all_events(std::move(r), std::move(respond));
  });
}

namespace {

// The answer to an executed order command; the same bytes whether it is sent
// now or replayed for an Idempotency-Key.
Response order_answer(int status, bool creates, const write::OrderState& after, uint64_t position) {
  nlohmann::ordered_json j;
  j["order_id"] = after.order_id;
  j["status"] = std::string(write::status_name(after.status));
  j["version"] = after.version;
  j["position"] = position;
  Response r = Response::json(status, j.dump());
  r.set_header("ETag", "\"" + std::to_string(after.version) + "\"");
  if (creates) r.set_header("Location", "/orders/" + after.order_id);
  return r;
}

Response order_refusal(const std::string& order_id, const write::Refusal& refusal) {
  if (refusal.kind == write::Refusal::Kind::kNotFound) {
    return not_found("no order " + order_id);
  }
  return conflict(refusal.message);
}

}  // namespace

void OrderApi::run(HttpCommand command, std::string order_id, write::OrderCommand order_command, int status) {
  bool creates = std::holds_alternative<write::PlaceOrder>(order_command);
  CommandRunner::Spec<write::OrderDecider> spec{
      &orders_, order_id, std::move(order_command),
      [status, creates](const write::OrderState& after, uint64_t position) {
        return order_answer(status, creates, after, position);
      },
      [order_id](const write::Refusal& refusal) { return order_refusal(order_id, refusal); }};
  runner_.run(std::move(command), std::move(spec));
}

void OrderApi::place(Request request, const Caller& caller, Responder respond) {
  HttpCommand command;
  if (auto bad = read_command(request, respond, command)) return respond(*bad);
  if (command.body.empty()) return command.respond(bad_request("the body must be a JSON order"));
  auto place = parse_place_order(command.body);
  if (!place) return command.respond(bad_request(place.status().message()));
  if (!caller.principal.may_see_customer(place->customer_id)) {
    return command.respond(not_found("no customer " + place->customer_id));
  }
  if (place->order_id.empty()) place->order_id = ids_.next().to_string();
  std::string order_id = place->order_id;
  run(std::move(command), std::move(order_id), std::move(*place), 201);
}

void OrderApi::cancel(Request request, std::string order_id, Responder respond) {
  HttpCommand command;
  if (auto bad = read_command(request, respond, command)) return respond(*bad);
  if (!valid_id(order_id)) return command.respond(bad_id("an order id"));
  auto cancel = parse_cancel_order(command.body);
  if (!cancel) return command.respond(bad_request(cancel.status().message()));
  run(std::move(command), std::move(order_id), std::move(*cancel), 202);
}

void OrderApi::deliver(Request request, std::string order_id, Responder respond) {
  HttpCommand command;
  if (auto bad = read_command(request, respond, command)) return respond(*bad);
  if (!valid_id(order_id)) return command.respond(bad_id("an order id"));
  if (Status ok = parse_deliver_order(command.body); !ok) return command.respond(bad_request(ok.message()));
  run(std::move(command), std::move(order_id), write::DeliverOrder{}, 200);
}

void OrderApi::order_events(Request, std::string order_id, Responder respond) {
  if (!valid_id(order_id)) return respond(bad_id("an order id"));
  work_.post([this, order_id = std::move(order_id), respond = std::move(respond)] {
    auto events = log_.read_stream(write::order_stream(order_id), 1, SIZE_MAX);
    if (!events) return respond(server_error(events.status()));
    if (events->empty()) return respond(not_found("no order " + order_id));
    JsonWriter w(512 * events->size() + 64);
    w.open('{').key("order_id").string(order_id).key("events");
    events_array(w, *events);
    w.key("version").number(events->back().version()).close('}');
    Response r = Response::json(200, w.take());
    r.set_header("ETag", "\"" + std::to_string(events->back().version()) + "\"");
    respond(std::move(r));
  });
}

void OrderApi::order_state(Request request, std::string order_id, Responder respond) {
  if (!valid_id(order_id)) return respond(bad_id("an order id"));
  auto query = http::parse_numeric_query(request.query(), {"version"});
  if (!query) return respond(bad_request(query.status().message()));
  std::optional<uint64_t> version;
  if (query->count("version")) {
    version = query->at("version");
    if (*version == 0) return respond(bad_request("version must be a positive integer"));
  }
  work_.post([this, order_id = std::move(order_id), version, respond = std::move(respond)] {
    auto state = orders_.load(order_id, version.value_or(UINT64_MAX));
    if (!state) return respond(server_error(state.status()));
    if (state->status == write::OrderStatus::kNone) {
      return respond(not_found("no order " + order_id));
    }
    if (version && state->version < *version) {
      return respond(not_found("order " + order_id + " has " + std::to_string(state->version) +
                                           " versions; there is no version " + std::to_string(*version)));
    }
    Response r = Response::json(200, state_json(*state).dump());
    r.set_header("ETag", "\"" + std::to_string(state->version) + "\"");
    respond(std::move(r));
  });
}

void OrderApi::all_events(Request request, Responder respond) {
  auto query = http::parse_numeric_query(request.query(), {"from", "limit"});
  if (!query) return respond(bad_request(query.status().message()));
  uint64_t from = query->count("from") ? std::max<uint64_t>(query->at("from"), 1) : 1;
  uint64_t limit = query->count("limit") ? query->at("limit") : kDefaultEventsPerPage;
  if (limit < 1 || limit > kMaxEventsPerPage) return respond(bad_request("limit must be from 1 to 1000"));
  work_.post([this, from, limit, respond = std::move(respond)] {
    uint64_t head = log_.head();
    auto events = log_.read_all(from, static_cast<size_t>(limit));
    if (!events) return respond(server_error(events.status()));
    uint64_t next = events->empty() ? from : events->back().position() + 1;
    JsonWriter w(512 * events->size() + 64);
    w.open('{').key("events");
    events_array(w, *events);
    w.key("next").number(next).key("head").number(std::max(head, log_.head())).close('}');
    respond(Response::json(200, w.take()));
  });
}

}  // namespace ordersd::api
