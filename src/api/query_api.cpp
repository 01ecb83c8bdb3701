#include "api/query_api.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "api/consistency_token.h"
#include "api/problems.h"
#include "events/order_lifecycle.h"
#include "http/params.h"
#include "read/order_view.h"
#include "read/summary_views.h"
#include "read/timeline_view.h"
#include "events/event_json.h"
#include "events/json_writer.h"

namespace ordersd::api {

using namespace ordersd::read;  // the views this API serves

using http::Request;
using http::Responder;
using http::Response;

namespace {

using http::valid_id;

constexpr uint64_t kDefaultWaitMs = 2000;
constexpr uint64_t kMaxWaitMs = 30000;
constexpr uint64_t kDefaultLimit = 50;
constexpr uint64_t kMaxLimit = 1000;
constexpr uint64_t kDefaultTimelineLimit = 100;
constexpr size_t kStreamPage = 256;  // events of an order's own stream read at a time


// One of the order's statuses (events/order_lifecycle.h), by name.
bool known_status(std::string_view s) { return events::parse_order_status(s).has_value(); }

// A list cursor: 16 hex digits of rank, '/', an order id.
bool valid_cursor(std::string_view c) {
  if (c.size() < 18 || c[16] != '/') return false;
  for (size_t i = 0; i < 16; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(c[i])) || std::isupper(static_cast<unsigned char>(c[i]))) return false;
  }
  return valid_id(c.substr(17));
}


// A stored row that does not parse: this request fails, the server goes on.
Response damaged(const std::string& what) {
  return server_error(Status::corruption("stored record is damaged: " + what + " is not a JSON object", 0));
}

struct Consistency {
  uint64_t min_position = 0;
  uint64_t wait_ms = kDefaultWaitMs;
  std::vector<StreamVersion> token;  // writes to wait for first (consistency_token.h)
};

// min_position and wait_ms out of `query`, the token out of the request's header.
Result<Consistency> consistency(const Request& request, std::map<std::string, std::string>& query) {
  Consistency c;
  if (auto token = request.find_header(kConsistencyTokenHeader)) {
    auto entries = parse_consistency_token(*token);
    if (!entries) return entries.status();
    c.token = std::move(entries).value();
  }
  for (auto [name, target, max] : {std::tuple{"min_position", &c.min_position, UINT64_MAX},
                                   std::tuple{"wait_ms", &c.wait_ms, kMaxWaitMs}}) {
    auto it = query.find(name);
    if (it == query.end()) continue;
    auto n = http::parse_decimal(it->second);
    if (!n || *n > max) {
      return Status::invalid_argument(std::string(name) + " must be an integer from 0 to " + std::to_string(max));
    }
    *target = *n;
    query.erase(it);
  }
  return c;
}

// Answers `read()` once `view` has reached the position asked for.
// Holding `view` keeps its generation alive while the query reads it.
// Reads a query's answer. With memory_only, from memory alone (no disk read
// on the calling thread), or nullopt when that is not enough.
using Read = std::function<std::optional<Response>(bool memory_only)>;

// A row's answer: 200 with it as `answer` makes it, 404 with `missing`, 500 on a failed read.
Response row_answer(const Result<std::optional<std::string>>& row, const std::string& missing,
                    QueryApi::Answer answer) {
  if (!row) return server_error(row.status());
  if (!*row) return not_found(missing);
  return Response::json(200, answer(**row));
}

void when_consistent(const events::EventLog& log, std::shared_ptr<Projector> view_ptr, const Consistency& c,
                     const QueryApi::Post& post, Read read, Responder respond);

