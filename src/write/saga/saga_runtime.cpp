#include "write/saga/saga_runtime.h"

#include <algorithm>

namespace ordersd::write {

Result<std::unique_ptr<SagaRuntime>> SagaRuntime::open(events::EventLog& log, SagaConfig config, StreamTurns& turns) {
  std::unique_ptr<SagaRuntime> runtime(new SagaRuntime());
  auto orchestrator = SagaOrchestrator::open(log, {config.policy, {}});
  if (!orchestrator) return orchestrator.status();
  runtime->orchestrator_ = std::move(orchestrator).value();
  runtime->payment_ = make_payment_participant(log, turns);
  runtime->inventory_ = make_inventory_participant(log, turns);
  runtime->shipping_ = make_shipping_participant(log, std::move(config.ship_to));
  return runtime;
}

SagaRuntime::~SagaRuntime() { stop(); }

void SagaRuntime::start(const std::vector<std::string>& paused, const std::optional<std::vector<std::string>>& only) {
  only_ = only;
  for (Participant* p : participants()) p->start(std::find(paused.begin(), paused.end(), p->name()) != paused.end());
}

void SagaRuntime::stop() {
  for (Participant* p : participants()) p->stop();
}

std::vector<Participant*> SagaRuntime::participants() const {
  std::vector<Participant*> out;
  for (Participant* p : {static_cast<Participant*>(orchestrator_.get()), payment_.get(), inventory_.get(), shipping_.get()}) {
    if (!only_ || std::find(only_->begin(), only_->end(), p->name()) != only_->end()) out.push_back(p);
  }
  return out;
}

Participant* SagaRuntime::find(std::string_view name) const {
  for (Participant* p : participants()) {
    if (p->name() == name) return p;
  }
  return nullptr;
}

}  // namespace ordersd::write
