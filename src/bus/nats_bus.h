// NatsBus: the connection to NATS JetStream that carries events between
// ordersd processes. Every event goes to the JetStream stream "ORDERSD" on
// subject "ordersd.events.{kind}" (kind: roles.h), or with shards
// "ordersd.events.{kind}.{route}" (shards.h), with its event id as the
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

#include "bus/bus.h"
#include "events/status.h"

namespace ordersd::bus {

inline constexpr const char* kStreamName = "ORDERSD";
std::string subject_of_kind(std::string_view kind);  // "ordersd.events." + kind

// The inboxes of a connection as `user` ("_INBOX.payment"), where the replies
// to its requests and the messages it fetches arrive: the broker's config
// lets each user subscribe to its own inboxes only (broker_users.h).
std::string inbox_prefix_of(std::string_view user);

class NatsBus final : public Bus {
 public:
  // Connects to `url` (nats://HOST:PORT), reconnecting for ever when the
  // broker goes away, and creates the ORDERSD stream if it is missing. A
  // broker that cannot be reached is tried for a few seconds; one that
  // refuses the credentials or the TLS handshake fails at once, saying so.
  // `shards`: the deployment's shard map ("order=2,payment=2"), "" without
  // shards. The stream records the map it was created for (its description),
  // and a process given another one is refused: its subjects and filters
  // would not meet the others'.
  static Result<std::unique_ptr<NatsBus>> connect(const std::string& url, const BusSecurity& security = {},
                                                  const std::string& shards = "");
  ~NatsBus();

  // Publishes every message and waits for the broker to acknowledge them
  // all (or `wait` to pass). An error means some may not be stored: publish
  // them again. A subject this user may not publish to is never
  // acknowledged; the error then quotes the broker's refusal.
  Status publish(const std::vector<Outgoing>& messages, std::chrono::milliseconds wait) override;
  Status probe(std::chrono::milliseconds wait) override;

  // The durable pull consumer `durable` on the kind's subject, created if
  // missing; it keeps its own place, so `offset` is not used.
  Result<std::unique_ptr<Consumer>> consumer(const std::string& durable, std::string_view kind, uint64_t offset,
                                             std::string_view route = {}) override;

 private:
  NatsBus() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordersd::bus
