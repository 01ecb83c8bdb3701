#include "app/serve.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <pthread.h>

#include "app/idempotency.h"
#include "app/metrics.h"
#include "app/order_api.h"
#include "app/saga_api.h"
#include "app/service_api.h"
#include "bus/importer.h"
#include "bus/nats_bus.h"
#include "bus/relay.h"
#include "http/router.h"
#include "read/projector.h"
#include "read/query_api.h"
#include "read/view_slot.h"
#include "read/views.h"
#include "http/server.h"
#include "write/order_service.h"
#include "write/services.h"
#include "write/work_queue.h"

namespace ordersd::app {

namespace {

// What /health says of the bus: null pointers when the process runs without one.
struct BusParts {
  std::string roles;
  const bus::Relay* relay = nullptr;
  const bus::Importer* importer = nullptr;
};

void add_operational_routes(http::Router& router, const events::EventLog& log, const Metrics& metrics,
                            const write::SagaRuntime& saga, const std::vector<const read::ViewSlot*>& views,
                            BusParts bus_parts) {
  router.add("GET", "/health", [&log, views, bus_parts](http::Request, http::Router::Params, http::Responder respond) {
    nlohmann::ordered_json j;
    uint64_t head = log.head();
    bool failed = false;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const read::ViewSlot* slot : views) {
      std::shared_ptr<read::Projector> v = slot->current();
      nlohmann::ordered_json view;
      view["name"] = slot->spec().name;
      view["generation"] = slot->generation();
      view["position"] = v->position();
      view["lag"] = head > v->position() ? head - v->position() : 0;
      if (auto failure = v->failure()) {
        view["failure"] = failure->to_string();
        failed = true;
      }
      list.push_back(std::move(view));
    }
    // A failed view still serves what it has; the server is degraded, not down.
    j["status"] = failed ? "degraded" : "ok";
    j["version"] = ORDERSD_VERSION;
    j["head"] = head;
    j["views"] = std::move(list);
    j["roles"] = bus_parts.roles;
    if (bus_parts.relay) {
      nlohmann::ordered_json b;
      b["relay_position"] = bus_parts.relay->position();
      b["published"] = bus_parts.relay->published();
      b["imported"] = bus_parts.importer->imported();
      if (std::string e = bus_parts.relay->last_error(); !e.empty()) b["relay_error"] = e;
      if (std::string f = bus_parts.importer->failure(); !f.empty()) {
        b["importer_failure"] = f;
        failed = true;
      }
      j["bus"] = std::move(b);
      j["status"] = failed ? "degraded" : "ok";
    }
    respond(http::Response::json(200, j.dump()));
  });
  router.add("GET", "/metrics", [&log, &metrics, &saga, views, bus_parts](http::Request, http::Router::Params,
                                                                          http::Responder respond) {
    http::Response r;
    r.body = metrics.render(log, saga, views, bus_parts.relay, bus_parts.importer);
    r.set_header("Content-Type", "text/plain; version=0.0.4");
    respond(std::move(r));
  });
}

// Every answer is counted by route and status, with its latency.
http::Handler measured(const http::Router& router, Metrics& metrics) {
  return [&router, &metrics](http::Request request, http::Responder respond) {
    auto start = std::chrono::steady_clock::now();
    auto route = std::make_shared<std::string>();
    http::Responder counted = [&metrics, start, route, respond = std::move(respond)](http::Response r) {
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics.record_request(*route, r.status, seconds);
      respond(std::move(r));
    };
    router.dispatch(std::move(request), std::move(counted), route.get());
  };
}

}  // namespace

