#include "events/recent_events.h"

#include <algorithm>
#include <mutex>

namespace ordersd::events {

void RecentEvents::add(uint64_t first, std::vector<std::string> envelopes) {
  if (envelopes.empty()) return;
  std::unique_lock lk(mu_);
  if (envelopes_.empty() || first != first_ + envelopes_.size()) {
    envelopes_.clear();
    bytes_ = 0;
    first_ = first;
  }
  for (auto& e : envelopes) {
    bytes_ += e.size();
    envelopes_.push_back(std::move(e));
  }
  while (bytes_ > max_bytes_ && envelopes_.size() > 1) {
    bytes_ -= envelopes_.front().size();
    envelopes_.pop_front();
    ++first_;
  }
}

std::optional<std::vector<RecordedEvent>> RecentEvents::read(uint64_t from, size_t max, uint64_t limit) const {
  std::shared_lock lk(mu_);
  if (envelopes_.empty() || from < first_) return std::nullopt;
  const uint64_t held = first_ + envelopes_.size() - 1;
  if (held < limit) return std::nullopt;  // not all up to the head: RocksDB has it
  const uint64_t last = limit;
  std::vector<RecordedEvent> out;
  if (from > last) return out;
  out.reserve(static_cast<size_t>(std::min<uint64_t>(max, last - from + 1)));
  for (uint64_t p = from; p <= last && out.size() < max; ++p) out.emplace_back(envelopes_[p - first_]);
  return out;
}

}  // namespace ordersd::events
