#include "events/event.h"

#include "events/keys.h"

namespace ordersd::events {

bool ExpectedVersion::matches(uint64_t current) const {
  switch (kind) {
    case Kind::kAny: return true;
    case Kind::kNoStream: return current == 0;
    case Kind::kStreamExists: return current > 0;
    case Kind::kExact: return current == version;
  }
  return false;
}

std::string ExpectedVersion::to_string() const {
  switch (kind) {
    case Kind::kAny: return "any";
    case Kind::kNoStream: return "no stream";
    case Kind::kStreamExists: return "stream exists";
    case Kind::kExact: return "version " + std::to_string(version);
  }
  return "?";
}

void SideWrites::put(std::string_view space, std::string_view key, std::string value) {
  ops_.push_back({Op::Kind::kPut, std::string(space), std::string(key), std::move(value)});
}

void SideWrites::erase(std::string_view space, std::string_view key) {
  ops_.push_back({Op::Kind::kErase, std::string(space), std::string(key), {}});
}

void SideWrites::erase_space(std::string_view space) { ops_.push_back({Op::Kind::kEraseSpace, std::string(space), {}, {}}); }

void SideWrites::append(SideWrites&& other) {
  if (ops_.empty()) {
    ops_ = std::move(other.ops_);
  } else {
    ops_.reserve(ops_.size() + other.ops_.size());
    for (auto& op : other.ops_) ops_.push_back(std::move(op));
  }
  other.ops_.clear();
}

void SideWrites::set_checkpoint(std::string_view name, uint64_t position) {
  ops_.push_back({Op::Kind::kCheckpoint, {}, std::string(name), keys::position_key(position)});
}

void SideWrites::put_last_position(std::string_view space, std::string_view key) {
  ops_.push_back({Op::Kind::kPutLastPosition, std::string(space), std::string(key), {}});
}

}  // namespace ordersd::events
