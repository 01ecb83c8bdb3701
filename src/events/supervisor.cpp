#include "events/supervisor.h"

#include "events/thread_name.h"

#include <algorithm>
#include <flatbuffers/flatbuffers.h>

#include "events/event_types.h"
#include "events/logging.h"
#include "events/uuid.h"
#include "schema/order_events_generated.h"

namespace ordersd::events {

namespace {

std::string millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()); }

NewEvent component_action(std::string_view component, std::string_view action, uint64_t position,
                          std::string_view failure, std::string_view actor) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto str = [&](std::string_view s) { return fbb.CreateString(s.data(), s.size()); };
  auto c = str(component), a = str(action), f = str(failure), who = str(actor);
  fbb.Finish(schema::CreateComponentAction(fbb, c, a, position, f, who));
  static RandomUuidGenerator ids;
  return {ids.next(), std::string(stored_name(EventType::kComponentAction)),
          std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), {}, {}};
}

}  // namespace

Supervisor::Supervisor(EventLog& log, Options options) : log_(log), options_(options) {}

Supervisor::~Supervisor() { stop(); }

void Supervisor::add(Component component) {
  std::lock_guard lk(mu_);
  Entry e;
  e.component = std::move(component);
  e.running_since = Clock::now();
  e.backoff = options_.first_backoff;
  entries_.push_back(std::move(e));
}

void Supervisor::start() {
  thread_ = std::jthread([this](std::stop_token stop) {
    name_this_thread("supervisor");
    run(stop);
  });
}

void Supervisor::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    changed_.notify_all();
    thread_.join();
  }
}

std::string_view Supervisor::state_name(State state) {
  switch (state) {
    case State::kRunning: return "running";
    case State::kRestarting: return "restarting";
    case State::kFailed: return "failed";
  }
  return "?";
}

bool Supervisor::is_permanent(const Status& failure) {
  switch (failure.code()) {
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kDuplicateEventId:
    case Status::Code::kNotFound:
      return true;  // the same input fails the same way: only an operator can move it
    default:
      return false;  // the disk, the broker, a conflict, a timeout: worth another try
  }
}

void Supervisor::run(std::stop_token stop) {
  std::unique_lock lk(mu_);
  while (!stop.stop_requested()) {
    auto now = Clock::now();
    for (auto& e : entries_) watch(e, now);
    // Restarts ran with the lock released: entries_ itself never changes after start().
    for (auto& e : entries_) {
      if (e.state == State::kRestarting && Clock::now() >= e.restart_at) restart(e, lk, "backoff passed");
    }
    changed_.wait_for(lk, stop, options_.poll, [] { return false; });
  }
}

void Supervisor::watch(Entry& e, Clock::time_point now) {
  if (e.state != State::kRunning) return;
  if (now - e.running_since >= options_.healthy_after) e.backoff = options_.first_backoff;
  auto failure = e.component.failure();
  if (!failure) return;
  e.last_error = failure->to_string();
  const std::string& name = e.component.name;
  if (is_permanent(*failure)) {
    e.state = State::kFailed;
    // A damaged record names its position; a reader that could not apply an
    // event stopped just before it, having committed everything earlier.
    if (failure->code() == Status::Code::kCorruption && failure->position() > 0) e.failed_at = failure->position();
    else if (e.component.checkpoint && e.component.position) e.failed_at = e.component.position() + 1;
    else e.failed_at.reset();
    logging::Fields fields{{"error", e.last_error}};
    if (e.failed_at) fields.emplace_back("position", std::to_string(*e.failed_at));
    logging::error(name, "stopped: waiting for an operator's retry or skip", fields);
  } else {
    e.state = State::kRestarting;
    e.restart_at = now + e.backoff;
    logging::log_limited(logging::Level::kWarn, name + "/restart", name, "failed; restarting",
                         {{"error", e.last_error}, {"in_ms", millis(e.backoff)}, {"restarts", std::to_string(e.restarts)}},
                         std::chrono::seconds(5));
    e.backoff = std::min(e.backoff * 2, options_.max_backoff);
  }
  changed_.notify_all();
}

void Supervisor::restart(Entry& e, std::unique_lock<std::mutex>& lk, const char* why) {
  // Called with `lk` held; releases it while the component starts.
  auto restart = e.component.restart;
  std::string name = e.component.name;
  // Marked as restarting while the lock is released, so no one else restarts it too.
  e.state = State::kRestarting;
  e.restart_at = Clock::time_point::max();
  lk.unlock();
  Status s = restart();
  lk.lock();
  ++e.restarts;
  if (!s) {
    // Could not even start: try again after the next backoff.
    e.last_error = s.to_string();
    e.state = State::kRestarting;
    e.restart_at = Clock::now() + e.backoff;
    logging::log_limited(logging::Level::kWarn, name + "/restart", name, "restart failed",
                         {{"error", e.last_error}, {"in_ms", millis(e.backoff)}}, std::chrono::seconds(5));
    e.backoff = std::min(e.backoff * 2, options_.max_backoff);
  } else {
    e.state = State::kRunning;
    e.failed_at.reset();
    e.running_since = Clock::now();
    logging::info(name, "restarted", {{"why", why}, {"restarts", std::to_string(e.restarts)}});
  }
  changed_.notify_all();
}

