// GET /openapi.json: the OpenAPI 3.1 description of every route, as JSON.
//
// Its source is api/openapi.yaml; the build turns it into JSON in a
// generated source file (api/openapi_to_cpp.py), so the server reads no
// file to answer and the YAML stays the one place the API is described.
#pragma once

#include <string_view>

#include "api/access.h"
#include "http/router.h"

namespace ordersd::api {

// The description, as the JSON text the route answers with.
std::string_view openapi_json();

// Adds GET /openapi.json (open to anyone, as the route table has it).
void add_openapi_route(Access& access, http::Router& router);

}  // namespace ordersd::api
