#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <fstream>
#include <iostream>
#include <set>
#include <sys/ioctl.h>
#include <unistd.h>

#include "app/bus_users.h"
#include "app/check_data.h"
#include "app/upgrade_data.h"
#include "app/print_events.h"
#include "app/replay_views.h"
#include "app/serve.h"
#include "app/token_commands.h"
#include "events/logging.h"
#include "http/params.h"

namespace ordersd::app {

namespace {

// "HOST:PORT" -> host and port; false when malformed.
bool parse_listen(const std::string& listen, std::string& host, uint16_t& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  std::string port_text = listen.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5) return false;
  unsigned long p = std::stoul(port_text);
  if (p > 65535) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  port = static_cast<uint16_t>(p);
  return true;
}

// "US,CA" -> {"US", "CA"}: two capital letters each, at least one.
Result<write::ServedCountries> parse_countries(const std::string& list) {
  write::ServedCountries out;
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    std::string code = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (code.size() != 2 || !std::isupper(static_cast<unsigned char>(code[0])) ||
        !std::isupper(static_cast<unsigned char>(code[1]))) {
      return Status::invalid_argument("takes two-letter capital country codes separated by commas, got '" + code +
                                      "' in '" + list + "'");
    }
    out.insert(code);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

constexpr const char* kDurabilityHelp =
    "fsync (default): every group commit is fsynced before any append in it is acknowledged, so an "
    "acknowledged append survives power loss. async: appends are acknowledged once written to the OS, "
    "without fsync: much faster, survives a crash of ordersd but not of the machine";

// --log-level and --log-format, shared by the sub-commands (one of them runs).
struct LogOptions {
  std::string level = "info";
  std::string format = "text";
};

void add_log_options(CLI::App* cmd, LogOptions& options) {
  cmd->add_option("--log-level", options.level, "lines below this level are not written to stderr")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  cmd->add_option("--log-format", options.format,
                  "text: `TIME LEVEL COMPONENT: MESSAGE key=value ...`; json: one object per line with ts, level, "
                  "component, msg and each field")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
}

void configure_logging(const LogOptions& options) {
  logging::Level level = logging::Level::kInfo;
  logging::Format format = logging::Format::kText;
  logging::parse_level(options.level, level);
  logging::parse_format(options.format, format);
  logging::configure(level, format);
}

// The serve options that are no settings: neither read from a config file
// or the environment, nor printed by --print-config.
const std::set<std::string> kNotSettings = {"help", "config", "print-config"};

bool is_flag(const CLI::Option& option) { return option.get_expected_min() == 0; }
bool is_list(const CLI::Option& option) { return option.get_expected_max() > 1; }

// ORDERSD_ and the option's long name in capitals, '-' as '_': ORDERSD_MAX_BODY.
std::string env_name(const std::string& option_name) {
  std::string out = "ORDERSD_";
  for (char c : option_name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Every setting of `cmd` may come from its ORDERSD_* variable (CLI11 takes
// one only for an option the command line did not give).
void add_env_names(CLI::App* cmd) {
  for (CLI::Option* option : cmd->get_options()) {
    const std::string& name = option->get_single_name();
    if (name == "help" || name == "print-config") continue;
    option->envname(env_name(name));
  }
}

// Sets, from the TOML file at `path`, each option of `cmd` that neither the
// command line nor the environment set: so flags > environment > file >
// defaults. Keys are the options' long names, at the top level. An unknown
// key, or a value its option refuses, is an error naming it.
Status apply_config_file(CLI::App* cmd, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read the config file '" + path + "'");
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const CLI::Error& e) {
    return Status::invalid_argument("the config file '" + path + "' does not parse: " + e.what());
  }
  std::set<std::string> seen;
  for (const CLI::ConfigItem& item : items) {
    if (!item.parents.empty() && (item.name == "++" || item.name == "--")) continue;  // a section's bounds
    const std::string key = item.fullname();
    CLI::Option* option = item.parents.empty() ? cmd->get_option_no_throw("--" + item.name) : nullptr;
    if (option == nullptr || kNotSettings.contains(item.name)) {
      return Status::invalid_argument("unknown key '" + key + "' in the config file '" + path +
                                      "': its keys are the long names of serve's options, without --, at the top "
                                      "level (`ordersd serve --print-config` prints them all)");
    }
    if (!seen.insert(key).second) {
      return Status::invalid_argument("the key '" + key + "' appears twice in the config file '" + path + "'");
    }
    if (option->count() > 0) continue;  // the command line or the environment said otherwise
    try {
      if (is_flag(*option)) {
        option->add_result(CLI::ConfigTOML().to_flag(item));
      } else if (!is_list(*option) && item.inputs.size() > 1) {
        std::string joined;  // "US,CA" is split by the parser; one value it is
        for (const auto& input : item.inputs) joined += (joined.empty() ? "" : ",") + input;
        option->add_result(joined);
      } else {
        option->add_result(item.inputs);
      }
      option->run_callback();
    } catch (const CLI::Error& e) {
      return Status::invalid_argument("the config file '" + path + "', key '" + key + "': " + e.what());
    }
  }
  return Status::ok();
}

// A TOML string: "..." unless that needs escapes, then '...' (literal).
std::string toml_string(const std::string& value) {
  if (value.find_first_of("\"\\") == std::string::npos) return "\"" + value + "\"";
  return "'" + value + "'";
}

// The effective settings of `cmd` as TOML that --config loads again: every
// option as the command line, the environment, the config file or its
// default left it; one with no value commented out. Secrets are not shown.
std::string effective_config(const CLI::App* cmd) {
  std::string out =
      "# ordersd serve: the effective settings (command line > ORDERSD_* environment > config file > defaults).\n"
      "# Load with `ordersd serve --config FILE`; see docs/configuration.md.\n";
  for (const CLI::Option* option : cmd->get_options()) {
    const std::string& name = option->get_single_name();
    if (kNotSettings.contains(name)) continue;
    std::vector<std::string> values = option->count() > 0 ? option->results() : std::vector<std::string>{};
    if (values.empty() && !option->get_default_str().empty()) values = {option->get_default_str()};
    if (is_flag(*option)) {
      out += name + " = " + (option->count() > 0 && option->as<bool>() ? "true" : "false") + "\n";
      continue;
    }
    if (values.empty() || (values.size() == 1 && values[0].empty())) {
      out += "# " + name + " = (not set)\n";
      continue;
    }
    if (is_list(*option)) {
      std::string list;
      for (const auto& v : values) list += (list.empty() ? "" : ", ") + toml_string(v);
      out += name + " = [" + list + "]\n";
      continue;
    }
    std::string value = values.back();
    std::string type = option->get_type_name();
    if (type.starts_with("UINT") || type.starts_with("INT") || type.starts_with("FLOAT")) {
      out += name + " = " + value + "\n";
      continue;
    }
    if (name == "bus") {
      std::string shown = bus::redact_url(value);
      if (shown != value) {
        out += "# the password is not shown: put it back, or better give bus-creds\n";
        value = shown;
      }
    }
    out += name + " = " + toml_string(value) + "\n";
  }
  return out;
}

// Columns of the terminal on stdout; `fallback` when it is none.
size_t terminal_width(size_t fallback) {
  winsize size{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return fallback;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"ordersd: orders as explicit state machines over an event-sourced log"};
  app.set_version_flag("--version", std::string("ordersd ") + ORDERSD_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Durability: `serve --durability fsync|async`. fsync (default) makes every acknowledged append "
      "survive power loss; async trades that for speed (survives a process crash only).\n"
      "Run `ordersd SUBCOMMAND --help` for the options of each sub-command.");

  ServeConfig serve_config;
  std::string listen = "127.0.0.1:8080";
  std::string durability = "fsync";
  CLI::App* serve_cmd = app.add_subcommand("serve", "open the event log and serve the HTTP API");
  std::string config_file;
  serve_cmd->add_option("--config", config_file,
                        "TOML FILE of settings: each key a long option name without --, such as listen = "
                        "\"127.0.0.1:8080\". The command line wins over the ORDERSD_* environment, which wins "
                        "over the file, which wins over the defaults");
  bool print_config = false;
  serve_cmd->add_flag("--print-config", print_config,
                      "print the effective settings as TOML (loadable with --config; secrets not shown) and exit "
                      "without opening anything");
  serve_cmd->add_option("--data", serve_config.data_dir, "data directory (created if missing)")->capture_default_str();
  serve_cmd->add_option("--listen", listen,
                        "HOST:PORT to listen on: an address (127.0.0.1:8080, [::1]:8080) or a host name, whose "
                        "first address is bound; port 0 picks a free one")
      ->capture_default_str();
  serve_cmd->add_option("--threads", serve_config.io_threads, "HTTP I/O threads; 0 = hardware threads")
      ->capture_default_str();
  serve_cmd->add_option("--max-body", serve_config.max_body_bytes, "largest request body in bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  uint64_t header_timeout_ms = serve_config.header_timeout.count();
  serve_cmd->add_option("--header-timeout-ms", header_timeout_ms,
                        "milliseconds from a request's first byte until its whole header must have arrived")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{10} * 60 * 1000));
  serve_cmd->add_option("--max-connections-per-ip", serve_config.max_connections_per_ip,
                        "open connections one client address may hold; more are refused")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  serve_cmd->add_option("--workers", serve_config.workers, "threads that read the log and decide commands")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  uint64_t ttl_seconds = serve_config.idempotency_ttl.count();
  serve_cmd->add_option("--idempotency-ttl", ttl_seconds, "seconds an Idempotency-Key is remembered")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{365} * 24 * 3600));
  uint64_t reap_ms = serve_config.idempotency_reap_interval.count();
  serve_cmd->add_option("--idempotency-reap-interval", reap_ms,
                        "milliseconds between purges of expired Idempotency-Key records")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{24} * 3600 * 1000));
  serve_cmd->add_option("--durability", durability, kDurabilityHelp)
      ->capture_default_str()
      ->check(CLI::IsMember({"fsync", "async"}));
  serve_cmd->add_option("--cache-mb", serve_config.cache_mb,
                        "MiB of memory for the storage engine: its block cache, which the memtables of every "
                        "column family are charged to (at most half of it)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{16}, size_t{1} << 20));
  std::string ship_to = "US,CA,GB,DE,FR,NL,SE,JP,AU";
  serve_cmd->add_option("--ship-to", ship_to, "comma-separated ISO 3166-1 alpha-2 countries the warehouse ships to")
      ->capture_default_str();
  uint64_t step_timeout_ms = 5000;
  serve_cmd->add_option("--step-timeout", step_timeout_ms,
                        "milliseconds a saga step waits for its answer before it is requested again; doubled for "
                        "each retry")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{24} * 3600 * 1000));
  serve_cmd->add_option("--step-attempts", serve_config.saga.policy.max_attempts,
                        "attempts per saga step before a forward step is compensated or a compensation is parked "
                        "as stuck")
      ->capture_default_str()
      ->check(CLI::Range(1u, 20u));
  serve_cmd->add_option("--paused", serve_config.paused,
                        "participants to start held (saga, payment, inventory, shipping): their requests wait in "
                        "the log until POST /participants/{name}/resume")
      ->delimiter(',')
      ->check(CLI::IsMember({"saga", "payment", "inventory", "shipping"}));
  std::string roles = "all";
  serve_cmd->add_option("--ready-lag", serve_config.ready_lag,
                        "events a component may be behind the log's head for GET /health/ready to answer 200")
      ->capture_default_str();
  serve_cmd->add_option("--roles", roles,
                        "what this process runs: all (one process, no broker), or some of order, payment, "
                        "inventory, shipping, query (needs --bus)")
      ->capture_default_str();
  serve_cmd->add_option("--bus", serve_config.bus_url,
                        "the broker that carries events between processes: nats://HOST:PORT (NATS JetStream) or "
                        "amqp://HOST:PORT/VHOST (RabbitMQ streams; amqps:// for TLS). A USER:PASSWORD@ in it works, "
                        "but shows the password to anyone who lists processes: prefer --bus-creds");
  serve_cmd->add_option("--bus-creds", serve_config.bus_security.creds_file,
                        "FILE with this service's broker credentials: one line USER:PASSWORD (as `ordersd "
                        "bus-users` writes), or a NATS credentials file (as nsc writes). Keep it mode 0600");
  serve_cmd->add_option("--bus-tls-ca", serve_config.bus_security.tls_ca_file,
                        "PEM FILE of the CA that signed the broker's certificate: connect to the broker over TLS "
                        "and verify it, and that it names the host (or address) --bus gives");
  std::string peers;
  serve_cmd->add_option("--peers", peers,
                        "ROLE=URL,... where the other services answer (order=http://127.0.0.1:8081,...): a route "
                        "another service serves is answered 307 with a Location there (without, 404 naming the "
                        "service). A sharded role names each shard, order/0=URL,order/1=URL: the shard map. "
                        "Entries for this process itself are not used");
  std::string shard;
  serve_cmd->add_option("--shard", shard,
                        "I/N: this process is shard I (from 0) of N of its role, order (orders by their id) or "
                        "payment (wallets by customer id); needs a NATS --bus and --peers naming every shard "
                        "(order/0=URL,order/1=URL,...), the same list for every process");
  serve_cmd->add_option("--node", serve_config.node,
                        "this process's name on the bus (its consumers'); default: its roles. Two processes "
                        "with the same roles need different names");

  serve_cmd->add_option("--tokens", serve_config.auth.tokens_file,
                        "API token file (ordersd token create); requests need `Authorization: Bearer TOKEN`. "
                        "Reloaded on SIGHUP")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--jwks", serve_config.auth.jwks_file,
                        "JWKS file of an OAuth2/OIDC issuer's signing keys (RS256, ES256): JWT access tokens are "
                        "accepted, scopes from their `scope` claim. Needs --jwt-issuer and --jwt-audience. "
                        "Reloaded on SIGHUP")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--jwt-issuer", serve_config.auth.jwt.issuer, "the `iss` a JWT must carry");
  serve_cmd->add_option("--jwt-audience", serve_config.auth.jwt.audience, "an `aud` a JWT must carry");
  std::string rate_limit;
  serve_cmd->add_option("--rate-limit", rate_limit,
                        "RATE[:BURST] requests a second allowed per caller and, separately, per client address; "
                        "more get 429 with Retry-After (burst defaults to RATE)");
  serve_cmd->add_flag("--insecure", serve_config.insecure,
                      "serve a non-loopback address with no --tokens or --jwks: anyone who reaches it may do "
                      "anything");
  http::TlsFiles tls;
  serve_cmd->add_option("--tls-cert", tls.cert_file,
                        "PEM certificate chain (the server's first): serve HTTPS instead of HTTP, TLS 1.2 and 1.3; "
                        "needs --tls-key. SIGHUP re-reads the files");
  serve_cmd->add_option("--tls-key", tls.key_file, "PEM private key (unencrypted) of --tls-cert");
  serve_cmd->add_option("--tls-client-ca", tls.client_ca_file,
                        "PEM CA certificates: require a client certificate signed by one of them (needs --tls-cert)");
  serve_cmd->add_option("--event-stream-queue-bytes", serve_config.event_streams.queue_bytes,
                        "bytes GET /events/stream queues for one client that it has not taken yet; a feed "
                        "waits for room for its next event, and is dropped after --event-stream-stall-ms without")
      ->capture_default_str()
      ->check(CLI::Range(size_t{4096}, size_t{1} << 30));
  uint64_t stall_ms = serve_config.event_streams.stall.count();
  serve_cmd->add_option("--event-stream-stall-ms", stall_ms,
                        "milliseconds a GET /events/stream client may leave no room in its queue for the next "
                        "event before its feed is dropped (with a last event saying where to resume)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{24} * 3600 * 1000));
  serve_cmd->add_option("--event-stream-max", serve_config.event_streams.max_streams,
                        "GET /events/stream feeds open at once; more are answered 503")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  serve_cmd->add_flag("--access-log", serve_config.access_log,
                      "log one line per HTTP request (component http: method, route, status, latency_ms, "
                      "idempotency_key)");
  LogOptions log_options;
  add_log_options(serve_cmd, log_options);
  add_env_names(serve_cmd);

  PrintEventsConfig events_config;
  std::string stream;
  std::string order;
  uint64_t limit = 0;
  std::string events_format = "json";
  CLI::App* events_cmd = app.add_subcommand(
      "events", "print the event log, oldest first, as JSON lines or one readable line per event; --follow goes on "
                "printing what is appended (also while a server runs on the directory)");
  events_cmd->add_option("--data", events_config.data_dir, "data directory (never created)")->capture_default_str();
  CLI::Option* stream_opt = events_cmd->add_option(
      "--stream", stream, "only this stream, by its full name such as order-o-1 or wallet-c-1 (then --from is a "
                          "stream version)");
  events_cmd->add_option("--order", order, "only this order's events: its stream, order-ID (then --from is a version)")
      ->excludes(stream_opt);
  events_cmd->add_option("--type", events_config.types,
                         "only events of this type, such as order.placed.v1; repeat it or separate types by commas")
      ->delimiter(',');
  events_cmd->add_option("--from", events_config.from, "first global position (or stream version) to print")
      ->capture_default_str();
  CLI::Option* limit_opt = events_cmd->add_option("--limit", limit, "print at most N events (after --type)");
  events_cmd->add_flag("--follow,-f", events_config.follow,
                       "after the last event, wait for more and print them as they are appended, until SIGINT or "
                       "SIGTERM");
  events_cmd->add_option("--format", events_format,
                         "json: one object per line, every field; pretty: position, time, stream@version, type and "
                         "the payload's fields, one line each, cut to the terminal's width (160 when not a terminal)")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "pretty"}));
  add_log_options(events_cmd, log_options);

  ReplayConfig replay_config;
  CLI::App* replay_cmd =
      app.add_subcommand("replay", "rebuild views from the start of the log (with the server stopped)");
  replay_cmd->add_option("--data", replay_config.data_dir, "data directory (never created)")->capture_default_str();
  replay_cmd->add_option("--view", replay_config.view,
                         "view-orders, view-customers, view-inventory, view-stats, view-timeline, or all")
      ->capture_default_str();
  add_log_options(replay_cmd, log_options);

  TokenCommands token_commands(app);

  BusUsersConfig bus_users_config;
  CLI::App* bus_users_cmd = app.add_subcommand(
      "bus-users",
      "write the broker's users, one per service with what its role may publish: DIR/nats.conf for nats-server "
      "(-c), DIR/rabbitmq-definitions.json for rabbitmq-server (load_definitions) and DIR/<service>.creds for "
      "each service's --bus-creds");
  bus_users_cmd->add_option("--dir", bus_users_config.dir, "directory to write them to (created if missing)")
      ->required();
  bus_users_cmd->add_flag("--force", bus_users_config.force,
                          "replace the users of an existing DIR/nats.conf with new passwords");
  add_log_options(bus_users_cmd, log_options);

  CheckConfig check_config;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "verify a data directory: every SST checksum, and every event of the log; exits 1 when damaged");
  check_cmd->add_option("--data", check_config.data_dir, "data directory (never created)")->capture_default_str();
  add_log_options(check_cmd, log_options);

  UpgradeConfig upgrade_config;
  CLI::App* upgrade_cmd = app.add_subcommand(
      "upgrade", "rewrite a data directory written by an earlier ordersd into this version's format, in place "
                 "(stop every process using it first; back it up if you may want the earlier version back)");
  upgrade_cmd->add_option("--data", upgrade_config.data_dir, "data directory (never created)")->capture_default_str();
  add_log_options(upgrade_cmd, log_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve_cmd->parsed() && !config_file.empty()) {
    if (Status s = apply_config_file(serve_cmd, config_file); !s) {
      configure_logging(log_options);
      logging::error("cli", s.message());
      return 2;
    }
  }
  configure_logging(log_options);

  if (serve_cmd->parsed()) {
    if (!parse_listen(listen, serve_config.host, serve_config.port)) {
      logging::error("cli", "--listen must be HOST:PORT", {{"listen", listen}});
      return 2;
    }
    if (!serve_config.auth.jwks_file.empty() &&
        (serve_config.auth.jwt.issuer.empty() || serve_config.auth.jwt.audience.empty())) {
      logging::error("cli", "--jwks needs --jwt-issuer and --jwt-audience: a token for another issuer or service "
                            "must not be accepted");
      return 2;
    }
    if (!rate_limit.empty()) {
      auto parsed = auth::RateLimit::parse(rate_limit);
      if (!parsed) {
        logging::error("cli", "--rate-limit is RATE or RATE:BURST, positive numbers (burst at least 1)",
                       {{"rate_limit", rate_limit}});
        return 2;
      }
      serve_config.rate_limit = *parsed;
    }
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      logging::error("cli", "--tls-cert and --tls-key go together: give both, or neither for plain HTTP");
      return 2;
    }
    if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
      logging::error("cli", "--tls-client-ca needs --tls-cert and --tls-key: client certificates come with HTTPS");
      return 2;
    }
    if (!tls.cert_file.empty()) serve_config.tls = tls;
    serve_config.durability = durability == "async" ? events::Durability::kAsync : events::Durability::kFsync;
    serve_config.idempotency_ttl = std::chrono::seconds(ttl_seconds);
    serve_config.idempotency_reap_interval = std::chrono::milliseconds(reap_ms);
    serve_config.header_timeout = std::chrono::milliseconds(header_timeout_ms);
    serve_config.event_streams.stall = std::chrono::milliseconds(stall_ms);
    serve_config.saga.policy.step_timeout_us = static_cast<int64_t>(step_timeout_ms) * 1000;
    auto countries = parse_countries(ship_to);
    if (!countries) {
      logging::error("cli", "--ship-to " + countries.status().message());
      return 2;
    }
    serve_config.saga.ship_to = std::move(countries).value();
    auto parsed_roles = bus::Roles::parse(roles);
    if (!parsed_roles) {
      logging::error("cli", "--roles: " + parsed_roles.status().message());
      return 2;
    }
    serve_config.roles = std::move(parsed_roles).value();
    if (!serve_config.roles.is_all() && serve_config.bus_url.empty()) {
      logging::error("cli", "--roles " + roles + " needs --bus: the other services answer over the broker");
      return 2;
    }
    if (serve_config.bus_url.empty() &&
        (!serve_config.bus_security.creds_file.empty() || !serve_config.bus_security.tls_ca_file.empty())) {
      logging::error("cli", "--bus-creds and --bus-tls-ca need --bus");
      return 2;
    }
    auto parsed_peers = api::Peers::parse(peers);
    if (!parsed_peers) {
      logging::error("cli", parsed_peers.status().message());
      return 2;
    }
    serve_config.peers = std::move(parsed_peers).value();
    serve_config.shards = serve_config.peers.shard_map();
    if (!shard.empty()) {
      auto spec = bus::ShardSpec::parse(shard);
      if (!spec) {
        logging::error("cli", spec.status().message());
        return 2;
      }
      std::optional<bus::Role> sharded;
      for (bus::Role r : {bus::Role::kOrder, bus::Role::kPayment}) {
        if (serve_config.roles.to_string() == bus::role_name(r)) sharded = r;
      }
      if (!sharded) {
        logging::error("cli", "--shard is for a process of one sharded role: --roles order or --roles payment",
                       {{"roles", serve_config.roles.to_string()}});
        return 2;
      }
      if (!serve_config.bus_url.starts_with("nats://") && !serve_config.bus_url.starts_with("tls://")) {
        logging::error("cli", "--shard needs a NATS --bus: routes are subjects, which RabbitMQ streams do not have");
        return 2;
      }
      if (spec->count > 1 && serve_config.shards.count(*sharded) != spec->count) {
        logging::error("cli", "--shard " + spec->to_string() + " needs --peers naming " + std::to_string(spec->count) +
                                  " shards of " + std::string(bus::role_name(*sharded)) + " (" +
                                  std::string(bus::role_name(*sharded)) + "/0=URL,...); it names " +
                                  std::to_string(serve_config.shards.count(*sharded)),
                       {{"peers", serve_config.peers.to_string()}});
        return 2;
      }
      serve_config.shard = *spec;
    }
    for (bus::Role r : {bus::Role::kOrder, bus::Role::kPayment}) {
      if (serve_config.roles.has(r) && serve_config.shards.count(r) > 1 && !serve_config.shard) {
        std::string name(bus::role_name(r));
        logging::error("cli", "--peers names " + std::to_string(serve_config.shards.count(r)) + " shards of " + name +
                                  ": a process running " + name + " is one of them (--roles " + name + " --shard I/" +
                                  std::to_string(serve_config.shards.count(r)) + ")",
                       {{"roles", serve_config.roles.to_string()}});
        return 2;
      }
    }
    if (serve_config.shards.sharded() && !serve_config.bus_url.empty() && !serve_config.bus_url.starts_with("nats://") &&
        !serve_config.bus_url.starts_with("tls://")) {
      logging::error("cli", "--peers names shards, which need a NATS --bus: routes are subjects, which RabbitMQ "
                            "streams do not have");
      return 2;
    }
    if (auto entry = serve_config.peers.names_itself(serve_config.roles, serve_config.shard, serve_config.host,
                                                    serve_config.port)) {
      logging::error("cli", "--peers gives this process's own address for the " + *entry +
                                " service, which this process is not: its routes would be redirected here for ever",
                     {{"listen", listen}, {"roles", serve_config.roles.to_string()}});
      return 2;
    }
    if (serve_config.node.empty()) {
      serve_config.node = serve_config.roles.to_string();
      if (serve_config.shard) serve_config.node += "-" + std::to_string(serve_config.shard->index);
    }
    for (char& c : serve_config.node) {
      if (c == ',') c = '_';
    }
    if (!http::valid_id(serve_config.node)) {
      logging::error("cli", "--node is 1 to 64 characters of A-Z a-z 0-9 _ -", {{"node", serve_config.node}});
      return 2;
    }
    if (print_config) {
      std::cout << effective_config(serve_cmd) << std::flush;
      return 0;
    }
    return serve(serve_config);
  }
  if (token_commands.parsed()) return token_commands.run();
  if (check_cmd->parsed()) return check_data(check_config, std::cout, std::cerr);
  if (upgrade_cmd->parsed()) return upgrade_data(upgrade_config, std::cout, std::cerr);
  if (bus_users_cmd->parsed()) return bus_users(bus_users_config, std::cout, std::cerr);
  if (replay_cmd->parsed()) return replay_views(replay_config, isatty(STDERR_FILENO), std::cout, std::cerr);
  if (!stream.empty()) events_config.stream = stream;
  if (!order.empty()) events_config.stream = "order-" + order;
  if (limit_opt->count()) events_config.limit = limit;
  events_config.format = events_format == "pretty" ? EventsFormat::kPretty : EventsFormat::kJson;
  events_config.width = terminal_width(160);
  return print_events(events_config, std::cout, std::cerr);
}

}  // namespace ordersd::app
