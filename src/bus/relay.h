// Relay: the outbox side. It tails this process's log from its checkpoint
// ("relay") and publishes every event of the streams this process writes to
// the bus, the event id as the message id. A batch is published until the
// broker has acknowledged all of it, and only then does the checkpoint move
// past it: a crash or a broker outage publishes some events again, and the
// broker drops those by id. Events copied in from the bus are not published.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "events/event_log.h"

namespace ordersd::bus {

class Relay {
 public:
  static constexpr const char* kCheckpoint = "relay";

  // The route each event's message carries (shards.h); none without `route`.
  using Route = std::function<std::string(const events::RecordedEvent&)>;

  Relay(events::EventLog& log, Bus& bus, std::set<std::string> kinds, Route route = {})
      : log_(log), bus_(bus), kinds_(std::move(kinds)), route_(std::move(route)) {}
  ~Relay() { stop(); }

  void start();
  void stop();

  uint64_t position() const { return position_.load(); }    // published (or skipped) up to here
  uint64_t published() const { return published_.load(); }  // messages acknowledged since start
  std::string last_error() const;                           // "" when the last publish went through
  // How long publishing has been failing without a success in between:
  // zero while the broker takes what it is given.
  std::chrono::steady_clock::duration failing_for() const;
  // Why the relay stopped on its own (its checkpoint could not be read or
  // written, the log could not be read); nullopt while it runs. A broker
  // that is away is not a failure: the relay keeps trying (last_error()).
  std::optional<Status> failure() const;

 private:
  void run(std::stop_token stop);
  void set_error(std::string e);
  void fail(Status s);

  events::EventLog& log_;
  Bus& bus_;
  const std::set<std::string> kinds_;
  const Route route_;
  std::atomic<uint64_t> position_{0};
  std::atomic<uint64_t> published_{0};
  mutable std::mutex mu_;
  std::string last_error_;  // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> failing_since_;  // guarded by mu_
  std::optional<Status> failure_;  // guarded by mu_
  std::jthread thread_;
};

}  // namespace ordersd::bus