// The token's stage: on the work queue, looks for every write the token
// names in this log. Found, the view must then reach the last of them (in
// what is left of the wait). Not found, it looks again each time the view
// moves on (the view reads every event the importer appends), until the wait
// is over: then 503, naming the write still missing.
void when_token_here(const events::EventLog& log, std::shared_ptr<Projector> view_ptr, Consistency c,
                     std::chrono::steady_clock::time_point deadline, const QueryApi::Post& post, Read read,
                     Responder respond) {
  post([&log, view_ptr, c = std::move(c), deadline, post, read = std::move(read),
        respond = std::move(respond)]() mutable {
    uint64_t seen = view_ptr->position();  // before the look: a write landing after it moves the view past `seen`
    auto place = locate_consistency_token(log, c.token);
    if (!place) return respond(server_error(place.status()));
    auto now = std::chrono::steady_clock::now();
    if (!place->missing) {
      c.min_position = std::max(c.min_position, place->position);
      c.token.clear();
      c.wait_ms = now >= deadline ? 0
                                  : static_cast<uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
      return when_consistent(log, view_ptr, c, post, std::move(read), std::move(respond));
    }
    auto not_yet = [view_ptr, missing = *place->missing](const Responder& respond) {
      Response r = Response::problem(503, "Service Unavailable",
                                     "this service does not hold " + missing.stream + " at version " +
                                         std::to_string(missing.version) + " yet (X-Consistency-Token); retry");
      r.set_header("Retry-After", "1");
      r.set_header("X-Position", std::to_string(view_ptr->position()));
      respond(std::move(r));
    };
    if (now >= deadline) return not_yet(respond);
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    view_ptr->when_reached(seen + 1, wait,
                           [&log, view_ptr, c, deadline, post, read, respond, not_yet](bool moved) mutable {
                             // Not moved: the wait is over or the view stopped; either way, a last look.
                             when_token_here(log, view_ptr, std::move(c), moved ? deadline : std::chrono::steady_clock::now(),
                                             post, std::move(read), std::move(respond));
                           });
  });
}

// Answers once the view has reached c.min_position (and, with a token, once
// this log holds what it names). The answer is read at once on the thread
// that learns it (an I/O thread, mostly) when memory holds it, and on the
// work queue when it needs the disk.
void when_consistent(const events::EventLog& log, std::shared_ptr<Projector> view_ptr, const Consistency& c,
                     const QueryApi::Post& post, Read read, Responder respond) {
  if (!c.token.empty()) {
    return when_token_here(log, std::move(view_ptr), c,
                           std::chrono::steady_clock::now() + std::chrono::milliseconds(c.wait_ms), post, std::move(read),
                           std::move(respond));
  }
  Projector& view = *view_ptr;
  view.when_reached(c.min_position, std::chrono::milliseconds(c.wait_ms),
                    [view_ptr, &view, c, post, read = std::move(read), respond = std::move(respond)](bool reached) mutable {
                      if (!reached) {
                        Response r = Response::problem(
                            503, "Service Unavailable",
                            "the " + view.name() + " view is at position " + std::to_string(view.position()) +
                                ", not yet at " + std::to_string(c.min_position) + "; retry");
                        r.set_header("Retry-After", "1");
                        r.set_header("X-Position", std::to_string(view.position()));
                        return respond(std::move(r));
                      }
                      uint64_t at = view.position();
                      if (std::optional<Response> r = read(true)) {
                        r->set_header("X-Position", std::to_string(at));
                        return respond(std::move(*r));
                      }
                      post([view_ptr, &view, read = std::move(read), respond = std::move(respond)] {
                        uint64_t at = view.position();
                        Response r = *read(false);
                        r.set_header("X-Position", std::to_string(at));
                        respond(std::move(r));
                      });
                    });
}

// Every answer of a query carries its view's position, errors included.
Responder positioned(const ViewSlot& slot, Responder respond) {
  return [&slot, respond = std::move(respond)](Response r) {
    bool has = false;
    for (const auto& [name, value] : r.headers) has = has || name == "X-Position";
    if (!has) r.set_header("X-Position", std::to_string(slot.current()->position()));
    respond(std::move(r));
  };
}

}  // namespace

