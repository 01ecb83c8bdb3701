// SagaRuntime: the orchestrator and the three participants, as one process
// runs them by default. Each reads the log on a thread of its own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "write/saga/participants.h"
#include "write/saga/saga_orchestrator.h"

namespace ordersd::write {

struct SagaConfig {
  SagaPolicy policy;
  ServedCountries ship_to = default_served_countries();
};

class SagaRuntime {
 public:
  // Reloads the running sagas; start() begins reading the log.
  // `turns` (which must outlive the runtime) is shared with the HTTP
  // commands that write wallets and skus.
  static Result<std::unique_ptr<SagaRuntime>> open(events::EventLog& log, SagaConfig config, StreamTurns& turns);
  ~SagaRuntime();  // stop()s

  // `paused`: names of participants to start held (see Participant::pause()).
  // `only`: the names of those this process runs ("saga", "payment",
  // "inventory", "shipping"); all four when not given. The others are left
  // out of participants() and find().
  void start(const std::vector<std::string>& paused = {},
             const std::optional<std::vector<std::string>>& only = std::nullopt);
  // Stops every reader after the batch in hand; idempotent.
  void stop();

  SagaOrchestrator& orchestrator() { return *orchestrator_; }
  const SagaOrchestrator& orchestrator() const { return *orchestrator_; }
  // Those this process runs, of the orchestrator ("saga"), "payment",
  // "inventory" and "shipping", in that order.
  std::vector<Participant*> participants() const;
  // nullptr for an unknown name.
  Participant* find(std::string_view name) const;

 private:
  SagaRuntime() = default;
  std::unique_ptr<SagaOrchestrator> orchestrator_;
  std::unique_ptr<Participant> payment_, inventory_, shipping_;
  std::optional<std::vector<std::string>> only_;  // none: all four
};

}  // namespace ordersd::write
