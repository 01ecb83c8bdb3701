// CommandPipeline<D>: the one command pipeline for every aggregate.
//
//   load the aggregate's stream and fold it with evolve (from its snapshot,
//   see fold.h) -> decide -> append with the version the load saw (and a
//   snapshot every kSnapshotEvery events) -> on a conflict with another
//   writer, start over (a bounded number of times) -> answer
//
// A Decider D names its types and functions:
//   State, Event, Command, Refusal
//   static std::string stream(std::string_view id);
//   static std::variant<std::vector<Event>, Refusal> decide(const State&, const Command&);
//   static State evolve(State, const Event&);
//   static events::NewEvent encode(std::string_view id, const Event&, Uuid event_id, Uuid correlation_id);
//   static Result<Event> decode(const events::RecordedEvent&);
//   static bool creates(const Command&);  // decided against "nothing yet", expecting no stream
//   static uint64_t version(const State&);
//
// An execution holds its stream's turn (stream_turns.h) from before the load
// until its append completes, so commands for one aggregate run one after
// another and never conflict with each other, nor with a participant of this
// process writing the same stream: a hot wallet queues, it does not fail.
// A conflict can only come from a writer that takes no turn (the saga
// appends an order's outcomes at any version); the retry then loads a state
// that includes that write, as the refusal completes only after it is
// published.
//
// Loading and deciding run on the WorkQueue (a creating command, which needs
// no load, runs on the caller's thread when its turn is free: the log's
// no-stream check proves the aggregate is new, and only a conflict loads it).
// The append is group-committed and answered from its completion, so no
// caller thread waits on the disk. Thread-safe: executions may run
// concurrently.
//
// Log is events::EventLog in the server. The pipeline calls only its
// read_stream() and get() (through fold_stream), append_async() and
// name_id() (for ids derived from an id_seed), so a
// test can run it against a fake log of its own (command_pipeline_test.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/event_log.h"
#include "write/pipeline/fold.h"
#include "write/pipeline/stream_turns.h"
#include "write/pipeline/work_queue.h"

namespace ordersd::write {

template <typename D>
struct CommandRequest {
  std::string id;  // of the aggregate
  typename D::Command command;
  // The version the caller last saw (If-Match): refused with
  // PreconditionFailed when the aggregate is at another one.
  std::optional<uint64_t> expected_version;
  // When set, event ids derive from it and the stream, so re-attempting the
  // same request appends nothing new (the log recognises the ids). It must
  // name one execution (e.g. carry a nonce): another request with the same
  // seed would be taken for a retry.
  std::optional<std::string> id_seed;
  Uuid correlation_id;
  // Writes that commit atomically with the events, given the state after the
  // command; made before the append (never on the log's writer thread). What
  // depends on where the events land is a put_last_position().
  std::function<void(const typename D::State& after, events::SideWrites&)> side_writes;
};

template <typename D>
struct Executed {
  typename D::State state;   // after the command
  events::AppendResult append;  // positions and version; none when nothing was decided
  bool decided_nothing = false; // the command was already done: no events, nothing appended
};

struct PreconditionFailed {
  uint64_t current_version;
};

template <typename D>
using Outcome = std::variant<Executed<D>, typename D::Refusal, PreconditionFailed, Status>;

template <typename D, typename Log = events::EventLog>
class CommandPipeline {
 public:
  static constexpr int kMaxAttempts = 8;

  // `log`, `work` and `turns` must outlive the pipeline. `ids` makes event ids.
  CommandPipeline(Log& log, WorkQueue& work, UuidGenerator& ids, StreamTurns& turns)
      : log_(log), work_(work), ids_(ids), turns_(turns) {}

  // The aggregate folded up to `up_to_version` (all of it by default). Reads
  // the disk: call it from the WorkQueue, not from an I/O thread.
  Result<typename D::State> load(std::string_view id, uint64_t up_to_version = UINT64_MAX) const {
    typename D::State state{};
    if (Status s = fold_stream<D>(log_, D::stream(id), state, up_to_version); !s) return s;
    return state;
  }

  // Executes asynchronously; `done` runs exactly once, on a WorkQueue thread,
  // the log's completion thread or (for a creating command the log refuses at
  // once) the caller's, and must be quick.
  void execute(CommandRequest<D> request, std::function<void(Outcome<D>)> done) {
    std::string stream = D::stream(request.id);
    // The turn is given back before the caller hears the outcome, on every path.
    auto answer = [this, stream, done = std::move(done)](Outcome<D> outcome) {
      turns_.release(stream);
      done(std::move(outcome));
    };
    auto e = std::make_shared<Execution>(Execution{std::move(request), std::move(answer), 0});
    bool creating = D::creates(e->request.command) && !e->request.expected_version;
    auto run = [this, e, creating] {
      if (creating) return decide_and_append(e, typename D::State{});
      attempt(e);
    };
    if (!turns_.take_or_queue(stream, [this, run] { work_.post(run); })) return;  // queued behind a holder
    if (creating) return run();
    work_.post(std::move(run));
  }

 private:
  struct Execution {
    CommandRequest<D> request;
    std::function<void(Outcome<D>)> done;
    int attempts = 0;
  };

  void attempt(std::shared_ptr<Execution> e) {
    auto loaded = load(e->request.id);
    if (!loaded) return e->done(loaded.status());
    decide_and_append(std::move(e), *loaded);
  }

  void decide_and_append(std::shared_ptr<Execution> e, const typename D::State& state) {
    ++e->attempts;
    const CommandRequest<D>& req = e->request;
    uint64_t version = D::version(state);
    if (req.expected_version && *req.expected_version != version) return e->done(PreconditionFailed{version});
    auto decision = D::decide(state, req.command);
    if (auto* refusal = std::get_if<typename D::Refusal>(&decision)) return e->done(std::move(*refusal));

    const auto& decided = std::get<std::vector<typename D::Event>>(decision);
    if (decided.empty()) return e->done(Executed<D>{state, {}, true});
    typename D::State after = state;
    events::StreamAppend part{D::stream(req.id),
                              version == 0 ? events::ExpectedVersion::no_stream()
                                           : events::ExpectedVersion::exact(version),
                              {}};
    for (size_t i = 0; i < decided.size(); ++i) {
      after = D::evolve(std::move(after), decided[i]);
      Uuid id = req.id_seed ? log_.name_id(part.stream + "/" + *req.id_seed + "/" + std::to_string(i)) : ids_.next();
      part.events.push_back(D::encode(req.id, decided[i], id, req.correlation_id));
      part.events.back().unique_id = !req.id_seed;  // random: no other append holds it
    }
    events::AppendRequest append;
    snapshot_if_due<D>(append.side_writes, part.stream, version, after);
    append.streams.push_back(std::move(part));
    if (req.side_writes) req.side_writes(after, append.side_writes);
    log_.append_async(std::move(append), [this, e, after](Result<events::AppendResult> result) {
      if (result) return e->done(Executed<D>{after, std::move(result).value(), false});
      const Status& s = result.status();
      if (s.code() == Status::Code::kWrongExpectedVersion) {
        // Another writer moved the aggregate between our load and our append.
        if (e->request.expected_version) return e->done(PreconditionFailed{s.actual_version()});
        if (e->attempts < kMaxAttempts) return work_.post([this, e] { attempt(e); });
      }
      e->done(s);
    });
  }

  Log& log_;
  WorkQueue& work_;
  UuidGenerator& ids_;
  StreamTurns& turns_;
};

}  // namespace ordersd::write
