// AmqpBus: RabbitMQ as the bus (bus.h), over AMQP 0-9-1 with the C client
// librabbitmq. History is replayable: each stream kind has a RabbitMQ
// stream (a queue declared with x-queue-type: stream), so a process that
// starts late reads every event from the first.
//
//   exchange "ordersd.{kind}"          fanout, durable: where the kind's writer publishes
//   stream   "ordersd.{kind}.stream"   bound to it: the kind's history, kept on disk
//
// The writer of a kind declares both and binds them before it first
// publishes; a reader declares the stream (the same arguments, so either
// may come first). Publishing uses publisher confirms: publish() returns
// only once the broker has confirmed every message, and the relay moves its
// checkpoint only then. The message id is the event id. A stream does not
// drop a message published twice; the importer drops its copy by event id.
//
// A consumer reads its kind's stream from an offset (x-stream-offset) with
// manual acknowledgement and a prefetch; the broker keeps no position for
// it, so the importer keeps the offset in its own checkpoint, committed with
// the events (importer.h). A message refused (nak) makes the consumer start
// again from that message's offset, after the delay.
//
// Users: amqp://USER:PASSWORD@HOST:PORT/VHOST, or the user:password line of
// --bus-creds; amqps:// (or --bus-tls-ca) speaks TLS and verifies the broker
// against the CA file. A password is never shown (redact_url, scrub).
//
// librabbitmq stays inside amqp_bus.cpp; nothing else includes amqp.h.
#pragma once

#include <memory>
#include <string>

#include "bus/bus.h"

namespace ordersd::bus {

std::string exchange_of_kind(std::string_view kind);  // "ordersd." + kind
std::string stream_of_kind(std::string_view kind);    // "ordersd." + kind + ".stream"

class AmqpBus final : public Bus {
 public:
  static Result<std::unique_ptr<AmqpBus>> connect(const std::string& url, const BusSecurity& security = {});
  ~AmqpBus() override;

  Status publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) override;
  Status probe(std::chrono::milliseconds wait) override;
  // Shards are NATS's (routes are subjects): a route is refused.
  Result<std::unique_ptr<Consumer>> consumer(const std::string& name, std::string_view kind, uint64_t offset,
                                             std::string_view route = {}) override;

  struct Impl;

 private:
  AmqpBus() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordersd::bus
