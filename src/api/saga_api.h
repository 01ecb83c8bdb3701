// SagaApi: the operator's view of the saga and its participants.
//
//   GET  /sagas/{order_id}              the saga's state, folded from its stream
//   GET  /sagas?status=stuck            sagas whose compensation gave up
//   POST /sagas/{order_id}/retry        a stuck saga tries its compensation again (202)
//   GET  /participants                  each reader's position, lag, state, restarts
//                                       and last error
//   POST /participants/{name}/pause     hold a participant: its requests wait in the log
//   POST /participants/{name}/resume
#pragma once

#include "events/event_log.h"
#include "events/supervisor.h"
#include "api/access.h"
#include "http/router.h"
#include "write/saga/saga_runtime.h"
#include "write/pipeline/work_queue.h"

namespace ordersd::api {

class SagaApi {
 public:
  SagaApi(events::EventLog& log, write::SagaRuntime& saga, write::WorkQueue& work, UuidGenerator& ids,
          const events::Supervisor& supervisor)
      : log_(log), saga_(saga), work_(work), ids_(ids), supervisor_(supervisor) {}

  void add_routes(Access& access, http::Router& router);

 private:
  void get_saga(std::string order_id, http::Responder respond);
  void list_sagas(const http::Request& request, http::Responder respond);
  void retry(http::Request request, std::string order_id, http::Responder respond);
  void list_participants(http::Responder respond);
  void pause(http::Request request, std::string name, bool paused, http::Responder respond);

  events::EventLog& log_;
  write::SagaRuntime& saga_;
  write::WorkQueue& work_;
  UuidGenerator& ids_;
  const events::Supervisor& supervisor_;
};

}  // namespace ordersd::api
