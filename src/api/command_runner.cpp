#include "api/command_runner.h"

#include "api/problems.h"
#include "http/params.h"

namespace ordersd::api {

using http::Response;

std::optional<Response> read_command(http::Request& request, http::Responder& respond, HttpCommand& out) {
  if (!is_json_or_empty(request)) return unsupported_media_type();
  if (auto match = request.find_header("If-Match")) {
    out.if_match = http::parse_etag(*match);
    if (!out.if_match) {
      return bad_request("If-Match must be a version in quotes, as in the ETag: \"3\"");
    }
  }
  if (auto key = request.find_header("Idempotency-Key")) {
    if (!IdempotencyStore::valid_key(*key)) {
      return bad_request("Idempotency-Key must be 1 to 255 printable ASCII characters");
    }
    // Keys are the caller's own: another caller's same key is another key.
    out.idempotency_key = request.caller.empty() ? std::string(*key) : request.caller + "\n" + std::string(*key);
  }
  out.method = request.method;
  out.path = std::string(request.path());
  out.body = std::move(request.body);
  out.respond = std::move(respond);
  return std::nullopt;
}

void CommandRunner::look_up(std::shared_ptr<const HttpCommand> shared, std::function<void()> proceed) {
  work_.post([this, shared, proceed = std::move(proceed)]() mutable {
    const HttpCommand& command = *shared;
    const std::string& key = *command.idempotency_key;
    auto stored = idempotency_.find(key);
    if (!stored) return command.respond(server_error(stored.status()));
    if (*stored) {
      if (!IdempotencyStore::same_request((*stored)->fingerprint, command.method, command.path, command.body)) {
        return command.respond(Response::problem(
            422, "Unprocessable Content",
            "Idempotency-Key '" + key.substr(key.rfind('\n') + 1) + "' was first used with a different request; use a new key"));
      }
      Response replay;
      replay.status = (*stored)->status;
      replay.headers = (*stored)->headers;
      replay.body = (*stored)->body;
      replay.set_header("Idempotent-Replayed", "true");
      return command.respond(std::move(replay));
    }
    // Another request with this key is executing: look again once it has answered.
    auto again = [this, shared, proceed] { look_up(shared, proceed); };
    if (!idempotency_.claim(key, again)) return;
    proceed();
  });
}

void CommandRunner::record(events::SideWrites& writes, const HttpCommand& command, const Response& answer) const {
  idempotency_.record(writes, *command.idempotency_key,
                      {IdempotencyStore::fingerprint(command.method, command.path, command.body), answer.status,
                       answer.headers, answer.body, 0, std::nullopt});
}

void CommandRunner::record_executed(events::SideWrites& writes, const HttpCommand& command, Response answer) const {
  // Answers quote their position once, as "position":N; ids cannot hold a
  // quote, so the marker is found only there.
  const std::string marker = "\"position\":" + std::to_string(kPositionToCome);
  StoredResponse stored{IdempotencyStore::fingerprint(command.method, command.path, command.body), answer.status,
                        answer.headers, std::move(answer.body), 0, std::nullopt};
  if (size_t at = stored.body.find(marker); at != std::string::npos) {
    size_t digits = at + marker.size() - std::to_string(kPositionToCome).size();
    stored.body.erase(digits, std::to_string(kPositionToCome).size());
    stored.position_at = digits;
  }
  idempotency_.record(writes, *command.idempotency_key, std::move(stored));
}

void CommandRunner::answer_keyed(const HttpCommand& command, Response answer, bool deterministic) {
  if (deterministic) {
    // No events were written: the record is stored on its own.
    events::SideWrites writes;
    record(writes, command, answer);
    if (Status s = log_.write(writes); !s) answer = server_error(s);
  }
  idempotency_.release(*command.idempotency_key);
  command.respond(std::move(answer));
}

Status CommandRunner::check_own_events(const events::AppendResult& append, const std::string& stream,
                                       const Uuid& correlation_id) const {
  size_t count = append.last_position >= append.first_position ? append.last_position - append.first_position + 1 : 0;
  auto stored = log_.read_all(append.first_position, count);
  if (!stored) return stored.status();
  bool own = stored->size() == count;
  for (const auto& e : *stored) own = own && e.stream() == stream && e.correlation_id() == correlation_id;
  if (own) return Status::ok();
  return Status::duplicate_event_id("the event ids of this request are those of other events (positions " +
                                    std::to_string(append.first_position) + " to " +
                                    std::to_string(append.last_position) + "); nothing was written");
}

Response CommandRunner::precondition_failed(uint64_t current, uint64_t asked) {
  Response r = Response::problem(412, "Precondition Failed",
                                 "the current version is " + std::to_string(current) + ", If-Match asked for " +
                                     std::to_string(asked));
  r.set_header("ETag", "\"" + std::to_string(current) + "\"");
  return r;
}

Response CommandRunner::unavailable(const std::string& why) {
  Response r = Response::problem(503, "Service Unavailable", why + "; nothing was done, retry");
  r.set_header("Retry-After", "2");
  return r;
}

Response CommandRunner::failure(const Status& s) {
  if (s.code() == Status::Code::kWrongExpectedVersion) {
    return conflict("the target kept changing under this command; retry it");
  }
  return server_error(s);
}

}  // namespace ordersd::api
