#include "bus/relay.h"

#include "events/thread_name.h"

#include <algorithm>
#include <condition_variable>

#include "bus/roles.h"
#include "events/logging.h"

namespace ordersd::bus {

namespace {

constexpr size_t kBatch = 1024;
// The broker acknowledges in milliseconds; one that has not in a second is
// gone, and the batch goes again.
constexpr auto kAckWait = std::chrono::seconds(1);
constexpr auto kProbeEvery = std::chrono::seconds(2);  // while idle

// Sleeps for `d` unless a stop is requested first.
void pause_for(std::stop_token stop, std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lk(mu);
  cv.wait_for(lk, stop, d, [] { return false; });
}

}  // namespace

void Relay::start() {
  {
    std::lock_guard lk(mu_);
    failure_.reset();
  }
  thread_ = std::jthread([this](std::stop_token stop) {
    events::name_this_thread("relay");
    run(stop);
  });
}

void Relay::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

std::string Relay::last_error() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

void Relay::set_error(std::string e) {
  bool recovered = false;
  {
    std::lock_guard lk(mu_);
    recovered = e.empty() && !last_error_.empty();
    last_error_ = e;
    if (e.empty()) {
      failing_since_.reset();
    } else if (!failing_since_) {
      failing_since_ = std::chrono::steady_clock::now();
    }
  }
  // A broker that is away fails every retry: one line per 10 s says so.
  if (!e.empty()) {
    logging::log_limited(logging::Level::kWarn, "relay/error", "relay", "cannot publish",
                         {{"error", e}, {"position", std::to_string(position_.load())}});
  } else if (recovered) {
    logging::info("relay", "publishing again", {{"position", std::to_string(position_.load())}});
  }
}

std::chrono::steady_clock::duration Relay::failing_for() const {
  std::lock_guard lk(mu_);
  if (!failing_since_) return {};
  return std::chrono::steady_clock::now() - *failing_since_;
}

std::optional<Status> Relay::failure() const {
  std::lock_guard lk(mu_);
  return failure_;
}

void Relay::fail(Status s) {
  std::lock_guard lk(mu_);
  failure_ = std::move(s);
}

void Relay::run(std::stop_token stop) {
  auto stored = log_.checkpoint(kCheckpoint);
  if (!stored) return fail(stored.status());
  uint64_t done = stored->value_or(0);
  position_ = done;
  // While there is nothing to publish, the broker is asked now and then
  // whether it would take a message: an outage shows (last_error(),
  // failing_for()) before a command's events find it.
  auto next_probe = std::chrono::steady_clock::now() + kProbeEvery;
  while (!stop.stop_requested()) {
    if (!log_.wait_for(done + 1, std::chrono::steady_clock::now() + std::chrono::milliseconds(250), stop)) {
      if (std::chrono::steady_clock::now() >= next_probe && !stop.stop_requested()) {
        Status s = bus_.probe(kAckWait);
        set_error(s ? std::string() : s.to_string());
        next_probe = std::chrono::steady_clock::now() + kProbeEvery;
      }
      continue;
    }
    auto batch = log_.read_all(done + 1, kBatch);
    // A damaged record reads the same way every time: stop and say where.
    if (!batch) return fail(batch.status());
    if (batch->empty()) continue;
    std::vector<Outgoing> out;
    for (const auto& e : *batch) {
      std::string_view kind = stream_kind(e.stream());
      if (kinds_.count(std::string(kind))) {
        out.push_back({std::string(kind), e.id().to_string(), e.envelope_bytes(), route_ ? route_(e) : std::string()});
      }
    }
    // Until the broker has all of it: a message it already has is dropped by id.
    auto backoff = std::chrono::milliseconds(50);
    while (!out.empty() && !stop.stop_requested()) {
      Status s = bus_.publish(out, kAckWait);
      if (s) {
        set_error("");
        break;
      }
      set_error(s.to_string());
      pause_for(stop, backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(2));
    }
    if (stop.stop_requested()) return;
    events::SideWrites checkpoint;
    checkpoint.set_checkpoint(kCheckpoint, batch->back().position());
    if (Status s = log_.write_derived(checkpoint); !s) return fail(s);  // a restart resumes from the last checkpoint
    done = batch->back().position();
    position_ = done;
    published_ += out.size();
  }
}

}  // namespace ordersd::bus
