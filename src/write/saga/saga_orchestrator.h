// SagaOrchestrator: carries every order through the saga (saga.h), as a
// participant of its own ("saga") reading the log.
//
// It keeps the state of every running or stuck saga in memory; what it
// decides for a batch (step requests on saga-{order}, outcomes on the order's
// stream, and its index of pending deadlines and stuck sagas) commits with
// its checkpoint in one append, so a restart resumes every saga exactly where
// it was: open() reloads the running and stuck sagas named by the index, and
// their deadlines, which are wall-clock times stored in the step requests.
//
// It appends to order streams at any version: it is the only writer of step
// outcomes, and every outcome it records is legal in the order's table
// whether or not the customer's cancel, the only other writer before a
// shipment, got in first (order.cpp's cancelling rows).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "events/histogram.h"
#include "write/saga/participant.h"
#include "write/saga/saga.h"

namespace ordersd::write {

// Side spaces of the orchestrator's index.
inline constexpr std::string_view kSagaPendingSpace = "saga-pending";  // order -> "" (a step awaits an answer)
inline constexpr std::string_view kSagaStuckSpace = "saga-stuck";      // order -> step name

struct SagaStats {
  uint64_t started = 0;
  uint64_t shipped = 0;
  uint64_t cancelled = 0;
  uint64_t retries = 0;    // step requests sent again after a deadline
  uint64_t timeouts = 0;   // forward steps given up after every attempt
  uint64_t parked = 0;     // sagas parked as stuck, ever
  uint64_t running = 0;    // now
  uint64_t stuck = 0;      // now
};

class SagaOrchestrator final : public Participant {
 public:
  struct Options {
    SagaPolicy policy;
    std::function<int64_t()> clock_us;  // default: the system clock
  };

  // Reloads the running and stuck sagas; start() begins reading.
  static Result<std::unique_ptr<SagaOrchestrator>> open(events::EventLog& log, Options options);
  ~SagaOrchestrator() override;

  SagaStats stats() const;
  // Seconds from an order's placement to its shipment, for sagas this process saw start.
  Histogram::Snapshot completion_seconds() const;

  // A saga folded from its stream (from any thread); phase kNone when there is none.
  static Result<SagaState> load(const events::EventLog& log, std::string_view order_id);

 protected:
  Result<events::AppendRequest> handle(const std::vector<events::RecordedEvent>& batch) override;
  std::chrono::steady_clock::time_point wake_at() override;
  // What a batch decided lives in memory before it commits: a batch that did
  // not commit leaves memory ahead of the log, so it is read again from the log.
  void abandoned() override;
  Status recover() override;

 private:
  SagaOrchestrator(events::EventLog& log, Options options);
  Status reload();
  // Decides `input` for `order_id` at `now_us` and adds what follows to the batch's writes.
  void apply(const std::string& order_id, const SagaInput& input, const events::RecordedEvent* cause, int64_t now_us);
  events::StreamAppend& stream_part(const std::string& stream);
  void index(const std::string& order_id, const SagaState& before, const SagaState& after);

  const Options options_;
  // Thread-only (the subscription's, or open()'s before start()).
  std::map<std::string, SagaState, std::less<>> sagas_;            // running or stuck
  std::set<std::pair<int64_t, std::string>> deadlines_;            // (deadline_us, order) of running sagas
  std::map<std::string, Uuid, std::less<>> correlations_;          // order -> its conversation
  std::map<std::string, int64_t, std::less<>> placed_us_;          // order -> placement time
  events::AppendRequest writes_;                                   // the batch's
  std::map<std::string, size_t, std::less<>> parts_;               // stream -> index in writes_.streams

  std::atomic<uint64_t> started_{0}, shipped_{0}, cancelled_{0}, retries_{0}, timeouts_{0}, parked_{0};
  std::atomic<uint64_t> running_{0}, stuck_{0};
  Histogram completion_seconds_;
};

}  // namespace ordersd::write
