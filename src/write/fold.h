// fold_stream<D>: brings an aggregate's state up to date with its stream by
// folding the events after the state's version (up to `up_to_version`) with
// D::evolve, a page at a time. Reads the disk. D names State, Event,
// decode(), evolve() and version(), as a Decider does (command_pipeline.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "events/event_log.h"

namespace ordersd::write {

template <typename D>
Status fold_stream(const events::EventLog& log, const std::string& stream, typename D::State& state,
                   uint64_t up_to_version = UINT64_MAX) {
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
