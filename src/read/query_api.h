// QueryApi: the read side's HTTP routes, served from the views.
//
//   GET /orders/{id}                                   the order's row
//   GET /orders?status=&customer_id=&limit=&after=     newest first; `next` is the cursor
//
// Every query takes min_position=P and wait_ms=W (default 2000, at most
// 30000): it answers once its view has reached P, or 503 with Retry-After
// when it has not within W. Every answer carries X-Position, the position
// the view had reached when it was read.
#pragma once

#include <functional>
#include <string>

#include "events/event_log.h"
#include "http/router.h"
#include "read/projector.h"

namespace ordersd::read {

class QueryApi {
 public:
  // Runs a view read away from the I/O threads.
  using Post = std::function<void(std::function<void()>)>;

  QueryApi(const events::EventLog& log, Projector& orders, Post post) : log_(log), orders_(orders), post_(post) {}

  void add_routes(http::Router& router);

 private:
  void get_order(const http::Request& request, std::string order_id, http::Responder respond);
  void list_orders(const http::Request& request, http::Responder respond);

  const events::EventLog& log_;
  Projector& orders_;
  Post post_;
};

}  // namespace ordersd::read
