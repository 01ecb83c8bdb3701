#include "write/saga/saga_orchestrator.h"

#include <chrono>

#include "events/logging.h"
#include "write/pipeline/fold.h"
#include "write/domain/order_codec.h"
#include "write/saga/saga_codec.h"

namespace ordersd::write {

namespace {

int64_t system_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool awaits_answer(const SagaState& s) { return s.phase == SagaState::Phase::kRunning && s.pending.has_value(); }
bool is_live(const SagaState& s) {
  return s.phase == SagaState::Phase::kRunning || s.phase == SagaState::Phase::kStuck;
}

}  // namespace

SagaOrchestrator::SagaOrchestrator(events::EventLog& log, Options options)
    : Participant(log, "saga"),
      options_(std::move(options)),
      completion_seconds_({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60}) {}

SagaOrchestrator::~SagaOrchestrator() { stop(); }

Result<std::unique_ptr<SagaOrchestrator>> SagaOrchestrator::open(events::EventLog& log, Options options) {
  if (!options.clock_us) options.clock_us = system_clock_us;
  std::unique_ptr<SagaOrchestrator> saga(new SagaOrchestrator(log, std::move(options)));
  if (Status s = saga->reload(); !s) return s;
  return saga;
}

Result<SagaState> SagaOrchestrator::load(const events::EventLog& log, std::string_view order_id) {
  struct SagaDecider {
    using State = SagaState;
    static Result<SagaEvent> decode(const events::RecordedEvent& r) { return saga_event_from(r); }
    static SagaState evolve(SagaState s, const SagaEvent& e) { return write::evolve(std::move(s), e); }
    static uint64_t version(const SagaState& s) { return s.version; }
  };
  SagaState state;
  if (Status s = fold_stream<SagaDecider>(log, saga_stream(order_id), state); !s) return s;
  return state;
}

Status SagaOrchestrator::reload() {
  std::vector<std::string> live;
  for (auto space : {kSagaPendingSpace, kSagaStuckSpace}) {
    Status s = log_.scan(space, "", [&](std::string_view key, std::string_view) {
      live.emplace_back(key);
      return true;
    });
    if (!s) return s;
  }
  for (const auto& order_id : live) {
    auto state = load(log_, order_id);
    if (!state) return state.status();
    if (!is_live(*state) || sagas_.count(order_id)) continue;
    auto first = log_.read_stream(saga_stream(order_id), 1, 1);
    if (first && !first->empty()) correlations_[order_id] = first->front().correlation_id();
    if (awaits_answer(*state)) deadlines_.emplace(state->deadline_us, order_id);
    if (state->phase == SagaState::Phase::kStuck) stuck_.fetch_add(1, std::memory_order_relaxed);
    sagas_.emplace(order_id, std::move(*state));
  }
  running_.store(sagas_.size() - stuck_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return Status::ok();
}

events::StreamAppend& SagaOrchestrator::stream_part(const std::string& stream) {
  auto [it, added] = parts_.emplace(stream, writes_.streams.size());
  if (added) writes_.streams.push_back({stream, events::ExpectedVersion::any(), {}});
  return writes_.streams[it->second];
}

void SagaOrchestrator::index(const std::string& order_id, const SagaState& before, const SagaState& after) {
  if (awaits_answer(before)) deadlines_.erase({before.deadline_us, order_id});
  if (awaits_answer(after)) deadlines_.emplace(after.deadline_us, order_id);
  if (awaits_answer(after) != awaits_answer(before)) {
    if (awaits_answer(after)) writes_.side_writes.put(kSagaPendingSpace, order_id, "");
    else writes_.side_writes.erase(kSagaPendingSpace, order_id);
  }
  bool was_stuck = before.phase == SagaState::Phase::kStuck, is_stuck = after.phase == SagaState::Phase::kStuck;
  if (was_stuck != is_stuck) {
    if (is_stuck) {
      writes_.side_writes.put(kSagaStuckSpace, order_id, std::string(step_name(after.pending.value_or(SagaStep::kRefund))));
      stuck_.fetch_add(1, std::memory_order_relaxed);
      parked_.fetch_add(1, std::memory_order_relaxed);
    } else {
      writes_.side_writes.erase(kSagaStuckSpace, order_id);
      stuck_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (before.phase == SagaState::Phase::kNone) started_.fetch_add(1, std::memory_order_relaxed);
}

void SagaOrchestrator::apply(const std::string& order_id, const SagaInput& input,
                             const events::RecordedEvent* cause, int64_t now) {
  auto found = sagas_.find(order_id);
  // Only running and stuck sagas are kept: any other saga is either over or
  // was never started, and only an order's placement starts one.
  if (found == sagas_.end() && !std::holds_alternative<OrderPlaced>(input)) return;
  SagaState before = found == sagas_.end() ? SagaState{} : found->second;
  if (found == sagas_.end() && cause) {
    correlations_[order_id] = cause->correlation_id();
    placed_us_[order_id] = cause->time_us();
  }
  SagaDecision decision = decide(before, input, options_.policy, now);
  if (decision.saga.empty() && decision.order.empty()) return;

  Uuid correlation = correlations_.count(order_id) ? correlations_[order_id] : Uuid{};
  Uuid causation = cause ? cause->id() : Uuid{};
  // Ids derive from what caused the decision: the input event (one input may
  // be decided several times only if it was never committed), or for a
  // deadline the saga's version, which that decision moves on.
  std::string seed = "saga/" + order_id + "/" +
                     (cause ? cause->id().to_string() : "deadline/" + std::to_string(before.version)) + "/";
  SagaState after = before;
  auto& saga_part = stream_part(saga_stream(order_id)).events;
  for (size_t i = 0; i < decision.saga.size(); ++i) {
    const SagaEvent& event = decision.saga[i];
    if (auto* step = std::get_if<StepRequested>(&event); step && step->attempt > 1) {
      retries_.fetch_add(1, std::memory_order_relaxed);
    }
    after = evolve(std::move(after), event);
    saga_part.push_back(to_new_event(order_id, event, log_.name_id(seed + std::to_string(i)), correlation, causation));
  }
  if (std::holds_alternative<DeadlinePassed>(input) && after.cancel_reason == "step_timeout" &&
      before.cancel_reason.empty()) {
    timeouts_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!decision.order.empty()) {
    auto& order_part = stream_part(order_stream(order_id)).events;
    for (size_t i = 0; i < decision.order.size(); ++i) {
      order_part.push_back(to_new_event(order_id, decision.order[i], log_.name_id(seed + "order/" + std::to_string(i)),
                                        correlation, causation));
    }
  }
  index(order_id, before, after);
  if (after.phase == SagaState::Phase::kShipped) {
    shipped_.fetch_add(1, std::memory_order_relaxed);
    if (auto placed = placed_us_.find(order_id); placed != placed_us_.end()) {
      completion_seconds_.observe(static_cast<double>(now - placed->second) / 1e6);
    }
  } else if (after.phase == SagaState::Phase::kCancelled) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    logging::info("saga", "order cancelled", {{"order_id", order_id}, {"reason", after.cancel_reason}});
  } else if (after.phase == SagaState::Phase::kStuck && before.phase != SagaState::Phase::kStuck) {
    logging::warn("saga", "compensation parked as stuck",
                  {{"order_id", order_id},
                   {"reason", after.cancel_reason},
                   {"step", std::string(step_name(after.pending.value_or(SagaStep::kRefund)))}});
  }
  if (is_live(after)) {
    sagas_.insert_or_assign(order_id, std::move(after));
  } else {
    sagas_.erase(order_id);
    correlations_.erase(order_id);
    placed_us_.erase(order_id);
  }
}

Result<events::AppendRequest> SagaOrchestrator::handle(const std::vector<events::RecordedEvent>& batch) {
  writes_ = {};
  parts_.clear();
  // One reading of the clock for the whole batch: a deadline found passed is
  // decided as passed, even if the clock steps back meanwhile.
  int64_t now = options_.clock_us();
  for (const auto& recorded : batch) {
    if (auto input = saga_input_from(recorded)) apply(input->order_id, input->input, &recorded, now);
  }
  // Every deadline that has passed, oldest first. apply() files the saga's
  // next deadline, if any.
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    std::string order_id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    apply(order_id, DeadlinePassed{}, nullptr, now);
  }
  running_.store(sagas_.size() - stuck_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return std::move(writes_);
}

void SagaOrchestrator::abandoned() {
  if (Status s = recover(); !s) {
    // Memory is now behind the log; the subscription fails on, and the
    // supervisor's restart calls recover() again.
    logging::error("saga", "could not reload the running sagas", {{"error", s.to_string()}});
  }
}

Status SagaOrchestrator::recover() {
  sagas_.clear();
  deadlines_.clear();
  correlations_.clear();
  placed_us_.clear();
  stuck_.store(0, std::memory_order_relaxed);
  writes_ = {};
  parts_.clear();
  return reload();
}

std::chrono::steady_clock::time_point SagaOrchestrator::wake_at() {
  if (deadlines_.empty()) return std::chrono::steady_clock::time_point::max();
  int64_t wait_us = deadlines_.begin()->first - options_.clock_us();
  return std::chrono::steady_clock::now() + std::chrono::microseconds(std::max<int64_t>(wait_us, 0));
}

SagaStats SagaOrchestrator::stats() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {get(started_), get(shipped_), get(cancelled_), get(retries_),
          get(timeouts_), get(parked_),  get(running_),   get(stuck_)};
}

Histogram::Snapshot SagaOrchestrator::completion_seconds() const { return completion_seconds_.snapshot(); }

}  // namespace ordersd::write
