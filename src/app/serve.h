// `ordersd serve`: opens the event log and serves HTTP (or HTTPS) until
// SIGINT/SIGTERM; SIGHUP reloads the token, JWKS and TLS files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/peers.h"
#include "bus/shards.h"
#include "api/event_stream_api.h"
#include "auth/authenticator.h"
#include "auth/rate_limiter.h"
#include "bus/bus.h"
#include "bus/roles.h"
#include "events/event_log.h"
#include "http/server.h"
#include "write/saga/saga_runtime.h"

namespace ordersd::app {

struct ServeConfig {
  std::string data_dir = "./data";
  std::string host = "127.0.0.1";  // an address or a host name (resolved by serve())
  uint16_t port = 8080;
  unsigned io_threads = 0;  // 0 = hardware threads
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10'000};  // a request's header, from its first byte
  size_t max_connections_per_ip = 256;              // open connections from one client address
  unsigned workers = 2;  // threads that read the log and decide commands
  std::chrono::seconds idempotency_ttl{24 * 3600};
  std::chrono::milliseconds idempotency_reap_interval{60 * 1000};  // between purges of expired records
  events::Durability durability = events::Durability::kFsync;
  size_t cache_mb = 256;  // RocksDB's block cache and memtables together (--cache-mb)
  write::SagaConfig saga;  // step deadlines and attempts, --ship-to
  std::vector<std::string> paused;  // participants started held (--paused)
  bus::Roles roles = bus::Roles::all();
  std::string bus_url;  // "": no broker (only with every role); may carry user:password@, never shown
  bus::BusSecurity bus_security;  // --bus-creds, --bus-tls-ca
  std::string node;     // names this process's consumers on the bus
  api::Peers peers;     // where the other services answer: routes served there are redirected (--peers)
  bus::ShardMap shards;                  // how many shards order and payment have (from --peers)
  std::optional<bus::ShardSpec> shard;   // this process's shard of its role (--shard)
  uint64_t ready_lag = 10'000;  // /health/ready: events a component may be behind the head
  bool access_log = false;  // a log line per HTTP request (--access-log)
  auth::AuthOptions auth;   // --tokens, --jwks and the JWT's issuer and audience
  auth::RateLimit rate_limit;  // per caller and per client address; rate 0 = none
  bool insecure = false;    // serve a non-loopback address with no authentication
  std::optional<http::TlsFiles> tls;  // HTTPS (--tls-cert, --tls-key, --tls-client-ca); none: plain HTTP
  api::EventStreamOptions event_streams;  // GET /events/stream: --event-stream-queue-bytes, -stall-ms, -max
};

// What --listen's host stands for: itself when it is an address; for a host
// name, the addresses the resolver gives (`candidates`, in its order), of
// which the first is bound (`address`). kInvalidArgument naming the host when
// it names none.
struct ListenAddress {
  std::string address;
  std::vector<std::string> candidates;
};
Result<ListenAddress> resolve_listen_host(const std::string& host);

// Whether `host` is a loopback address, or a name (such as localhost) every
// address of which is one. A name that resolves to no address is not.
bool is_loopback(const std::string& host);

// Blocks until a signal asks it to stop; returns the exit code. Prints
// "listening on HOST:PORT" to stdout once it accepts connections. On SIGHUP
// it re-reads the token, JWKS and TLS files (a failure keeps the ones in
// force and is logged).
int serve(const ServeConfig& config);

}  // namespace ordersd::app
