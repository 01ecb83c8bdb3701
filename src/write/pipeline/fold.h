// fold_stream<D>: brings an aggregate's state up to date with its stream by
// folding the events after the state's version (up to `up_to_version`) with
// D::evolve, a page at a time. Reads the disk. D names State, Event,
// decode(), evolve() and version(), as a Decider does (command_pipeline.h).
// The log is an events::EventLog, or anything with its read_stream() and
// get() (a test's fake): its type is deduced.
//
// Snapshots. A Decider whose state stays small may also name
//   static std::string encode_snapshot(const State&);
//   static std::optional<State> decode_snapshot(std::string_view);
// Then every writer of its streams (CommandPipeline, AggregateCache) saves
// the state after an append that reaches a multiple of kSnapshotEvery events
// as a side write (space "snapshots", key: the stream) in the same atomic
// append, and fold_stream() of a fresh state starts from the saved one: a
// fold reads at most kSnapshotEvery events plus one point read, however
// long the stream. A snapshot that is missing (a data directory written
// before them) or unreadable is a slower fold from version 0, never a
// different state.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/event_log.h"

namespace ordersd::write {

inline constexpr std::string_view kSnapshotSpace = "snapshots";
inline constexpr uint64_t kSnapshotEvery = 128;

template <typename D>
concept Snapshotted = requires(const typename D::State& state, std::string_view bytes) {
  { D::encode_snapshot(state) } -> std::convertible_to<std::string>;
  { D::decode_snapshot(bytes) } -> std::same_as<std::optional<typename D::State>>;
};

// Adds the snapshot of `after` to `writes` when the append taking `stream`
// from `from_version` to `after`'s version reaches a multiple of kSnapshotEvery.
template <typename D>
void snapshot_if_due(events::SideWrites& writes, std::string_view stream, uint64_t from_version,
                     const typename D::State& after) {
  if constexpr (Snapshotted<D>) {
    if (D::version(after) / kSnapshotEvery != from_version / kSnapshotEvery) {
      writes.put(kSnapshotSpace, stream, D::encode_snapshot(after));
    }
  }
}

// The stream's saved snapshot, when there is a usable one at or below `up_to_version`.
template <typename D, typename Log>
std::optional<typename D::State> saved_snapshot(const Log& log, const std::string& stream, uint64_t up_to_version) {
  if constexpr (Snapshotted<D>) {
    auto saved = log.get(kSnapshotSpace, stream);
    if (!saved || !*saved) return std::nullopt;  // none, or unreadable: fold from the start
    auto state = D::decode_snapshot(**saved);
    if (state && D::version(*state) <= up_to_version) return state;
  }
  return std::nullopt;
}

template <typename D, typename Log>
Status fold_stream(const Log& log, const std::string& stream, typename D::State& state,
                   uint64_t up_to_version = UINT64_MAX) {
  if constexpr (Snapshotted<D>) {
    if (D::version(state) == 0) {
      if (auto saved = saved_snapshot<D>(log, stream, up_to_version)) state = std::move(*saved);
    }
  }
  constexpr uint64_t kPage = 512;
  for (uint64_t next = D::version(state) + 1; next <= up_to_version;) {
    size_t want = static_cast<size_t>(std::min(kPage, up_to_version - next + 1));
    auto page = log.read_stream(stream, next, want);
    if (!page) return page.status();
    for (const auto& recorded : *page) {
      auto event = D::decode(recorded);
      if (!event) {
        return Status::corruption("stream " + stream + " holds a " + std::string(recorded.type()) +
                                      " event at position " + std::to_string(recorded.position()),
                                  recorded.position());
      }
      state = D::evolve(std::move(state), *event);
    }
    if (page->size() < want) break;
    next = page->back().version() + 1;
  }
  return Status::ok();
}

}  // namespace ordersd::write
