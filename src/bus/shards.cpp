#include "bus/shards.h"

#include <charconv>

namespace ordersd::bus {

uint32_t shard_of(std::string_view key, uint32_t count) {
  if (count <= 1) return 0;
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<uint32_t>(hash % count);
}

Result<ShardSpec> ShardSpec::parse(std::string_view text) {
  auto bad = [&] {
    return Status::invalid_argument("--shard '" + std::string(text) + "': give I/N, shard I (from 0) of N, N from 1 to " +
                                    std::to_string(kMaxShards));
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  auto number = [](std::string_view digits, uint32_t& out) {
    if (digits.empty() || digits.size() > 3) return false;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size();
  };
  ShardSpec spec;
  if (!number(text.substr(0, slash), spec.index) || !number(text.substr(slash + 1), spec.count)) return bad();
  if (spec.count < 1 || spec.count > kMaxShards || spec.index >= spec.count) return bad();
  return spec;
}

uint32_t ShardMap::count(Role role) const {
  if (role == Role::kOrder) return orders_;
  if (role == Role::kPayment) return payments_;
  return 1;
}

uint32_t ShardMap::owner(Role role, std::string_view key) const {
  if (role == Role::kOrder) return order_shard(key);
  if (role == Role::kPayment) return payment_shard(key);
  return 0;
}

std::string ShardMap::to_string() const {
  return "order=" + std::to_string(orders_) + ",payment=" + std::to_string(payments_);
}

std::string ShardMap::route(std::string_view stream, std::string_view saga_customer) const {
  if (!sharded()) return {};
  std::string_view kind = stream_kind(stream);
  std::string_view id = stream.substr(kind.size() + (kind.empty() ? 0 : 1));
  if (kind == "saga") return saga_customer.empty() ? "0" : std::to_string(payment_shard(saga_customer));
  if (kind == "wallet") return std::to_string(payment_shard(id));
  if (kind == "order" || kind == "operator" || kind == "reservation" || kind == "shipment") {
    return std::to_string(order_shard(id));
  }
  return "0";
}

std::map<std::string, std::string> ShardMap::import_filters(const Roles& roles, std::optional<ShardSpec> shard) const {
  std::map<std::string, std::string> out;
  for (const auto& kind : roles.read_kinds()) {
    std::string filter;
    if (sharded()) {
      filter = "*";
      if (shard && roles.has(Role::kOrder) && (kind == "reservation" || kind == "shipment")) {
        filter = std::to_string(shard->index);
      }
      if (shard && roles.has(Role::kPayment) && kind == "saga") filter = std::to_string(shard->index);
    }
    out[kind] = filter;
  }
  return out;
}

}  // namespace ordersd::bus
