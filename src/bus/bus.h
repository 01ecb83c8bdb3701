// Bus: what ordersd needs of a message broker to carry events between its
// processes, whichever broker runs. The relay publishes a process's events
// by stream kind (roles.h) and waits until the broker has stored them; each
// reading process's importer consumes the kinds it reads, appends each event
// to its own log and only then acknowledges it. Two adapters implement it:
//
//   nats://, tls://     NATS JetStream (nats_bus.h): durable pull consumers,
//                       whose positions the broker keeps
//   amqp://, amqps://   RabbitMQ streams (amqp_bus.h): consumers start at an
//                       offset the importer keeps in its own log
//
// The relay, the importer, the roles and everything above them know only
// this interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace ordersd::bus {

// How a process proves to the broker who it is, and knows the broker.
struct BusSecurity {
  // "" for none (or a user:password@ in the URL); else a file holding either
  // one line `user:password`, or (NATS only) a credentials file as `nsc`
  // writes it (a user JWT and its NKey seed). A file that others than its
  // owner may read is used, with a warning.
  std::string creds_file;
  // "" for a plain connection (unless the URL is tls:// or amqps://); else
  // TLS to the broker, whose certificate must chain to a CA in this PEM file
  // and name the host (or address) the URL gives.
  std::string tls_ca_file;
};

struct Outgoing {
  std::string kind;  // the stream kind ("wallet"): where the message goes
  std::string id;    // the event id: the message id
  std::string data;  // the event's envelope, as stored
  std::string route = {};  // with shards (shards.h), the route the subject carries; "" without
};

// One message as a broker delivers it.
class Message {
 public:
  virtual ~Message() = default;
  virtual std::string_view data() const = 0;
  // Where the message sits in its kind's stream, for a broker whose readers
  // keep their own position (RabbitMQ streams); nullopt otherwise.
  virtual std::optional<uint64_t> offset() const = 0;
  virtual Status ack() = 0;
  virtual Status nak(std::chrono::milliseconds delay) = 0;
};

// One message fetched from a consumer; ack() once its effect is committed,
// nak(delay) to have it (and, on a stream, what follows it) delivered again
// later. Destroying it without either leaves it to be delivered again after
// the broker's ack wait, or when the consumer starts again.
class Delivery {
 public:
  explicit Delivery(std::unique_ptr<Message> message) : message_(std::move(message)) {}
  std::string_view data() const { return message_->data(); }
  std::optional<uint64_t> offset() const { return message_->offset(); }
  Status ack() { return message_->ack(); }
  Status nak(std::chrono::milliseconds delay) { return message_->nak(delay); }

 private:
  std::unique_ptr<Message> message_;
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Up to `max` messages, waiting at most `wait` for the first; empty on a
  // timeout, an error when the broker cannot be reached. Messages of one
  // consumer come from one thread, which also acks them.
  virtual Result<std::vector<Delivery>> fetch(int max, std::chrono::milliseconds wait) = 0;
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Publishes every message and waits for the broker to confirm them all
  // (or `wait` to pass). An error means some may not be stored: publish them
  // again (a message stored twice is dropped by its event id downstream, or
  // by the broker). A kind this user may not publish is refused, and the
  // error quotes the broker.
  virtual Status publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) = 0;

  // Whether the broker would store a message now, asked without sending one
  // (a JetStream stream with no quorum, a broker that is away: an error).
  // From the thread that publishes.
  virtual Status probe(std::chrono::milliseconds wait) = 0;

  // The consumer `name` of the events of `kind`. A broker that keeps no
  // position for its readers starts it at `offset`, the offset after the last
  // message this process has committed (0: the first); one that does (NATS's
  // durable consumers) resumes where the consumer was and ignores it.
  // With shards, `route` narrows it to one route of the kind ("3"), or "*"
  // for all of them; "" is the kind's messages without routes.
  virtual Result<std::unique_ptr<Consumer>> consumer(const std::string& name, std::string_view kind,
                                                     uint64_t offset, std::string_view route = {}) = 0;
};

// Connects to the broker `url` names: nats:// or tls:// (a comma-separated
// list of them for a NATS cluster), amqp:// or amqps://. A broker that cannot
// be reached is tried for a few seconds; one that refuses the credentials or
// the TLS handshake fails at once, saying so. kInvalidArgument for another
// scheme. `shards`: the deployment's shard map (shards.h), "" without; NATS only.
Result<std::unique_ptr<Bus>> connect_bus(const std::string& url, const BusSecurity& security = {},
                                         const std::string& shards = "");

// `url` (or a comma-separated list of them) with each password, or token,
// replaced by "***": nats://payment:***@127.0.0.1:4222.
std::string redact_url(std::string_view url);

// The user and password of a --bus-creds file holding one line
// `user:password` (a final newline allowed); with `allow_nats_creds`, a NATS
// credentials file is recognised too and returned as `nats_creds_file`.
struct Credentials {
  std::string user;
  std::string password;
  bool nats_creds_file = false;
};
Result<Credentials> read_credentials(const std::string& path, bool allow_nats_creds);

// `text` with every occurrence of each secret replaced by "***".
std::string scrub(std::string text, const std::vector<std::string>& secrets);

// A URL of a list, cut into its scheme ("nats://", "" when it has none), its
// user info ("user:password", "token" or "") and the rest ("host:port/...").
struct UrlParts {
  std::string_view scheme;
  std::string_view userinfo;
  std::string_view hostport;
};
UrlParts split_url(std::string_view url);
// The host of a URL's "host:port...", without an IPv6 address's brackets.
std::string host_of(std::string_view hostport);

}  // namespace ordersd::bus
