// SagaRuntime: the orchestrator and the three participants, as one process
// runs them by default. Each reads the log on a thread of its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "write/participants.h"
#include "write/saga_orchestrator.h"

namespace ordersd::write {

struct SagaConfig {
  SagaPolicy policy;
  ServedCountries ship_to = default_served_countries();
};

class SagaRuntime {
 public:
  // Reloads the running sagas; start() begins reading the log.
  static Result<std::unique_ptr<SagaRuntime>> open(events::EventLog& log, SagaConfig config);
  ~SagaRuntime();  // stop()s

  // `paused`: names of participants to start held (see Participant::pause()).
  void start(const std::vector<std::string>& paused = {});
  // Stops every reader after the batch in hand; idempotent.
  void stop();

  SagaOrchestrator& orchestrator() { return *orchestrator_; }
  const SagaOrchestrator& orchestrator() const { return *orchestrator_; }
  // The orchestrator ("saga"), then "payment", "inventory" and "shipping".
  std::vector<Participant*> participants() const;
  // nullptr for an unknown name.
  Participant* find(std::string_view name) const;

 private:
  SagaRuntime() = default;
  std::unique_ptr<SagaOrchestrator> orchestrator_;
  std::unique_ptr<Participant> payment_, inventory_, shipping_;
};

}  // namespace ordersd::write
