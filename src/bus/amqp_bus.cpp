#include "bus/amqp_bus.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "events/encoding.h"
#include "events/logging.h"

namespace ordersd::bus {

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kReachFor = std::chrono::seconds(5);  // a broker not up yet is tried this long at connect
constexpr uint16_t kPrefetch = 2048;                 // a stream consumer needs one
// A consumer's connection asks for heartbeats: it calls into librabbitmq at
// least every fetch wait (which is when librabbitmq sends and checks them),
// so a broker lost without a closed socket (a partition) shows up as a
// fetch error within two of them instead of as a consumer that just hears
// nothing. The publisher's asks for none: an idle relay makes no calls, and
// a lost broker shows up there as a confirm that does not come.
constexpr int kConsumerHeartbeatS = 10;
constexpr amqp_channel_t kChannel = 1;

amqp_bytes_t bytes_of(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
std::string string_of(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }

timeval timeval_of(std::chrono::milliseconds d) {
  if (d.count() < 0) d = std::chrono::milliseconds(0);
  return {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// Where and as whom to connect.
struct Endpoint {
  std::string host;
  int port = 5672;
  std::string vhost = "/";
  std::string user = "guest";
  std::string password = "guest";
  bool tls = false;
  std::string ca_file;
  std::string shown;  // the URL with its password redacted
};

Result<Endpoint> endpoint_of(const std::string& url, const BusSecurity& security) {
  Endpoint e;
  e.shown = redact_url(url);
  if (url.find(',') != std::string::npos) {
    return Status::invalid_argument("the bus URL " + e.shown + " lists several brokers; amqp:// takes one");
  }
  UrlParts parts = split_url(url);
  e.tls = parts.scheme == "amqps://";
  e.port = e.tls ? 5671 : 5672;
  std::string_view rest = parts.hostport;
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view vhost = rest.substr(slash + 1);
    vhost = vhost.substr(0, vhost.find('?'));
    if (!vhost.empty()) e.vhost = percent_decode(vhost);
  }
  e.host = host_of(authority);
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    try {
      e.port = std::stoi(std::string(authority.substr(colon + 1)));
    } catch (...) {
      return Status::invalid_argument("the bus URL " + e.shown + " has no port number after the host");
    }
  }
  if (e.host.empty()) return Status::invalid_argument("the bus URL " + e.shown + " names no host");
  if (!parts.userinfo.empty()) {
    if (!security.creds_file.empty()) {
      return Status::invalid_argument("the bus URL " + e.shown +
                                      " carries a user and --bus-creds names another: give one of them");
    }
    size_t c = parts.userinfo.find(':');
    e.user = percent_decode(parts.userinfo.substr(0, c));
    e.password = c == std::string_view::npos ? "" : percent_decode(parts.userinfo.substr(c + 1));
  } else if (!security.creds_file.empty()) {
    auto creds = read_credentials(security.creds_file, false);
    if (!creds) return creds.status();
    e.user = creds->user;
    e.password = creds->password;
  }
  if (!security.tls_ca_file.empty()) e.tls = true;
  if (e.tls && security.tls_ca_file.empty()) {
    return Status::invalid_argument("the bus URL " + e.shown +
                                    " asks for TLS: name the CA that signed the broker's certificate with --bus-tls-ca");
  }
  e.ca_file = security.tls_ca_file;
  return e;
}

// What a failed call to the broker said.
std::string reply_text(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "no answer";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "the broker closed the channel: " + string_of(m->reply_text);
      }
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "the broker closed the connection: " + string_of(m->reply_text);
      }
      return "the broker answered with method " + std::to_string(r.reply.id);
  }
  return "unknown";
}

