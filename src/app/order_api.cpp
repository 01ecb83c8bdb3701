#include "app/order_api.h"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "app/order_request.h"
#include "events/event_json.h"
#include "write/order_codec.h"

namespace ordersd::app {

using http::Request;
using http::Responder;
using http::Response;

namespace {

constexpr size_t kMaxEventsPerPage = 1000;
constexpr size_t kDefaultEventsPerPage = 100;

Response bad_request(const std::string& detail) { return Response::problem(400, "Bad Request", detail); }

bool is_json(const Request& r) {
  std::string_view type = r.header("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return type == "application/json";
}

// A body, when there is one, must be declared JSON.
std::optional<Response> require_json(const Request& r) {
  if (r.body.empty() || is_json(r)) return std::nullopt;
  return Response::problem(415, "Unsupported Media Type", "the body must be application/json");
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t v = 0;
  if (text.empty() || text.size() > 19) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// `"3"` -> 3. Other forms (weak tags, lists, *) are not ours to honour.
std::optional<uint64_t> parse_etag(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.size() < 3 || value.front() != '"' || value.back() != '"') return std::nullopt;
  return parse_u64(value.substr(1, value.size() - 2));
}

// "from=1&limit=10" -> {from: 1, limit: 10}; nullopt for an unknown name or
// a value that is not a non-negative integer.
Result<std::map<std::string, uint64_t>> parse_numeric_query(std::string_view query,
                                                            std::initializer_list<const char*> names) {
  std::map<std::string, uint64_t> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = http::percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : http::percent_decode(pair.substr(eq + 1));
    bool known = false;
    for (const char* n : names) known = known || name == n;
    if (!known) return Status::invalid_argument("unknown query parameter '" + name + "'");
    auto number = parse_u64(value);
    if (!number) return Status::invalid_argument(name + " must be a non-negative integer");
    if (out.count(name)) return Status::invalid_argument(name + " is given twice");
    out[name] = *number;
  }
  return out;
}

std::string events_array(const std::vector<events::RecordedEvent>& events) {
  std::string out = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) out += ",";
    out += events::event_to_json(events[i]);
  }
  return out + "]";
}

Response server_error(const Status& s) {
  if (s.code() == Status::Code::kShuttingDown) {
    auto r = Response::problem(503, "Service Unavailable", "the server is shutting down");
    r.set_header("Retry-After", "1");
    return r;
  }
  return Response::problem(500, "Internal Server Error", s.to_string());
}

nlohmann::ordered_json state_json(const write::OrderState& s) {
  nlohmann::ordered_json j;
  j["order_id"] = s.order_id;
  j["version"] = s.version;
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
  return j;
}

}  // namespace

// One command request on its way through claim -> execute -> answer.
struct OrderApi::Command {
  std::string method;
  std::string path;
  std::string body;
  std::string order_id;
  write::OrderCommand command;
  int success_status = 200;
  bool creates = false;
  std::optional<uint64_t> if_match;
  std::optional<std::string> idempotency_key;
  Responder respond;

  // The answer to a command that was executed: the same bytes whether it is
  // sent now or stored for a replay.
  Response executed(const write::OrderState& after, const events::AppendResult& append) const {
    nlohmann::ordered_json j;
    j["order_id"] = order_id;
    j["status"] = std::string(write::status_name(after.status));
    j["version"] = after.version;
    j["position"] = append.last_position;
    Response r = Response::json(success_status, j.dump());
    r.set_header("ETag", "\"" + std::to_string(after.version) + "\"");
    if (creates) r.set_header("Location", "/orders/" + order_id);
    return r;
  }
};

OrderApi::OrderApi(events::EventLog& log, write::OrderService& orders, write::WorkQueue& work,
                   IdempotencyStore& idempotency, UuidGenerator& ids)
    : log_(log), orders_(orders), work_(work), idempotency_(idempotency), ids_(ids) {}

void OrderApi::add_routes(http::Router& router) {
  router.add("POST", "/orders", [this](Request r, http::Router::Params, Responder respond) {
    place(std::move(r), std::move(respond));
  });
  router.add("POST", "/orders/{id}/cancel", [this](Request r, http::Router::Params p, Responder respond) {
    cancel(std::move(r), std::move(p[0]), std::move(respond));
  });
  router.add("POST", "/orders/{id}/deliver", [this](Request r, http::Router::Params p, Responder respond) {
    deliver(std::move(r), std::move(p[0]), std::move(respond));
  });
  router.add("GET", "/orders/{id}/events", [this](Request, http::Router::Params p, Responder respond) {
    order_events(std::move(p[0]), std::move(respond));
  });
  router.add("GET", "/orders/{id}/state", [this](Request r, http::Router::Params p, Responder respond) {
    order_state(std::move(r), std::move(p[0]), std::move(respond));
  });
  router.add("GET", "/events", [this](Request r, http::Router::Params, Responder respond) {
    all_events(std::move(r), std::move(respond));
  });
}