int serve(const ServeConfig& config) {
  // Signals are taken synchronously by this thread; every thread started
  // below inherits the mask, so none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  events::EventLogOptions log_options;
  log_options.durability = config.durability;
  log_options.cache_bytes = config.cache_mb << 20;
  auto opened = events::EventLog::open(config.data_dir, log_options);
  if (!opened) {
    std::fprintf(stderr, "ordersd: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  std::unique_ptr<events::EventLog> log = std::move(opened).value();

  // Owned in dependency order: each is destroyed before what it uses.
  RandomUuidGenerator ids;
  auto work = std::make_unique<write::WorkQueue>(config.workers);
  auto orders = std::make_unique<write::OrderService>(*log, *work, ids);
  auto wallets = std::make_unique<write::WalletService>(*log, *work, ids);
  auto stock = std::make_unique<write::StockService>(*log, *work, ids);
  auto idempotency = std::make_unique<IdempotencyStore>(*log, config.idempotency_ttl);
  idempotency->start_reaper(std::chrono::minutes(1));
  auto saga = write::SagaRuntime::open(*log, config.saga);
  if (!saga) {
    std::fprintf(stderr, "ordersd: %s\n", saga.status().to_string().c_str());
    return 1;
  }
  using bus::Role;
  const bus::Roles& roles = config.roles;
  std::vector<std::string> participants;
  if (roles.has(Role::kOrder)) participants.push_back("saga");
  if (roles.has(Role::kPayment)) participants.push_back("payment");
  if (roles.has(Role::kInventory)) participants.push_back("inventory");
  if (roles.has(Role::kShipping)) participants.push_back("shipping");
  (*saga)->start(config.paused, participants);
  // The read side: one projector per view, each on a thread of its own.
  std::vector<std::unique_ptr<read::ViewSlot>> slots;
  for (const auto& spec : read::all_views()) {
    if (!roles.has(Role::kQuery)) break;
    auto slot = read::ViewSlot::open(*log, spec);
    if (!slot) {
      std::fprintf(stderr, "ordersd: %s\n", slot.status().to_string().c_str());
      return 1;
    }
    slots.push_back(std::move(slot).value());
  }
  std::vector<const read::ViewSlot*> views;
  for (const auto& slot : slots) views.push_back(slot.get());
  // The bus: what this process writes goes out, what it reads comes in.
  std::unique_ptr<bus::NatsBus> nats;
  std::unique_ptr<bus::Relay> relay;
  std::unique_ptr<bus::Importer> importer;
  if (!config.bus_url.empty()) {
    auto connected = bus::NatsBus::connect(config.bus_url);
    if (!connected) {
      std::fprintf(stderr, "ordersd: %s\n", connected.status().to_string().c_str());
      return 1;
    }
    nats = std::move(connected).value();
    relay = std::make_unique<bus::Relay>(*log, *nats, roles.written_kinds());
    relay->start();
    importer = std::make_unique<bus::Importer>(*log, *nats, config.node, roles.read_kinds());
    if (Status s = importer->start(); !s) {
      std::fprintf(stderr, "ordersd: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  Metrics metrics;
  http::Router router;
  add_operational_routes(router, *log, metrics, **saga, views, {roles.to_string(), relay.get(), importer.get()});
  OrderApi order_api(*log, *orders, *work, *idempotency, ids);
  if (roles.has(Role::kOrder)) order_api.add_routes(router);
  CommandRunner runner(*log, *work, *idempotency, ids);
  ServiceApi service_api(*wallets, *stock, runner, *work);
  service_api.add_routes(router, roles.has(Role::kPayment), roles.has(Role::kInventory));
  SagaApi saga_api(*log, **saga, *work, ids);
  if (!participants.empty()) saga_api.add_routes(router);
  std::unique_ptr<read::QueryApi> query_api;
  if (roles.has(Role::kQuery)) {
    // all_views() lists orders, customers, inventory, stats in that order.
    query_api = std::make_unique<read::QueryApi>(*log, read::QueryApi::Views{*slots[0], *slots[1], *slots[2], *slots[3]},
                                                 [&work](std::function<void()> f) { work->post(std::move(f)); });
    query_api->add_routes(router);
  }

  http::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.threads = config.io_threads;
  server_options.max_body_bytes = config.max_body_bytes;
  auto server = http::Server::start(server_options, measured(router, metrics));
  if (!server) {
    std::fprintf(stderr, "ordersd: %s\n", server.status().to_string().c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", config.host.c_str(), (*server)->port());
  std::fflush(stdout);
  std::fprintf(stderr, "ordersd: data in %s, log head %llu, durability %s, roles %s%s%s\n", config.data_dir.c_str(),
               static_cast<unsigned long long>(log->head()),
               config.durability == events::Durability::kFsync ? "fsync" : "async", roles.to_string().c_str(),
               config.bus_url.empty() ? "" : ", bus ", config.bus_url.c_str());

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "ordersd: %s received, shutting down\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  // Quiesce from the outside in. The log's completions may post work and
  // work may append, so: no new requests; the log completes what is queued
  // and refuses the rest; the work queue runs out; then tear down.
  (*server)->stop();  // in-flight requests are answered (bounded by the grace period)
  server->reset();
  if (importer) importer->stop();  // what was not acknowledged is delivered again next time
  (*saga)->stop();    // each reader finishes the batch in hand
  for (auto& slot : slots) slot->stop();  // pending read-your-writes waits answer 503
  if (relay) relay->stop();  // what was not published is published after the restart
  log->close();
  work.reset();
  orders.reset();
  wallets.reset();
  stock.reset();
  saga->reset();
  views.clear();
  slots.clear();
  idempotency.reset();
  log.reset();
  std::fprintf(stderr, "ordersd: stopped\n");
  return 0;
}

}  // namespace ordersd::app