// One AMQP connection with one channel open. Not thread-safe: each user
// (the publisher, each consumer) has its own.
class Connection {
 public:
  // Opens it; `reachable` says whether the TCP connection itself was made
  // (a failure after it, as refused credentials, is not worth retrying).
  static Result<std::unique_ptr<Connection>> open(const Endpoint& e, int heartbeat_s, bool* reachable) {
    std::unique_ptr<Connection> c(new Connection());
    c->state_ = amqp_new_connection();
    amqp_socket_t* socket = e.tls ? amqp_ssl_socket_new(c->state_) : amqp_tcp_socket_new(c->state_);
    if (!socket) return Status::io_error("cannot make a socket for the broker at " + e.shown);
    if (e.tls) {
      if (amqp_ssl_socket_set_cacert(socket, e.ca_file.c_str()) != AMQP_STATUS_OK) {
        return Status::invalid_argument("cannot read the broker's CA file " + e.ca_file);
      }
      amqp_ssl_socket_set_verify_peer(socket, 1);
      amqp_ssl_socket_set_verify_hostname(socket, 1);
    }
    timeval tv = timeval_of(std::chrono::duration_cast<std::chrono::milliseconds>(kConnectTimeout));
    int opened = amqp_socket_open_noblock(socket, e.host.c_str(), e.port, &tv);
    *reachable = opened == AMQP_STATUS_OK || opened == AMQP_STATUS_SSL_ERROR ||
                 opened == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED || opened == AMQP_STATUS_SSL_PEER_VERIFY_FAILED ||
                 opened == AMQP_STATUS_SSL_CONNECTION_FAILED;
    if (opened != AMQP_STATUS_OK) {
      return Status::io_error("cannot connect to the broker at " + e.shown + ": " + amqp_error_string2(opened));
    }
    c->socket_open_ = true;
    amqp_rpc_reply_t login = amqp_login(c->state_, e.vhost.c_str(), 0, 131072, heartbeat_s, AMQP_SASL_METHOD_PLAIN,
                                        e.user.c_str(), e.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
      c->socket_open_ = false;
      return Status::io_error("the broker at " + e.shown + " refused user " + e.user + " on vhost " +
                                       e.vhost + ": " + reply_text(login));
    }
    amqp_channel_open(c->state_, kChannel);
    if (Status s = c->check("opening a channel"); !s) return s;
    return c;
  }

  ~Connection() {
    if (socket_open_ && healthy_) amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
  }

  amqp_connection_state_t state() const { return state_; }

  // The outcome of the last synchronous call; an error marks the connection unusable.
  Status check(const std::string& what) {
    amqp_rpc_reply_t r = amqp_get_rpc_reply(state_);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return Status::ok();
    healthy_ = false;
    return Status::io_error(what + ": " + reply_text(r));
  }
  void broke() { healthy_ = false; }
  bool healthy() const { return healthy_; }

 private:
  Connection() = default;
  amqp_connection_state_t state_ = nullptr;
  bool socket_open_ = false;
  bool healthy_ = true;
};

