#include "events/event_log.h"

#include <rocksdb/cache.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "events/envelope.h"
#include "events/keys.h"
#include "events/logging.h"
#include "events/stream_heads.h"
#include "events/recent_events.h"
#include "events/thread_name.h"

namespace ordersd::events {

namespace {

constexpr size_t kMaxEventsPerAppend = 10000;
constexpr size_t kMaxPayloadBytes = 4 << 20;

// The one place a rocksdb::Status becomes ours.
Status from_rocksdb(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::ok();
  std::string text = context + ": " + s.ToString();
  // RocksDB's words for a LOCK file held by another process, or by this one.
  if (s.IsIOError() && (s.ToString().find("While lock file:") != std::string::npos ||
                        s.ToString().find("lock hold by current process") != std::string::npos)) {
    return Status::busy(context + ": the data directory is in use by another process (" + s.ToString() + ")");
  }
  if (s.IsCorruption()) return Status::corruption(text, 0);
  if (s.IsInvalidArgument()) return Status::invalid_argument(text);
  return Status::io_error(text);
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view view(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

struct UuidHash {
  size_t operator()(const Uuid& id) const { return std::hash<uint64_t>{}(id.hi ^ (id.lo * 0x9e3779b97f4a7c15ull)); }
};

Status validate(const AppendRequest& request) {
  if (request.streams.empty()) return Status::invalid_argument("an append needs at least one stream");
  size_t events = 0;
  std::set<std::string_view> streams;
  std::unordered_map<Uuid, int, UuidHash> ids;
  for (const StreamAppend& part : request.streams) {
    if (part.stream.empty() || part.stream.size() > keys::kMaxStreamLength) {
      return Status::invalid_argument("a stream id has 1 to 255 bytes");
    }
    if (!streams.insert(part.stream).second) {
      return Status::invalid_argument("stream '" + part.stream + "' appears twice in one append");
    }
    for (const NewEvent& e : part.events) {
      if (e.id.is_nil()) return Status::invalid_argument("an event needs a non-nil id");
      if (!ids.emplace(e.id, 0).second) {
        return Status::invalid_argument("event id " + e.id.to_string() + " appears twice in one append");
      }
      if (e.payload.size() > kMaxPayloadBytes) return Status::invalid_argument("an event payload is at most 4 MiB");
      Status ok = verify_payload(e.type, e.payload);
      if (!ok) return ok;
    }
    events += part.events.size();
  }
  if (events == 0) return Status::invalid_argument("an append needs at least one event");
  if (events > kMaxEventsPerAppend) return Status::invalid_argument("an append has at most 10000 events");
  for (const auto& op : request.side_writes.ops()) {
    if (op.kind != SideWrites::Op::Kind::kCheckpoint &&
        (op.space.empty() || op.space.size() > keys::kMaxSpaceLength)) {
      return Status::invalid_argument("a side-write space has 1 to 255 bytes");
    }
    if (op.kind == SideWrites::Op::Kind::kCheckpoint && op.key.empty()) {
      return Status::invalid_argument("a checkpoint needs a name");
    }
  }
  return Status::ok();
}

size_t event_count(const AppendRequest& request) {
  size_t n = 0;
  for (const auto& part : request.streams) n += part.events.size();
  return n;
}

int64_t system_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads within one stream's prefix, so the prefix bloom filters apply.
rocksdb::ReadOptions within_stream() {
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  return read;
}

// A recorded format number; 0 when it is not one.
int parse_format(std::string_view text) {
  int format = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), format);
  return ec == std::errc() && end == text.data() + text.size() && format > 0 ? format : 0;
}

}  // namespace

struct EventLog::Impl {
  struct Pending {
    AppendRequest request;
    AppendCallback done;
    size_t events = 0;
  };

  // Where an event id already lives: in the log, or earlier in the batch being built.
  struct StoredId {
    uint64_t position;
    std::string stream;
    uint64_t version;
  };

  // --- constant after open
  std::string dir;
  EventLogOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned; destroyed before db
  rocksdb::ColumnFamilyHandle* log_cf = nullptr;
  rocksdb::ColumnFamilyHandle* streams_cf = nullptr;
  rocksdb::ColumnFamilyHandle* ids_cf = nullptr;
  rocksdb::ColumnFamilyHandle* state_cf = nullptr;
  rocksdb::ColumnFamilyHandle* checkpoints_cf = nullptr;
  rocksdb::WriteOptions write_options;
  NameIdScheme name_ids = NameIdScheme::kSha1;

  bool flushed_on_close = false;  // by close(), from the one controlling thread

  // --- the published head; guarded by head_mu for waiters, read lock-free
  std::atomic<uint64_t> head{0};
  mutable std::mutex head_mu;
  mutable std::condition_variable_any head_cv;

  // --- the append queue, guarded by queue_mu
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Pending> queue;
  bool stopping = false;

  // --- writer thread only
  StreamHeads heads{1};
  uint64_t next_position = 1;
  std::thread writer;

  // --- written batches waiting for the syncer, guarded by sync_mu. The
  // writer writes a batch without fsync and hands it over; the syncer fsyncs
  // everything handed over so far at once, publishes the head and completes
  // the callers. So the next batch is staged while the previous one syncs.
  struct Written {
    std::vector<Pending> batch;
    std::vector<Result<AppendResult>> results;
    uint64_t last_position = 0;  // 0 when the batch wrote nothing
    uint64_t first_position = 0;
    std::vector<std::string> envelopes;  // of first_position.. last_position, for `recent`
  };
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  std::deque<Written> written;
  bool writer_done = false;
  std::thread syncer;

