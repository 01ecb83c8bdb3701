// RowCache: a view's rows kept in memory between batches. A row is read and
// parsed when a batch first needs it and is not in memory, changed in memory
// by every event of the batch, and written once when the batch ends.
//
// What it holds is only right while its projection is the sole writer of the
// view's space and every batch it flushed was committed before the next one
// began: true of a projector, which stops at its first failed commit, and of
// a replay. A projection clears it when it refuses a batch.
//
// Row provides `static Result<Row> parse(std::string_view)` (the stored
// form back) and `std::string to_json() const` (the stored form).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/status.h"
#include "read/projector.h"

namespace ordersd::read {

template <typename Row>
class RowCache {
 public:
  // Past `keep` rows, flush() forgets first the rows that say they are
  // settled (a Row with `bool settled() const`: unlikely to change soon),
  // then, if that is not enough, all of them: each is read again once.
  explicit RowCache(size_t keep) : keep_(keep) {}

  // The row at `key`, to be changed: from memory, else as stored, else
  // fresh(). Written by the next flush().
  template <typename Fresh>
  Result<Row*> change(ViewBatch& view, const std::string& key, Fresh&& fresh) {
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      auto stored = view.get(key);
      if (!stored) return stored.status();
      Entry entry;
      if (*stored) {
        auto parsed = Row::parse(**stored);
        if (!parsed) return Status::corruption("the row " + key + " cannot be read: " + parsed.status().message(), 0);
        entry.row = std::move(parsed).value();
      } else {
        entry.row = fresh();
      }
      it = rows_.emplace(key, std::move(entry)).first;
    }
    if (!it->second.changed) {
      it->second.changed = true;
      changed_.push_back(&*it);
    }
    return &it->second.row;
  }

  // Writes every row changed since the last flush.
  void flush(ViewBatch& view) {
    for (auto* entry : changed_) {
      view.put(entry->first, entry->second.row.to_json());
      entry->second.changed = false;
    }
    changed_.clear();
    if (rows_.size() <= keep_) return;
    if constexpr (requires(const Row& r) { r.settled(); }) {
      std::erase_if(rows_, [](const auto& kv) { return kv.second.row.settled(); });
      // Room for a while: otherwise the next batches would walk them all again.
      if (rows_.size() <= keep_ / 2) return;
    }
    rows_.clear();
  }

  void clear() {
    rows_.clear();
    changed_.clear();
  }

 private:
  struct Entry {
    Row row;
    bool changed = false;
  };
  const size_t keep_;
  std::unordered_map<std::string, Entry> rows_;
  std::vector<std::pair<const std::string, Entry>*> changed_;  // in rows_
};

}  // namespace ordersd::read