namespace {

// Reads the headers every command shares; an answer when one is malformed.
std::optional<Response> read_command_headers(const Request& request, std::optional<uint64_t>& if_match,
                                             std::optional<std::string>& key) {
  if (auto unsupported = require_json(request)) return unsupported;
  if (auto match = request.find_header("If-Match")) {
    if_match = parse_etag(*match);
    if (!if_match) return bad_request("If-Match must be a version in quotes, as in the ETag: \"3\"");
  }
  if (auto k = request.find_header("Idempotency-Key")) {
    if (!IdempotencyStore::valid_key(*k)) {
      return bad_request("Idempotency-Key must be 1 to 255 printable ASCII characters");
    }
    key = std::string(*k);
  }
  return std::nullopt;
}

}  // namespace

void OrderApi::place(Request request, Responder respond) {
  auto command = std::make_shared<Command>();
  if (auto bad = read_command_headers(request, command->if_match, command->idempotency_key)) return respond(*bad);
  if (request.body.empty()) return respond(bad_request("the body must be a JSON order"));
  auto place = parse_place_order(request.body);
  if (!place) return respond(bad_request(place.status().message()));
  if (place->order_id.empty()) place->order_id = ids_.next().to_string();
  command->order_id = place->order_id;
  command->command = std::move(*place);
  command->success_status = 201;
  command->creates = true;
  command->method = request.method;
  command->path = std::string(request.path());
  command->body = std::move(request.body);
  command->respond = std::move(respond);
  run(std::move(command));
}

