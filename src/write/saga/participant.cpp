#include "write/saga/participant.h"

namespace ordersd::write {

void Participant::start(bool paused, size_t batch_size) {
  events::Subscription::Options options;
  options.batch_size = batch_size;
  options.start_paused = paused;
  options.committed = [this] { committed(); };
  options.abandoned = [this] { abandoned(); };
  options.wake_at = [this] { return wake_at(); };
  subscription_ = std::make_unique<events::Subscription>(
      log_, name_,
      [this](const std::vector<events::RecordedEvent>& batch) {
        auto writes = handle(batch);
        // What a participant (the saga included) decides commits together
        // with its checkpoint, so each decision is appended once: its ids,
        // derived from what caused it, need no index (events/event.h).
        if (writes) {
          for (auto& part : writes->streams) {
            for (auto& e : part.events) e.unique_id = true;
          }
        }
        return writes;
      },
      std::move(options));
}

void Participant::stop() {
  if (subscription_) subscription_->stop();
}

Status Participant::restart() {
  if (!subscription_) return Status::invalid_argument("participant '" + name_ + "' was never started");
  subscription_->stop();
  if (Status s = recover(); !s) return s;
  subscription_->restart();
  if (auto failed = subscription_->failure()) return *failed;
  return Status::ok();
}

void Participant::pause() {
  if (subscription_) subscription_->pause();
}

void Participant::resume() {
  if (subscription_) subscription_->resume();
}

bool Participant::paused() const { return subscription_ && subscription_->paused(); }

uint64_t Participant::position() const { return subscription_ ? subscription_->position() : 0; }

std::optional<Status> Participant::failure() const {
  return subscription_ ? subscription_->failure() : std::nullopt;
}

bool Participant::wait_for(uint64_t position, std::chrono::milliseconds timeout) const {
  return subscription_ && subscription_->wait_for(position, timeout);
}

}  // namespace ordersd::write
