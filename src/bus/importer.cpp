#include "bus/importer.h"

#include "events/thread_name.h"

#include <algorithm>
#include <optional>
#include <set>

#include "events/envelope.h"
#include "events/logging.h"

namespace ordersd::bus {

namespace {

constexpr int kFetch = 512;
// A fetch returns as soon as messages come; this is only how often an idle
// consumer asks again.
constexpr auto kFetchWait = std::chrono::milliseconds(500);
constexpr auto kComeBackIn = std::chrono::milliseconds(100);  // a message ahead of its stream's gap

events::NewEvent copy_of(const events::RecordedEvent& e) {
  events::NewEvent n;
  n.id = e.id();
  n.type = std::string(e.type());
  n.payload = std::string(e.payload());
  n.correlation_id = e.correlation_id();
  n.causation_id = e.causation_id();
  n.time_us = e.time_us();
  return n;
}

// One append of the events in order: consecutive events of a stream form a
// part that expects the version before the first of them. None when a
// stream's events are not consecutive versions (one missing, or one twice):
// the log numbers a part's events itself, so such a part would misnumber them.
std::optional<events::AppendRequest> append_of(const std::vector<Importer::Received>& received) {
  events::AppendRequest request;
  uint64_t last_version = 0;
  for (const auto& [e, delivery] : received) {
    if (request.streams.empty() || request.streams.back().stream != e.stream()) {
      request.streams.push_back({std::string(e.stream()), events::ExpectedVersion::exact(e.version() - 1), {}});
    } else if (e.version() != last_version + 1) {
      return std::nullopt;
    }
    last_version = e.version();
    request.streams.back().events.push_back(copy_of(e));
  }
  return request;
}

// The offset after the last of `received` on a stream (messages carry
// offsets), where the next fetch starts; nullopt on a broker that keeps the
// consumer's position.
std::optional<uint64_t> resume_after(const std::vector<Importer::Received>& received) {
  std::optional<uint64_t> last;
  for (const auto& r : received) {
    if (auto o = r.delivery.offset()) last = std::max(last.value_or(0), *o);
  }
  if (!last) return std::nullopt;
  return *last + 1;
}

}  // namespace

Status Importer::start() {
  {
    std::lock_guard lk(mu_);
    failure_.reset();
    fetch_errors_.clear();
  }
  for (const auto& [kind, route] : kinds_) {
    auto offset = log_.checkpoint(checkpoint_of(kind));
    if (!offset) return offset.status();
    auto consumer = bus_.consumer(node_ + "-" + kind, kind, offset->value_or(0), route);
    if (!consumer) return consumer.status();
    consumers_.push_back(std::move(consumer).value());
  }
  auto kind = kinds_.begin();  // consumers_ were made in the order of kinds_
  for (auto& consumer : consumers_) {
    threads_.emplace_back([this, c = consumer.get(), kind = (kind++)->first](std::stop_token stop) {
      events::name_this_thread("import-" + kind);
      run(stop, kind, *c);
    });
  }
  return Status::ok();
}

void Importer::stop() {
  for (auto& t : threads_) t.request_stop();
  threads_.clear();  // joins
  consumers_.clear();
}

std::optional<Status> Importer::failure() const {
  std::lock_guard lk(mu_);
  return failure_;
}

std::map<std::string, std::string> Importer::fetch_errors() const {
  std::lock_guard lk(mu_);
  return fetch_errors_;
}

void Importer::fail(Status why) {
  // Once per consumer, which then stops; the same failure on several is one line.
  logging::log_limited(logging::Level::kError, "importer/failed/" + why.to_string(), "importer",
                       "stopped copying from the bus", {{"node", node_}, {"error", why.to_string()}});
  std::lock_guard lk(mu_);
  if (!failure_) failure_ = std::move(why);
}

void Importer::run(std::stop_token stop, const std::string& kind, Consumer& consumer) {
  while (!stop.stop_requested()) {
    auto batch = consumer.fetch(kFetch, kFetchWait);
    if (!batch) {
      // The broker is away; the client reconnects on its own.
      logging::log_limited(logging::Level::kWarn, "importer/fetch", "importer", "cannot fetch from the bus",
                           {{"node", node_}, {"error", batch.status().to_string()}});
      {
        std::lock_guard lk(mu_);
        fetch_errors_[kind] = batch.status().to_string();
      }
      std::this_thread::sleep_for(kFetchWait);
      continue;
    }
    {
      std::lock_guard lk(mu_);
      fetch_errors_.erase(kind);
    }
    if (batch->empty()) continue;
    if (Status s = import(kind, *batch); !s) {
      fail(s);
      return;
    }
  }
}

Status Importer::import(const std::string& kind, std::vector<Delivery>& fetched) {
  std::vector<Received> received;
  received.reserve(fetched.size());
  for (auto& d : fetched) {
    if (Status ok = events::verify_copied_envelope(d.data()); !ok) {
      (void)d.nak(kComeBackIn);
      return Status::corruption("a message on the bus is not an event: " + ok.message(), 0);
    }
    events::RecordedEvent e{std::string(d.data())};
    received.push_back({std::move(e), std::move(d)});
  }
  // Each stream's events in version order: a message delivered again after
  // a refusal may come back behind its successor.
  std::stable_sort(received.begin(), received.end(), [](const Received& a, const Received& b) {
    return a.event.stream() != b.event.stream() ? a.event.stream() < b.event.stream()
                                                : a.event.version() < b.event.version();
  });
  // On a stream, the offset after the batch's last message moves with its events.
  std::optional<uint64_t> resume = resume_after(received);
  std::optional<events::AppendRequest> request = append_of(received);
  if (!request) return import_one_by_one(kind, received);
  if (resume) request->side_writes.set_checkpoint(checkpoint_of(kind), *resume);
  auto appended = log_.append(std::move(*request));
  if (appended) {
    for (auto& r : received) (void)r.delivery.ack();  // an ack lost is a redelivery, which changes nothing
    acknowledged_ += received.size();
    if (!appended->already_appended) {
      imported_ += received.size();
    } else if (resume) {
      // Every event was here already: nothing was written, the offset neither.
      events::SideWrites offset;
      offset.set_checkpoint(checkpoint_of(kind), *resume);
      if (Status s = log_.write_derived(offset); !s) return s;
    }
    return Status::ok();
  }
  Status::Code code = appended.status().code();
  if (code != Status::Code::kWrongExpectedVersion && code != Status::Code::kDuplicateEventId) {
    for (auto& r : received) (void)r.delivery.nak(kComeBackIn);
    if (code == Status::Code::kShuttingDown) return Status::ok();
    return appended.status();
  }
  // Some were here already, or some arrived ahead of a gap: one at a time.
  return import_one_by_one(kind, received);
}

Status Importer::import_one_by_one(const std::string& kind, std::vector<Received>& received) {
  std::set<std::string, std::less<>> waiting;  // streams with a gap: their later events wait too
  // On a stream, a refused message comes back with everything after it, so
  // the offset stops at the first one refused. This path (duplicates, gaps)
  // writes it after the events, not with them: a crash in between resumes
  // earlier, and what comes again is dropped by its event id.
  std::optional<uint64_t> first_refused;
  auto refuse = [&](Delivery& d) {
    (void)d.nak(kComeBackIn);
    if (auto o = d.offset()) first_refused = std::min(first_refused.value_or(*o), *o);
  };
  for (size_t i = 0; i < received.size(); ++i) {
    const events::RecordedEvent& e = received[i].event;
    Delivery& delivery = received[i].delivery;
    if (waiting.count(e.stream())) {
      refuse(delivery);
      continue;
    }
    auto appended = log_.append(std::string(e.stream()), events::ExpectedVersion::exact(e.version() - 1), {copy_of(e)});
    if (appended) {
      (void)delivery.ack();
      ++acknowledged_;
      if (!appended->already_appended) ++imported_;
      continue;
    }
    const Status& s = appended.status();
    if (s.code() == Status::Code::kWrongExpectedVersion && s.actual_version() < e.version() - 1) {
      waiting.insert(std::string(e.stream()));
      refuse(delivery);
      continue;
    }
    for (size_t j = i; j < received.size(); ++j) refuse(received[j].delivery);
    if (s.code() == Status::Code::kShuttingDown) return Status::ok();
    return Status::corruption("cannot copy event " + e.id().to_string() + " (" + std::string(e.stream()) + " version " +
                                  std::to_string(e.version()) + ") into this log: " + s.to_string(),
                              0);
  }
  if (std::optional<uint64_t> resume = first_refused ? first_refused : resume_after(received)) {
    events::SideWrites offset;
    offset.set_checkpoint(checkpoint_of(kind), *resume);
    if (Status s = log_.write_derived(offset); !s) return s;
  }
  return Status::ok();
}

}  // namespace ordersd::bus