void OrderApi::cancel(Request request, std::string order_id, Responder respond) {
  auto command = std::make_shared<Command>();
  if (auto bad = read_command_headers(request, command->if_match, command->idempotency_key)) return respond(*bad);
  if (!valid_id(order_id)) return respond(bad_request("an order id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
  auto cancel = parse_cancel_order(request.body);
  if (!cancel) return respond(bad_request(cancel.status().message()));
  command->order_id = std::move(order_id);
  command->command = std::move(*cancel);
  command->success_status = 202;
  command->method = request.method;
  command->path = std::string(request.path());
  command->body = std::move(request.body);
  command->respond = std::move(respond);
  run(std::move(command));
}

void OrderApi::deliver(Request request, std::string order_id, Responder respond) {
  auto command = std::make_shared<Command>();
  if (auto bad = read_command_headers(request, command->if_match, command->idempotency_key)) return respond(*bad);
  if (!valid_id(order_id)) return respond(bad_request("an order id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
  if (Status ok = parse_deliver_order(request.body); !ok) return respond(bad_request(ok.message()));
  command->order_id = std::move(order_id);
  command->command = write::DeliverOrder{};
  command->success_status = 200;
  command->method = request.method;
  command->path = std::string(request.path());
  command->body = std::move(request.body);
  command->respond = std::move(respond);
  run(std::move(command));
}

void OrderApi::run(std::shared_ptr<Command> command) {
  if (!command->idempotency_key) return run_claimed(std::move(command));
  work_.post([this, command] {
    const std::string& key = *command->idempotency_key;
    std::string fingerprint = IdempotencyStore::fingerprint(command->method, command->path, command->body);
    auto stored = idempotency_.find(key);
    if (!stored) return command->respond(server_error(stored.status()));
    if (*stored) {
      if ((*stored)->fingerprint != fingerprint) {
        return command->respond(Response::problem(
            422, "Unprocessable Content",
            "Idempotency-Key '" + key + "' was first used with a different request; use a new key"));
      }
      Response replay;
      replay.status = (*stored)->status;
      replay.headers = (*stored)->headers;
      replay.body = (*stored)->body;
      replay.set_header("Idempotent-Replayed", "true");
      return command->respond(std::move(replay));
    }
    // Another request with this key is executing: look again once it has answered.
    if (!idempotency_.claim(key, [this, command] { run(command); })) return;
    run_claimed(command);
  });
}

void OrderApi::run_claimed(std::shared_ptr<Command> command) {
  write::OrderCommandRequest request;
  request.id = command->order_id;
  request.command = command->command;
  request.expected_version = command->if_match;
  request.correlation_id = ids_.next();
  if (command->idempotency_key) {
    request.id_seed = "idempotency/" + *command->idempotency_key;
    std::string fingerprint = IdempotencyStore::fingerprint(command->method, command->path, command->body);
    request.side_writes = [this, command, fingerprint](const write::OrderState& after,
                                                       const events::AppendResult& append,
                                                       events::SideWrites& writes) {
      Response r = command->executed(after, append);
      idempotency_.record(writes, *command->idempotency_key, {fingerprint, r.status, r.headers, r.body, 0});
    };
  }
  orders_.execute(std::move(request),
                  [this, command](const write::OrderOutcome& outcome) { finish(command, outcome); });
}

void OrderApi::finish(std::shared_ptr<Command> command, const write::OrderOutcome& outcome) {
  if (auto* done = std::get_if<write::Executed<write::OrderDecider>>(&outcome)) {
    Response r = command->executed(done->state, done->append);
    if (command->idempotency_key) idempotency_.release(*command->idempotency_key);
    return command->respond(std::move(r));
  }

  Response r;
  bool deterministic = true;  // worth replaying to a retry with the same key
  if (auto* refusal = std::get_if<write::Refusal>(&outcome)) {
    switch (refusal->kind) {
      case write::Refusal::Kind::kNotFound:
        r = Response::problem(404, "Not Found", "no order " + command->order_id);
        break;
      case write::Refusal::Kind::kAlreadyExists:
        r = Response::problem(409, "Conflict", refusal->message);
        break;
      case write::Refusal::Kind::kIllegalTransition:
        r = Response::problem(409, "Conflict", refusal->message);
        break;
    }
  } else if (auto* failed = std::get_if<write::PreconditionFailed>(&outcome)) {
    r = Response::problem(412, "Precondition Failed",
                          "the order is at version " + std::to_string(failed->current_version) +
                              ", If-Match asked for " + std::to_string(command->if_match.value_or(0)));
    r.set_header("ETag", "\"" + std::to_string(failed->current_version) + "\"");
  } else {
    const Status& s = std::get<Status>(outcome);
    deterministic = false;
    if (s.code() == Status::Code::kWrongExpectedVersion) {
      r = Response::problem(409, "Conflict", "the order kept changing under this command; retry it");
    } else {
      r = server_error(s);
    }
  }
  if (!command->idempotency_key) return command->respond(std::move(r));
  // Store the refusal beside nothing else (no events were written), off the
  // log's completion thread, then let a parked retry look again.
  work_.post([this, command, r = std::move(r), deterministic]() mutable {
    const std::string& key = *command->idempotency_key;
    if (deterministic) {
      events::SideWrites writes;
      idempotency_.record(
          writes, key,
          {IdempotencyStore::fingerprint(command->method, command->path, command->body), r.status, r.headers, r.body,
           0});
      if (Status s = log_.write(writes); !s) r = server_error(s);
    }
    idempotency_.release(key);
    command->respond(std::move(r));
  });
}

void OrderApi::order_events(std::string order_id, Responder respond) {
  if (!valid_id(order_id)) return respond(bad_request("an order id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
  work_.post([this, order_id = std::move(order_id), respond = std::move(respond)] {
    auto events = log_.read_stream(write::order_stream(order_id), 1, SIZE_MAX);
    if (!events) return respond(server_error(events.status()));
    if (events->empty()) return respond(Response::problem(404, "Not Found", "no order " + order_id));
    std::string body = "{\"order_id\":" + nlohmann::json(order_id).dump() +
                       ",\"version\":" + std::to_string(events->back().version()) +
                       ",\"events\":" + events_array(*events) + "}";
    Response r = Response::json(200, std::move(body));
    r.set_header("ETag", "\"" + std::to_string(events->back().version()) + "\"");
    respond(std::move(r));
  });
}

void OrderApi::order_state(Request request, std::string order_id, Responder respond) {
  if (!valid_id(order_id)) return respond(bad_request("an order id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
  auto query = parse_numeric_query(request.query(), {"version"});
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
      return respond(Response::problem(404, "Not Found", "no order " + order_id));
    }
    if (version && state->version < *version) {
      return respond(Response::problem(404, "Not Found",
                                       "order " + order_id + " has " + std::to_string(state->version) +
                                           " versions; there is no version " + std::to_string(*version)));
    }
    Response r = Response::json(200, state_json(*state).dump());
    r.set_header("ETag", "\"" + std::to_string(state->version) + "\"");
    respond(std::move(r));
  });
}

void OrderApi::all_events(Request request, Responder respond) {
  auto query = parse_numeric_query(request.query(), {"from", "limit"});
  if (!query) return respond(bad_request(query.status().message()));
  uint64_t from = query->count("from") ? std::max<uint64_t>(query->at("from"), 1) : 1;
  uint64_t limit = query->count("limit") ? query->at("limit") : kDefaultEventsPerPage;
  if (limit < 1 || limit > kMaxEventsPerPage) return respond(bad_request("limit must be from 1 to 1000"));
  work_.post([this, from, limit, respond = std::move(respond)] {
    uint64_t head = log_.head();
    auto events = log_.read_all(from, static_cast<size_t>(limit));
    if (!events) return respond(server_error(events.status()));
    uint64_t next = events->empty() ? from : events->back().position() + 1;
    std::string body = "{\"events\":" + events_array(*events) + ",\"next\":" + std::to_string(next) +
                       ",\"head\":" + std::to_string(std::max(head, log_.head())) + "}";
    respond(Response::json(200, std::move(body)));
  });
}

}  // namespace ordersd::app
