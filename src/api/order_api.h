// OrderApi: the HTTP routes of order commands and of the strongly consistent
// reads straight from the log.
//
//   POST /orders                    place an order            201
//   POST /orders/{id}/cancel        ask to cancel             202
//   POST /orders/{id}/deliver       confirm delivery          200
//   GET  /orders/{id}/events        the order's stream
//   GET  /orders/{id}/state         the order folded, optionally up to ?version=N
//   GET  /events                    the global log, ?from=P&limit=N
//
// A caller bound to a customer places orders for that customer only and
// reaches only its own orders (404 for others).
//
// Commands honour If-Match (the order's version) and Idempotency-Key. Every
// route does its disk work on the WorkQueue, never on the I/O thread.
#pragma once

#include "api/access.h"
#include "api/command_runner.h"
#include "api/idempotency.h"
#include "events/event_log.h"
#include "http/router.h"
#include "write/pipeline/order_pipeline.h"
#include "write/pipeline/work_queue.h"

namespace ordersd::api {

class OrderApi {
 public:
  OrderApi(events::EventLog& log, write::OrderPipeline& orders, write::WorkQueue& work,
           IdempotencyStore& idempotency, UuidGenerator& ids, CommandGate gate = {});

  void add_routes(Access& access, http::Router& router);

 private:
  void place(http::Request request, const Caller& caller, http::Responder respond);
  void cancel(http::Request request, std::string order_id, http::Responder respond);
  void deliver(http::Request request, std::string order_id, http::Responder respond);
  void run(HttpCommand command, std::string order_id, write::OrderCommand order_command, int success_status);

  void order_events(http::Request request, std::string order_id, http::Responder respond);
  void order_state(http::Request request, std::string order_id, http::Responder respond);
  void all_events(http::Request request, http::Responder respond);

  events::EventLog& log_;
  write::OrderPipeline& orders_;
  write::WorkQueue& work_;
  UuidGenerator& ids_;
  CommandRunner runner_;
};

}  // namespace ordersd::api
