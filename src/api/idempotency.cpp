#include "api/idempotency.h"

#include "events/thread_name.h"

#include <openssl/evp.h>

#include <cstdio>
#include <new>
#include <stdexcept>
#include <set>
#include <nlohmann/json.hpp>

#include "events/encoding.h"
#include "events/keys.h"
#include "events/logging.h"

namespace ordersd::api {

namespace {
constexpr const char* kRecords = "idem";
constexpr const char* kExpiry = "idem-exp";
constexpr const char* kPositions = "idem-pos";

std::string expiry_key(int64_t created_us, std::string_view key) {
  std::string k;
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>((uint64_t(created_us) >> shift) & 0xff));
  k.append(key);
  return k;
}

int64_t expiry_time(std::string_view k) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(k[i]);
  return static_cast<int64_t>(v);
}
}  // namespace

IdempotencyStore::IdempotencyStore(events::EventLog& log, std::chrono::seconds ttl, Clock clock)
    : log_(log), ttl_(ttl), clock_(std::move(clock)) {}

IdempotencyStore::~IdempotencyStore() {
  if (reaper_.joinable()) {
    reaper_.request_stop();
    reaper_.join();
  }
}

int64_t IdempotencyStore::now_us() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IdempotencyStore::valid_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string IdempotencyStore::fingerprint(std::string_view method, std::string_view path, std::string_view body) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) throw std::bad_alloc();
  bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  for (std::string_view part : {method, path, body}) {
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(uint64_t{part.size()} >> (56 - 8 * i));
    ok = ok && EVP_DigestUpdate(ctx, length, sizeof length) == 1 && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, digest, &size) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-256 failed in libcrypto");
  return "sha256:" + to_hex(std::string_view(reinterpret_cast<const char*>(digest), size));
}

bool IdempotencyStore::same_request(std::string_view stored, std::string_view method, std::string_view path,
                                    std::string_view body) {
  if (stored.starts_with("sha256:")) return stored == fingerprint(method, path, body);
  return stored == legacy_fingerprint(method, path, body);
}

std::string IdempotencyStore::legacy_fingerprint(std::string_view method, std::string_view path,
                                                 std::string_view body) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix_byte = [&](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ull;
  };
  // Each part is preceded by its length, so no two splits of the same bytes agree.
  auto mix = [&](std::string_view part) {
    for (int shift = 56; shift >= 0; shift -= 8) mix_byte(static_cast<unsigned char>(part.size() >> shift));
    for (unsigned char c : part) mix_byte(c);
  };
  mix(method);
  mix(path);
  mix(body);
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return std::string(out) + ":" + std::to_string(body.size());
}

namespace {

// A stored record, read without a call that can throw: nullopt when it is
// not the shape record() writes.
std::optional<StoredResponse> parse_record(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
  };
  const auto *fingerprint = field("fingerprint"), *status = field("status"), *headers = field("headers"),
             *body = field("body"), *created = field("created_us");
  if (!fingerprint || !fingerprint->is_string() || !status || !status->is_number_integer() || !headers ||
      !headers->is_array() || !body || !body->is_string() || !created || !created->is_number_integer()) {
    return std::nullopt;
  }
  StoredResponse r;
  r.fingerprint = fingerprint->get_ref<const std::string&>();
  int64_t code = status->get<int64_t>();
  if (code < 100 || code > 599) return std::nullopt;
  r.status = static_cast<int>(code);
  r.body = body->get_ref<const std::string&>();
  r.created_us = created->get<int64_t>();
  if (auto at = j.find("position_at"); at != j.end()) {
    if (!at->is_number_unsigned() || at->get<uint64_t>() > r.body.size()) return std::nullopt;
    r.position_at = at->get<size_t>();
  }
  for (const auto& h : *headers) {
    if (!h.is_array() || h.size() != 2 || !h[0].is_string() || !h[1].is_string()) return std::nullopt;
    r.headers.emplace_back(h[0].get_ref<const std::string&>(), h[1].get_ref<const std::string&>());
  }
  return r;
}

}  // namespace

Result<std::optional<StoredResponse>> IdempotencyStore::find(const std::string& key) const {
  auto raw = log_.get(kRecords, key);
  if (!raw) return raw.status();
  if (!*raw) return std::optional<StoredResponse>();
  std::optional<StoredResponse> r = parse_record(**raw);
  if (!r) {
    return Status::corruption("stored record is damaged: the idempotency record of key '" + key +
                                  "' cannot be read; it expires with its key",
                              0);
  }
  if (r->created_us + std::chrono::duration_cast<std::chrono::microseconds>(ttl_).count() < now_us()) {
    return std::optional<StoredResponse>();  // expired; the reaper will erase it
  }
  if (r->position_at) {
    auto position = log_.get(kPositions, key);
    if (!position) return position.status();
    if (!*position || (*position)->size() != 8) {
      return Status::corruption("stored record is damaged: the idempotency record of key '" + key +
                                    "' has no position; it expires with its key",
                                0);
    }
    r->body.insert(*r->position_at, std::to_string(events::keys::get_u64(**position)));
    r->position_at.reset();
  }
  return r;
}

