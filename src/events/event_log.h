// EventLog: the durable, totally ordered log of every event in ordersd.
//
// Every event has a global position (dense, from 1) and a version within its
// stream (dense, from 1). Appends are atomic across any number of streams and
// are checked against each stream's expected version. All appends go through
// one writer thread that gathers whatever is waiting into one RocksDB
// WriteBatch and writes it once (group commit); a conflicting append fails
// alone. A second thread, the syncer, fsyncs the write-ahead log once for
// every batch written since its last fsync (by default), then publishes the
// new head and completes the callers: the writer stages the next batch while
// the previous one is being synced. Nothing is acknowledged, and no reader
// sees a position, before its batch is durable.
//
// Thread safety: every method may be called from any thread concurrently.
// Readers never see a position before every lower position is committed.
// The EventLog owns its RocksDB instance and its writer and syncer threads;
// destroying it closes it (see close()) and then the database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "events/histogram.h"
#include "events/status.h"

namespace ordersd::events {

enum class Durability {
  kFsync,  // default: each group commit is fsynced; acknowledged = survives power loss
  kAsync,  // written to the OS, not fsynced: survives a process crash, not power loss
};

struct EventLogOptions {
  Durability durability = Durability::kFsync;
  // Stream heads kept in memory for expected-version checks. A miss costs one
  // RocksDB seek, never a wrong answer. Default 262,144 streams.
  size_t stream_cache_capacity = 1 << 18;
  // Upper bound on events gathered into one group commit. Default 8,192.
  size_t max_batch_events = 8192;
  // RocksDB's memory budget: the block cache, to which the memtables of
  // every column family are charged through one shared WriteBufferManager
  // (at most half of it), so reads and writes together stay near this many
  // bytes however much is written. Default 256 MiB; at least 16 MiB. A
  // sixteenth more holds the events committed last, for readers at the head.
  size_t cache_bytes = size_t{256} << 20;
  // Write-ahead-log bytes kept at most: past it RocksDB flushes the column
  // families whose unflushed data keeps the oldest WAL file alive (a rarely
  // written one would otherwise pin every file since its last flush), so the
  // WAL on disk, and its replay on the next open, stay bounded. Default 128 MiB.
  uint64_t max_wal_bytes = uint64_t{128} << 20;
  // Opens without the directory lock and refuses every write.
  bool read_only = false;
  // With read_only: opens as a follower of the process that holds the
  // directory (a RocksDB secondary instance), whose own files (an info log)
  // go to this existing directory; catch_up() then reads what that process
  // appended since. Empty: a plain read-only open, which sees the log as it
  // was when opened.
  std::string follower_dir;
  // Creates the directory and an empty log when there is none. Without it,
  // and always with read_only, a missing directory or log is kNotFound and
  // nothing is created.
  bool create_if_missing = true;
  // Commit time source, microseconds since the Unix epoch. Default: the system clock.
  std::function<int64_t()> clock_us;
};

// Counters since open; read with relaxed ordering, for metrics.
struct EventLogStats {
  uint64_t commits = 0;          // group commits written
  uint64_t appends = 0;          // appends acknowledged (including retries)
  uint64_t events = 0;           // events written
  uint64_t refused = 0;          // appends refused (version, duplicate id)
  uint64_t largest_batch = 0;    // most appends in one commit
};

class EventLog {
 public:
  // Opens the log in `dir`, creating it if needed (see create_if_missing). A
  // directory held by another process gives kBusy; a damaged database gives
  // kCorruption or kIoError.
  static Result<std::unique_ptr<EventLog>> open(const std::string& dir, EventLogOptions options = {});
  ~EventLog();  // close()s

  // Rewrites the data directory in `dir`, written in an older format (see
  // keys.h), into the one this version reads, in place; `progress` hears
  // each step. Returns the format it found (the current one: nothing was
  // done). kBusy when another process holds the directory; a later format
  // is kInvalidArgument. open() refuses any other format, naming this.
  static Result<int> upgrade(const std::string& dir, const std::function<void(const std::string&)>& progress);

  // Commits and completes every append already queued, stops the writer and
  // the syncer, and flushes; later appends fail at once with kShuttingDown.
  // Reads and write() keep working until destruction. Idempotent; call it
  // from one controlling thread.
  void close();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  using AppendCallback = std::function<void(Result<AppendResult>)>;

  // Appends and blocks until the commit is durable (per Durability) or refused.
  Result<AppendResult> append(AppendRequest request);
  Result<AppendResult> append(std::string stream, ExpectedVersion expected, std::vector<NewEvent> events);

