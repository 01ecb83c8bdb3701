#include "write/pipeline/stream_turns.h"

namespace ordersd::write {

bool StreamTurns::take_or_queue(std::string_view stream, std::function<void()> granted) {
  std::lock_guard lk(mu_);
  auto [it, free] = held_.try_emplace(std::string(stream));
  if (free) return true;
  it->second.push_back(Waiter{std::move(granted), nullptr});
  ++waits_;
  return false;
}

void StreamTurns::take(std::string_view stream) {
  auto blocked = std::make_shared<Blocked>();
  {
    std::lock_guard lk(mu_);
    auto [it, free] = held_.try_emplace(std::string(stream));
    if (free) return;
    it->second.push_back(Waiter{nullptr, blocked});
    ++waits_;
  }
  std::unique_lock lk(blocked->mu);
  blocked->cv.wait(lk, [&] { return blocked->granted; });
}

void StreamTurns::release(std::string_view stream) {
  Waiter next;
  {
    std::lock_guard lk(mu_);
    auto it = held_.find(std::string(stream));
    if (it == held_.end()) return;
    if (it->second.empty()) {
      held_.erase(it);
      return;
    }
    // The stream stays held: the turn passes straight to the next in line.
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  if (next.blocked) {
    {
      std::lock_guard lk(next.blocked->mu);
      next.blocked->granted = true;
    }
    next.blocked->cv.notify_one();
  } else {
    next.granted();
  }
}

size_t StreamTurns::held() const {
  std::lock_guard lk(mu_);
  return held_.size();
}

uint64_t StreamTurns::waits() const {
  std::lock_guard lk(mu_);
  return waits_;
}

}  // namespace ordersd::write
