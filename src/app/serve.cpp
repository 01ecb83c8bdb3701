#include "app/serve.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sys/resource.h>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "api/access.h"
#include "api/audit_trail.h"
#include "api/event_stream_api.h"
#include "api/idempotency.h"
#include "api/metrics.h"
#include "api/openapi_api.h"
#include "api/console_api.h"
#include "api/caller_api.h"
#include "api/operations_api.h"
#include "api/order_api.h"
#include "api/saga_api.h"
#include "api/payment_inventory_api.h"
#include "bus/importer.h"
#include "bus/bus.h"
#include "bus/relay.h"
#include "events/logging.h"
#include "http/router.h"
#include "read/order_view.h"
#include "read/projector.h"
#include "read/summary_views.h"
#include "read/timeline_view.h"
#include "api/query_api.h"
#include "app/message_routes.h"
#include "read/view_slot.h"
#include "read/views.h"
#include "http/server.h"
#include "events/supervisor.h"
#include "write/pipeline/order_pipeline.h"
#include "write/pipeline/stream_turns.h"
#include "write/pipeline/wallet_stock_pipelines.h"
#include "write/pipeline/work_queue.h"

namespace ordersd::app {

namespace {

// Every answer is counted by route and status, with its latency; with
// `access_log`, logged too (whether an Idempotency-Key came, never its value).
http::Handler measured(const http::Router& router, api::Metrics& metrics, bool access_log) {
  return [&router, &metrics, access_log](http::Request request, http::Responder respond) {
    auto start = std::chrono::steady_clock::now();
    auto route = std::make_shared<std::string>();
    // What the access line needs of the request, which the router consumes.
    struct Seen {
      std::string method, path;
      bool idempotency_key;
    };
    std::shared_ptr<const Seen> seen;
    if (access_log && logging::enabled(logging::Level::kInfo)) {
      seen = std::make_shared<const Seen>(
          Seen{request.method, std::string(request.path()), request.find_header("Idempotency-Key").has_value()});
    }
    http::Responder counted = [&metrics, start, route, seen, respond = std::move(respond)](http::Response r) {
      auto elapsed = std::chrono::steady_clock::now() - start;
      double seconds = std::chrono::duration<double>(elapsed).count();
      metrics.record_request(*route, r.status, seconds);
      if (seen) {
        char latency[32];
        std::snprintf(latency, sizeof latency, "%.3f", seconds * 1e3);
        // A path no route matched is logged as it came, for the operator to see.
        std::string shown = *route == "unmatched" || route->empty() ? seen->path : *route;
        logging::info("http", "request", {{"method", seen->method},
                                          {"route", std::move(shown)},
                                          {"status", std::to_string(r.status)},
                                          {"latency_ms", latency},
                                          {"idempotency_key", seen->idempotency_key ? "true" : "false"}});
      }
      respond(std::move(r));
    };
    router.dispatch(std::move(request), std::move(counted), route.get());
  };
}

}  // namespace

namespace {

constexpr std::chrono::seconds kCommandsWaitForTheBusAfter{5};

bool address_is_loopback(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return address.is_loopback();
}

}  // namespace

Result<ListenAddress> resolve_listen_host(const std::string& host) {
  boost::system::error_code ec;
  auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) return ListenAddress{literal.to_string(), {literal.to_string()}};
  if (host.empty()) return Status::invalid_argument("--listen has no host: give HOST:PORT");
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  // Passive and numeric-service: the addresses to bind, no service lookup.
  auto results = resolver.resolve(host, "0",
                                  boost::asio::ip::resolver_base::passive |
                                      boost::asio::ip::resolver_base::numeric_service,
                                  ec);
  if (ec) {
    return Status::invalid_argument("cannot resolve the --listen host '" + host + "': " + ec.message());
  }
  ListenAddress out;
  for (const auto& entry : results) {
    std::string address = entry.endpoint().address().to_string();
    if (std::find(out.candidates.begin(), out.candidates.end(), address) == out.candidates.end()) {
      out.candidates.push_back(std::move(address));
    }
  }
  if (out.candidates.empty()) {
    return Status::invalid_argument("the --listen host '" + host + "' resolves to no address");
  }
  out.address = out.candidates.front();
  return out;
}

bool is_loopback(const std::string& host) {
  auto resolved = resolve_listen_host(host);
  if (!resolved) return false;
  for (const auto& candidate : resolved->candidates) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(candidate, ec);
    if (ec || !address_is_loopback(address)) return false;
  }
  return true;
}