  // Queues an append and returns at once. `done` runs exactly once, on the
  // log's syncer thread in commit order (or on the caller's thread for input
  // that is invalid before queueing); it must be quick, must not throw and
  // must not block on the log. (One that throws is logged and the syncer
  // goes on, but whatever it had left to do is not done.)
  void append_async(AppendRequest request, AppendCallback done);

  // Events of `stream` with version >= from_version (from 1), at most `max`.
  // An unknown stream gives an empty vector.
  Result<std::vector<RecordedEvent>> read_stream(std::string_view stream, uint64_t from_version,
                                                 size_t max) const;
  // Events with position >= from_position (from 1), in log order, at most
  // `max`, never past head(). Stops at the first damaged record with kCorruption.
  Result<std::vector<RecordedEvent>> read_all(uint64_t from_position, size_t max) const;
  // The stream's version as of head(); 0 for a stream that does not exist.
  Result<uint64_t> stream_version(std::string_view stream) const;

  // How this directory derives event ids from names (uuid.h), and the id of
  // `name` so derived. Recorded in the directory: one created by this
  // version uses kSha1; one that holds events and no record was written
  // before it, with kLegacyFnv ids, and keeps them (the record is added on
  // the first writable open), so that a saga step, a participant's answer
  // or an idempotent command retried after an upgrade derives the id of the
  // event it may already have written and is recognised as a retry.
  NameIdScheme name_ids() const;
  Uuid name_id(std::string_view name) const;

  // The last committed position; 0 when the log is empty.
  uint64_t head() const;

  // A log opened with follower_dir: takes in what the process holding the
  // directory has written since the open or the last catch_up() (which may
  // be written and not yet fsynced there) and moves head() up to it; returns
  // the new head. kInvalidArgument for any other log.
  Result<uint64_t> catch_up();

  // Blocks until head() >= position, `deadline` passes or `stop` is
  // requested. Returns whether the head reached `position`.
  bool wait_for(uint64_t position, std::chrono::steady_clock::time_point deadline,
                std::stop_token stop = {}) const;

  // State written with appends (below) is readable once the append is
  // written, which may be an fsync before it is acknowledged. A log whose
  // write or fsync failed refuses every append, write and state read from
  // then on with that failure: reopen it to recover.

  // A reader's saved position, or nullopt when it never saved one.
  Result<std::optional<uint64_t>> checkpoint(std::string_view name) const;
  // A side-written value, or nullopt.
  Result<std::optional<std::string>> get(std::string_view space, std::string_view key) const;
  // The same from memory alone (memtables and block cache): nullopt when
  // the answer needs a read from disk. For threads that must never block.
  std::optional<Result<std::optional<std::string>>> get_from_memory(std::string_view space, std::string_view key) const;
  // Visits every key of `space` starting with `prefix`, in key order, until
  // `visit` returns false; from the first key >= `from` when that is given.
  Status scan(std::string_view space, std::string_view prefix,
              const std::function<bool(std::string_view key, std::string_view value)>& visit,
              std::string_view from = {}) const;
  // Commits side writes alone, atomically, with the configured durability.
  Status write(const SideWrites& writes);
  // The same without waiting for an fsync, for writes derived from events
  // already in the log (a view's rows, a reader's checkpoint): the next
  // fsync of the log makes them durable. A power loss before it can lose
  // them, but only together with everything written after them (the
  // write-ahead log recovers a prefix), so a reader that lost its rows lost
  // its checkpoint too and applies the same events again. Without it, every
  // projector batch was an fsync of its own in the way of the appends.
  Status write_derived(const SideWrites& writes);

  // The first damage a read met (kCorruption, naming the position when it
  // is known), or nullopt. Stays set until the log is reopened; for /health.
  std::optional<Status> corruption() const;
  // Verifies the checksum of every block of every SST file (slow: reads
  // them all); the first mismatch names the file. For `ordersd check`.
  Status verify_checksums() const;

  EventLogStats stats() const;
  // Events per group commit, and seconds per WAL fsync (its count is the
  // number of fsyncs).
  Histogram::Snapshot batch_sizes() const;
  Histogram::Snapshot fsync_seconds() const;
  const std::string& directory() const;

 private:
  Result<std::vector<RecordedEvent>> read_all_unnoted(uint64_t from_position, size_t max) const;
  Result<std::vector<RecordedEvent>> read_stream_unnoted(std::string_view stream, uint64_t from_version,
                                                         size_t max) const;
  struct Impl;
  explicit EventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordersd::events
