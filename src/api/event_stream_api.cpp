#include "api/event_stream_api.h"

#include "events/thread_name.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "api/problems.h"
#include "events/event_json.h"
#include "events/event_types.h"
#include "events/json_writer.h"
#include "events/logging.h"
#include "http/params.h"

namespace ordersd::api {

using http::Request;
using http::Responder;
using http::Response;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 256;            // events examined per stream per round
constexpr size_t kFinalReserve = 1024;    // room kept in every queue for the final event
constexpr uint64_t kMinHeartbeatMs = 100;
constexpr uint64_t kMaxHeartbeatMs = 3'600'000;
constexpr uint64_t kMaxMaxMs = 7 * 24 * 3'600'000ull;
constexpr size_t kMaxStreamPrefix = 255;  // the longest stream name

std::string event_frame(const events::RecordedEvent& e) {
  std::string json = events::event_to_json(e);
  std::string out;
  out.reserve(json.size() + e.type().size() + 48);
  out += "id: ";
  out += std::to_string(e.position());
  out += "\nevent: ";
  out += e.type();
  out += "\ndata: ";
  out += json;
  out += "\n\n";
  return out;
}

// Splits "a,b" into {"a", "b"}; an empty element is kept (and refused by the caller).
std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    out.emplace_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

// What the route, the feed thread and the connections' hooks share. Held by
// all of them, so a hook that runs late never reaches a destroyed api.
struct EventStreamApi::Wake {
  std::mutex mu;
  std::stop_source kick_source;                  // guarded by mu; stopped = "look again"
  std::vector<std::shared_ptr<Feed>> incoming;   // guarded by mu: started, not yet taken by the thread
  bool stopping = false;                         // guarded by mu
  std::atomic<uint64_t> open{0}, started{0}, dropped{0}, events_sent{0}, peak_queue{0};

  void kick() {
    std::lock_guard lk(mu);
    kick_source.request_stop();
  }
  // A token the next kick stops (a fresh one once the last was used).
  std::stop_token token() {
    std::lock_guard lk(mu);
    if (kick_source.stop_requested()) kick_source = std::stop_source();
    return kick_source.get_token();
  }
};

// One open stream. Counts itself in Wake::open for its whole life, from the
// request that reserved it to whoever lets go of it last.
struct EventStreamApi::Feed {
  explicit Feed(std::shared_ptr<Wake> w) : wake(std::move(w)) {}
  ~Feed() {
    if (body) body->end();
    wake->open.fetch_sub(1);
  }
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  const std::shared_ptr<Wake> wake;
  std::shared_ptr<http::BodyStream> body;  // set when the head has gone out
  uint64_t next = 1;                       // the next position to examine
  uint64_t last_id = 0;                    // the last id the client was sent
  std::string prefix;                      // stream name prefix; "" for every stream
  std::vector<std::string> types;          // exact types; empty for every type
  uint64_t left = UINT64_MAX;              // events still to send (limit)
  Clock::time_point end_at = Clock::time_point::max();
  Clock::duration heartbeat{};
  Clock::time_point quiet_since;                 // the last write
  std::optional<Clock::time_point> full_since;   // the next frame has found no room since
  std::atomic<bool> waiting_for_room{false};     // the drain hook kicks the thread only then

