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

// Deterministic ids from names, for ids that must survive redelivery: the
// same name gives the same id. Their names carry client input (an
// Idempotency-Key, an order id), so two names must not be made to collide.
//
// Two schemes, and a data directory records which one it uses (see
// EventLog::name_ids() and docs/operations.md, "Event ids from names"):
//  - kSha1: RFC 4122 / RFC 9562 version 5, SHA-1 of kOrdersdNamespace and
//    the name. Every directory created since.
//  - kLegacyFnv: what ordersd used before, two FNV-1a lanes shaped like a
//    version-5 id. Not collision resistant (the lanes differ only in their
//    seed). Kept only so a directory written with it still recognises its
//    own retries (a saga step, a participant's answer, an idempotent
//    command re-derive the id of an event they may already have written).
enum class NameIdScheme : uint8_t {
  kLegacyFnv = 1,
  kSha1 = 2,
};

// The namespace of every ordersd name-derived id (a fixed random UUID).
inline constexpr Uuid kOrdersdNamespace{0x12d8300a413849f0ull, 0x9e3779b97f4a7c15ull};

// RFC 4122 version 5: SHA-1 of the namespace's 16 bytes and the name.
Uuid uuid_v5(const Uuid& name_space, std::string_view name);
// uuid_v5(kOrdersdNamespace, name): the scheme of new data directories.
Uuid uuid_from_name(std::string_view name);
// The pre-SHA-1 derivation; only for directories that recorded kLegacyFnv.
Uuid legacy_uuid_from_name(std::string_view name);
// The id of `name` under `scheme`.
Uuid uuid_from_name(NameIdScheme scheme, std::string_view name);

}  // namespace ordersd