Supervisor::Entry* Supervisor::find(std::string_view name) {
  for (auto& e : entries_) {
    if (e.component.name == name) return &e;
  }
  return nullptr;
}

const Supervisor::Entry* Supervisor::find(std::string_view name) const {
  return const_cast<Supervisor*>(this)->find(name);
}

Supervisor::Report Supervisor::report_of(const Entry& e) const {
  Report r;
  r.name = e.component.name;
  r.state = e.state;
  if (e.component.position) r.position = e.component.position();
  r.restarts = e.restarts;
  r.last_error = e.last_error;
  r.failed_at = e.failed_at;
  if (e.state == State::kRestarting) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e.restart_at - Clock::now());
    r.restart_in_ms = std::max<int64_t>(left.count(), 0);
  }
  return r;
}

std::vector<Supervisor::Report> Supervisor::reports() const {
  std::lock_guard lk(mu_);
  std::vector<Report> out;
  for (const auto& e : entries_) out.push_back(report_of(e));
  return out;
}

std::optional<Supervisor::Report> Supervisor::report(std::string_view name) const {
  std::lock_guard lk(mu_);
  const Entry* e = find(name);
  if (!e) return std::nullopt;
  return report_of(*e);
}

bool Supervisor::all_running() const {
  std::lock_guard lk(mu_);
  return std::all_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.state == State::kRunning; });
}

Result<AppendResult> Supervisor::record(std::string_view name, std::string_view action, uint64_t position,
                                        std::string_view actor, SideWrites writes) {
  std::string failure;
  {
    std::lock_guard lk(mu_);
    if (const Entry* e = find(name)) failure = e->last_error;
  }
  AppendRequest append;
  append.streams.push_back({"operator-component-" + std::string(name), ExpectedVersion::any(),
                            {component_action(name, action, position, failure, actor)}});
  append.side_writes = std::move(writes);
  return log_.append(std::move(append));
}

Status Supervisor::check_failed(const Entry* e, std::string_view name) const {
  if (!e) return Status::not_found("no component '" + std::string(name) + "'");
  if (e->state != State::kFailed) {
    return Status::invalid_argument("component '" + std::string(name) + "' is " + std::string(state_name(e->state)) +
                                    ", not failed");
  }
  return Status::ok();
}

Result<AppendResult> Supervisor::act(std::string_view name, std::string_view action, uint64_t position,
                                     std::string_view actor, SideWrites writes) {
  auto recorded = record(name, action, position, actor, std::move(writes));
  if (!recorded) return recorded;
  logging::Fields fields{{"actor", std::string(actor)}};
  if (position) fields.emplace_back("position", std::to_string(position));
  logging::warn(std::string(name), "operator " + std::string(action), fields);
  std::unique_lock lk(mu_);
  Entry* e = find(name);
  if (e->state == State::kFailed) {
    e->backoff = options_.first_backoff;
    restart(*e, lk, action == "skip" ? "operator skip" : "operator retry");
  }
  return recorded;
}

Result<AppendResult> Supervisor::retry(std::string_view name, std::string_view actor) {
  {
    std::lock_guard lk(mu_);
    if (Status s = check_failed(find(name), name); !s) return s;
  }
  return act(name, "retry", 0, actor, {});
}

Result<AppendResult> Supervisor::skip(std::string_view name, uint64_t position, std::string_view actor) {
  std::string checkpoint;
  {
    std::lock_guard lk(mu_);
    const Entry* e = find(name);
    if (Status s = check_failed(e, name); !s) return s;
    if (e->component.checkpoint) checkpoint = e->component.checkpoint();
    if (checkpoint.empty()) {
      return Status::invalid_argument("component '" + std::string(name) + "' cannot skip an event; retry it");
    }
    if (!e->failed_at || *e->failed_at != position) {
      return Status::invalid_argument(
          e->failed_at ? "component '" + std::string(name) + "' failed at position " + std::to_string(*e->failed_at) +
                             ", not " + std::to_string(position)
                       : "component '" + std::string(name) + "' names no position to skip; retry it");
    }
  }
  // The event counts as handled from the moment the operator's action commits.
  SideWrites writes;
  writes.set_checkpoint(checkpoint, position);
  return act(name, "skip", position, actor, std::move(writes));
}

bool Supervisor::wait_for(std::string_view name, State state, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  return changed_.wait_for(lk, timeout, [&] {
    const Entry* e = find(name);
    return e && e->state == state;
  });
}

}  // namespace ordersd::events
