// IdempotencyStore: the first answer to each Idempotency-Key, kept so that a
// retry with the same key and the same request gets the same answer.
//
// A record is written in the same WriteBatch as the command's events (see
// record()), so an acknowledged command always has its record and a lost one
// never does. Records expire after `ttl` and a reaper erases them:
//
//   space "idem":     key                      -> JSON {fingerprint, status, headers, body, created_us[, position_at]}
//   space "idem-pos": key                      -> u64be position of the command's last event
//   space "idem-exp": created_us:u64be key     -> ""   (expiry order, for the reaper)
//
// An answer quotes where its events landed, which only the log's writer
// knows: the record holds the answer without it and the offset where it
// goes (position_at), and the writer stages the position under "idem-pos"
// in the same batch (SideWrites::put_last_position). find() puts them
// together, so a replay is byte for byte the first answer.
//
// Two requests with the same key never execute at once: the second is parked
// until the first has answered, then looks again. A key reused once its
// record has expired is a new request: it executes anew. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "events/event_log.h"

namespace ordersd::api {

struct StoredResponse {
  std::string fingerprint;  // of the request's method, path and body
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t created_us = 0;
  // Where in `body` the decimal position of the command's last event goes;
  // none when the body is complete.
  std::optional<size_t> position_at;
};

class IdempotencyStore {
 public:
  using Clock = std::function<int64_t()>;  // microseconds since the Unix epoch

  IdempotencyStore(events::EventLog& log, std::chrono::seconds ttl, Clock clock = {});
  ~IdempotencyStore();  // stops the reaper

  // "1..255 printable ASCII characters".
  static bool valid_key(std::string_view key);
  // "sha256:" and the hex SHA-256 of the method, path and body, each
  // preceded by its length (8 bytes, big-endian). A client chooses all three,
  // so a weak hash would let it make one key replay another request's answer.
  static std::string fingerprint(std::string_view method, std::string_view path, std::string_view body);
  // The form stored before SHA-256: a 64-bit FNV-1a and the body's length.
  static std::string legacy_fingerprint(std::string_view method, std::string_view path, std::string_view body);
  // Whether a stored fingerprint is of this request. Records written before
  // the SHA-256 form still compare (by their own form) until they expire:
  // treating them as different requests would answer a client's honest
  // retry across an upgrade with 422 instead of its first answer.
  static bool same_request(std::string_view stored, std::string_view method, std::string_view path,
                           std::string_view body);

  // The unexpired record of `key`, if any. Reads the disk.
  Result<std::optional<StoredResponse>> find(const std::string& key) const;
  // Adds the record of `key` to `writes` (created now). With position_at,
  // `writes` must go with the command's append, which fills in the position.
  void record(events::SideWrites& writes, const std::string& key, StoredResponse response) const;

  // Claims `key` for one execution. False when another execution holds it:
  // then `resume` is called (on the releasing thread) once it is released.
  bool claim(const std::string& key, std::function<void()> resume);
  void release(const std::string& key);

  // Erases up to `max` expired records; returns how many. Holds each key
  // (claim()) while it decides, so it never erases a record that an
  // execution wrote after the purge read the key; a key held by an
  // execution is left for a later purge. Reads and writes the disk.
  Result<size_t> purge_expired(size_t max);
  // Purges every `interval` on a thread of its own until destruction. A
  // purge that fails stops the reaper, which says why in reaper_failure();
  // restart_reaper() (the supervisor's) starts it again.
  void start_reaper(std::chrono::milliseconds interval);
  std::optional<Status> reaper_failure() const;
  Status restart_reaper();

 private:
  int64_t now_us() const;

  events::EventLog& log_;
  std::chrono::seconds ttl_;
  Clock clock_;

  std::mutex mu_;
  std::map<std::string, std::vector<std::function<void()>>, std::less<>> claimed_;  // guarded by mu_

  std::chrono::milliseconds reap_interval_{0};
  mutable std::mutex reaper_mu_;
  std::optional<Status> reaper_failure_;  // guarded by reaper_mu_
  std::jthread reaper_;
};

}  // namespace ordersd::api
