#include "api/operations_api.h"

#include <nlohmann/json.hpp>

#include "api/command_bodies.h"
#include "api/command_runner.h"
#include "api/metrics.h"
#include "api/problems.h"
#include "events/event_json.h"
#include "events/json_writer.h"
#include "http/params.h"

namespace ordersd::api {

using http::Request;
using http::Responder;
using http::Response;
using events::Supervisor;

namespace {

uint64_t lag(uint64_t head, uint64_t at) { return head > at ? head - at : 0; }

}  // namespace

std::vector<std::string> OperationsApi::degraded_reasons() const {
  std::vector<std::string> reasons;
  for (const auto& r : parts_.supervisor.reports()) {
    if (r.state == Supervisor::State::kFailed) {
      reasons.push_back(r.name + " failed" + (r.failed_at ? " at position " + std::to_string(*r.failed_at) : "") +
                        ": " + r.last_error);
    } else if (r.state == Supervisor::State::kRestarting) {
      reasons.push_back(r.name + " is restarting after: " + r.last_error);
    }
  }
  if (parts_.relay) {
    if (std::string e = parts_.relay->last_error(); !e.empty()) reasons.push_back("relay cannot publish: " + e);
    if (parts_.command_gate) {
      if (std::string why = parts_.command_gate(); !why.empty()) reasons.push_back("commands are refused: " + why);
    }
    for (const auto& [kind, e] : parts_.importer->fetch_errors()) {
      reasons.push_back("importer cannot fetch " + kind + " events: " + e);
    }
  }
  if (auto damage = parts_.log.corruption()) {
    reasons.push_back("the event log is corrupt" +
                      (damage->position() ? " at position " + std::to_string(damage->position()) : std::string()) +
                      ": " + damage->message() + "; run `ordersd check`");
  }
  return reasons;
}

std::vector<std::string> OperationsApi::not_ready_reasons() const {
  std::vector<std::string> reasons;
  uint64_t head = parts_.log.head();
  for (const auto& r : parts_.supervisor.reports()) {
    if (r.state != Supervisor::State::kRunning) {
      reasons.push_back(r.name + " is " + std::string(Supervisor::state_name(r.state)));
      continue;
    }
    const write::Participant* p = parts_.saga.find(r.name);
    if (p && p->paused()) continue;  // held on purpose: its lag is the operator's choice
    if (!r.position) continue;  // not a reader of this log (the importer's lag is the broker's)
    if (uint64_t behind = lag(head, *r.position); behind > parts_.ready_lag) {
      reasons.push_back(r.name + " is " + std::to_string(behind) + " events behind the head (ready within " +
                        std::to_string(parts_.ready_lag) + ")");
    }
  }
  return reasons;
}

void OperationsApi::health(bool full, Responder respond) const {
  nlohmann::ordered_json j;
  uint64_t head = parts_.log.head();
  std::vector<std::string> reasons = degraded_reasons();
  j["status"] = reasons.empty() ? "ok" : "degraded";
  if (!full) return respond(Response::json(200, j.dump()));
  if (!reasons.empty()) j["reasons"] = reasons;
  j["version"] = ORDERSD_VERSION;
  j["head"] = head;
  nlohmann::ordered_json views = nlohmann::ordered_json::array();
  for (const read::ViewSlot* slot : parts_.views) {
    std::shared_ptr<read::Projector> v = slot->current();
    nlohmann::ordered_json view;
    view["name"] = slot->spec().name;
    view["generation"] = slot->generation();
    if (auto failure = v->failure()) view["failure"] = failure->to_string();
    view["position"] = v->position();
    view["lag"] = lag(head, v->position());
    views.push_back(std::move(view));
  }
  j["views"] = std::move(views);
  nlohmann::ordered_json components = nlohmann::ordered_json::array();
  for (const auto& r : parts_.supervisor.reports()) {
    nlohmann::ordered_json c;
    c["name"] = r.name;
    c["state"] = std::string(Supervisor::state_name(r.state));
    c["restarts"] = r.restarts;
    if (!r.last_error.empty()) c["last_error"] = r.last_error;
    components.push_back(std::move(c));
  }
  j["components"] = std::move(components);
  j["roles"] = parts_.roles;
  if (parts_.shards.sharded() || parts_.shard) {
    nlohmann::ordered_json m;
    m["order"] = parts_.shards.count(bus::Role::kOrder);
    m["payment"] = parts_.shards.count(bus::Role::kPayment);
    j["shards"] = std::move(m);
    if (parts_.shard) j["shard"] = parts_.shard->to_string();
  }
  if (parts_.relay) {
    nlohmann::ordered_json b;
    b["relay_position"] = parts_.relay->position();
    b["published"] = parts_.relay->published();
    b["imported"] = parts_.importer->imported();
    if (std::string e = parts_.relay->last_error(); !e.empty()) b["relay_error"] = e;
    if (auto f = parts_.relay->failure()) b["relay_failure"] = f->to_string();
    if (auto f = parts_.importer->failure()) b["importer_failure"] = f->to_string();
    if (auto errors = parts_.importer->fetch_errors(); !errors.empty()) b["fetch_errors"] = errors;
    if (parts_.command_gate) b["commands_refused"] = !parts_.command_gate().empty();
    j["bus"] = std::move(b);
  }
  // Failures quote storage errors, which name files: not where the data lives.
  respond(Response::json(200, without_paths(j.dump())));
}

void OperationsApi::components(Responder respond) const {
  uint64_t head = parts_.log.head();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& r : parts_.supervisor.reports()) {
    nlohmann::ordered_json c;
    c["name"] = r.name;
    c["state"] = std::string(Supervisor::state_name(r.state));
    c["restarts"] = r.restarts;
    if (!r.last_error.empty()) c["last_error"] = r.last_error;
    if (r.failed_at) c["failed_at"] = *r.failed_at;
    if (r.state == Supervisor::State::kRestarting) c["restart_in_ms"] = r.restart_in_ms;
    if (r.position) {
      c["position"] = *r.position;
      c["lag"] = lag(head, *r.position);
    }
    list.push_back(std::move(c));
  }
  nlohmann::ordered_json j;
  j["components"] = std::move(list);
  respond(Response::json(200, without_paths(j.dump())));
}

