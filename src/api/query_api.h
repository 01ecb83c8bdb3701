// QueryApi: the read side's HTTP routes, served from the views.
//
//   GET /orders/{id}                                   the order's row
//   GET /orders/{id}/timeline?limit=&after=            the order's whole story: every event of every stream
//                                                      that took part, in log order (read/timeline_view.h)
//   GET /orders?status=&customer_id=&limit=&after=     newest first; `next` is the cursor
//   GET /customers/{id}                                balance, spent, orders per status
//   GET /inventory/{sku}                               restocked, available, reserved, shipped
//   GET /stats                                         orders per status, revenue, cancellations
//                                                      per reason, the log's head, each view's lag
//   GET  /admin/views                                  each view's generation, position, lag, rebuild progress,
//                                                      and the last rebuild's failure (reason, position)
//   POST /admin/views/{name}/rebuild                   202: builds the next generation beside the live one
//
// Every query takes min_position=P and wait_ms=W (default 2000, at most
// 30000): it answers once its view has reached P, or 503 with Retry-After
// when it has not within W. Every answer carries X-Position, the position
// the view had reached when it was read.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "events/event_log.h"
#include "api/access.h"
#include "http/router.h"
#include "read/projector.h"
#include "read/view_slot.h"

namespace ordersd::api {

class QueryApi {
 public:
  // Runs a view read away from the I/O threads.
  using Post = std::function<void(std::function<void()>)>;

  struct Views {
    read::ViewSlot& orders;
    read::ViewSlot& customers;
    read::ViewSlot& inventory;
    read::ViewSlot& stats;
    read::ViewSlot& timeline;
    std::vector<read::ViewSlot*> all() const { return {&orders, &customers, &inventory, &stats, &timeline}; }
  };

  QueryApi(const events::EventLog& log, Views views, Post post) : log_(log), views_(views), post_(post) {}

  void add_routes(Access& access, http::Router& router);

  // The answer a route makes of a stored row (read/: order_answer, ...).
  using Answer = std::string (*)(std::string stored);

 private:
  void get_order(const http::Request& request, std::string order_id, http::Responder respond);
  void list_orders(const http::Request& request, http::Responder respond);
  // A row of a view by key: 200 with it as `answer` makes it of the stored row, or 404 with `missing`.
  void get_row(const http::Request& request, read::ViewSlot& slot, std::string key, std::string missing,
               Answer answer, http::Responder respond);
  void get_stats(const http::Request& request, http::Responder respond);
  void get_timeline(const http::Request& request, std::string order_id, http::Responder respond);
  nlohmann::ordered_json views_json() const;

  const events::EventLog& log_;
  Views views_;
  Post post_;
};

}  // namespace ordersd::api