void QueryApi::add_routes(Access& access, http::Router& router) {
  access.add(router, "GET", "/orders/{id}",
             [this](Request r, http::Router::Params p, const Caller& caller, Responder respond) {
               respond = only_own(caller, "no order " + p[0], positioned(views_.orders, std::move(respond)));
               get_order(r, std::move(p[0]), std::move(respond));
             });
  access.add(router, "GET", "/orders/{id}/timeline",
             [this](Request r, http::Router::Params p, const Caller& caller, Responder respond) {
               respond = only_own(caller, "no order " + p[0], positioned(views_.timeline, std::move(respond)));
               get_timeline(r, std::move(p[0]), std::move(respond));
             });
  access.add(router, "GET", "/orders", [this](Request r, http::Router::Params, const Caller& caller, Responder respond) {
    respond = positioned(views_.orders, std::move(respond));
    if (const auto& own = caller.principal.customer_id) {
      // A caller bound to a customer lists that customer's orders only.
      auto query = http::parse_query(r.query(), {"status", "customer_id", "limit", "after", "min_position", "wait_ms"});
      if (!query) return respond(bad_request(query.status().message()));
      if (auto it = query->find("customer_id"); it == query->end()) {
        const char* joint = r.target.find('?') == std::string::npos ? "?" : r.target.back() == '?' ? "" : "&";
        r.target += joint + std::string("customer_id=") + *own;
      } else if (it->second != *own) {
        return respond(not_found("no customer " + it->second));
      }
    }
    list_orders(r, std::move(respond));
  });
  access.add(router, "GET", "/customers/{id}", [this](Request r, http::Router::Params p, Responder respond) {
    respond = positioned(views_.customers, std::move(respond));
    if (!valid_id(p[0])) return respond(bad_id("a customer id"));
    get_row(r, views_.customers, customer_row_key(p[0]), "no customer " + p[0], &customer_answer, std::move(respond));
  });
  access.add(router, "GET", "/inventory/{sku}", [this](Request r, http::Router::Params p, Responder respond) {
    respond = positioned(views_.inventory, std::move(respond));
    if (!valid_id(p[0])) return respond(bad_id("a sku"));
    get_row(r, views_.inventory, stock_row_key(p[0]), "no stock of sku " + p[0], &stock_answer, std::move(respond));
  });
  access.add(router, "GET", "/admin/views", [this](Request, http::Router::Params, Responder respond) {
    respond(Response::json(200, views_json().dump()));
  });
  access.add(router, "POST", "/admin/views/{name}/rebuild", [this](Request r, http::Router::Params p, Responder respond) {
    ViewSlot* slot = nullptr;
    std::string names;
    for (ViewSlot* s : views_.all()) {
      if (s->spec().name == p[0]) slot = s;
      names += (names.empty() ? "" : ", ") + s->spec().name;
    }
    if (!slot) return respond(Response::problem(404, "Not Found", "no view '" + p[0] + "': there are " + names));
    if (!r.body.empty() && r.body != "{}") return respond(bad_request("the rebuild request takes no body (or {})"));
    post_([slot, respond = std::move(respond)] {
      auto building = slot->rebuild();
      if (!building) {
        if (building.status().code() == Status::Code::kBusy) {
          return respond(conflict(building.status().message()));
        }
        return respond(server_error(building.status()));
      }
      nlohmann::ordered_json j;
      j["view"] = slot->spec().name;
      j["generation"] = slot->generation();
      j["rebuilding"] = *building;
      j["progress"] = "GET /admin/views";
      respond(Response::json(202, j.dump()));
    });
  });
  access.add(router, "GET", "/stats", [this](Request r, http::Router::Params, Responder respond) {
    get_stats(r, positioned(views_.stats, std::move(respond)));
  });
}

nlohmann::ordered_json QueryApi::views_json() const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  uint64_t head = log_.head();
  for (const ViewSlot* slot : views_.all()) {
    std::shared_ptr<Projector> v = slot->current();
    uint64_t at = v->position();
    nlohmann::ordered_json j = {{"name", slot->spec().name}, {"generation", slot->generation()}};
    if (auto failure = v->failure()) j["failure"] = failure->to_string();
    if (auto r = slot->rebuilding()) {
      j["rebuild"] = {{"generation", r->generation},
                      {"percent", head ? 100.0 * static_cast<double>(r->position) / static_cast<double>(head) : 100.0},
                      {"position", r->position}, {"head", head}};
    }
    if (auto f = slot->failed_rebuild()) {
      j["rebuild_failure"] = {{"generation", f->generation}, {"reason", f->reason}, {"position", f->position}};
    }
    j["position"] = at;
    j["lag"] = head > at ? head - at : 0;
    list.push_back(std::move(j));
  }
  return {{"views", std::move(list)}};
}

