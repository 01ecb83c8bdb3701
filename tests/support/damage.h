// Damage on purpose, for tests of what ordersd does with it: edits made
// straight through RocksDB, behind the log's back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ordersd::test {

// Looks a column family up by name (REQUIREs that it exists).
using FamilyByName = std::function<rocksdb::ColumnFamilyHandle*(std::string_view name)>;

// Opens the closed data directory `dir` with every column family, hands it
// to `edit`, and closes it again.
void edit_raw(const std::string& dir, const std::function<void(rocksdb::DB&, const FamilyByName&)>& edit);

// Overwrites the log's record at `position` with `bytes` (which need not be an envelope).
void overwrite_log_record(const std::string& dir, uint64_t position, const std::string& bytes);

}  // namespace ordersd::test
