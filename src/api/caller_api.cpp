#include "api/caller_api.h"

#include <nlohmann/json.hpp>

namespace ordersd::api {

void add_caller_route(Access& access, http::Router& router) {
  access.add(router, "GET", "/whoami",
             [](http::Request, http::Router::Params, const Caller& caller, http::Responder respond) {
               const auth::Principal& who = caller.principal;
               nlohmann::ordered_json j;
               j["caller"] = who.name;
               j["credential"] = std::string(credential_name(who.kind));
               // Open: a loopback server with no tokens lets anyone do anything.
               j["open"] = who.kind == auth::Principal::Kind::kAnonymous;
               nlohmann::ordered_json scopes = nlohmann::ordered_json::array();
               for (auth::Scope s : who.scopes.list()) scopes.push_back(std::string(auth::scope_name(s)));
               j["scopes"] = std::move(scopes);
               j["customer_id"] = who.customer_id ? nlohmann::ordered_json(*who.customer_id) : nlohmann::ordered_json();
               respond(http::Response::json(200, j.dump()));
             });
}

}  // namespace ordersd::api