void OperationsApi::act(Request request, std::string name, bool skip, std::string actor, Responder respond) {
  if (!parts_.supervisor.report(name)) {
    std::string known;
    for (const auto& r : parts_.supervisor.reports()) known += (known.empty() ? "" : ", ") + r.name;
    return respond(not_found("no component '" + name + "': there are " + known));
  }
  if (!is_json_or_empty(request)) return respond(unsupported_media_type());
  uint64_t position = 0;
  if (skip) {
    auto parsed = parse_skip(request.body);
    if (!parsed) return respond(bad_request(parsed.status().message()));
    position = *parsed;
  } else if (Status ok = parse_empty_body(request.body, "the retry request"); !ok) {
    return respond(bad_request(ok.message()));
  }
  // Appending the operator's event and restarting wait on the disk: off the I/O thread.
  work_.post([this, name = std::move(name), skip, position, actor = std::move(actor), respond = std::move(respond)] {
    auto done = skip ? parts_.supervisor.skip(name, position, actor) : parts_.supervisor.retry(name, actor);
    if (!done) {
      if (done.status().code() == Status::Code::kInvalidArgument) {
        return respond(conflict(done.status().message()));
      }
      return respond(server_error(done.status()));
    }
    auto report = parts_.supervisor.report(name);
    nlohmann::ordered_json j;
    j["name"] = name;
    j["action"] = skip ? "skip" : "retry";
    if (skip) j["skipped"] = position;
    j["state"] = std::string(Supervisor::state_name(report->state));
    j["recorded_at"] = done->last_position;
    respond(Response::json(200, without_paths(j.dump())));
  });
}

