#include "app/serve.h"

#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <pthread.h>

#include "http/server.h"

namespace ordersd::app {

namespace {

http::Response health(const events::EventLog& log) {
  nlohmann::ordered_json j;
  j["status"] = "ok";
  j["version"] = ORDERSD_VERSION;
  j["head"] = log.head();
  return http::Response::json(200, j.dump());
}

http::Handler routes(events::EventLog& log) {
  return [&log](http::Request request, http::Responder respond) {
    if (request.path() == "/health") {
      if (request.method != "GET" && request.method != "HEAD") {
        auto r = http::Response::problem(405, "Method Not Allowed", request.method + " is not allowed on /health");
        r.set_header("Allow", "GET, HEAD");
        return respond(std::move(r));
      }
      return respond(health(log));
    }
    respond(http::Response::problem(404, "Not Found", "no route for " + std::string(request.path())));
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
  auto log = events::EventLog::open(config.data_dir, log_options);
  if (!log) {
    std::fprintf(stderr, "ordersd: %s\n", log.status().to_string().c_str());
    return 1;
  }

  http::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.threads = config.io_threads;
  server_options.max_body_bytes = config.max_body_bytes;
  auto server = http::Server::start(server_options, routes(**log));
  if (!server) {
    std::fprintf(stderr, "ordersd: %s\n", server.status().to_string().c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", config.host.c_str(), (*server)->port());
  std::fflush(stdout);
  std::fprintf(stderr, "ordersd: data in %s, log head %llu, durability %s\n", config.data_dir.c_str(),
               static_cast<unsigned long long>((*log)->head()),
               config.durability == events::Durability::kFsync ? "fsync" : "async");

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "ordersd: %s received, shutting down\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->stop();   // no new requests; in-flight ones finish
  server->reset();
  log->reset();        // commits what is queued, flushes, closes RocksDB
  std::fprintf(stderr, "ordersd: stopped\n");
  return 0;
}

}  // namespace ordersd::app
