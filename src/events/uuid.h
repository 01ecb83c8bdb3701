// Uuid: a 128-bit identifier for events, correlations and causations.
//
// Text form is the usual 8-4-4-4-12 lowercase hex. UuidGenerator makes
// random version-4 ids; it is an interface so tests can inject a
// deterministic one. A generator is not thread-safe unless it says so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ordersd {

struct Uuid {
  uint64_t hi = 0;
  uint64_t lo = 0;

  bool is_nil() const { return hi == 0 && lo == 0; }
  std::string to_string() const;
  static std::optional<Uuid> parse(std::string_view text);

  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

class UuidGenerator {
 public:
  virtual ~UuidGenerator() = default;
  virtual Uuid next() = 0;
};

// Random version-4 ids from a per-thread engine seeded by std::random_device.
// Thread-safe.
class RandomUuidGenerator final : public UuidGenerator {
 public:
  Uuid next() override;
};

// A deterministic id from a name: the same name gives the same id (FNV-1a
// based, version-5-shaped). Used for ids that must survive redelivery.
Uuid uuid_from_name(std::string_view name);

}  // namespace ordersd
