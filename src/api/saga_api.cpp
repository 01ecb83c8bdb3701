#include "api/saga_api.h"

#include <nlohmann/json.hpp>

#include "api/command_bodies.h"
#include "api/command_runner.h"
#include "api/problems.h"
#include "events/event_json.h"
#include "write/saga/saga_codec.h"

namespace ordersd::api {

using http::Request;
using http::Responder;
using http::Response;

namespace {


nlohmann::ordered_json saga_json(const std::string& order_id, const write::SagaState& s) {
  nlohmann::ordered_json j;
  j["order_id"] = order_id;
  j["phase"] = std::string(write::phase_name(s.phase));
  if (s.pending) {
    j["pending_step"] = std::string(write::step_name(*s.pending));
    j["attempt"] = s.attempt;
    j["deadline"] = events::format_time_us(s.deadline_us);
  }
  if (s.cancel_noted) j["cancel_requested"] = *s.cancel_noted;
  if (!s.cancel_reason.empty()) j["cancel_reason"] = s.cancel_reason;
  j["customer_id"] = s.order.customer_id;
  j["amount_cents"] = s.order.amount_cents;
  j["country"] = s.order.country;
  j["version"] = s.version;
  return j;
}

}  // namespace

void SagaApi::add_routes(Access& access, http::Router& router) {
  access.add(router, "GET", "/sagas", [this](Request r, http::Router::Params, Responder respond) {
    list_sagas(r, std::move(respond));
  });
  access.add(router, "GET", "/sagas/{id}", [this](Request, http::Router::Params p, Responder respond) {
    get_saga(std::move(p[0]), std::move(respond));
  });
  access.add(router, "POST", "/sagas/{id}/retry", [this](Request r, http::Router::Params p, Responder respond) {
    retry(std::move(r), std::move(p[0]), std::move(respond));
  });
  access.add(router, "GET", "/participants", [this](Request, http::Router::Params, Responder respond) {
    list_participants(std::move(respond));
  });
  access.add(router, "POST", "/participants/{name}/pause", [this](Request r, http::Router::Params p, Responder respond) {
    pause(std::move(r), std::move(p[0]), true, std::move(respond));
  });
  access.add(router, "POST", "/participants/{name}/resume", [this](Request r, http::Router::Params p, Responder respond) {
    pause(std::move(r), std::move(p[0]), false, std::move(respond));
  });
}

void SagaApi::get_saga(std::string order_id, Responder respond) {
  if (!valid_id(order_id)) return respond(bad_id("an order id"));
  work_.post([this, order_id = std::move(order_id), respond = std::move(respond)] {
    auto state = write::SagaOrchestrator::load(log_, order_id);
    if (!state) return respond(server_error(state.status()));
    if (state->phase == write::SagaState::Phase::kNone) {
      return respond(not_found("no saga for order " + order_id));
    }
    respond(Response::json(200, saga_json(order_id, *state).dump()));
  });
}

void SagaApi::list_sagas(const Request& request, Responder respond) {
  if (request.query() != "status=stuck") {
    return respond(bad_request("list sagas with ?status=stuck: only stuck sagas are listed"));
  }
  work_.post([this, respond = std::move(respond)] {
    nlohmann::ordered_json list = nlohmann::json::array();
    Status s = log_.scan(write::kSagaStuckSpace, "", [&](std::string_view key, std::string_view step) {
      list.push_back({{"order_id", std::string(key)}, {"step", std::string(step)}});
      return list.size() < 10'000;
    });
    if (!s) return respond(server_error(s));
    nlohmann::ordered_json j;
    j["sagas"] = std::move(list);
    respond(Response::json(200, j.dump()));
  });
}

void SagaApi::retry(Request request, std::string order_id, Responder respond) {
  if (!valid_id(order_id)) return respond(bad_id("an order id"));
  if (Status ok = parse_empty_body(request.body, "the retry request"); !ok) return respond(bad_request(ok.message()));
  work_.post([this, order_id = std::move(order_id), respond = std::move(respond)]() mutable {
    auto stuck = log_.get(write::kSagaStuckSpace, order_id);
    if (!stuck) return respond(server_error(stuck.status()));
    if (!*stuck) {
      auto state = write::SagaOrchestrator::load(log_, order_id);
      if (!state) return respond(server_error(state.status()));
      if (state->phase == write::SagaState::Phase::kNone) {
        return respond(not_found("no saga for order " + order_id));
      }
      return respond(conflict("the saga of order " + order_id + " is " +
                                           std::string(write::phase_name(state->phase)) + ", not stuck"));
    }
    std::string step = **stuck;
    events::AppendRequest append;
    append.streams.push_back({write::operator_stream(order_id), events::ExpectedVersion::any(),
                              {write::retry_request_event(order_id, ids_.next())}});
    log_.append_async(std::move(append), [order_id, step, respond = std::move(respond)](auto result) {
      if (!result) return respond(server_error(result.status()));
      nlohmann::ordered_json j;
      j["order_id"] = order_id;
      j["step"] = step;
      j["position"] = result->last_position;
      respond(Response::json(202, j.dump()));
    });
  });
}

void SagaApi::list_participants(Responder respond) {
  nlohmann::ordered_json list = nlohmann::json::array();
  uint64_t head = log_.head();
  for (const write::Participant* p : saga_.participants()) {
    nlohmann::ordered_json j;
    j["name"] = p->name();
    if (auto report = supervisor_.report(p->name())) {
      j["state"] = std::string(events::Supervisor::state_name(report->state));
      j["paused"] = p->paused();
      j["restarts"] = report->restarts;
      if (!report->last_error.empty()) j["last_error"] = report->last_error;
      if (report->failed_at) j["failed_at"] = *report->failed_at;
    } else {
      j["paused"] = p->paused();
    }
    if (auto failure = p->failure()) j["failure"] = failure->to_string();
    j["position"] = p->position();
    j["lag"] = head > p->position() ? head - p->position() : 0;
    list.push_back(std::move(j));
  }
  nlohmann::ordered_json j;
  j["participants"] = std::move(list);
  respond(Response::json(200, j.dump()));
}

void SagaApi::pause(Request request, std::string name, bool paused, Responder respond) {
  write::Participant* p = saga_.find(name);
  if (!p) {
    return respond(not_found("no participant '" + name + "': there are saga, payment, inventory and shipping"));
  }
  const char* subject = paused ? "the pause request" : "the resume request";
  if (Status ok = parse_empty_body(request.body, subject); !ok) return respond(bad_request(ok.message()));
  if (paused) p->pause();
  else p->resume();
  nlohmann::ordered_json j;
  j["name"] = p->name();
  j["paused"] = p->paused();
  respond(Response::json(200, j.dump()));
}

}  // namespace ordersd::api
