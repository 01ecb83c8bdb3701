// LruMap<K, V>: a map that holds at most `capacity` entries and, to make room
// for a new one, drops the entry used least recently. find() and
// insert_or_assign() count as uses. The iterators are those of a list of
// (key, value) pairs: ->first, ->second, stable until that entry is erased.
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace ordersd::write {

template <typename K, typename V>
class LruMap {
 public:
  using Entries = std::list<std::pair<K, V>>;
  using iterator = typename Entries::iterator;

  // `capacity` 0 keeps nothing.
  explicit LruMap(size_t capacity) : capacity_(capacity) {}

  iterator begin() { return entries_.begin(); }  // most recently used first
  iterator end() { return entries_.end(); }

  // The entry of `key`, now the most recently used; end() when absent.
  iterator find(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return entries_.end();
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second;
  }

  void erase(iterator it) {
    index_.erase(it->first);
    entries_.erase(it);
  }

  // Sets `key` to `value` as the most recently used entry; drops the least
  // recently used beyond capacity.
  void insert_or_assign(const K& key, V value) {
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(value);
      entries_.splice(entries_.begin(), entries_, it->second);
      return;
    }
    if (capacity_ == 0) return;
    entries_.emplace_front(key, std::move(value));
    index_.emplace(key, entries_.begin());
    while (entries_.size() > capacity_) erase(std::prev(entries_.end()));
  }

  size_t size() const { return entries_.size(); }
  void clear() {
    index_.clear();
    entries_.clear();
  }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  Entries entries_;
  std::unordered_map<K, iterator> index_;
};

}  // namespace ordersd::write
