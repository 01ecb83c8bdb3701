// Supervisor: keeps every long-running component of a process running, and
// says so when it cannot.
//
// Each component (the saga orchestrator, each participant, each projector,
// the relay, the importer) registers how to see its failure and how to start
// it again from its checkpoint. One thread watches them all:
//
//   running --fails, transient--> restarting --backoff passes--> running
//   running --fails, permanent--> failed --operator retry or skip--> running
//
// A transient failure (an I/O error, a conflict, a broker away, a timeout)
// is logged and the component restarts after a capped exponential backoff
// (100 ms doubling to 30 s; back to 100 ms once it has run a minute without
// failing). A permanent failure (an event it cannot apply, a damaged record,
// a contradiction) stops only that component, names the position, and waits
// for an operator: retry() restarts it as it is, skip() marks the failing
// event handled and restarts it past it. Both are appended as an event to
// the stream `operator-component-{name}` before they act, so the log is the
// audit trail.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"

namespace ordersd::events {

class Supervisor {
 public:
  struct Component {
    std::string name;  // unique in the process: "saga", "payment", "view-orders", "relay", ...
    // Why it stopped on its own; nullopt while it runs (or is paused).
    std::function<std::optional<Status>()> failure;
    // Stops what is left of it and starts it again from its checkpoint.
    std::function<Status()> restart;
    // The log position it has handled, for /health and the lag; no function
    // for a component that does not read the log in order.
    std::function<uint64_t()> position;
    // Its checkpoint's name now, for skip(); empty (or no function) when it
    // cannot skip an event.
    std::function<std::string()> checkpoint;
  };

  enum class State { kRunning, kRestarting, kFailed };

  struct Report {
    std::string name;
    State state = State::kRunning;
    std::optional<uint64_t> position;  // for a reader of the log
    uint64_t restarts = 0;           // ever, in this process
    std::string last_error;          // the last failure, "" when it never failed
    std::optional<uint64_t> failed_at;  // the position a permanent failure names
    int64_t restart_in_ms = 0;       // while restarting
  };

  struct Options {
    std::chrono::milliseconds first_backoff{100};
    std::chrono::milliseconds max_backoff{30'000};
    std::chrono::milliseconds healthy_after{60'000};  // running this long resets the backoff
    std::chrono::milliseconds poll{50};
  };

  explicit Supervisor(EventLog& log) : Supervisor(log, Options{}) {}
  Supervisor(EventLog& log, Options options);
  ~Supervisor();  // stop()s
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Before start().
  void add(Component component);
  void start();
  // Stops watching; the components themselves are stopped by their owners.
  void stop();

  std::vector<Report> reports() const;
  std::optional<Report> report(std::string_view name) const;
  // Whether every component is running.
  bool all_running() const;

  // Operator actions, recorded as an event naming `actor` before they act.
  // kNotFound for an unknown component; kInvalidArgument when it is not
  // failed, or (skip) when `position` is not the one its failure names.
  Result<AppendResult> retry(std::string_view name, std::string_view actor);
  Result<AppendResult> skip(std::string_view name, uint64_t position, std::string_view actor);

  // Blocks until `name` is in `state` or `timeout` passes; for tests and tools.
  bool wait_for(std::string_view name, State state, std::chrono::milliseconds timeout) const;

  static std::string_view state_name(State state);
  // A failure no restart can cure: the component waits for an operator.
  static bool is_permanent(const Status& failure);

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Component component;
    State state = State::kRunning;
    uint64_t restarts = 0;
    std::string last_error;
    std::optional<uint64_t> failed_at;
    std::chrono::milliseconds backoff{0};
    Clock::time_point restart_at{};
    Clock::time_point running_since{};
  };

  void run(std::stop_token stop);
  void watch(Entry& e, Clock::time_point now);
  void restart(Entry& e, std::unique_lock<std::mutex>& lk, const char* why);
  Entry* find(std::string_view name);
  const Entry* find(std::string_view name) const;
  Report report_of(const Entry& e) const;
  Result<AppendResult> record(std::string_view name, std::string_view action, uint64_t position,
                              std::string_view actor, SideWrites writes);
  // kNotFound or kInvalidArgument unless `e` exists and has failed.
  Status check_failed(const Entry* e, std::string_view name) const;
  // Records the operator's action, then restarts the component.
  Result<AppendResult> act(std::string_view name, std::string_view action, uint64_t position, std::string_view actor,
                           SideWrites writes);

  EventLog& log_;
  const Options options_;
  mutable std::mutex mu_;
  mutable std::condition_variable_any changed_;
  std::vector<Entry> entries_;  // guarded by mu_
  std::jthread thread_;
};

}  // namespace ordersd::events