void QueryApi::get_row(const Request& request, ViewSlot& slot, std::string key, std::string missing, Answer answer,
                       Responder respond) {
  std::shared_ptr<Projector> view = slot.current();
  auto query = http::parse_query(request.query(), {"min_position", "wait_ms"});
  if (!query) return respond(bad_request(query.status().message()));
  auto c = consistency(request, *query);
  if (!c) return respond(bad_request(c.status().message()));
  when_consistent(
      log_, view, *c, post_,
      [this, space = view->space(), key, missing, answer](bool memory_only) -> std::optional<Response> {
        if (!memory_only) return row_answer(log_.get(space, key), missing, answer);
        auto row = log_.get_from_memory(space, key);
        if (!row) return std::nullopt;
        return row_answer(*row, missing, answer);
      },
      std::move(respond));
}

void QueryApi::get_stats(const Request& request, Responder respond) {
  auto query = http::parse_query(request.query(), {"min_position", "wait_ms"});
  if (!query) return respond(bad_request(query.status().message()));
  auto c = consistency(request, *query);
  if (!c) return respond(bad_request(c.status().message()));
  std::shared_ptr<Projector> view = views_.stats.current();
  when_consistent(
      log_, view, *c, post_,
      [this, space = view->space()](bool memory_only) -> std::optional<Response> {
        if (memory_only) return std::nullopt;  // a few reads and some JSON: the work queue's
        auto row = log_.get(space, kStatsRowKey);
        if (!row) return server_error(row.status());
        nlohmann::ordered_json stored = nlohmann::ordered_json::parse(
            row->value_or(R"({"orders":{},"revenue_cents":0,"cancellations":{}})"), nullptr, /*allow_exceptions=*/false);
        if (stored.is_discarded() || !stored.is_object()) return damaged("the stats row of " + views_.stats.spec().name);
        // In the API's order, whatever the order of the stored row (earlier
        // builds sorted its keys): orders per status in the order of an
        // order's life, revenue, cancellations, then the log and projectors.
        nlohmann::ordered_json j;
        nlohmann::ordered_json orders = nlohmann::ordered_json::object();
        if (auto it = stored.find("orders"); it != stored.end() && it->is_object()) {
          for (events::OrderStatus status : events::kOrderStatuses) {
            std::string name(events::order_status_name(status));
            if (auto n = it->find(name); n != it->end()) orders[name] = *n;
          }
          for (const auto& [name, n] : it->items()) {
            if (!orders.contains(name)) orders[name] = n;
          }
        }
        j["orders"] = std::move(orders);
        j["revenue_cents"] = stored.value("revenue_cents", nlohmann::ordered_json(0));
        j["cancellations"] = stored.value("cancellations", nlohmann::ordered_json::object());
        uint64_t head = log_.head();
        j["events"] = head;
        nlohmann::ordered_json projectors = nlohmann::ordered_json::array();
        for (const ViewSlot* slot : views_.all()) {
          std::shared_ptr<Projector> v = slot->current();
          uint64_t at = v->position();
          nlohmann::ordered_json p = {{"name", slot->spec().name}, {"generation", slot->generation()}};
          if (auto failure = v->failure()) p["failure"] = failure->to_string();
          p["position"] = at;
          p["lag"] = head > at ? head - at : 0;
          projectors.push_back(std::move(p));
        }
        j["projectors"] = std::move(projectors);
        return Response::json(200, j.dump());
      },
      std::move(respond));
}

