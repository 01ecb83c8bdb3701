// CommandRunner: carries one HTTP command through a CommandPipeline with
// If-Match and Idempotency-Key, and answers it.
//
//   key given? -> look for its record: same request -> replay the stored
//   answer; other request -> 422; another execution holds the key -> park
//   until it answers, then look again -> execute -> answer, storing the answer
//   under the key (in the same WriteBatch as the events when there are any)
//
// Answers are built by the caller's functions, so a replay is byte for byte
// the first answer. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "api/consistency_token.h"
#include "api/idempotency.h"
#include "api/problems.h"
#include "events/event_log.h"
#include "http/http.h"
#include "write/pipeline/command_pipeline.h"
#include "write/pipeline/work_queue.h"

namespace ordersd::api {

// The parts of an HTTP request every command shares.
struct HttpCommand {
  std::string method;
  std::string path;
  std::string body;
  std::optional<uint64_t> if_match;
  std::optional<std::string> idempotency_key;
  http::Responder respond;
};

// Reads If-Match, Idempotency-Key and the body's media type into a command;
// an answer (400, 415) when one is malformed.
std::optional<http::Response> read_command(http::Request& request, http::Responder& respond, HttpCommand& out);

// Why commands must wait now (the bus has not taken this service's events
// for a while: what they write could not go out), or "" when they may run.
using CommandGate = std::function<std::string()>;

class CommandRunner {
 public:
  CommandRunner(events::EventLog& log, write::WorkQueue& work, IdempotencyStore& idempotency, UuidGenerator& ids,
                CommandGate gate = {})
      : log_(log), work_(work), idempotency_(idempotency), ids_(ids), gate_(std::move(gate)) {}

  template <typename D>
  struct Spec {
    write::CommandPipeline<D>* pipeline;
    std::string id;
    typename D::Command command;
    // The answer to an executed command, given the state after it and its
    // last position (the log head when it decided nothing new).
    std::function<http::Response(const typename D::State&, uint64_t position)> executed;
    // The answer to a refusal.
    std::function<http::Response(const typename D::Refusal&)> refused;
  };

  // Every executed answer names the stream and version it left
  // (X-Consistency-Token), replays included: it is part of the answer.
  // A closed gate answers 503 with Retry-After and changes nothing.
  template <typename D>
  void run(HttpCommand command, Spec<D> spec) {
    if (gate_) {
      if (std::string why = gate_(); !why.empty()) return command.respond(unavailable(why));
    }
    spec.executed = [executed = std::move(spec.executed), stream = D::stream(spec.id)](
                        const typename D::State& after, uint64_t position) {
      http::Response r = executed(after, position);
      if (std::string token = consistency_token(stream, after.version); !token.empty()) {
        r.set_header(std::string(kConsistencyTokenHeader), std::move(token));
      }
      return r;
    };
    auto c = std::make_shared<Running<D>>(Running<D>{std::move(command), std::move(spec)});
    if (!c->http.idempotency_key) return execute(c);
    // The command lives as long as its look-up needs it: the pointer shares ownership of `c`.
    look_up(std::shared_ptr<const HttpCommand>(c, &c->http), [this, c] { execute(c); });
  }

 private:
  template <typename D>
  struct Running {
    HttpCommand http;
    Spec<D> spec;
    Uuid correlation_id{};  // of this execution's events
  };

  // On the work queue: replays or refuses a known key, or claims it and
  // calls `proceed` (possibly later, once another execution lets go of it).
  void look_up(std::shared_ptr<const HttpCommand> command, std::function<void()> proceed);
  // Stores `answer` under the command's key when it is deterministic, lets go
  // of the key and sends the answer; on the work queue.
  void answer_keyed(const HttpCommand& command, http::Response answer, bool deterministic);
  void record(events::SideWrites& writes, const HttpCommand& command, const http::Response& answer) const;
  // The answer rendered with kPositionToCome where its position goes: stored
  // without it, for the append to fill in.
  void record_executed(events::SideWrites& writes, const HttpCommand& command, http::Response answer) const;
  static constexpr uint64_t kPositionToCome = UINT64_MAX;
  // Whether the events the log holds at `append`'s positions are this
  // execution's own (on `stream`, with its correlation id); reads the disk.
  Status check_own_events(const events::AppendResult& append, const std::string& stream, const Uuid& correlation_id) const;

  template <typename D>
  void execute(std::shared_ptr<Running<D>> c) {
    write::CommandRequest<D> request;
    request.id = c->spec.id;
    request.command = c->spec.command;
    request.expected_version = c->http.if_match;
    request.correlation_id = ids_.next();
    c->correlation_id = request.correlation_id;
    if (c->http.idempotency_key) {
      // The key and a nonce of this execution (its correlation id): its own
      // re-attempts keep their ids, while the key reused once its record has
      // expired is a new execution with new ids, never taken for a retry.
      request.id_seed = "idempotency/" + *c->http.idempotency_key + "/" + request.correlation_id.to_string();
      // The record is rendered here, before the append; the log's writer
      // only fills in where the events land.
      request.side_writes = [this, c](const typename D::State& after, events::SideWrites& writes) {
        record_executed(writes, c->http, c->spec.executed(after, kPositionToCome));
      };
    }
    c->spec.pipeline->execute(std::move(request),
                              [this, c](const write::Outcome<D>& outcome) { finish(c, outcome); });
  }

  template <typename D>
  void finish(std::shared_ptr<Running<D>> c, const write::Outcome<D>& outcome) {
    http::Response answer;
    bool deterministic = true;  // worth replaying to a retry with the same key
    if (auto* done = std::get_if<write::Executed<D>>(&outcome)) {
      if (!done->decided_nothing && done->append.already_appended && c->http.idempotency_key) {
        // The log took the events for a retry of stored ones, and so wrote no
        // record. Answer as executed only if they are this execution's own.
        return work_.post([this, c, state = done->state, append = done->append]() mutable {
          Status own = check_own_events(append, D::stream(c->spec.id), c->correlation_id);
          if (!own) return answer_keyed(c->http, failure(own), false);
          answer_keyed(c->http, c->spec.executed(state, append.last_position), true);
        });
      }
      if (!done->decided_nothing) {
        // Its record, if keyed, was written with the events.
        answer = c->spec.executed(done->state, done->append.last_position);
        if (c->http.idempotency_key) idempotency_.release(*c->http.idempotency_key);
        return c->http.respond(std::move(answer));
      }
      answer = c->spec.executed(done->state, log_.head());
    } else if (auto* refusal = std::get_if<typename D::Refusal>(&outcome)) {
      answer = c->spec.refused(*refusal);
    } else if (auto* failed = std::get_if<write::PreconditionFailed>(&outcome)) {
      answer = precondition_failed(failed->current_version, c->http.if_match.value_or(0));
    } else {
      deterministic = false;
      answer = failure(std::get<Status>(outcome));
    }
    if (!c->http.idempotency_key) return c->http.respond(std::move(answer));
    work_.post([this, c, answer = std::move(answer), deterministic]() mutable {
      answer_keyed(c->http, std::move(answer), deterministic);
    });
  }

  static http::Response precondition_failed(uint64_t current, uint64_t asked);
  static http::Response failure(const Status& status);
  static http::Response unavailable(const std::string& why);

  events::EventLog& log_;
  write::WorkQueue& work_;
  IdempotencyStore& idempotency_;
  UuidGenerator& ids_;
  const CommandGate gate_;
};

}  // namespace ordersd::api