  // Once a write or an fsync fails, RocksDB refuses further writes and what
  // the writer staged since is lost; every later append fails with this.
  mutable std::mutex failure_mu;
  std::optional<Status> failure;
  mutable std::optional<Status> corrupt;  // the first damage a read met; guarded by failure_mu

  // Passes `s` on, remembering it when it is the first damage seen.
  Status noted(Status s) const {
    if (s.code() == Status::Code::kCorruption) {
      std::lock_guard lk(failure_mu);
      if (!corrupt) corrupt = s;
    }
    return s;
  }

  // The envelopes committed last, for readers at the head (a sixteenth of
  // the memory budget); filled by the syncer before it publishes the head.
  std::unique_ptr<RecentEvents> recent;

  // --- stats
  std::atomic<uint64_t> commits{0}, appends{0}, events{0}, refused{0}, largest_batch{0};
  Histogram batch_sizes{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}};
  Histogram fsync_seconds{{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};

  ~Impl() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    if (db) db->Close().PermitUncheckedError();
  }

  void run_writer() {
    std::vector<Pending> batch;
    for (;;) {
      {
        std::unique_lock lk(queue_mu);
        queue_cv.wait(lk, [&] { return !queue.empty() || stopping; });
        if (queue.empty()) return;  // stopping, and everything queued is committed
        size_t gathered = 0;
        while (!queue.empty() &&
               (batch.empty() || gathered + queue.front().events <= options.max_batch_events)) {
          gathered += queue.front().events;
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      commit(batch);
      batch.clear();
    }
  }

  void run_syncer() {
    std::vector<Written> taken;
    for (;;) {
      {
        std::unique_lock lk(sync_mu);
        sync_cv.wait(lk, [&] { return !written.empty() || writer_done; });
        if (written.empty()) return;  // the writer is done and everything is completed
        while (!written.empty()) {
          taken.push_back(std::move(written.front()));
          written.pop_front();
        }
      }
      complete(taken);
      taken.clear();
    }
  }

  std::optional<Status> sticky_failure() const {
    std::lock_guard lk(failure_mu);
    return failure;
  }

  void fail_from_now_on(const Status& s) {
    std::lock_guard lk(failure_mu);
    if (!failure) failure = s;
  }

  static void fail_all(std::vector<Written>& taken, const Status& failed) {
    for (auto& w : taken) {
      for (auto& r : w.results) {
        if (r.is_ok()) r = failed;
      }
    }
  }

  // Makes the taken batches durable with one fsync, publishes the new head,
  // then completes every caller in commit order.
  void complete(std::vector<Written>& taken) {
    uint64_t last = 0;
    for (const auto& w : taken) last = std::max(last, w.last_position);
    if (auto failed = sticky_failure()) {
      // An earlier write or fsync failed: whatever was staged since may rest
      // on lost data (a retry recognised by an id that never became durable).
      fail_all(taken, *failed);
      last = 0;
    } else if (last > 0 && options.durability == Durability::kFsync) {
      auto start = std::chrono::steady_clock::now();
      rocksdb::Status s = db->SyncWAL();
      fsync_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!s.ok()) {
        Status failed = from_rocksdb(s, "syncing the write-ahead log");
        fail_from_now_on(failed);
        fail_all(taken, failed);
        last = 0;
      }
    }
    if (last > 0) {
      for (auto& w : taken) {
        if (w.last_position > 0) recent->add(w.first_position, std::move(w.envelopes));
      }
      events.fetch_add(last - head.load(std::memory_order_relaxed), std::memory_order_relaxed);
      {
        std::lock_guard lk(head_mu);
        head.store(last, std::memory_order_release);
      }
      head_cv.notify_all();
    }
    for (auto& w : taken) {
      uint64_t ok = 0;
      for (auto& r : w.results) ok += r.is_ok();
      appends.fetch_add(ok, std::memory_order_relaxed);
      refused.fetch_add(w.results.size() - ok, std::memory_order_relaxed);
      for (size_t i = 0; i < w.batch.size(); ++i) complete_one(w.batch[i].done, std::move(w.results[i]));
    }
  }

  // Calls one caller's completion. One that throws (against its contract)
  // is logged; the others are still completed and the syncer goes on.
  static void complete_one(AppendCallback& done, Result<AppendResult> result) {
    std::string what;
    try {
      done(std::move(result));
      return;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an exception that is not a std::exception";
    }
    logging::log_limited(logging::Level::kError, "log/completion", "log", "an append's completion threw",
                         {{"what", what}});
  }

  // The version a stream is at in written data: from the head cache, or
  // the last key of the stream's prefix (everything written counts here,
  // durable or not: the writer orders appends after what it wrote).
  Result<uint64_t> committed_version(std::string_view stream) {
    if (auto cached = heads.get(stream)) return *cached;
    auto version = seek_stream_version(stream, std::numeric_limits<uint64_t>::max());
    if (!version) return noted(version.status());
    heads.put(stream, *version);
    return *version;
  }

  // The version of the stream's last event at or below `max_position`;
  // readers pass head() and so never see an append before it is durable.
  Result<uint64_t> seek_stream_version(std::string_view stream, uint64_t max_position) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(within_stream(), streams_cf));
    std::string prefix = keys::stream_prefix(stream);
    for (it->SeekForPrev(keys::stream_key(stream, std::numeric_limits<uint64_t>::max()));
         it->Valid() && it->key().starts_with(prefix); it->Prev()) {
      auto parsed = keys::parse_stream_key(view(it->key()));
      if (!parsed || it->value().size() != 8) {
        return Status::corruption("malformed stream index entry for '" + std::string(stream) + "'", 0);
      }
      if (keys::get_u64(view(it->value())) <= max_position) return parsed->version;
    }
    Status s = from_rocksdb(it->status(), "reading the head of stream '" + std::string(stream) + "'");
    if (!s) return s;
    return uint64_t{0};
  }

  Result<std::optional<StoredId>> find_stored_id(const Uuid& id,
                                                  const std::unordered_map<Uuid, StoredId, UuidHash>& in_batch) {
    if (auto it = in_batch.find(id); it != in_batch.end()) return std::optional<StoredId>(it->second);
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), ids_cf, keys::id_key(id), &value);
    if (s.IsNotFound()) return std::optional<StoredId>();
    if (!s.ok()) return from_rocksdb(s, "looking up event id " + id.to_string());
    uint64_t position = keys::get_u64(value);
    std::string record;
    s = db->Get(rocksdb::ReadOptions(), log_cf, keys::position_key(position), &record);
    if (!s.ok()) return from_rocksdb(s, "reading position " + std::to_string(position));
    Status ok = verify_envelope(record, position);
    if (!ok) return ok;
    RecordedEvent e(std::move(record));
    return std::optional<StoredId>(StoredId{position, std::string(e.stream()), e.version()});
  }

  // Checks one append against the log and what this batch already holds; when
  // it is accepted, adds it to `wb` and to the batch's overlays. A refused
  // append touches nothing.
  Result<AppendResult> stage(const AppendRequest& request, rocksdb::WriteBatch& wb,
                             std::unordered_map<std::string, uint64_t>& overlay,
                             std::unordered_map<Uuid, StoredId, UuidHash>& in_batch, uint64_t& position,
                             int64_t now_us, std::vector<std::string>& envelopes) {
    // 1. Idempotency: all ids already stored (a retry), none, or a refusal.
    size_t total = 0, found = 0;
    AppendResult retry;
    retry.already_appended = true;
    retry.first_position = std::numeric_limits<uint64_t>::max();
    for (const StreamAppend& part : request.streams) {
      uint64_t stream_version = 0;
      for (const NewEvent& e : part.events) {
        ++total;
        if (e.unique_id) continue;  // never stored before
        auto stored = find_stored_id(e.id, in_batch);
        if (!stored) return noted(stored.status());
        if (!*stored) continue;
        ++found;
        const StoredId& at = **stored;
        if (at.stream != part.stream) {
          return Status::duplicate_event_id("event id " + e.id.to_string() + " is already stored in stream '" +
                                            at.stream + "' at position " + std::to_string(at.position));
        }
        retry.first_position = std::min(retry.first_position, at.position);
        retry.last_position = std::max(retry.last_position, at.position);
        stream_version = std::max(stream_version, at.version);
      }
      retry.stream_versions.push_back(stream_version);
    }
    if (found == total) return retry;
    if (found > 0) {
      return Status::duplicate_event_id("some but not all events of this append are already stored");
    }

    // 2. Expected versions, against this batch's earlier appends first.
    std::vector<uint64_t> current(request.streams.size());
    for (size_t i = 0; i < request.streams.size(); ++i) {
      const StreamAppend& part = request.streams[i];
      if (auto it = overlay.find(part.stream); it != overlay.end()) {
        current[i] = it->second;
      } else {
        auto v = committed_version(part.stream);
        if (!v) return v.status();
        current[i] = *v;
      }
      if (!part.expected.matches(current[i])) {
        return Status::wrong_expected_version("stream '" + part.stream + "' is at version " +
                                                  std::to_string(current[i]) + ", expected " +
                                                  part.expected.to_string(),
                                              current[i]);
      }
    }

    // 3. Accepted: assign positions and versions.
    AppendResult result;
    result.first_position = position;
    {
      uint64_t at = position;
      for (size_t i = 0; i < request.streams.size(); ++i) {
        at += request.streams[i].events.size();
        if (!request.streams[i].events.empty()) result.last_position = at - 1;
        result.stream_versions.push_back(current[i] + request.streams[i].events.size());
      }
    }
    // 4. Everything into the batch.
    result.stream_versions.clear();
    for (size_t i = 0; i < request.streams.size(); ++i) {
      const StreamAppend& part = request.streams[i];
      uint64_t version = current[i];
      for (const NewEvent& e : part.events) {
        ++version;
        std::string pos_key = keys::position_key(position);
        std::string envelope = encode_envelope({position, part.stream, version, e.id, e.type, e.time_us ? e.time_us : now_us,
                                                e.correlation_id, e.causation_id, e.payload});
        wb.Put(log_cf, pos_key, envelope);
        envelopes.push_back(std::move(envelope));
        wb.Put(streams_cf, keys::stream_key(part.stream, version), pos_key);
        if (!e.unique_id) {
          wb.Put(ids_cf, keys::id_key(e.id), pos_key);
          in_batch[e.id] = StoredId{position, part.stream, version};
        }
        result.last_position = position;
        ++position;
      }
      overlay[part.stream] = version;
      result.stream_versions.push_back(version);
    }
    add_side_writes(request.side_writes, wb, result.last_position);
    return result;
  }

  // `last_position`: where the append these writes go with ends (for
  // put_last_position); 0 for side writes alone, which validate() keeps
  // from asking for it.
  void add_side_writes(const SideWrites& writes, rocksdb::WriteBatch& wb, uint64_t last_position = 0) {
    for (const auto& op : writes.ops()) {
      switch (op.kind) {
        case SideWrites::Op::Kind::kPut: wb.Put(state_cf, keys::state_key(op.space, op.key), op.value); break;
        case SideWrites::Op::Kind::kErase: wb.Delete(state_cf, keys::state_key(op.space, op.key)); break;
        case SideWrites::Op::Kind::kEraseSpace: {
          auto [begin, end] = keys::state_range(op.space);
          wb.DeleteRange(state_cf, begin, end);
          break;
        }
        case SideWrites::Op::Kind::kCheckpoint: wb.Put(checkpoints_cf, op.key, op.value); break;
        case SideWrites::Op::Kind::kPutLastPosition:
          wb.Put(state_cf, keys::state_key(op.space, op.key), keys::position_key(last_position));
          break;
      }
    }
  }

  // The last key of the log family; 0 when it is empty.
  Result<uint64_t> last_position() const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), log_cf));
    it->SeekToLast();
    if (it->Valid()) {
      if (it->key().size() != 8) return Status::corruption("malformed key in the log family", 0);
      return keys::get_u64(view(it->key()));
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "finding the head of the log");
    return uint64_t{0};
  }

  // Reads the directory's name-id scheme (EventLog::name_ids()), recording
  // it when the directory has no record yet: a directory without events is
  // new and takes SHA-1; one with events was written with the legacy ids.
  // Refuses a directory in any format but the current one, naming what to
  // do; records the current format in a directory that holds nothing yet.
  Status recognise_format(bool has_format1_heads) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), handles[0], keys::kFormatKey, &value);
    if (!s.ok() && !s.IsNotFound()) return from_rocksdb(s, "reading the data directory's format");
    if (s.IsNotFound() && !has_format1_heads && head.load() == 0) {
      if (options.read_only) return Status::ok();  // nothing written yet: nothing to misread
      rocksdb::WriteOptions sync;
      sync.sync = true;
      return from_rocksdb(db->Put(sync, handles[0], keys::kFormatKey, std::to_string(keys::kCurrentFormat)),
                          "recording the data directory's format");
    }
    int format = s.IsNotFound() ? 1 : parse_format(value);
    if (format == keys::kCurrentFormat) return Status::ok();
    if (format > 0 && format < keys::kCurrentFormat) {
      return Status::invalid_argument("the data directory '" + dir + "' is in format " + std::to_string(format) +
                                      "; this ordersd uses format " + std::to_string(keys::kCurrentFormat) +
                                      ": stop every process using it and run `ordersd upgrade --data " +
                                      dir + "` once (it rewrites the directory in place)");
    }
    return Status::invalid_argument("the data directory '" + dir + "' is in format '" + value +
                                    "', written by a later ordersd; this one reads format " +
                                    std::to_string(keys::kCurrentFormat) + " only: run the later version");
  }

  Status recognise_name_ids() {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), handles[0], keys::kNameIdsKey, &value);
    if (s.ok()) {
      if (value == keys::kNameIdsSha1) {
        name_ids = NameIdScheme::kSha1;
      } else if (value == keys::kNameIdsLegacy) {
        name_ids = NameIdScheme::kLegacyFnv;
      } else {
        return Status::invalid_argument("the data directory derives event ids by '" + value +
                                        "', which this version does not know");
      }
      return Status::ok();
    }
    if (!s.IsNotFound()) return from_rocksdb(s, "reading the data directory's format");
    name_ids = head.load() == 0 ? NameIdScheme::kSha1 : NameIdScheme::kLegacyFnv;
    if (options.read_only) return Status::ok();
    rocksdb::WriteOptions sync;
    sync.sync = true;
    return from_rocksdb(db->Put(sync, handles[0], keys::kNameIdsKey,
                                name_ids == NameIdScheme::kSha1 ? keys::kNameIdsSha1 : keys::kNameIdsLegacy),
                        "recording the data directory's format");
  }

  // Side writes alone, in one WriteBatch; `sync`: fsynced before returning.
  Status write_side(const SideWrites& writes, bool sync) {
    if (options.read_only) return Status::invalid_argument("the event log was opened read-only");
    for (const auto& op : writes.ops()) {
      if (op.kind == SideWrites::Op::Kind::kPutLastPosition) {
        return Status::invalid_argument("put_last_position goes with an append, not with side writes alone");
      }
    }
    if (auto failed = sticky_failure()) return *failed;
    // Sized up front: a view's batch can be megabytes, and growing it by
    // doubling copied it over and over.
    size_t bytes = 12;
    for (const auto& op : writes.ops()) bytes += op.space.size() + op.key.size() + op.value.size() + 16;
    rocksdb::WriteBatch wb(bytes);
    add_side_writes(writes, wb);
    rocksdb::WriteOptions write_options;
    write_options.sync = sync;
    Status written = from_rocksdb(db->Write(write_options, &wb), "writing side writes");
    // As for a group commit: after a failed write or sync the WAL may have
    // lost pages, and a later fsync that succeeds (RocksDB resumes after an
    // error it deems retryable) would acknowledge appends over them.
    if (!written) fail_from_now_on(written);
    return written;
  }

  // Stages every append of `batch` into one WriteBatch and writes it (without
  // fsync: the syncer does that), then hands the batch to the syncer.
  void commit(std::vector<Pending>& batch) {
    Written out;
    out.results.reserve(batch.size());
    if (auto failed = sticky_failure()) {
      for (size_t i = 0; i < batch.size(); ++i) out.results.push_back(*failed);
    } else {
      rocksdb::WriteBatch wb;
      std::unordered_map<std::string, uint64_t> overlay;
      std::unordered_map<Uuid, StoredId, UuidHash> in_batch;
      uint64_t position = next_position;
      int64_t now = options.clock_us ? options.clock_us() : system_clock_us();
      std::vector<std::string> envelopes;
      for (Pending& p : batch) out.results.push_back(stage(p.request, wb, overlay, in_batch, position, now, envelopes));

      if (wb.Count() > 0) {
        rocksdb::Status s = db->Write(write_options, &wb);
        if (!s.ok()) {
          Status failed = from_rocksdb(s, "writing a group commit");
          fail_from_now_on(failed);
          for (auto& r : out.results) {
            if (r.is_ok()) r = failed;
          }
        } else {
          for (const auto& [stream, version] : overlay) heads.put(stream, version);
          if (position != next_position) {
            out.first_position = next_position;
            out.last_position = position - 1;
            out.envelopes = std::move(envelopes);
          }
          batch_sizes.observe(static_cast<double>(position - next_position));
          next_position = position;
          commits.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    if (batch.size() > largest_batch.load(std::memory_order_relaxed)) {
      largest_batch.store(batch.size(), std::memory_order_relaxed);
    }
    out.batch = std::move(batch);
    batch.clear();
    {
      std::lock_guard lk(sync_mu);
      written.push_back(std::move(out));
    }
    sync_cv.notify_one();
  }
};

namespace {

rocksdb::ColumnFamilyOptions family_options(const std::shared_ptr<rocksdb::Cache>& cache, bool point_lookups) {
  rocksdb::ColumnFamilyOptions cf;
  // Memtables are bounded together by the shared WriteBufferManager; one
  // family's may still reach this before it is switched.
  cf.write_buffer_size = std::min<size_t>(cf.write_buffer_size, cache->GetCapacity() / 4);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks live in the block cache too, so they count
  // against its budget: held beside it they grow with every SST written (a
  // bloom filter per file of the families looked up by key). Partitioned,
  // so that a lookup loads one small partition, not a whole file's index
  // or filter; the top level of each, and the newest files', stay pinned.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = point_lookups;
  table.pin_top_level_index_and_filter = true;
  if (point_lookups) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Most point lookups miss (a new event id is not stored yet): a bloom
    // filter over the memtable answers those without a skiplist search.
    cf.memtable_whole_key_filtering = true;
    cf.memtable_prefix_bloom_size_ratio = 0.02;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Fresh data (L0 and L1) is read back by readers that lag and rewritten
  // by a compaction soon after: compressing it cost CPU on the flush, on
  // every read and again on the compaction. Where data settles, it is.
  cf.compression_per_level.assign(static_cast<size_t>(cf.num_levels), rocksdb::kSnappyCompression);
  cf.compression_per_level[0] = cf.compression_per_level[1] = rocksdb::kNoCompression;
  return cf;
}

// A stream's keys share the prefix len:u8 stream (keys::stream_prefix).
class StreamPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ordersd.StreamPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 1 + static_cast<uint8_t>(key[0]));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return !key.empty() && key.size() >= 1 + static_cast<size_t>(static_cast<uint8_t>(key[0]));
  }
};