  bool matches(const events::RecordedEvent& e) const {
    if (!prefix.empty() && !e.stream().starts_with(prefix)) return false;
    if (types.empty()) return true;
    return std::find(types.begin(), types.end(), e.type()) != types.end();
  }
  // {"reason", "last_event_id", "from"}: where to resume.
  std::string final_frame(std::string_view kind, std::string_view reason) const {
    JsonWriter w(128 + reason.size());
    w.open('{').key("reason").string(reason).key("last_event_id").number(next - 1).key("from").number(next).close('}');
    return "event: " + std::string(kind) + "\ndata: " + w.take() + "\n\n";
  }
};

EventStreamApi::EventStreamApi(const events::EventLog& log, EventStreamOptions options)
    : log_(log), options_(options), wake_(std::make_shared<Wake>()),
      thread_([this](std::stop_token stop) {
        events::name_this_thread("event-feed");
        run(stop);
      }) {}

EventStreamApi::~EventStreamApi() { stop(); }

void EventStreamApi::stop() {
  {
    std::lock_guard lk(wake_->mu);
    wake_->stopping = true;
    wake_->kick_source.request_stop();
  }
  if (thread_.joinable()) thread_.join();
}

void EventStreamApi::add_routes(Access& access, http::Router& router) {
  access.add(router, "GET", "/events/stream",
             [this](Request r, http::Router::Params, Responder respond) { stream(r, std::move(respond)); });
}

void EventStreamApi::stream(const Request& request, Responder respond) {
  auto query = http::parse_query(request.query(), {"from", "stream", "type", "heartbeat_ms", "limit", "max_ms"},
                                 {"type"});
  if (!query) return respond(bad_request(query.status().message()));
  auto number = [&](const char* name, uint64_t min, uint64_t max) -> Result<std::optional<uint64_t>> {
    auto it = query->find(name);
    if (it == query->end()) return std::optional<uint64_t>();
    auto n = http::parse_decimal(it->second);
    if (!n || *n < min || *n > max) {
      return Status::invalid_argument(std::string(name) + " must be an integer from " + std::to_string(min) + " to " +
                                      std::to_string(max));
    }
    return std::optional<uint64_t>(*n);
  };
  auto from = number("from", 0, UINT64_MAX - 1);
  auto heartbeat = number("heartbeat_ms", kMinHeartbeatMs, kMaxHeartbeatMs);
  auto limit = number("limit", 1, UINT64_MAX);
  auto max_ms = number("max_ms", 1, kMaxMaxMs);
  for (const auto* n : {&from, &heartbeat, &limit, &max_ms}) {
    if (!*n) return respond(bad_request(n->status().message()));
  }
  uint64_t start = std::max<uint64_t>(from->value_or(1), 1);
  // Last-Event-ID (the last position seen) wins over from: see the header.
  if (auto last = request.find_header("Last-Event-ID"); last && !last->empty()) {
    auto seen = http::parse_decimal(*last);
    if (!seen || *seen == UINT64_MAX) {
      return respond(bad_request("Last-Event-ID must be the id (a log position) of the last event received"));
    }
    start = *seen + 1;
  }
  std::string prefix;
  if (auto it = query->find("stream"); it != query->end()) {
    prefix = it->second;
    if (prefix.empty() || prefix.size() > kMaxStreamPrefix) {
      return respond(bad_request("stream must be a stream name prefix of 1 to 255 bytes"));
    }
  }
  std::vector<std::string> types;
  if (auto it = query->find("type"); it != query->end()) {
    types = split_commas(it->second);
    for (const auto& t : types) {
      if (!events::find_event_type(t)) {
        return respond(bad_request("type must name stored event types, such as order.placed.v1; '" + t +
                                   "' is not one"));
      }
    }
  }

  auto feed = std::make_shared<Feed>(wake_);  // counts itself open from here
  if (wake_->open.fetch_add(1) >= options_.max_streams) {
    Response r = Response::problem(503, "Service Unavailable",
                                   "the server has " + std::to_string(options_.max_streams) +
                                       " event streams open, as many as it serves; retry later");
    r.set_header("Retry-After", "5");
    return respond(std::move(r));
  }
  {
    std::lock_guard lk(wake_->mu);
    if (wake_->stopping) {
      Response r = Response::problem(503, "Service Unavailable", "the server is shutting down");
      r.set_header("Retry-After", "1");
      return respond(std::move(r));
    }
  }
  feed->next = start;
  feed->last_id = start - 1;
  feed->prefix = std::move(prefix);
  feed->types = std::move(types);
  feed->left = limit->value_or(UINT64_MAX);
  feed->heartbeat = std::chrono::milliseconds(heartbeat->value_or(static_cast<uint64_t>(options_.heartbeat.count())));
  auto now = Clock::now();
  feed->quiet_since = now;
  if (*max_ms) feed->end_at = now + std::chrono::milliseconds(**max_ms);

  Response r = Response::streamed(200, "text/event-stream", [wake = wake_, feed](std::shared_ptr<http::BodyStream> body) {
    feed->body = body;
    body->on_close([wake] { wake->kick(); });
    body->on_drain([wake, weak = std::weak_ptr<Feed>(feed)] {
      if (auto f = weak.lock(); f && f->waiting_for_room) wake->kick();
    });
    std::lock_guard lk(wake->mu);
    if (wake->stopping) {
      body->write(feed->final_frame("end", "shutdown"));
      return;  // ~Feed ends the body
    }
    wake->started.fetch_add(1);
    wake->incoming.push_back(feed);
    wake->kick_source.request_stop();
  });
  r.set_header("Cache-Control", "no-cache");
  r.set_header("X-Accel-Buffering", "no");  // nginx: pass each event on at once
  respond(std::move(r));
}

namespace {

// The events the feed thread read in one round, by the position each read
// started at, with each event's frame made at most once: the streams that
// follow the head all start at the same position.
class Batches {
 public:
  explicit Batches(const events::EventLog& log) : log_(log) {}
  struct Batch {
    std::optional<Status> error;
    std::vector<events::RecordedEvent> events;
    std::vector<std::string> frames;  // "" until made
  };
  Batch& at(uint64_t from) {
    auto [it, added] = batches_.try_emplace(from);
    if (added) {
      auto read = log_.read_all(from, kBatch);
      if (!read) {
        it->second.error = read.status();
      } else {
        it->second.events = std::move(read).value();
        it->second.frames.resize(it->second.events.size());
      }
    }
    return it->second;
  }
  static const std::string& frame(Batch& b, size_t i) {
    if (b.frames[i].empty()) b.frames[i] = event_frame(b.events[i]);
    return b.frames[i];
  }

