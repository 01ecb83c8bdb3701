#include "events/stream_heads.h"

namespace ordersd::events {

std::optional<uint64_t> StreamHeads::get(std::string_view stream) {
  auto it = map_.find(stream);
  if (it == map_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->version;
}

void StreamHeads::put(std::string_view stream, uint64_t version) {
  auto it = map_.find(stream);
  if (it != map_.end()) {
    it->second->version = version;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (map_.size() >= capacity_) {
    map_.erase(lru_.back().stream);
    lru_.pop_back();
  }
  lru_.push_front({std::string(stream), version});
  map_.emplace(lru_.front().stream, lru_.begin());
}

}  // namespace ordersd::events
