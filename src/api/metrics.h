// Metrics: what /metrics reports, in the Prometheus text format 0.0.4.
// record_request() is thread-safe and cheap (a mutex over a small map).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bus/importer.h"
#include "bus/relay.h"
#include "events/event_log.h"
#include "events/histogram.h"
#include "events/supervisor.h"
#include "write/pipeline/stream_turns.h"
#include "read/view_slot.h"
#include "write/saga/saga_runtime.h"

namespace ordersd::api {

class Metrics {
 public:
  void record_request(std::string_view route, int status, double seconds);
  // Requests, latency, the log's head, batch sizes and fsync latency, and
  // the saga's counts and its readers' positions, the views, and the bus
  // (when the process has one: relay and importer not null).
  std::string render(const events::EventLog& log, const write::SagaRuntime& saga,
                     const std::vector<const read::ViewSlot*>& views, const bus::Relay* relay = nullptr,
                     const bus::Importer* importer = nullptr, const events::Supervisor* supervisor = nullptr,
                     const write::StreamTurns* turns = nullptr) const;

 private:
  mutable std::mutex mu_;
  struct Route {
    std::map<int, uint64_t> by_status;
    std::unique_ptr<Histogram> latency;
  };
  std::map<std::string, Route, std::less<>> routes_;  // guarded by mu_
};

}  // namespace ordersd::api