 private:
  const events::EventLog& log_;
  std::unordered_map<uint64_t, Batch> batches_;
};

}  // namespace

void EventStreamApi::run(std::stop_token stop) {
  std::vector<std::shared_ptr<Feed>> feeds;
  Wake& wake = *wake_;
  const size_t cap = std::max(options_.queue_bytes, kFinalReserve * 2);
  // Room for `frame` in the feed's queue: within the cap with the final
  // event's reserve kept, or alone in an empty queue.
  auto fits = [&](const Feed& f, size_t frame) {
    size_t pending = f.body->pending();
    return pending == 0 || pending + frame + kFinalReserve <= cap;
  };
  auto push = [&](Feed& f, const std::string& frame, Clock::time_point now) {
    f.body->write(frame);
    f.quiet_since = now;
    uint64_t queued = f.body->pending();
    uint64_t peak = wake.peak_queue.load();
    while (queued > peak && !wake.peak_queue.compare_exchange_weak(peak, queued)) {
    }
  };
  auto finish = [&](Feed& f, std::string_view kind, std::string_view reason) {
    f.body->write(f.final_frame(kind, reason));
    f.body->end();
    if (kind == "dropped") {
      wake.dropped.fetch_add(1);
      logging::info("events", "event stream dropped", {{"reason", std::string(reason)}, {"from", std::to_string(f.next)}});
    }
  };

  for (;;) {
    std::stop_token kicked = wake.token();
    bool stopping;
    {
      std::lock_guard lk(wake.mu);
      for (auto& f : wake.incoming) feeds.push_back(std::move(f));
      wake.incoming.clear();
      stopping = wake.stopping || stop.stop_requested();
    }
    if (stopping) {
      for (auto& f : feeds) {
        if (!f->body->gone()) finish(*f, "end", "shutdown");
      }
      return;  // with wake.stopping set, nothing more comes in
    }

    auto now = Clock::now();
    uint64_t head = log_.head();
    Batches batches(log_);
    bool busy = false;                                  // a stream can take more at once
    uint64_t wait_position = UINT64_MAX;                // the head to wait for
    Clock::time_point wake_at = now + std::chrono::seconds(1);
    for (auto it = feeds.begin(); it != feeds.end();) {
      Feed& f = **it;
      bool over = [&] {
        if (f.body->gone()) return true;
        if (f.body->stopping()) return finish(f, "end", "shutdown"), true;
        if (now >= f.end_at) return finish(f, "end", "max_ms"), true;
        bool full = false;
        if (f.next <= head) {
          Batches::Batch& batch = batches.at(f.next);
          if (batch.error) return finish(f, "end", "the log cannot be read: " + batch.error->to_string()), true;
          for (size_t i = 0; i < batch.events.size(); ++i) {
            const events::RecordedEvent& e = batch.events[i];
            if (!f.matches(e)) {
              f.next = e.position() + 1;
              continue;
            }
            const std::string& frame = Batches::frame(batch, i);
            if (!fits(f, frame.size())) {
              full = true;
              break;
            }
            push(f, frame, now);
            f.next = e.position() + 1;
            f.last_id = e.position();
            wake.events_sent.fetch_add(1, std::memory_order_relaxed);
            if (--f.left == 0) return finish(f, "end", "limit"), true;
          }
        }
        if (full) {
          if (!f.full_since) {
            f.full_since = now;
            f.waiting_for_room = true;
          } else if (now - *f.full_since >= options_.stall) {
            finish(f, "dropped",
                   "the client left no room for the next event in its queue (" +
                       std::to_string(f.body->pending()) + " bytes not taken) for " +
                       std::to_string(options_.stall.count()) + " ms");
            return true;
          }
          // Re-checked once the client takes some (the drain hook), or at the stall deadline.
          wake_at = std::min(wake_at, *f.full_since + options_.stall);
        } else {
          f.full_since.reset();
          f.waiting_for_room = false;
          if (f.next <= head) busy = true;
          else wait_position = std::min(wait_position, f.next);
        }
        if (now - f.quiet_since >= f.heartbeat) {
          std::string beat = ": heartbeat\n";
          if (f.next - 1 > f.last_id) {  // events filtered out since the last id: skip them on a resume
            beat += "id: " + std::to_string(f.next - 1) + "\n";
          }
          beat += "\n";
          if (fits(f, beat.size())) {
            push(f, beat, now);
            f.last_id = std::max(f.last_id, f.next - 1);
          }
          f.quiet_since = now;  // a full queue is not idle: no heartbeat is owed
        }
        wake_at = std::min(wake_at, f.quiet_since + f.heartbeat);
        wake_at = std::min(wake_at, f.end_at);
        return false;
      }();
      if (over) {
        it = feeds.erase(it);
      } else {
        ++it;
      }
    }
    if (busy) continue;
    if (feeds.empty()) {
      // No stream open: the log's commits are none of this thread's business
      // (waiting on the log would wake it on every one) until a stream
      // starts or the server stops, which kick it.
      std::mutex idle;
      std::condition_variable_any never_notified;
      std::unique_lock lk(idle);
      never_notified.wait_until(lk, kicked, wake_at, [] { return false; });
      continue;
    }
    log_.wait_for(wait_position, wake_at, kicked);
  }
}

std::string EventStreamApi::render_metrics() const {
  const Wake& w = *wake_;
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("ordersd_event_streams_open", "gauge", "GET /events/stream feeds open now.", w.open.load());
  metric("ordersd_event_streams_started_total", "counter", "GET /events/stream feeds started.", w.started.load());
  metric("ordersd_event_stream_dropped_total", "counter",
         "Feeds ended because their client left no room for the next event for the stall time.", w.dropped.load());
  metric("ordersd_event_stream_events_total", "counter", "Events sent on the feeds.", w.events_sent.load());
  metric("ordersd_event_stream_queue_peak_bytes", "gauge",
         "The most bytes ever queued for one feed and not yet taken by its client.", w.peak_queue.load());
  metric("ordersd_event_stream_queue_limit_bytes", "gauge", "The bytes a feed's queue may hold.",
         std::max(options_.queue_bytes, kFinalReserve * 2));
  return out;
}

}  // namespace ordersd::api
