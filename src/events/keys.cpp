#include "events/keys.h"

namespace ordersd::events::keys {

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string position_key(uint64_t position) {
  std::string k;
  k.reserve(8);
  put_u64(k, position);
  return k;
}

std::string stream_prefix(std::string_view stream) {
  std::string k;
  k.reserve(1 + stream.size() + 8);
  k.push_back(static_cast<char>(stream.size()));
  k.append(stream);
  return k;
}

std::string stream_key(std::string_view stream, uint64_t version) {
  std::string k = stream_prefix(stream);
  put_u64(k, version);
  return k;
}

std::string id_key(const Uuid& id) {
  std::string k;
  k.reserve(16);
  put_u64(k, id.hi);
  put_u64(k, id.lo);
  return k;
}

std::string state_key(std::string_view space, std::string_view key) {
  std::string k;
  k.reserve(1 + space.size() + key.size());
  k.push_back(static_cast<char>(space.size()));
  k.append(space);
  k.append(key);
  return k;
}

std::pair<std::string, std::string> state_range(std::string_view space) {
  std::string begin = state_key(space, "");
  // The first key after every key that starts with `begin`: its last byte
  // that can grow, grown, and what follows dropped.
  std::string end = begin;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return {std::move(begin), std::move(end)};
}

std::optional<StreamKey> parse_stream_key(std::string_view key) {
  if (key.empty()) return std::nullopt;
  size_t len = static_cast<unsigned char>(key[0]);
  if (key.size() != 1 + len + 8) return std::nullopt;
  return StreamKey{key.substr(1, len), get_u64(key.substr(1 + len))};
}

}  // namespace ordersd::events::keys
