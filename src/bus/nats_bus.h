// NatsBus: the connection to NATS JetStream that carries events between
// ordersd processes. Every event goes to the JetStream stream "ORDERSD" on
// subject "ordersd.events.{kind}" (kind: roles.h) with its event id as the
// message id, so the broker drops a message published twice within its
// duplicate window. Readers are durable pull consumers, one per kind a
// process reads, acknowledging a message only once its copy is committed.
//
// A broker may ask who connects (a user and password, in the URL as
// nats://USER:PASSWORD@HOST:PORT or in a credentials file) and speak TLS; a
// password is never shown: every URL in a message goes through redact_url().
//
// The cnats client stays inside nats_bus.cpp; nothing else includes nats.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/status.h"

namespace ordersd::bus {

inline constexpr const char* kStreamName = "ORDERSD";
std::string subject_of_kind(std::string_view kind);  // "ordersd.events." + kind

// `url` (or a comma-separated list of them) with each password, or token,
// replaced by "***": nats://payment:***@127.0.0.1:4222.
std::string redact_url(std::string_view url);

// The inboxes of a connection as `user` ("_INBOX.payment"), where the replies
// to its requests and the messages it fetches arrive: the broker's config
// lets each user subscribe to its own inboxes only (broker_users.h).
std::string inbox_prefix_of(std::string_view user);

// How a process proves to the broker who it is, and knows the broker.
struct BusSecurity {
  // "" for none (or a user:password@ in the URL); else a file holding either
  // one line `user:password`, or a NATS credentials file as `nsc` writes it
  // (a user JWT and its NKey seed). A file that others than its owner may
  // read is used, with a warning.
  std::string creds_file;
  // "" for a plain connection (unless the URL is tls://); else TLS to the
  // broker, whose certificate must chain to a CA in this PEM file and name
  // the host (or address) the URL gives.
  std::string tls_ca_file;
};

struct Outgoing {
  std::string subject;
  std::string id;    // the message id the broker de-duplicates by
  std::string data;  // the event's envelope, as stored
};

// One message fetched from a consumer; ack() once its effect is committed,
// nak(delay) to have it delivered again later. Destroying it without either
// leaves it to be redelivered after the consumer's ack wait.
class Delivery {
 public:
  Delivery(Delivery&&) noexcept;
  Delivery& operator=(Delivery&&) noexcept;
  ~Delivery();
  std::string_view data() const;
  Status ack();
  Status nak(std::chrono::milliseconds delay);

 private:
  friend class Consumer;
  explicit Delivery(void* msg) : msg_(msg) {}
  void* msg_ = nullptr;  // natsMsg*
};

class Consumer {
 public:
  ~Consumer();
  // Up to `max` messages, waiting at most `wait` for the first; empty on a
  // timeout, an error when the broker cannot be reached.
  Result<std::vector<Delivery>> fetch(int max, std::chrono::milliseconds wait);

 private:
  friend class NatsBus;
  explicit Consumer(void* sub) : sub_(sub) {}
  void* sub_ = nullptr;  // natsSubscription*
};

class NatsBus {
 public:
  // Connects to `url` (nats://HOST:PORT), reconnecting for ever when the
  // broker goes away, and creates the ORDERSD stream if it is missing. A
  // broker that cannot be reached is tried for a few seconds; one that
  // refuses the credentials or the TLS handshake fails at once, saying so.
  static Result<std::unique_ptr<NatsBus>> connect(const std::string& url, const BusSecurity& security = {});
  ~NatsBus();

  // Publishes every message and waits for the broker to acknowledge them
  // all (or `wait` to pass). An error means some may not be stored: publish
  // them again. A subject this user may not publish to is never
  // acknowledged; the error then quotes the broker's refusal.
  Status publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait);

  // The durable pull consumer `durable` on `subject`, created if missing.
  Result<std::unique_ptr<Consumer>> consumer(const std::string& durable, const std::string& subject);

 private:
  NatsBus() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordersd::bus
