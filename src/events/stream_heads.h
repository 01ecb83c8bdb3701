// StreamHeads: a bounded LRU map from stream id to its current version.
//
// The writer thread's memory of stream heads, for expected-version checks.
// It holds at most `capacity` streams; forgetting one is harmless because the
// writer falls back to a seek in the "streams" family. Not thread-safe: owned
// and used by the writer thread alone.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ordersd::events {

class StreamHeads {
 public:
  explicit StreamHeads(size_t capacity) : capacity_(capacity ? capacity : 1) { map_.reserve(capacity_); }

  std::optional<uint64_t> get(std::string_view stream);
  void put(std::string_view stream, uint64_t version);
  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::string stream;
    uint64_t version;
  };
  using List = std::list<Entry>;
  // Heterogeneous lookup so a string_view finds a key without a copy.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  size_t capacity_;
  List lru_;  // most recently used first
  std::unordered_map<std::string, List::iterator, Hash, std::equal_to<>> map_;
};

}  // namespace ordersd::events