// Opens a connection, trying for `reach_for` while the broker cannot be reached.
Result<std::unique_ptr<Connection>> open_connection(const Endpoint& e, int heartbeat_s,
                                                    std::chrono::milliseconds reach_for) {
  auto deadline = std::chrono::steady_clock::now() + reach_for;
  for (;;) {
    bool reachable = false;
    auto c = Connection::open(e, heartbeat_s, &reachable);
    if (c || reachable || std::chrono::steady_clock::now() >= deadline) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

amqp_table_entry_t stream_type_entry() {
  amqp_table_entry_t entry;
  entry.key = amqp_cstring_bytes("x-queue-type");
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = amqp_cstring_bytes("stream");
  return entry;
}

// Declares the kind's stream (durable, x-queue-type stream).
Status declare_stream(Connection& c, std::string_view kind) {
  amqp_table_entry_t entry = stream_type_entry();
  amqp_table_t args{1, &entry};
  const std::string stream = stream_of_kind(kind);
  amqp_queue_declare(c.state(), kChannel, bytes_of(stream), 0, 1, 0, 0, args);
  return c.check("declaring the stream " + stream);
}

// The x-stream-offset header the broker sets on every message of a stream.
std::optional<uint64_t> stream_offset(const amqp_basic_properties_t& p) {
  if (!(p._flags & AMQP_BASIC_HEADERS_FLAG)) return std::nullopt;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const amqp_table_entry_t& h = p.headers.entries[i];
    if (string_of(h.key) != "x-stream-offset") continue;
    switch (h.value.kind) {
      case AMQP_FIELD_KIND_I64: return static_cast<uint64_t>(h.value.value.i64);
      case AMQP_FIELD_KIND_U64: return h.value.value.u64;
      case AMQP_FIELD_KIND_I32: return static_cast<uint64_t>(h.value.value.i32);
      case AMQP_FIELD_KIND_U32: return h.value.value.u32;
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

class AmqpConsumer;

class AmqpMessage final : public Message {
 public:
  AmqpMessage(AmqpConsumer* consumer, uint64_t generation, uint64_t tag, uint64_t offset, std::string body)
      : consumer_(consumer), generation_(generation), tag_(tag), offset_(offset), body_(std::move(body)) {}
  std::string_view data() const override { return body_; }
  std::optional<uint64_t> offset() const override { return offset_; }
  Status ack() override;
  Status nak(std::chrono::milliseconds delay) override;

 private:
  AmqpConsumer* consumer_;
  uint64_t generation_;  // of the consumer's subscription the message came on
  uint64_t tag_;
  uint64_t offset_;
  std::string body_;
};

// A consumer of one kind's stream, on a connection of its own.
class AmqpConsumer final : public Consumer {
 public:
  AmqpConsumer(Endpoint endpoint, std::string name, std::string kind, uint64_t offset)
      : endpoint_(std::move(endpoint)), name_(std::move(name)), kind_(std::move(kind)), next_(offset) {}

  // Connects and subscribes from the offset it should read next.
  Status subscribe() {
    connection_.reset();
    ++generation_;
    auto c = open_connection(endpoint_, kConsumerHeartbeatS, std::chrono::milliseconds(0));
    if (!c) return c.status();
    Connection& conn = **c;
    if (Status s = declare_stream(conn, kind_); !s) return s;
    amqp_basic_qos(conn.state(), kChannel, 0, kPrefetch, 0);
    if (Status s = conn.check("setting the prefetch"); !s) return s;
    amqp_table_entry_t entry;
    entry.key = amqp_cstring_bytes("x-stream-offset");
    entry.value.kind = AMQP_FIELD_KIND_I64;
    entry.value.value.i64 = static_cast<int64_t>(next_);
    amqp_table_t args{1, &entry};
    const std::string stream = stream_of_kind(kind_);
    amqp_basic_consume(conn.state(), kChannel, bytes_of(stream), bytes_of(name_), 0, 0, 0, args);
    if (Status s = conn.check("consuming " + stream + " from offset " + std::to_string(next_)); !s) return s;
    connection_ = std::move(c).value();
    return Status::ok();
  }

  Result<std::vector<Delivery>> fetch(int max, std::chrono::milliseconds wait) override {
    std::vector<Delivery> out;
    if (refused_) {
      // Start again at the first message refused: it and everything after it come again.
      std::this_thread::sleep_for(std::min(refuse_delay_, wait));
      next_ = *refused_;
      refused_.reset();
      connection_.reset();
    }
    // Its reader waits a moment after a failed fetch before it asks again.
    if (!connection_ || !connection_->healthy()) {
      if (Status s = subscribe(); !s) return s;
    }
    amqp_connection_state_t state = connection_->state();
    while (static_cast<int>(out.size()) < max) {
      amqp_maybe_release_buffers(state);
      timeval tv = timeval_of(out.empty() ? wait : std::chrono::milliseconds(0));
      amqp_envelope_t envelope;
      amqp_rpc_reply_t r = amqp_consume_message(state, &envelope, &tv, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        uint64_t offset = stream_offset(envelope.message.properties).value_or(next_);
        next_ = offset + 1;
        out.emplace_back(std::make_unique<AmqpMessage>(this, generation_, envelope.delivery_tag, offset,
                                                       string_of(envelope.message.body)));
        amqp_destroy_envelope(&envelope);
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) break;
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // A frame other than a delivery: a close, or a cancel of the consumer.
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(state, &frame) == AMQP_STATUS_OK && frame.frame_type == AMQP_FRAME_METHOD &&
            (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
             frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
             frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD)) {
          connection_->broke();
          if (out.empty()) return Status::io_error("consuming " + stream_of_kind(kind_) + ": the broker ended it");
          break;
        }
        continue;
      }
      connection_->broke();
      if (out.empty()) return Status::io_error("consuming " + stream_of_kind(kind_) + ": " + reply_text(r));
      break;
    }
    return out;
  }

  Status ack(uint64_t generation, uint64_t tag) {
    if (generation != generation_ || !connection_ || !connection_->healthy()) return Status::ok();  // that subscription is gone
    if (int e = amqp_basic_ack(connection_->state(), kChannel, tag, 0); e != AMQP_STATUS_OK) {
      connection_->broke();
      return Status::io_error(std::string("acknowledging a message: ") + amqp_error_string2(e));
    }
    return Status::ok();
  }

  void refuse(uint64_t offset, std::chrono::milliseconds delay) {
    refused_ = std::min(refused_.value_or(offset), offset);
    refuse_delay_ = delay;
  }

 private:
  const Endpoint endpoint_;
  const std::string name_;
  const std::string kind_;
  uint64_t next_;             // the offset to subscribe from next time
  uint64_t generation_ = 0;   // counts subscriptions: an ack for an older one has nothing to do
  std::optional<uint64_t> refused_;
  std::chrono::milliseconds refuse_delay_{0};
  std::unique_ptr<Connection> connection_;
};

Status AmqpMessage::ack() { return consumer_->ack(generation_, tag_); }

Status AmqpMessage::nak(std::chrono::milliseconds delay) {
  consumer_->refuse(offset_, delay);
  return Status::ok();
}

}  // namespace

std::string exchange_of_kind(std::string_view kind) { return "ordersd." + std::string(kind); }
std::string stream_of_kind(std::string_view kind) { return "ordersd." + std::string(kind) + ".stream"; }

struct AmqpBus::Impl {
  Endpoint endpoint;
  std::mutex mu;  // publishers take turns on the one connection
  std::unique_ptr<Connection> publisher;      // guarded by mu
  std::set<std::string> declared;             // kinds whose exchange and stream exist, guarded by mu
  uint64_t next_tag = 1;                      // the delivery tag of the next publish, guarded by mu

  std::string clean(std::string text) const { return scrub(std::move(text), {endpoint.password}); }
  // `s` with no password in its message.
  Status cleaned(const Status& s) const {
    return s.code() == Status::Code::kInvalidArgument ? Status::invalid_argument(clean(s.message()))
                                                      : Status::io_error(clean(s.message()));
  }

  // The publishing connection, in confirm mode, opened again if it broke.
  Status ensure_publisher(std::chrono::milliseconds reach_for) {
    if (publisher && publisher->healthy()) return Status::ok();
    publisher.reset();
    declared.clear();
    auto c = open_connection(endpoint, 0, reach_for);
    if (!c) return c.status();
    amqp_confirm_select((*c)->state(), kChannel);
    if (Status s = (*c)->check("asking for publisher confirms"); !s) return s;
    publisher = std::move(c).value();
    next_tag = 1;
    return Status::ok();
  }

  // The kind's exchange and stream, bound, before its first message.
  Status declare(std::string_view kind) {
    if (declared.count(std::string(kind))) return Status::ok();
    Connection& c = *publisher;
    const std::string exchange = exchange_of_kind(kind);
    amqp_exchange_declare(c.state(), kChannel, bytes_of(exchange), amqp_cstring_bytes("fanout"), 0, 1, 0, 0,
                          amqp_empty_table);
    if (Status s = c.check("declaring the exchange " + exchange); !s) return s;
    if (Status s = declare_stream(c, kind); !s) return s;
    const std::string stream = stream_of_kind(kind);
    amqp_queue_bind(c.state(), kChannel, bytes_of(stream), bytes_of(exchange), amqp_empty_bytes, amqp_empty_table);
    if (Status s = c.check("binding " + stream + " to " + exchange); !s) return s;
    declared.insert(std::string(kind));
    return Status::ok();
  }
};

Result<std::unique_ptr<AmqpBus>> AmqpBus::connect(const std::string& url, const BusSecurity& security) {
  auto endpoint = endpoint_of(url, security);
  if (!endpoint) return endpoint.status();
  std::unique_ptr<AmqpBus> bus(new AmqpBus());
  bus->impl_ = std::make_unique<Impl>();
  bus->impl_->endpoint = std::move(endpoint).value();
  std::lock_guard lk(bus->impl_->mu);
  if (Status s = bus->impl_->ensure_publisher(kReachFor); !s) {
    return bus->impl_->cleaned(s);
  }
  return bus;
}

AmqpBus::~AmqpBus() = default;

Status AmqpBus::probe(std::chrono::milliseconds wait) {
  Impl& impl = *impl_;
  std::lock_guard lk(impl.mu);
  if (Status s = impl.ensure_publisher(std::chrono::milliseconds(0)); !s) return Status::io_error(impl.clean(s.message()));
  // A round trip that needs no permission: confirm mode, asked for again.
  Connection& c = *impl.publisher;
  timeval tv = timeval_of(wait);
  amqp_set_rpc_timeout(c.state(), &tv);
  amqp_confirm_select(c.state(), kChannel);
  Status s = c.check("asking the broker");
  amqp_set_rpc_timeout(c.state(), nullptr);
  if (!s) {
    impl.publisher->broke();
    return Status::io_error(impl.clean(s.message()));
  }
  return Status::ok();
}

Status AmqpBus::publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) {
  for (const Outgoing& m : messages) {
    if (!m.route.empty()) return Status::invalid_argument("shards need a NATS bus: RabbitMQ streams carry no routes");
  }
  Impl& impl = *impl_;
  std::lock_guard lk(impl.mu);
  auto failed = [&](Status s) {
    if (impl.publisher) impl.publisher->broke();  // a fresh connection next time: no stale confirms
    return Status::io_error(impl.clean(s.message()));
  };
  if (Status s = impl.ensure_publisher(std::chrono::milliseconds(0)); !s) return failed(s);
  Connection& c = *impl.publisher;
  std::set<uint64_t> unconfirmed;
  for (const Outgoing& m : messages) {
    if (Status s = impl.declare(m.kind); !s) return failed(s);
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = 2;  // persistent
    props.message_id = bytes_of(m.id);
    props.content_type = amqp_cstring_bytes("application/octet-stream");
    const std::string exchange = exchange_of_kind(m.kind);
    int e = amqp_basic_publish(c.state(), kChannel, bytes_of(exchange), amqp_empty_bytes, 0, 0, &props, bytes_of(m.data));
    if (e != AMQP_STATUS_OK) return failed(Status::io_error("publishing to " + exchange + ": " + amqp_error_string2(e)));
    unconfirmed.insert(impl.next_tag++);
  }
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!unconfirmed.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    timeval tv = timeval_of(left);
    amqp_frame_t frame;
    int e = amqp_simple_wait_frame_noblock(c.state(), &frame, &tv);
    if (e == AMQP_STATUS_TIMEOUT) {
      return failed(Status::io_error(std::to_string(unconfirmed.size()) + " of " + std::to_string(messages.size()) +
                                     " messages were not confirmed by the broker in time"));
    }
    if (e != AMQP_STATUS_OK) return failed(Status::io_error(std::string("waiting for confirms: ") + amqp_error_string2(e)));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->multiple) unconfirmed.erase(unconfirmed.begin(), unconfirmed.upper_bound(ack->delivery_tag));
        else unconfirmed.erase(ack->delivery_tag);
        break;
      }
      case AMQP_BASIC_NACK_METHOD:
        return failed(Status::io_error("the broker could not store a message (nack)"));
      case AMQP_CHANNEL_CLOSE_METHOD: {
        auto* close = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
        return failed(Status::io_error("publishing: the broker closed the channel: " + string_of(close->reply_text)));
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto* close = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
        return failed(Status::io_error("publishing: the broker closed the connection: " + string_of(close->reply_text)));
      }
      default: break;
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<Consumer>> AmqpBus::consumer(const std::string& name, std::string_view kind, uint64_t offset,
                                                    std::string_view route) {
  if (!route.empty()) return Status::invalid_argument("shards need a NATS bus: RabbitMQ streams carry no routes");
  auto consumer = std::make_unique<AmqpConsumer>(impl_->endpoint, name, std::string(kind), offset);
  // A stream declared a moment ago may not take consumers yet (the broker
  // answers INTERNAL_ERROR while its writer starts): try for a few seconds.
  // A refusal of this user (ACCESS_REFUSED) is final.
  auto deadline = std::chrono::steady_clock::now() + kReachFor;
  for (;;) {
    Status s = consumer->subscribe();
    if (s) break;
    if (s.message().find("ACCESS_REFUSED") != std::string::npos || s.code() == Status::Code::kInvalidArgument ||
        std::chrono::steady_clock::now() >= deadline) {
      return impl_->cleaned(s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::unique_ptr<Consumer>(std::move(consumer));
}

}  // namespace ordersd::bus
