#include "api/openapi_api.h"

#include <string>

namespace ordersd::api {

void add_openapi_route(Access& access, http::Router& router) {
  access.add(router, "GET", "/openapi.json", [](http::Request, http::Router::Params, http::Responder respond) {
    respond(http::Response::json(200, std::string(openapi_json())));
  });
}

}  // namespace ordersd::api