void QueryApi::get_order(const Request& request, std::string order_id, Responder respond) {
  auto query = http::parse_query(request.query(), {"min_position", "wait_ms"});
  if (!query) return respond(bad_request(query.status().message()));
  auto c = consistency(request, *query);
  if (!c) return respond(bad_request(c.status().message()));
  if (!valid_id(order_id)) return respond(bad_id("an order id"));
  std::shared_ptr<Projector> view = views_.orders.current();
  when_consistent(
      log_, view, *c, post_,
      [this, space = view->space(), order_id](bool memory_only) -> std::optional<Response> {
        std::string missing = "no order " + order_id;
        if (!memory_only) return row_answer(log_.get(space, order_row_key(order_id)), missing, &order_answer);
        auto row = log_.get_from_memory(space, order_row_key(order_id));
        if (!row) return std::nullopt;
        return row_answer(*row, missing, &order_answer);
      },
      std::move(respond));
}

void QueryApi::list_orders(const Request& request, Responder respond) {
  auto query = http::parse_query(request.query(),
                                 {"status", "customer_id", "limit", "after", "min_position", "wait_ms"});
  if (!query) return respond(bad_request(query.status().message()));
  auto c = consistency(request, *query);
  if (!c) return respond(bad_request(c.status().message()));
  std::string status = query->count("status") ? (*query)["status"] : "";
  std::string customer = query->count("customer_id") ? (*query)["customer_id"] : "";
  std::string after = query->count("after") ? (*query)["after"] : "";
  uint64_t limit = kDefaultLimit;
  if (query->count("status") && !known_status(status)) {
    return respond(bad_request("status must be one of " + events::order_status_names()));
  }
  if (query->count("customer_id") && !valid_id(customer)) {
    return respond(bad_id("a customer id"));
  }
  if (query->count("after") && !valid_cursor(after)) {
    return respond(bad_request("after must be the next cursor of an earlier page"));
  }
  if (query->count("limit")) {
    auto n = http::parse_decimal((*query)["limit"]);
    if (!n || *n < 1 || *n > kMaxLimit) return respond(bad_request("limit must be an integer from 1 to 1000"));
    limit = *n;
  }
  std::shared_ptr<Projector> view = views_.orders.current();
  when_consistent(
      log_, view, *c, post_,
      [this, space = view->space(), status, customer, after, limit](bool memory_only) -> std::optional<Response> {
        if (memory_only) return std::nullopt;  // a scan: the work queue's
        // The narrowest index; a second filter is checked on the rows.
        std::string prefix = !customer.empty() ? "c/" + customer + "/" : !status.empty() ? "s/" + status + "/" : "t/";
        // Rows are read after their index entries: a row whose status moved
        // on in between is left out of a status list.
        bool check_status = !status.empty();
        nlohmann::ordered_json orders = nlohmann::ordered_json::array();
        std::string last;
        Status failed;
        Status s = log_.scan(
            space, prefix,
            [&](std::string_view key, std::string_view) {
              std::string_view cursor = key.substr(prefix.size());
              std::string order_id(cursor.substr(17));
              auto row = log_.get(space, order_row_key(order_id));
              if (!row || !*row) {
                failed = row ? Status::corruption("the order index names order " + order_id + ", which has no row", 0)
                             : row.status();
                return false;
              }
              auto j = nlohmann::ordered_json::parse(order_answer(std::move(**row)), nullptr,
                                                     /*allow_exceptions=*/false);
              if (j.is_discarded() || !j.is_object()) {
                failed = Status::corruption("stored record is damaged: the row of order " + order_id + " in " + space +
                                                " is not a JSON object",
                                            0);
                return false;
              }
              if (check_status && j["status"] != status) return true;
              orders.push_back(std::move(j));
              last = std::string(cursor);
              return orders.size() < limit;
            },
            after.empty() ? std::string() : prefix + after + std::string(1, '\0'));
        if (!s) return server_error(s);
        if (!failed) return server_error(failed);
        nlohmann::ordered_json j;
        j["orders"] = std::move(orders);
        j["next"] = j["orders"].size() == limit ? nlohmann::ordered_json(last) : nlohmann::ordered_json(nullptr);
        return Response::json(200, j.dump());
      },
      std::move(respond));
}