// Every stream is read within its prefix, and the writer asks for the last
// version of streams that are mostly new (each order starts four): a prefix
// bloom filter, in the memtable and in every table file, answers "no such
// stream" without searching either.
rocksdb::ColumnFamilyOptions streams_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = family_options(cache, true);
  cf.prefix_extractor = std::make_shared<StreamPrefix>();
  cf.memtable_whole_key_filtering = false;
  return cf;
}

// Positions only grow: an insert hint per 6-byte prefix (one per 65,536
// positions) makes each memtable insert start where the last one ended.
rocksdb::ColumnFamilyOptions log_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = family_options(cache, false);
  cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(6));
  return cf;
}

// Event ids are random and only ever looked up whole: a hashed memtable keeps
// each insert to a short list instead of a search of one large skiplist,
// which was the writer's largest cost.
rocksdb::ColumnFamilyOptions ids_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = family_options(cache, true);
  cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(3));
  cf.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1 << 18));
  return cf;
}

// What to add to a failed open's message: the write-ahead log files, when
// RocksDB named none (its log_reader reports the offset to the LOG file),
// and where to go next.
std::string damaged_open_hint(const std::string& dir, const std::string& rocksdb_message) {
  std::string hint;
  if (rocksdb_message.find(".log") == std::string::npos && rocksdb_message.find(".sst") == std::string::npos) {
    std::error_code ec;
    std::string wals;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".log") continue;
      std::error_code size_ec;
      uintmax_t size = entry.file_size(size_ec);
      wals += (wals.empty() ? "" : ", ") + entry.path().filename().string() +
              (size_ec ? "" : " (" + std::to_string(size) + " bytes)");
    }
    if (!wals.empty()) hint += "; the write-ahead log to recover: " + wals + " (the LOG file there names the offset)";
  }
  return hint + "; run `ordersd check --data " + dir + "` for a report, and see README.md, \"Recovery\"";
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& dir, EventLogOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = std::move(options);
  impl->heads = StreamHeads(impl->options.stream_cache_capacity);
  impl->recent = std::make_unique<RecentEvents>(std::max(impl->options.cache_bytes, size_t{16} << 20) / 16);
  if (impl->options.max_batch_events == 0) impl->options.max_batch_events = 1;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = impl->options.create_if_missing && !impl->options.read_only;
  // RocksDB makes the directory for its info log even when it then refuses
  // to create a database: look first, so that nothing is made.
  if (!db_options.create_if_missing) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return Status::not_found("no data directory at '" + dir + "'");
    if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
      return Status::not_found("no event log in '" + dir + "'");
    }
  }
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // One writer thread writes every batch; the hashed ids memtable takes no concurrent writes.
  db_options.allow_concurrent_memtable_write = false;
  db_options.keep_log_file_num = 3;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // A damaged record inside the write-ahead log refuses the open; only an
  // incomplete record at its very end (the write a crash interrupted, never
  // acknowledged) is dropped. RocksDB's default, point-in-time recovery,
  // would open and silently drop every record after the damaged one:
  // acknowledged appends lost without a word.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;

  // One memory budget: the block cache, with the memtables charged to it.
  size_t budget = std::max(impl->options.cache_bytes, size_t{16} << 20);
  auto cache = rocksdb::NewLRUCache(budget);
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(budget / 2, cache);
  db_options.max_total_wal_size = std::max<uint64_t>(impl->options.max_wal_bytes, uint64_t{4} << 20);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, family_options(cache, false)},
      {keys::kLogFamily, log_family_options(cache)},
      {keys::kStreamsFamily, streams_family_options(cache)},
      {keys::kIdsFamily, ids_family_options(cache)},
      {keys::kStateFamily, family_options(cache, true)},
      {keys::kCheckpointsFamily, family_options(cache, true)},
  };
  // A database written by a later version may hold families we do not know; open them too.
  std::vector<std::string> existing;
  bool has_format1_heads = false;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = false;
      for (const auto& f : families) known = known || f.name == name;
      has_format1_heads = has_format1_heads || name == keys::kFormat1HeadsFamily;
      if (!known) families.push_back({name, rocksdb::ColumnFamilyOptions()});
    }
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (!impl->options.follower_dir.empty()) {
    if (!impl->options.read_only) return Status::invalid_argument("a follower of the event log is read-only");
    // A secondary instance keeps every table file open: it must not lose
    // one the primary deletes after a compaction between two catch-ups.
    db_options.max_open_files = -1;
    s = rocksdb::DB::OpenAsSecondary(db_options, dir, impl->options.follower_dir, families, &impl->handles, &raw);
  } else if (impl->options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, families, &impl->handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, dir, families, &impl->handles, &raw);
  }
  if (!s.ok()) {
    Status failed = from_rocksdb(s, "opening the event log in '" + dir + "'");
    if (failed.code() != Status::Code::kCorruption) return failed;
    return Status::corruption(failed.message() + damaged_open_hint(dir, s.ToString()), 0);
  }
  impl->db.reset(raw);
  impl->log_cf = impl->handles[1];
  impl->streams_cf = impl->handles[2];
  impl->ids_cf = impl->handles[3];
  impl->state_cf = impl->handles[4];
  impl->checkpoints_cf = impl->handles[5];
  // Appends are written without sync and fsynced by the syncer (SyncWAL);
  // side writes through write() sync themselves.
  impl->write_options.sync = false;

  // Recover the head: the last key of the log family.
  if (auto last = impl->last_position(); !last) {
    return last.status();
  } else {
    impl->head.store(*last);
  }
  impl->next_position = impl->head.load() + 1;
  if (Status s = impl->recognise_format(has_format1_heads); !s) return s;
  if (Status s = impl->recognise_name_ids(); !s) return s;

  auto log = std::unique_ptr<EventLog>(new EventLog(std::move(impl)));
  if (!log->impl_->options.read_only) {
    log->impl_->writer = std::thread([raw_impl = log->impl_.get()] {
      name_this_thread("log-writer");
      raw_impl->run_writer();
    });
    log->impl_->syncer = std::thread([raw_impl = log->impl_.get()] {
      name_this_thread("log-syncer");
      raw_impl->run_syncer();
    });
  }
  return log;
}

