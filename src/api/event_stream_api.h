// EventStreamApi: the log as a live feed of Server-Sent Events.
//
//   GET /events/stream?from=P&stream=PREFIX&type=T[,T...]&heartbeat_ms=N&limit=N&max_ms=N
//
// Each event of the log is one SSE event, in log order:
//
//   id: 42                       its global position
//   event: order.placed.v1       its type
//   data: {...}                  its JSON as GET /events gives it, one line
//
// Where it starts: after `Last-Event-ID: P` (the last position the client
// saw: the feed starts at P + 1), else at `from` (the first position to
// send; 1 by default). Last-Event-ID wins over `from`, since a browser's
// EventSource reconnects to the same URL and adds the header. A position
// past the head is waited for.
//
// Filters: `stream` is a stream name prefix ("order-"), `type` one or more
// exact stored type names (repeated, or comma-separated). A feed whose
// filter skipped events since its last id sends `id: P` with its next
// heartbeat (a block without data, which sets a client's last event id
// without dispatching an event), so a resumed filtered feed does not
// examine those events again.
//
// Heartbeats: a comment, `: heartbeat`, after `heartbeat_ms` (15,000 by
// default) without a write, so that proxies keep an idle feed open.
//
// The feed ends with a last event and the end of the body (the connection
// closes): `event: end` with `{"reason", "last_event_id", "from"}` after
// `limit` events, after `max_ms`, or when the server stops ("limit",
// "max_ms", "shutdown"), and `event: dropped` with the same fields for a
// client that cannot keep up (below). `last_event_id` is the last position
// the feed examined: resume with it as Last-Event-ID, or with `from`.
//
// Threads. No I/O or work-queue thread ever waits for events. One feed thread
// serves every open stream: it reads the log (read_all) from each stream's
// position, formats each event once per round for all the streams at the
// same position, pushes frames into each connection's body, and then sleeps
// in EventLog::wait_for until the head moves past what it has seen, the next
// heartbeat, limit or stall deadline comes, or it is kicked: by a new
// stream, by a client that went away or drained its queue, or by stop().
// Each stream gets at most one batch (256 events) per round, so a stream
// catching up from far back does not hold up the live ones. One thread is
// enough here: per event and stream the work is a prefix compare and a
// string copy; the JSON is made once.
//
// Memory. What the connection has not taken yet is bounded by queue_bytes
// (1 MiB) per stream: a frame is pushed only when it fits, so a client
// catching up is fed as fast as it reads, the log being its buffer, not
// memory. A stream whose next frame has found no room for `stall` (10 s) is
// dropped: its client does not read (or reads too slowly to take one event
// in that time). The final event has room kept for it. The one exception to
// the bound is a single event larger than queue_bytes, which is pushed
// alone into an empty queue. At most max_streams streams are open at once
// (503 beyond), so all of it is at most max_streams x queue_bytes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/access.h"
#include "events/event_log.h"
#include "http/router.h"

namespace ordersd::api {

struct EventStreamOptions {
  size_t queue_bytes = size_t{1} << 20;               // per stream: bytes not yet taken by its client
  std::chrono::milliseconds stall{10'000};            // no room for the next frame this long: dropped
  std::chrono::milliseconds heartbeat{15'000};        // default of heartbeat_ms
  size_t max_streams = 256;                           // open at once; 503 beyond
};

class EventStreamApi {
 public:
  EventStreamApi(const events::EventLog& log, EventStreamOptions options);
  ~EventStreamApi();  // stop()s

  void add_routes(Access& access, http::Router& router);

  // Ends every open stream with `event: end` (reason "shutdown") and stops
  // the feed thread; later requests get 503. Idempotent; from one
  // controlling thread, before the HTTP server stops.
  void stop();

  // Open streams, dropped ones, events sent, the largest queue, for /metrics.
  std::string render_metrics() const;

  struct Feed;
  struct Wake;

 private:
  void stream(const http::Request& request, http::Responder respond);
  void run(std::stop_token stop);

  const events::EventLog& log_;
  const EventStreamOptions options_;
  std::shared_ptr<Wake> wake_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Feed>> incoming_;  // guarded by mu_: started, not yet seen by the thread
  bool stopping_ = false;                        // guarded by mu_

  std::atomic<uint64_t> open_{0}, started_{0}, dropped_{0}, events_sent_{0}, peak_queue_{0};
  std::jthread thread_;  // last: starts once the rest is ready
};

}  // namespace ordersd::api
