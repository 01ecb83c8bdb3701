// RecentEvents: the envelopes of the events committed last, kept in memory,
// so that readers at the head of the log (the saga, the participants, the
// projector, the event feed) read what was just written without a RocksDB
// iterator, and without verifying bytes that never left this process.
//
// The log's syncer adds each batch once it is durable, before it publishes
// the new head, so every position from the oldest held up to the head is
// here. Bounded by bytes: the oldest go first; a read from before them goes
// to RocksDB. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "events/event.h"

namespace ordersd::events {

class RecentEvents {
 public:
  explicit RecentEvents(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The envelopes of positions first, first + 1, ... (what follows what it
  // holds; anything else replaces it).
  void add(uint64_t first, std::vector<std::string> envelopes);
  // The events from `from`, at most `max`, none past `limit`; nullopt when
  // `from` is older than what it holds (or it holds nothing).
  std::optional<std::vector<RecordedEvent>> read(uint64_t from, size_t max, uint64_t limit) const;

 private:
  const size_t max_bytes_;
  mutable std::shared_mutex mu_;
  std::deque<std::string> envelopes_;  // guarded by mu_
  uint64_t first_ = 0;                 // the position of envelopes_.front(); guarded by mu_
  size_t bytes_ = 0;                   // guarded by mu_
};

}  // namespace ordersd::events
