// NatsBus: the connection to NATS JetStream that carries events between
// ordersd processes. Every event goes to the JetStream stream "ORDERSD" on
// subject "ordersd.events.{kind}" (kind: roles.h) with its event id as the
// message id, so the broker drops a message published twice within its
// duplicate window. Readers are durable pull consumers, one per kind a
// process reads, acknowledging a message only once its copy is committed.
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
  // broker goes away, and creates the ORDERSD stream if it is missing.
  static Result<std::unique_ptr<NatsBus>> connect(const std::string& url);
  ~NatsBus();

  // Publishes every message and waits for the broker to acknowledge them
  // all (or `wait` to pass). An error means some may not be stored: publish
  // them again.
  Status publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait);

  // The durable pull consumer `durable` on `subject`, created if missing.
  Result<std::unique_ptr<Consumer>> consumer(const std::string& durable, const std::string& subject);

 private:
  NatsBus() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordersd::bus
