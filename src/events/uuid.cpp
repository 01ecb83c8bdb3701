#include "events/uuid.h"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid.hpp>

#include <random>

namespace ordersd {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string Uuid::to_string() const {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    uint64_t half = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    out.push_back(digits[(half >> shift) & 0xf]);
    if (i == 7 || i == 11 || i == 15 || i == 19) out.push_back('-');
  }
  return out;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid id;
  int nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    int v = hex_value(text[i]);
    if (v < 0) return std::nullopt;
    uint64_t& half = nibble < 16 ? id.hi : id.lo;
    half = (half << 4) | static_cast<uint64_t>(v);
    ++nibble;
  }
  return id;
}

Uuid RandomUuidGenerator::next() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }()};
  Uuid id{engine(), engine()};
  id.hi = (id.hi & ~0xF000ull) | 0x4000ull;                 // version 4
  id.lo = (id.lo & ~(0xC0ull << 56)) | (0x80ull << 56);     // RFC 4122 variant
  return id;
}

namespace {
boost::uuids::uuid to_boost(const Uuid& id) {
  boost::uuids::uuid out{};
  for (int i = 0; i < 8; ++i) {
    out.data[i] = static_cast<uint8_t>(id.hi >> (56 - 8 * i));
    out.data[8 + i] = static_cast<uint8_t>(id.lo >> (56 - 8 * i));
  }
  return out;
}

Uuid from_boost(const boost::uuids::uuid& id) {
  Uuid out;
  for (int i = 0; i < 8; ++i) {
    out.hi = (out.hi << 8) | id.data[i];
    out.lo = (out.lo << 8) | id.data[8 + i];
  }
  return out;
}
}  // namespace

Uuid uuid_v5(const Uuid& name_space, std::string_view name) {
  boost::uuids::name_generator_sha1 generate(to_boost(name_space));
  return from_boost(generate(name.data(), name.size()));
}

Uuid uuid_from_name(std::string_view name) { return uuid_v5(kOrdersdNamespace, name); }

Uuid uuid_from_name(NameIdScheme scheme, std::string_view name) {
  return scheme == NameIdScheme::kLegacyFnv ? legacy_uuid_from_name(name) : uuid_from_name(name);
}

Uuid legacy_uuid_from_name(std::string_view name) {
  auto fnv = [&](uint64_t seed) {
    uint64_t h = seed;
    for (unsigned char c : name) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    return h;
  };
  Uuid id{fnv(0xcbf29ce484222325ull), fnv(0x84222325cbf29ce4ull)};
  id.hi = (id.hi & ~0xF000ull) | 0x5000ull;
  id.lo = (id.lo & ~(0xC0ull << 56)) | (0x80ull << 56);
  return id;
}

}  // namespace ordersd
