#include "read/replay.h"

#include <vector>

namespace ordersd::read {

namespace {
constexpr size_t kBatch = 4096;
}  // namespace

Status erase_space(events::EventLog& log, const std::string& space) {
  // Each pass starts after the last key erased: the tombstones before it are
  // never walked again.
  std::string from;
  for (;;) {
    std::vector<std::string> keys;
    Status s = log.scan(
        space, "",
        [&](std::string_view key, std::string_view) {
          keys.emplace_back(key);
          return keys.size() < kBatch;
        },
        from);
    if (!s) return s;
    if (keys.empty()) return Status::ok();
    events::SideWrites erase;
    for (const auto& k : keys) erase.erase(space, k);
    if (Status w = log.write(erase); !w) return w;
    from = keys.back() + std::string(1, '\0');
  }
}

Status replay(events::EventLog& log, const ViewSpec& view, const std::function<void(const ReplayProgress&)>& progress) {
  auto start = std::chrono::steady_clock::now();
  // Forget the view: its checkpoint first, so an interrupted erase is not
  // mistaken for a view that is up to date.
  {
    events::SideWrites reset;
    reset.set_checkpoint(view.name, 0);
    if (Status s = log.write(reset); !s) return s;
  }
  if (Status s = erase_space(log, view.space); !s) return s;

  uint64_t head = log.head();
  for (uint64_t next = 1; next <= head;) {
    auto batch = log.read_all(next, static_cast<size_t>(std::min<uint64_t>(kBatch, head - next + 1)));
    if (!batch) return batch.status();
    if (batch->empty()) break;
    ViewBatch rows(log, view.space);
    if (Status s = view.apply(*batch, rows); !s) return s;
    events::SideWrites writes = rows.take_writes();
    writes.set_checkpoint(view.name, batch->back().position());
    if (Status s = log.write(writes); !s) return s;
    next = batch->back().position() + 1;
    progress({next - 1, head, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }
  if (head == 0) progress({0, 0, 0});
  return Status::ok();
}

}  // namespace ordersd::read