void OperationsApi::audit(const Request& request, Responder respond) const {
  auto query = http::parse_query(request.query(), {"limit", "cursor"});
  if (!query) return respond(bad_request(query.status().message()));
  size_t limit = 50;
  std::string cursor;
  if (auto it = query->find("limit"); it != query->end()) {
    auto n = http::parse_decimal(it->second);
    if (!n || *n < 1 || *n > 1000) return respond(bad_request("limit must be from 1 to 1000"));
    limit = static_cast<size_t>(*n);
  }
  if (auto it = query->find("cursor"); it != query->end()) {
    if (!AuditTrail::valid_cursor(it->second)) return respond(bad_request("cursor must be a page's \"next\", as given"));
    cursor = it->second;
  }
  work_.post([this, cursor = std::move(cursor), limit, respond = std::move(respond)] {
    auto page = parts_.audit->list(cursor, limit);
    if (!page) return respond(server_error(page.status()));
    JsonWriter w(512 * page->events.size() + 64);
    w.open('{').key("entries").open('[');
    for (const auto& e : page->events) w.json(events::event_to_json(e));
    w.close(']').key("next");
    if (page->next) {
      w.string(*page->next);
    } else {
      w.json("null");
    }
    w.close('}');
    respond(Response::json(200, w.take()));
  });
}

namespace {

// GET /: every route of the table, in its order.
std::string route_index() {
  nlohmann::ordered_json routes = nlohmann::ordered_json::array();
  for (const RouteRule& r : route_table()) {
    nlohmann::ordered_json j;
    j["method"] = std::string(r.method);
    j["path"] = std::string(r.pattern);
    j["scope"] = r.scope ? nlohmann::ordered_json(std::string(auth::scope_name(*r.scope))) : nlohmann::ordered_json();
    j["service"] = std::string(served_name(r.served));
    j["summary"] = std::string(r.summary);
    routes.push_back(std::move(j));
  }
  nlohmann::ordered_json j;
  j["routes"] = std::move(routes);
  return j.dump();
}

}  // namespace

void OperationsApi::add_routes(Access& access, http::Router& router) {
  add_metrics([&access] { return access.render_metrics(); });
  access.add(router, "GET", "/", [index = route_index()](Request, http::Router::Params, Responder respond) {
    respond(Response::json(200, index));
  });
  access.add(router, "GET", "/health", [this](Request, http::Router::Params, const Caller& caller, Responder respond) {
    health(caller.principal.scopes.has(auth::Scope::kMetrics), std::move(respond));
  });
  access.add(router, "GET", "/health/live", [](Request, http::Router::Params, Responder respond) {
    respond(Response::json(200, R"({"status":"live"})"));
  });
  access.add(router, "GET", "/health/ready", [this](Request, http::Router::Params, Responder respond) {
    std::vector<std::string> reasons = not_ready_reasons();
    if (reasons.empty()) return respond(Response::json(200, R"({"status":"ready"})"));
    Response r = Response::problem(503, "Service Unavailable", "not ready: " + reasons.front());
    // The problem document with every reason, for an operator or a probe's log.
    auto body = nlohmann::ordered_json::parse(r.body);
    body["reasons"] = reasons;
    r.body = without_paths(body.dump());
    r.set_header("Retry-After", "1");
    respond(std::move(r));
  });
  access.add(router, "GET", "/metrics", [this](Request, http::Router::Params, Responder respond) {
    Response r;
    r.body = metrics_.render(parts_.log, parts_.saga, parts_.views, parts_.relay, parts_.importer, &parts_.supervisor,
                             &parts_.turns);
    for (const auto& render : extra_metrics_) r.body += render();
    r.set_header("Content-Type", "text/plain; version=0.0.4");
    respond(std::move(r));
  });
  access.add(router, "GET", "/admin/components", [this](Request, http::Router::Params, Responder respond) {
    components(std::move(respond));
  });
  access.add(router, "POST", "/admin/components/{name}/retry",
             [this](Request r, http::Router::Params p, const Caller& caller, Responder respond) {
               act(std::move(r), std::move(p[0]), false, caller.principal.name, std::move(respond));
             });
  access.add(router, "POST", "/admin/components/{name}/skip",
             [this](Request r, http::Router::Params p, const Caller& caller, Responder respond) {
               act(std::move(r), std::move(p[0]), true, caller.principal.name, std::move(respond));
             });
  if (parts_.audit) {
    access.add(router, "GET", "/admin/audit",
               [this](Request r, http::Router::Params, Responder respond) { audit(r, std::move(respond)); });
  }
}

}  // namespace ordersd::api
