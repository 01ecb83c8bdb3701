// OperationsApi: how an operator sees and steers a running process.
//
//   GET  /health                        everything at once; "degraded" with reasons
//                                       whenever a component failed, is restarting,
//                                       or the relay cannot publish
//   GET  /health/live                   200 while the process answers
//   GET  /health/ready                  200 when every component of this process's
//                                       roles runs and is within the ready lag;
//                                       else 503 with the reasons
//   GET  /metrics                       Prometheus text
//   GET  /admin/components              each supervised component: state, position,
//                                       lag, restarts, last error, failed position
//   POST /admin/components/{name}/retry restart a failed component
//   POST /admin/components/{name}/skip  {"position": N}: mark the event its failure
//                                       names as handled, and restart past it
//   GET  /admin/audit                   admin actions taken through the API, newest
//                                       first: ?limit=N&cursor=C
//
// /health is open; without the metrics scope it says only ok or degraded.
// Operator actions are recorded as events before they act (supervisor.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/access.h"
#include "api/audit_trail.h"
#include "api/command_runner.h"
#include "bus/shards.h"
#include "bus/importer.h"
#include "bus/relay.h"
#include "events/event_log.h"
#include "events/supervisor.h"
#include "http/router.h"
#include "read/view_slot.h"
#include "write/saga/saga_runtime.h"
#include "write/pipeline/stream_turns.h"
#include "write/pipeline/work_queue.h"

namespace ordersd::api {

class Metrics;

struct OperationsParts {
  const events::EventLog& log;
  events::Supervisor& supervisor;
  const write::SagaRuntime& saga;
  const write::StreamTurns& turns;
  std::vector<const read::ViewSlot*> views;
  std::string roles;
  const bus::Relay* relay = nullptr;  // null without a bus
  const bus::Importer* importer = nullptr;
  uint64_t ready_lag = 10'000;  // events a component may be behind the head and still be ready
  const AuditTrail* audit = nullptr;
  CommandGate command_gate;  // why commands are refused now, if they are
  bus::ShardMap shards;                 // the deployment's shard map (from --peers)
  std::optional<bus::ShardSpec> shard;  // this process's shard of its role
};

class OperationsApi {
 public:
  OperationsApi(OperationsParts parts, const Metrics& metrics, write::WorkQueue& work)
      : parts_(std::move(parts)), metrics_(metrics), work_(work) {}
  void add_routes(Access& access, http::Router& router);

  // Adds text to every /metrics answer (Prometheus lines of another part);
  // before serving.
  void add_metrics(std::function<std::string()> render) { extra_metrics_.push_back(std::move(render)); }

  // Why the process is not ready (empty when it is).
  std::vector<std::string> not_ready_reasons() const;
  // Why it is degraded (empty when it is not).
  std::vector<std::string> degraded_reasons() const;

 private:
  void health(bool full, http::Responder respond) const;
  void components(http::Responder respond) const;
  void act(http::Request request, std::string name, bool skip, std::string actor, http::Responder respond);
  void audit(const http::Request& request, http::Responder respond) const;

  OperationsParts parts_;
  const Metrics& metrics_;
  write::WorkQueue& work_;
  std::vector<std::function<std::string()>> extra_metrics_;
};

}  // namespace ordersd::api
