// AggregateCache<D>: the states of the aggregates a participant decides on,
// kept current with the log, and one batch's tentative changes to them.
//
// A participant decides a whole batch of requests in memory, then appends
// every stream it changed in one atomic append, each at the version the batch
// found it at. get() catches a cached state up with the log first (someone
// else, an HTTP deposit or restock, may have appended since), so a conflict
// means a write raced the batch itself: abandon() and decide the batch again.
//
// With `turns`, get() takes the stream's turn (stream_turns.h) before it reads,
// and the turns are held until the batch is committed or abandoned: HTTP
// commands on the same wallet or sku wait for the batch instead of racing it.
//
// The cache keeps at most `capacity` states (the least recently used make
// room): a state that left it is folded again, from its snapshot, when next
// needed, so memory stays bounded whatever the number of wallets or skus.
//
// Not thread-safe: one participant thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "write/pipeline/fold.h"
#include "write/pipeline/stream_turns.h"
#include "write/pipeline/lru_map.h"

namespace ordersd::write {

inline constexpr size_t kDefaultCachedStates = 16'384;

template <typename D>
class AggregateCache {
 public:
  // `keep`: whether states stay cached between batches (a wallet, a sku), or
  // are loaded again each time (a per-order stream, read once or twice);
  // `turns`: null for streams no one else in the process writes;
  // `capacity`: how many states stay cached at most.
  AggregateCache(const events::EventLog& log, bool keep, StreamTurns* turns = nullptr,
                 size_t capacity = kDefaultCachedStates)
      : log_(log), keep_(keep), turns_(turns), cache_(keep ? capacity : 0) {}
  ~AggregateCache() { release_turns(); }
  AggregateCache(const AggregateCache&) = delete;
  AggregateCache& operator=(const AggregateCache&) = delete;

  // Starts a batch. What a previous batch only read (it wrote nothing, so
  // nothing was committed) is still current: it joins the cache.
  void begin() { commit(); }

  // The state of `id` as this batch sees it.
  Result<typename D::State*> get(const std::string& id) {
    if (auto it = batch_.find(id); it != batch_.end()) return &it->second.state;
    std::string stream = D::stream(id);
    if (turns_) {
      turns_->take(stream);
      held_.push_back(stream);
    }
    typename D::State state{};
    if (auto cached = cache_.find(id); cached != cache_.end()) {
      // Moved, not copied (a sku's state holds its reservations): commit()
      // moves it back, abandon() leaves it to be loaded again.
      state = std::move(cached->second);
      cache_.erase(cached);
    }
    if (Status s = fold_stream<D>(log_, stream, state); !s) return s;
    uint64_t version = D::version(state);
    auto [it, _] = batch_.emplace(id, Touched{std::move(state), version, std::move(stream), {}});
    return &it->second.state;
  }

  // Folds `event`, decided for `id` (got before), into the batch; `stored`
  // is its encoded form.
  void add(const std::string& id, const typename D::Event& event, events::NewEvent stored) {
    Touched& t = batch_.at(id);
    t.state = D::evolve(std::move(t.state), event);
    t.events.push_back(std::move(stored));
  }

  // Adds every stream the batch changed to `request`.
  void append_to(events::AppendRequest& request) const {
    for (const auto& [id, t] : batch_) {
      if (t.events.empty()) continue;
      request.streams.push_back({t.stream,
                                 t.start_version == 0 ? events::ExpectedVersion::no_stream()
                                                      : events::ExpectedVersion::exact(t.start_version),
                                 t.events});
      snapshot_if_due<D>(request.side_writes, t.stream, t.start_version, t.state);
    }
  }

  // The batch committed: its states become the cache.
  void commit() {
    if (keep_) {
      for (auto& [id, t] : batch_) cache_.insert_or_assign(id, std::move(t.state));
    }
    batch_.clear();
    release_turns();
  }

  // The batch did not commit: forget it, and so what the cache held for the
  // streams it touched.
  void abandon() {
    batch_.clear();
    release_turns();
  }

  // Forgets everything: the next get() reads the log again.
  void reset() {
    cache_.clear();
    abandon();
  }

  size_t cached() const { return cache_.size(); }

 private:
  void release_turns() {
    for (const auto& stream : held_) turns_->release(stream);
    held_.clear();
  }

  struct Touched {
    typename D::State state;
    uint64_t start_version;
    std::string stream;
    std::vector<events::NewEvent> events;
  };
  const events::EventLog& log_;
  const bool keep_;
  StreamTurns* const turns_;
  std::vector<std::string> held_;  // the turns this batch holds
  LruMap<std::string, typename D::State> cache_;
  std::map<std::string, Touched, std::less<>> batch_;
};

}  // namespace ordersd::write