void QueryApi::get_timeline(const Request& request, std::string order_id, Responder respond) {
  auto query = http::parse_query(request.query(), {"limit", "after", "min_position", "wait_ms"});
  if (!query) return respond(bad_request(query.status().message()));
  auto c = consistency(request, *query);
  if (!c) return respond(bad_request(c.status().message()));
  if (!valid_id(order_id)) return respond(bad_id("an order id"));
  uint64_t limit = kDefaultTimelineLimit;
  if (query->count("limit")) {
    auto n = http::parse_decimal((*query)["limit"]);
    if (!n || *n < 1 || *n > kMaxLimit) return respond(bad_request("limit must be an integer from 1 to 1000"));
    limit = *n;
  }
  uint64_t after = 0;
  if (query->count("after")) {
    auto n = http::parse_decimal((*query)["after"]);
    if (!n || *n == UINT64_MAX) return respond(bad_request("after must be the next cursor of an earlier page (a position)"));
    after = *n;
  }
  std::shared_ptr<Projector> view = views_.timeline.current();
  when_consistent(
      log_, view, *c, post_,
      [this, view, space = view->space(), order_id, limit, after](bool memory_only) -> std::optional<Response> {
        if (memory_only) return std::nullopt;  // scans and event reads: the work queue's
        auto stored = log_.get(space, timeline_order_key(order_id));
        if (!stored) return server_error(stored.status());
        if (!*stored) return not_found("no order " + order_id);
        auto order = timeline_order_from_json(**stored);
        if (!order) return damaged("the timeline row of order " + order_id + " in " + space);
        // The view's lists and the order's own streams are each in log
        // order: the story is their merge, up to where the view has come
        // (so no page shows a later event before an earlier one the view
        // has yet to list). One more than a page is read from each, to know
        // whether a next page exists.
        const uint64_t through = view->position();
        // The story by position: the own streams' events as read, the
        // lists' positions to be read once they are known to be on the page.
        std::map<uint64_t, std::optional<events::RecordedEvent>> story;
        std::string start = timeline_position_bytes(after + 1);
        auto list = [&](const std::string& prefix) {
          size_t taken = 0;
          return log_.scan(
              space, prefix,
              [&](std::string_view key, std::string_view) {
                story.try_emplace(timeline_key_position(key));
                return ++taken <= limit;
              },
              prefix + start);
        };
        if (!order->correlation_id.is_nil()) {
          if (Status s = list(timeline_correlation_prefix(order->correlation_id)); !s) return server_error(s);
        }
        if (Status s = list(timeline_order_prefix(order_id)); !s) return server_error(s);
        for (const std::string& stream : timeline_own_streams(order_id)) {
          size_t taken = 0;
          for (uint64_t version = 1; taken <= limit;) {
            auto events = log_.read_stream(stream, version, kStreamPage);
            if (!events) return server_error(events.status());
            for (auto& e : *events) {
              if (e.position() > through) break;
              if (e.position() > after && taken++ <= limit) story.insert_or_assign(e.position(), std::move(e));
            }
            if (events->size() < kStreamPage || events->back().position() > through) break;
            version = events->back().version() + 1;
          }
        }
        bool more = story.size() > limit;
        uint64_t last = 0;
        JsonWriter w(512 * std::min<size_t>(story.size(), limit) + 256);
        w.open('{').key("order_id").string(order_id).key("customer_id").string(order->customer_id);
        w.key("correlation_id").string(order->correlation_id.to_string()).key("events").open('[');
        size_t written = 0;
        for (auto& [p, event] : story) {
          if (written++ == limit) break;
          if (!event) {
            auto events = log_.read_all(p, 1);
            if (!events) return server_error(events.status());
            if (events->empty() || events->front().position() != p) {
              return server_error(Status::corruption("the timeline of order " + order_id + " names position " +
                                                         std::to_string(p) + ", which the log does not hold",
                                                     p));
            }
            event = std::move(events->front());
          }
          w.json(events::event_to_json(*event));
          last = p;
        }
        w.close(']').key("next");
        if (more) w.number(last);
        else w.null();
        w.close('}');
        return Response::json(200, w.take());
      },
      std::move(respond));
}

}  // namespace ordersd::api
