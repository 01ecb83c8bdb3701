#include "support/damage.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <vector>

#include "events/keys.h"

namespace ordersd::test {

void overwrite_log_record(const std::string& dir, uint64_t position, const std::string& bytes) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.push_back({n, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &raw).ok());
  bool written = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == events::keys::kLogFamily) {
      written = raw->Put(rocksdb::WriteOptions(), handles[i], events::keys::position_key(position), bytes).ok();
    }
  }
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
  REQUIRE(written);
}

}  // namespace ordersd::test
