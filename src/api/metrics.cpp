#include "api/metrics.h"

#include <cstdio>

namespace ordersd::api {

namespace {

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void histogram(std::string& out, const std::string& name, const std::string& labels, const Histogram::Snapshot& s) {
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < s.upper_bounds.size(); ++i) {
    out += name + "_bucket{" + labels + sep + "le=\"" + number(s.upper_bounds[i]) + "\"} " +
           std::to_string(s.cumulative[i]) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(s.count) + "\n";
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(s.sum) + "\n";
  out += name + "_count" + braces + " " + std::to_string(s.count) + "\n";
}

}  // namespace

void Metrics::record_request(std::string_view route, int status, double seconds) {
  std::lock_guard lk(mu_);
  auto it = routes_.find(route);
  if (it == routes_.end()) {
    it = routes_.emplace(std::string(route), Route{{}, std::make_unique<Histogram>(kLatencyBounds)}).first;
  }
  ++it->second.by_status[status];
  it->second.latency->observe(seconds);
}

std::string Metrics::render(const events::EventLog& log, const write::SagaRuntime& saga,
                            const std::vector<const read::ViewSlot*>& views, const bus::Relay* relay,
                            const bus::Importer* importer, const events::Supervisor* supervisor,
                            const write::StreamTurns* turns) const {
  std::string out;
  out += "# HELP ordersd_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE ordersd_http_requests_total counter\n";
  std::map<std::string, Histogram::Snapshot> latency;
  {
    std::lock_guard lk(mu_);
    for (const auto& [route, r] : routes_) {
      for (const auto& [status, count] : r.by_status) {
        out += "ordersd_http_requests_total{route=\"" + route + "\",status=\"" + std::to_string(status) + "\"} " +
               std::to_string(count) + "\n";
      }
      latency.emplace(route, r.latency->snapshot());
    }
  }
  out += "# HELP ordersd_http_request_duration_seconds Time from a request's arrival to its answer.\n";
  out += "# TYPE ordersd_http_request_duration_seconds histogram\n";
  for (const auto& [route, s] : latency) {
    histogram(out, "ordersd_http_request_duration_seconds", "route=\"" + route + "\"", s);
  }

  events::EventLogStats stats = log.stats();
  out += "# HELP ordersd_log_head The last committed global position.\n";
  out += "# TYPE ordersd_log_head gauge\n";
  out += "ordersd_log_head " + std::to_string(log.head()) + "\n";
  out += "# HELP ordersd_log_appends_total Appends acknowledged.\n";
  out += "# TYPE ordersd_log_appends_total counter\n";
  out += "ordersd_log_appends_total " + std::to_string(stats.appends) + "\n";
  out += "# HELP ordersd_log_refused_total Appends refused (expected version, duplicate id).\n";
  out += "# TYPE ordersd_log_refused_total counter\n";
  out += "ordersd_log_refused_total " + std::to_string(stats.refused) + "\n";
  out += "# HELP ordersd_log_batch_events Events per group commit.\n";
  out += "# TYPE ordersd_log_batch_events histogram\n";
  histogram(out, "ordersd_log_batch_events", "", log.batch_sizes());
  out += "# HELP ordersd_log_fsync_seconds Time per write-ahead-log fsync.\n";
  out += "# TYPE ordersd_log_fsync_seconds histogram\n";
  histogram(out, "ordersd_log_fsync_seconds", "", log.fsync_seconds());

  write::SagaStats sagas = saga.orchestrator().stats();
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("ordersd_sagas_started_total", "counter", "Sagas started (since this process started).", sagas.started);
  metric("ordersd_sagas_shipped_total", "counter", "Sagas that ended with the shipment initiated.", sagas.shipped);
  metric("ordersd_sagas_cancelled_total", "counter", "Sagas that ended with the order cancelled.", sagas.cancelled);
  metric("ordersd_saga_step_retries_total", "counter", "Step requests sent again after a deadline.", sagas.retries);
  metric("ordersd_saga_step_timeouts_total", "counter", "Forward steps given up after every attempt.", sagas.timeouts);
  metric("ordersd_sagas_parked_total", "counter", "Sagas parked as stuck.", sagas.parked);
  metric("ordersd_sagas_running", "gauge", "Sagas waiting for a step's answer.", sagas.running);
  metric("ordersd_sagas_stuck", "gauge", "Sagas whose compensation gave up; POST /sagas/{id}/retry.", sagas.stuck);
  out += "# HELP ordersd_saga_completion_seconds Time from an order's placement to its shipment.\n";
  out += "# TYPE ordersd_saga_completion_seconds histogram\n";
  histogram(out, "ordersd_saga_completion_seconds", "", saga.orchestrator().completion_seconds());
  out += "# HELP ordersd_participant_lag_events Events in the log a participant has not handled yet.\n";
  out += "# TYPE ordersd_participant_lag_events gauge\n";
  uint64_t head = log.head();
  for (const write::Participant* p : saga.participants()) {
    uint64_t at = p->position();
    out += "ordersd_participant_lag_events{participant=\"" + p->name() + "\"} " +
           std::to_string(head > at ? head - at : 0) + "\n";
  }
  out += "# HELP ordersd_participant_up 1 while a participant reads the log, 0 when paused or failed.\n";
  out += "# TYPE ordersd_participant_up gauge\n";
  for (const write::Participant* p : saga.participants()) {
    bool up = !p->paused() && !p->failure();
    out += "ordersd_participant_up{participant=\"" + p->name() + "\"} " + (up ? "1" : "0") + std::string("\n");
  }
  out += "# HELP ordersd_view_lag_events Events in the log a view has not applied yet.\n";
  out += "# TYPE ordersd_view_lag_events gauge\n";
  for (const read::ViewSlot* slot : views) {
    uint64_t at = slot->current()->position();
    out += "ordersd_view_lag_events{view=\"" + slot->spec().name + "\"} " + std::to_string(head > at ? head - at : 0) +
           "\n";
  }
  out += "# HELP ordersd_view_up 1 while a view's projector applies the log, 0 once it failed.\n";
  out += "# TYPE ordersd_view_up gauge\n";
  for (const read::ViewSlot* slot : views) {
    out += "ordersd_view_up{view=\"" + slot->spec().name + "\"} " + (slot->current()->failure() ? "0" : "1") +
           std::string("\n");
  }
  if (relay && importer) {
    uint64_t relayed = relay->position();
    metric("ordersd_bus_relay_lag_events", "gauge", "Events in the log the relay has not yet had acknowledged by the broker.",
           head > relayed ? head - relayed : 0);
    metric("ordersd_bus_published_total", "counter", "Messages the broker acknowledged from this process's relay since start.",
           relay->published());
    metric("ordersd_bus_imported_total", "counter", "Events copied into this log from the bus since start.",
           importer->imported());
    metric("ordersd_bus_relay_failing_seconds", "gauge",
           "Seconds publishing has failed without a success (0 while the broker takes events); from 5, commands answer 503.",
           static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(relay->failing_for()).count()));
    metric("ordersd_bus_fetch_failing_kinds", "gauge", "Stream kinds whose last fetch from the bus failed.",
           importer->fetch_errors().size());
    metric("ordersd_bus_importer_up", "gauge", "1 while every consumer of this process copies events in, 0 once one stopped.",
           importer->failure() ? 0 : 1);
  }
  if (supervisor) {
    auto reports = supervisor->reports();
    out += "# HELP ordersd_component_up 1 while a supervised component runs, 0 while it restarts or has failed.\n";
    out += "# TYPE ordersd_component_up gauge\n";
    for (const auto& r : reports) {
      out += "ordersd_component_up{component=\"" + r.name + "\"} " +
             (r.state == events::Supervisor::State::kRunning ? "1" : "0") + "\n";
    }
    out += "# HELP ordersd_component_failed 1 while a component waits for an operator after a permanent failure.\n";
    out += "# TYPE ordersd_component_failed gauge\n";
    for (const auto& r : reports) {
      out += "ordersd_component_failed{component=\"" + r.name + "\"} " +
             (r.state == events::Supervisor::State::kFailed ? "1" : "0") + "\n";
    }
    out += "# HELP ordersd_component_restarts_total Restarts of a component since this process started.\n";
    out += "# TYPE ordersd_component_restarts_total counter\n";
    for (const auto& r : reports) {
      out += "ordersd_component_restarts_total{component=\"" + r.name + "\"} " + std::to_string(r.restarts) + "\n";
    }
  }
  if (turns) {
    metric("ordersd_stream_turn_waits_total", "counter",
           "Writes that queued behind another writer of the same stream (a hot wallet or sku).", turns->waits());
  }
  return out;
}

}  // namespace ordersd::api
