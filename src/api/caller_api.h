// GET /whoami: who the request's credentials name and what they allow, so a
// client (the web console) can offer only what the caller may do. Any valid
// credentials may ask; without them it is 401 like every guarded route.
#pragma once

#include "api/access.h"
#include "http/router.h"

namespace ordersd::api {

void add_caller_route(Access& access, http::Router& router);

}  // namespace ordersd::api