int serve(const ServeConfig& config) {
  // Signals are taken synchronously by this thread; every thread started
  // below inherits the mask, so none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Where to listen: a host name is resolved once, here, and its first
  // address bound; whether the server may run open is decided by that.
  auto listen = resolve_listen_host(config.host);
  if (!listen) {
    logging::error("serve", listen.status().message(), {{"listen", config.host}});
    return 2;
  }
  if (listen->address != config.host) {
    std::string all;
    for (const auto& c : listen->candidates) all += (all.empty() ? "" : ",") + c;
    logging::info("serve", "resolved the --listen host; binding its first address",
                  {{"host", config.host}, {"address", listen->address}, {"addresses", all}});
  }

  // Who may do what, settled before anything is opened.
  auto authenticator = auth::Authenticator::open(config.auth);
  if (!authenticator) {
    logging::error("serve", "cannot load the credentials: " + authenticator.status().to_string());
    return 1;
  }
  if ((*authenticator)->open_access() && !is_loopback(listen->address) && !config.insecure) {
    logging::error("serve",
                   "refusing to serve " + config.host +
                       (listen->address != config.host ? " (" + listen->address + ")" : std::string()) +
                       " with no authentication: give --tokens FILE or --jwks FILE (or --insecure to run open)");
    return 2;
  }

  // Every connection and every storage file is a descriptor: use all the
  // hard limit allows (the server fits its connection cap to what is left).
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  events::EventLogOptions log_options;
  log_options.durability = config.durability;
  log_options.cache_bytes = config.cache_mb << 20;
  auto opened = events::EventLog::open(config.data_dir, log_options);
  if (!opened) {
    logging::error("serve", "cannot open the event log: " + opened.status().to_string(), {{"data_dir", config.data_dir}});
    return 1;
  }
  std::unique_ptr<events::EventLog> log = std::move(opened).value();

  // Owned in dependency order: each is destroyed before what it uses.
  RandomUuidGenerator ids;
  write::StreamTurns turns;  // one writer at a time per stream, across HTTP commands and participants
  auto work = std::make_unique<write::WorkQueue>(config.workers);
  auto orders = std::make_unique<write::OrderPipeline>(*log, *work, ids, turns);
  auto wallets = std::make_unique<write::WalletPipeline>(*log, *work, ids, turns);
  auto stock = std::make_unique<write::StockPipeline>(*log, *work, ids, turns);
  auto idempotency = std::make_unique<api::IdempotencyStore>(*log, config.idempotency_ttl);
  idempotency->start_reaper(config.idempotency_reap_interval);
  auto saga = write::SagaRuntime::open(*log, config.saga, turns);
  if (!saga) {
    logging::error("serve", "cannot start the saga: " + saga.status().to_string());
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
  // The read side: one projector per view, all driven by one thread that
  // reads the log once for them (declared first: it outlives the slots).
  read::ProjectorGroup projectors(*log);
  std::vector<std::unique_ptr<read::ViewSlot>> slots;
  for (const auto& spec : read::all_views()) {
    if (!roles.has(Role::kQuery)) break;
    auto slot = read::ViewSlot::open(*log, spec, &projectors);
    if (!slot) {
      logging::error("serve", "cannot open a view: " + slot.status().to_string(), {{"view", spec.name}});
      return 1;
    }
    slots.push_back(std::move(slot).value());
  }
  std::vector<const read::ViewSlot*> views;
  for (const auto& slot : slots) views.push_back(slot.get());
  // The bus: what this process writes goes out, what it reads comes in.
  std::unique_ptr<bus::Bus> broker;
  std::unique_ptr<bus::Relay> relay;
  std::unique_ptr<bus::Importer> importer;
  const std::string shown_bus = bus::redact_url(config.bus_url);  // never its password
  if (!config.bus_url.empty()) {
    auto connected = bus::connect_bus(config.bus_url, config.bus_security,
                                      config.shards.sharded() ? config.shards.to_string() : std::string());
    if (!connected) {
      logging::error("serve", "cannot connect to the bus: " + connected.status().to_string(), {{"bus", shown_bus}});
      return 1;
    }
    broker = std::move(connected).value();
    bus::Relay::Route route;
    if (config.shards.sharded()) {
      route = [routes = std::make_shared<MessageRoutes>(*log, config.shards)](const events::RecordedEvent& e) {
        return (*routes)(e);
      };
    }
    relay = std::make_unique<bus::Relay>(*log, *broker, roles.written_kinds(), std::move(route));
    relay->start();
    importer = std::make_unique<bus::Importer>(*log, *broker, config.node,
                                               config.shards.import_filters(roles, config.shard));
    if (Status s = importer->start(); !s) {
      logging::error("serve", "cannot start the importer: " + s.to_string(), {{"bus", shown_bus}});
      return 1;
    }
  }
  // Every long-running component runs under one supervisor.
  events::Supervisor supervisor(*log);
  for (write::Participant* p : (*saga)->participants()) {
    supervisor.add({p->name(), [p] { return p->failure(); }, [p] { return p->restart(); },
                    [p] { return p->position(); }, [p] { return p->name(); }});
  }
  for (const auto& slot : slots) {
    read::ViewSlot* v = slot.get();
    supervisor.add({v->spec().name, [v] { return v->current()->failure(); }, [v] { return v->current()->restart(); },
                    [v] { return v->current()->position(); }, [v] { return v->current()->name(); }});
  }
  if (relay) {
    bus::Relay* r = relay.get();
    supervisor.add({"relay", [r] { return r->failure(); },
                    [r] {
                      r->stop();
                      r->start();
                      return Status::ok();
                    },
                    [r] { return r->position(); }, {}});
    bus::Importer* i = importer.get();
    supervisor.add({"importer", [i] { return i->failure(); },
                    [i] {
                      i->stop();
                      return i->start();
                    },
                    {}, {}});
  }
  {
    api::IdempotencyStore* store = idempotency.get();
    supervisor.add({"idempotency-reaper", [store] { return store->reaper_failure(); },
                    [store] { return store->restart_reaper(); }, {}, {}});
  }
  supervisor.start();

  // Commands wait while the bus does not take this process's events: what
  // they write could not reach the other services, and accepting more would
  // only pile up an outbox that no one downstream sees. A broker restart or
  // a leader election takes less than this; an outage (no quorum) longer.
  api::CommandGate bus_gate;
  if (relay) {
    bus_gate = [r = relay.get()]() -> std::string {
      auto failing = std::chrono::duration_cast<std::chrono::seconds>(r->failing_for());
      if (failing < kCommandsWaitForTheBusAfter) return {};
      return "the bus has not taken this service's events for " + std::to_string(failing.count()) +
             " s (" + r->last_error() + ")";
    };
  }
  api::Metrics metrics;
  http::Router router;
  api::AuditTrail audit(*log);
  api::Access access(**authenticator, config.rate_limit, audit, roles, config.peers, config.shard);
  api::OperationsApi operations({*log, supervisor, **saga, turns, views, roles.to_string(), relay.get(), importer.get(),
                                 config.ready_lag, &audit, bus_gate, config.shards,
                                 config.shard},
                                metrics, *work);
  operations.add_routes(access, router);
  // Each API offers its routes; access adds those the route table gives
  // this process's roles, and afterwards sends the rest to their services.
  api::add_openapi_route(access, router);
  api::add_console_routes(access, router);
  api::add_caller_route(access, router);
  api::OrderApi order_api(*log, *orders, *work, *idempotency, ids, bus_gate);
  order_api.add_routes(access, router);
  // The live feed of the log, beside GET /events: its own thread, never an
  // I/O or work-queue one (event_stream_api.h).
  std::unique_ptr<api::EventStreamApi> event_streams;
  if (roles.has(Role::kOrder)) {
    event_streams = std::make_unique<api::EventStreamApi>(*log, config.event_streams);
    event_streams->add_routes(access, router);
    operations.add_metrics([streams = event_streams.get()] { return streams->render_metrics(); });
  }
  api::CommandRunner runner(*log, *work, *idempotency, ids, bus_gate);
  api::PaymentInventoryApi payment_inventory_api(*wallets, *stock, runner, *work);
  payment_inventory_api.add_routes(access, router);
  api::SagaApi saga_api(*log, **saga, *work, ids, supervisor);
  saga_api.add_routes(access, router);
  std::unique_ptr<api::QueryApi> query_api;
  if (roles.has(Role::kQuery)) {
    auto slot = [&slots](std::string_view name) -> read::ViewSlot& {
      for (auto& s : slots) {
        if (s->spec().name == name) return *s;
      }
      throw std::logic_error("no view named " + std::string(name));  // all_views() names every one
    };
    query_api = std::make_unique<api::QueryApi>(
        *log,
        api::QueryApi::Views{slot(read::kOrderViewName), slot(read::kCustomerViewName), slot(read::kInventoryViewName),
                             slot(read::kStatsViewName), slot(read::kTimelineViewName)},
        [&work](std::function<void()> f) { work->post(std::move(f)); });
    query_api->add_routes(access, router);
  }
  access.add_elsewhere(router);

  http::ServerOptions server_options;
  server_options.host = listen->address;
  server_options.port = config.port;
  server_options.threads = config.io_threads;
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.header_timeout = config.header_timeout;
  server_options.max_connections_per_ip = config.max_connections_per_ip;
  server_options.tls = config.tls;
  auto server = http::Server::start(server_options, measured(router, metrics, config.access_log));
  if (!server) {
    logging::error("serve", "cannot start the HTTP server: " + server.status().to_string(),
                   {{"listen", listen->address + ":" + std::to_string(config.port)}});
    return 1;
  }
  std::printf("listening on %s:%u\n", listen->address.c_str(), (*server)->port());
  std::fflush(stdout);
  logging::Fields started = {
      {"data_dir", config.data_dir},
      {"log_head", std::to_string(log->head())},
      {"roles", roles.to_string()},
      {"durability", config.durability == events::Durability::kFsync ? "fsync" : "async"},
  };
  if (!config.bus_url.empty()) {
    started.emplace_back("bus", shown_bus);
    if (!config.bus_security.creds_file.empty()) started.emplace_back("bus_creds", config.bus_security.creds_file);
    if (!config.bus_security.tls_ca_file.empty()) started.emplace_back("bus_tls_ca", config.bus_security.tls_ca_file);
    started.emplace_back("node", config.node);
  }
  if (!config.peers.empty()) started.emplace_back("peers", config.peers.to_string());
  if (config.shards.sharded()) started.emplace_back("shards", config.shards.to_string());
  if (config.shard) started.emplace_back("shard", config.shard->to_string());
  started.insert(started.end(), {
      {"listen", listen->address + ":" + std::to_string((*server)->port())},
      {"io_threads", std::to_string(config.io_threads ? config.io_threads
                                                      : std::max(1u, std::thread::hardware_concurrency()))},
      {"workers", std::to_string(config.workers)},
      {"max_body_bytes", std::to_string(config.max_body_bytes)},
      {"max_connections", std::to_string((*server)->max_connections())},
      {"tls", config.tls ? "on" : "off"},
      {"idempotency_ttl_s", std::to_string(config.idempotency_ttl.count())},
      {"ready_lag", std::to_string(config.ready_lag)},
      {"auth", (*authenticator)->describe()},
      {"rate_limit", config.rate_limit.rate > 0 ? config.rate_limit.to_string() : "none"},
  });
  if (config.tls) {
    started.emplace_back("tls_client_certs", config.tls->client_ca_file.empty() ? "not requested" : "required");
  }
  if (!config.paused.empty()) {
    std::string paused;
    for (const auto& p : config.paused) paused += (paused.empty() ? "" : ",") + p;
    started.emplace_back("paused", paused);
  }
  logging::info("serve", "started", started);
  if ((*authenticator)->open_access()) {
    logging::warn("serve", "no --tokens or --jwks: every client that reaches the port may do anything",
                  {{"listen", config.host}});
  }

  // SIGHUP reloads what can change under a running server; each reload
  // that fails leaves the old contents in force.
  std::vector<std::pair<std::string, std::function<Status()>>> reloads = {
      {"credentials", [&] { return (*authenticator)->reload(); }},
  };
  if (config.tls) reloads.emplace_back("tls certificates", [&server] { return (*server)->reload_tls(); });
  int signal = 0;
  for (;;) {
    sigwait(&signals, &signal);
    if (signal != SIGHUP) break;
    for (const auto& [what, reload] : reloads) {
      if (Status s = reload(); s) {
        logging::info("serve", what + " reloaded",
                      what == "credentials" ? logging::Fields{{"auth", (*authenticator)->describe()}} : logging::Fields{});
      } else {
        logging::error("serve", what + " not reloaded, the old ones stay in force: " + s.to_string());
      }
    }
  }
  logging::info("serve", "shutting down", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  // Quiesce from the outside in. The log's completions may post work and
  // work may append, so: no new requests; the log completes what is queued
  // and refuses the rest; the work queue runs out; then tear down.
  // Open event streams end first, each with a last event saying where to
  // resume, so that the server does not wait its grace period for them.
  if (event_streams) event_streams->stop();
  (*server)->stop();  // in-flight requests are answered (bounded by the grace period)
  server->reset();
  supervisor.stop();  // nothing restarts while the parts stop
  if (importer) importer->stop();  // what was not acknowledged is delivered again next time
  (*saga)->stop();    // each reader finishes the batch in hand
  for (auto& slot : slots) slot->stop();  // pending read-your-writes waits answer 503
  projectors.stop();
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
  logging::info("serve", "stopped");
  return 0;
}

}  // namespace ordersd::app