Result<int> EventLog::upgrade(const std::string& dir, const std::function<void(const std::string&)>& progress) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return Status::not_found("no event log in '" + dir + "'");
  }
  rocksdb::DBOptions db_options;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  std::vector<std::string> names;
  if (rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &names); !s.ok()) {
    return from_rocksdb(s, "listing the column families in '" + dir + "'");
  }
  // Every family as it is: only the default one is read and written here,
  // and RocksDB needs no table options to drop a family.
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.push_back({name, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (rocksdb::Status s = rocksdb::DB::Open(db_options, dir, families, &handles, &raw); !s.ok()) {
    return from_rocksdb(s, "opening '" + dir + "' to upgrade it");
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  auto release = [&] {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    db->Close().PermitUncheckedError();
  };
  std::string value;
  rocksdb::Status got = db->Get(rocksdb::ReadOptions(), handles[0], keys::kFormatKey, &value);
  if (!got.ok() && !got.IsNotFound()) {
    release();
    return from_rocksdb(got, "reading the format of '" + dir + "'");
  }
  int format = got.IsNotFound() ? 1 : parse_format(value);
  if (format == keys::kCurrentFormat) {
    progress("'" + dir + "' is in format " + std::to_string(format) + " already: nothing to do");
    release();
    return format;
  }
  if (format <= 0 || format > keys::kCurrentFormat) {
    release();
    return Status::invalid_argument("'" + dir + "' is in format '" + value + "', written by a later ordersd; this one writes format " +
                                    std::to_string(keys::kCurrentFormat));
  }
  // 1 -> 2: the stream heads are implied by the "streams" family.
  progress("'" + dir + "' is in format 1; upgrading to format " + std::to_string(keys::kCurrentFormat));
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != keys::kFormat1HeadsFamily) continue;
    progress("dropping the stream-heads family ('heads': a fourth key per event, implied by 'streams')");
    if (rocksdb::Status s = db->DropColumnFamily(handles[i]); !s.ok()) {
      release();
      return from_rocksdb(s, "dropping the 'heads' family of '" + dir + "'");
    }
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status put = db->Put(sync, handles[0], keys::kFormatKey, std::to_string(keys::kCurrentFormat));
  // Leaves no write-ahead log to replay, so the next open starts clean.
  if (put.ok()) put = db->Flush(rocksdb::FlushOptions(), handles[0]);
  release();
  if (!put.ok()) return from_rocksdb(put, "recording format " + std::to_string(keys::kCurrentFormat) + " in '" + dir + "'");
  progress("'" + dir + "' is in format " + std::to_string(keys::kCurrentFormat));
  return format;
}

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventLog::~EventLog() { close(); }

void EventLog::close() {
  {
    std::lock_guard lk(impl_->queue_mu);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  {
    std::lock_guard lk(impl_->sync_mu);
    impl_->writer_done = true;
  }
  impl_->sync_cv.notify_all();
  if (impl_->syncer.joinable()) impl_->syncer.join();
  if (!impl_->options.read_only && impl_->options.durability == Durability::kAsync) {
    impl_->db->FlushWAL(/*sync=*/true).PermitUncheckedError();
  }
  // Everything is in the memtables and the WAL already; writing the
  // memtables out now leaves the next open no WAL to replay (up to
  // max_wal_bytes of it, which takes seconds). A failure here loses nothing:
  // the WAL stays and is replayed.
  if (!impl_->options.read_only && !impl_->flushed_on_close) {
    impl_->flushed_on_close = true;
    rocksdb::FlushOptions flush;
    flush.wait = true;
    impl_->db->Flush(flush, impl_->handles).PermitUncheckedError();
  }
}

void EventLog::append_async(AppendRequest request, AppendCallback done) {
  if (impl_->options.read_only) {
    done(Status::invalid_argument("the event log was opened read-only"));
    return;
  }
  if (Status ok = validate(request); !ok) {
    done(std::move(ok));
    return;
  }
  size_t events = event_count(request);
  {
    std::lock_guard lk(impl_->queue_mu);
    if (!impl_->stopping) {
      impl_->queue.push_back({std::move(request), std::move(done), events});
      done = nullptr;
    }
  }
  if (done) {
    done(Status::shutting_down());
    return;
  }
  impl_->queue_cv.notify_one();
}

Result<AppendResult> EventLog::append(AppendRequest request) {
  std::promise<Result<AppendResult>> promise;
  auto future = promise.get_future();
  append_async(std::move(request), [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<AppendResult> EventLog::append(std::string stream, ExpectedVersion expected, std::vector<NewEvent> events) {
  AppendRequest request;
  request.streams.push_back({std::move(stream), expected, std::move(events)});
  return append(std::move(request));
}

NameIdScheme EventLog::name_ids() const { return impl_->name_ids; }

Uuid EventLog::name_id(std::string_view name) const { return uuid_from_name(impl_->name_ids, name); }

uint64_t EventLog::head() const { return impl_->head.load(std::memory_order_acquire); }

Result<uint64_t> EventLog::catch_up() {
  if (impl_->options.follower_dir.empty()) {
    return Status::invalid_argument("catch_up() needs a log opened as a follower (follower_dir)");
  }
  if (Status s = from_rocksdb(impl_->db->TryCatchUpWithPrimary(), "catching up with the log's writer"); !s) return s;
  auto last = impl_->last_position();
  if (!last) return last.status();
  {
    std::lock_guard lk(impl_->head_mu);
    if (*last > impl_->head.load(std::memory_order_relaxed)) impl_->head.store(*last, std::memory_order_release);
  }
  impl_->head_cv.notify_all();
  return impl_->head.load(std::memory_order_acquire);
}

Result<std::vector<RecordedEvent>> EventLog::read_all(uint64_t from_position, size_t max) const {
  auto out = read_all_unnoted(from_position, max);
  if (!out) return impl_->noted(out.status());
  return out;
}

Result<std::vector<RecordedEvent>> EventLog::read_stream(std::string_view stream, uint64_t from_version,
                                                         size_t max) const {
  auto out = read_stream_unnoted(stream, from_version, max);
  if (!out) return impl_->noted(out.status());
  return out;
}

std::optional<Status> EventLog::corruption() const {
  std::lock_guard lk(impl_->failure_mu);
  return impl_->corrupt;
}

Status EventLog::verify_checksums() const {
  return from_rocksdb(impl_->db->VerifyChecksum(), "verifying the checksums of the SST files");
}

Result<std::vector<RecordedEvent>> EventLog::read_all_unnoted(uint64_t from_position, size_t max) const {
  std::vector<RecordedEvent> out;
  uint64_t limit = head();
  uint64_t expected = std::max<uint64_t>(from_position, 1);
  if (expected > limit || max == 0) return out;
  if (auto recent = impl_->recent->read(expected, max, limit)) return std::move(*recent);
  std::string upper = keys::position_key(limit + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  // A scan of the log reads each block once: kept in the block cache, it
  // would only push out the blocks that point reads (streams, ids) reuse.
  // Readers at the head read the memtable, which this does not touch.
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->log_cf));
  out.reserve(std::min<uint64_t>(max, limit - expected + 1));
  for (it->Seek(keys::position_key(expected)); it->Valid() && out.size() < max; it->Next(), ++expected) {
    uint64_t position = it->key().size() == 8 ? keys::get_u64(view(it->key())) : 0;
    if (position != expected) {
      return Status::corruption("the log has no record at position " + std::to_string(expected), expected);
    }
    std::string_view bytes = view(it->value());
    if (Status ok = verify_envelope(bytes, position); !ok) return ok;
    out.emplace_back(std::string(bytes));
  }
  if (Status s = from_rocksdb(it->status(), "reading the log at position " + std::to_string(expected)); !s) {
    // The position the iterator could not pass, for whoever must name it.
    if (s.code() == Status::Code::kCorruption) return Status::corruption(s.message(), expected);
    return s;
  }
  if (out.size() < max && expected <= limit) {
    return Status::corruption("the log has no record at position " + std::to_string(expected), expected);
  }
  return out;
}

Result<std::vector<RecordedEvent>> EventLog::read_stream_unnoted(std::string_view stream, uint64_t from_version,
                                                                 size_t max) const {
  std::vector<RecordedEvent> out;
  if (stream.empty() || stream.size() > keys::kMaxStreamLength || max == 0) return out;
  uint64_t limit = head();
  std::string prefix = keys::stream_prefix(stream);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(within_stream(), impl_->streams_cf));
  std::vector<std::string> position_keys;
  uint64_t expected = std::max<uint64_t>(from_version, 1);
  for (it->Seek(keys::stream_key(stream, expected)); it->Valid() && position_keys.size() < max; it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    auto parsed = keys::parse_stream_key(view(it->key()));
    if (!parsed || it->value().size() != 8) return Status::corruption("malformed stream index entry", 0);
    if (keys::get_u64(view(it->value())) > limit) break;  // committed, not yet published
    position_keys.emplace_back(view(it->value()));
  }
  if (Status s = from_rocksdb(it->status(), "reading stream '" + std::string(stream) + "'"); !s) return s;

  std::vector<rocksdb::Slice> slices(position_keys.begin(), position_keys.end());
  std::vector<std::string> values(slices.size());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(slices.size(), impl_->log_cf);
  std::vector<rocksdb::Status> statuses = impl_->db->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
  out.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t position = keys::get_u64(position_keys[i]);
    if (!statuses[i].ok()) {
      if (statuses[i].IsNotFound()) {
        return Status::corruption("stream index points at missing position " + std::to_string(position), position);
      }
      Status s = from_rocksdb(statuses[i], "reading position " + std::to_string(position));
      if (s.code() == Status::Code::kCorruption) return Status::corruption(s.message(), position);
      return s;
    }
    if (Status ok = verify_envelope(values[i], position); !ok) return ok;
    out.emplace_back(std::move(values[i]));
  }
  return out;
}

Result<uint64_t> EventLog::stream_version(std::string_view stream) const {
  if (stream.empty() || stream.size() > keys::kMaxStreamLength) return uint64_t{0};
  return impl_->seek_stream_version(stream, head());
}

bool EventLog::wait_for(uint64_t position, std::chrono::steady_clock::time_point deadline,
                        std::stop_token stop) const {
  std::unique_lock lk(impl_->head_mu);
  return impl_->head_cv.wait_until(lk, stop, deadline,
                                   [&] { return impl_->head.load(std::memory_order_acquire) >= position; });
}

Result<std::optional<uint64_t>> EventLog::checkpoint(std::string_view name) const {
  if (auto failed = impl_->sticky_failure()) return *failed;
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->checkpoints_cf, slice(name), &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return impl_->noted(from_rocksdb(s, "reading checkpoint '" + std::string(name) + "'"));
  if (value.size() != 8) return Status::corruption("checkpoint '" + std::string(name) + "' is malformed", 0);
  return std::optional<uint64_t>(keys::get_u64(value));
}

namespace {

// A state key's value through `options`; nullopt when `options` allow no
// disk read and one is needed.
std::optional<Result<std::optional<std::string>>> get_state(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* state,
                                                            const rocksdb::ReadOptions& options, std::string_view space,
                                                            std::string_view key) {
  std::string value;
  rocksdb::Status s = db.Get(options, state, keys::state_key(space, key), &value);
  if (s.IsIncomplete()) return std::nullopt;
  if (s.IsNotFound()) return Result<std::optional<std::string>>(std::optional<std::string>());
  if (!s.ok()) return Result<std::optional<std::string>>(from_rocksdb(s, "reading '" + std::string(space) + "'"));
  return Result<std::optional<std::string>>(std::optional<std::string>(std::move(value)));
}

}  // namespace

std::optional<Result<std::optional<std::string>>> EventLog::get_from_memory(std::string_view space,
                                                                           std::string_view key) const {
  if (auto failed = impl_->sticky_failure()) return Result<std::optional<std::string>>(*failed);
  rocksdb::ReadOptions memory_only;
  memory_only.read_tier = rocksdb::kBlockCacheTier;
  return get_state(*impl_->db, impl_->state_cf, memory_only, space, key);
}

Result<std::optional<std::string>> EventLog::get(std::string_view space, std::string_view key) const {
  if (auto failed = impl_->sticky_failure()) return *failed;
  auto got = get_state(*impl_->db, impl_->state_cf, rocksdb::ReadOptions(), space, key);
  if (!got) return Status::io_error("reading '" + std::string(space) + "': incomplete");  // not with disk reads allowed
  if (!*got) return impl_->noted(got->status());
  return std::move(*got);
}

Status EventLog::scan(std::string_view space, std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& visit,
                      std::string_view from) const {
  if (auto failed = impl_->sticky_failure()) return *failed;
  std::string start = keys::state_key(space, prefix);
  std::string seek = from > prefix ? keys::state_key(space, from) : start;
  size_t space_bytes = 1 + space.size();
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->state_cf));
  for (it->Seek(seek); it->Valid() && it->key().starts_with(start); it->Next()) {
    if (!visit(view(it->key()).substr(space_bytes), view(it->value()))) break;
  }
  return impl_->noted(from_rocksdb(it->status(), "scanning '" + std::string(space) + "'"));
}

Status EventLog::write(const SideWrites& writes) {
  return impl_->write_side(writes, impl_->options.durability == Durability::kFsync);
}

Status EventLog::write_derived(const SideWrites& writes) { return impl_->write_side(writes, false); }

EventLogStats EventLog::stats() const {
  EventLogStats s;
  s.commits = impl_->commits.load(std::memory_order_relaxed);
  s.appends = impl_->appends.load(std::memory_order_relaxed);
  s.events = impl_->events.load(std::memory_order_relaxed);
  s.refused = impl_->refused.load(std::memory_order_relaxed);
  s.largest_batch = impl_->largest_batch.load(std::memory_order_relaxed);
  return s;
}

const std::string& EventLog::directory() const { return impl_->dir; }

Histogram::Snapshot EventLog::batch_sizes() const { return impl_->batch_sizes.snapshot(); }

Histogram::Snapshot EventLog::fsync_seconds() const { return impl_->fsync_seconds.snapshot(); }

}  // namespace ordersd::events