void IdempotencyStore::record(events::SideWrites& writes, const std::string& key, StoredResponse response) const {
  response.created_us = now_us();
  nlohmann::json headers = nlohmann::json::array();
  for (const auto& [k, v] : response.headers) headers.push_back({k, v});
  nlohmann::json j = {{"fingerprint", response.fingerprint},
                      {"status", response.status},
                      {"headers", headers},
                      {"body", response.body},
                      {"created_us", response.created_us}};
  if (response.position_at) {
    j["position_at"] = *response.position_at;
    writes.put_last_position(kPositions, key);
  }
  writes.put(kRecords, key, j.dump());
  writes.put(kExpiry, expiry_key(response.created_us, key), "");
}

bool IdempotencyStore::claim(const std::string& key, std::function<void()> resume) {
  std::lock_guard lk(mu_);
  auto [it, fresh] = claimed_.try_emplace(key);
  if (!fresh) it->second.push_back(std::move(resume));
  return fresh;
}

void IdempotencyStore::release(const std::string& key) {
  std::vector<std::function<void()>> parked;
  {
    std::lock_guard lk(mu_);
    auto it = claimed_.find(key);
    if (it == claimed_.end()) return;
    parked = std::move(it->second);
    claimed_.erase(it);
  }
  for (auto& resume : parked) resume();  // each looks again and claims anew
}

Result<size_t> IdempotencyStore::purge_expired(size_t max) {
  int64_t cutoff = now_us() - std::chrono::duration_cast<std::chrono::microseconds>(ttl_).count();
  std::vector<std::string> expired;
  Status s = log_.scan(kExpiry, "", [&](std::string_view k, std::string_view) {
    if (k.size() < 8 || expiry_time(k) >= cutoff || expired.size() >= max) return false;
    expired.emplace_back(k);
    return true;
  });
  if (!s) return s;
  if (expired.empty()) return size_t{0};
  // A purge holds each key it decides on, as an execution holds its key
  // while it writes the key's record: so a record is only erased when it is
  // still the one the purge read. A key an execution holds is left for the
  // next purge (its expiry entry stays).
  std::set<std::string, std::less<>> held;
  auto release_held = [&] {
    for (const auto& key : held) release(key);
  };
  events::SideWrites writes;
  size_t purged = 0;
  for (const auto& k : expired) {
    std::string key = k.substr(8);
    if (!held.count(key)) {
      if (!claim(key, [] {})) continue;
      held.insert(key);
    }
    // A key reused after expiry has a newer record: erase only the one that expired.
    auto current = log_.get(kRecords, key);
    if (!current) {
      release_held();
      return current.status();
    }
    if (*current) {
      std::optional<StoredResponse> record = parse_record(**current);
      if (!record || record->created_us == expiry_time(k)) {
        writes.erase(kRecords, key);
        writes.erase(kPositions, key);
      }
    }
    writes.erase(kExpiry, k);
    ++purged;
  }
  Status w = writes.empty() ? Status::ok() : log_.write_derived(writes);
  release_held();
  if (!w) return w;
  return purged;
}

std::optional<Status> IdempotencyStore::reaper_failure() const {
  std::lock_guard lk(reaper_mu_);
  return reaper_failure_;
}

Status IdempotencyStore::restart_reaper() {
  if (reaper_.joinable()) {
    reaper_.request_stop();
    reaper_.join();
  }
  start_reaper(reap_interval_);
  return Status::ok();
}

void IdempotencyStore::start_reaper(std::chrono::milliseconds interval) {
  reap_interval_ = interval;
  {
    std::lock_guard lk(reaper_mu_);
    reaper_failure_.reset();
  }
  reaper_ = std::jthread([this, interval](std::stop_token stop) {
    events::name_this_thread("idem-reaper");
    std::mutex m;
    std::condition_variable_any cv;
    while (!stop.stop_requested()) {
      {
        std::unique_lock lk(m);
        if (cv.wait_for(lk, stop, interval, [] { return false; })) break;
      }
      if (stop.stop_requested()) break;
      for (;;) {
        auto purged = purge_expired(1000);
        if (!purged) {
          std::lock_guard lk(reaper_mu_);
          reaper_failure_ = purged.status();
          return;  // the supervisor logs it and starts the reaper again
        }
        if (*purged < 1000) break;
      }
    }
  });
}

}  // namespace ordersd::api
