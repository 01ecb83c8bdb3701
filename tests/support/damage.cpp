#include "support/damage.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <vector>

#include "events/keys.h"

namespace ordersd::test {

void edit_raw(const std::string& dir, const std::function<void(rocksdb::DB&, const FamilyByName&)>& edit) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.push_back({n, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &raw).ok());
  FamilyByName family = [&](std::string_view name) -> rocksdb::ColumnFamilyHandle* {
    for (auto* h : handles) {
      if (h->GetName() == name) return h;
    }
    FAIL("no column family " << std::string(name));
    return nullptr;
  };
  edit(*raw, family);
  for (auto* h : handles) REQUIRE(raw->DestroyColumnFamilyHandle(h).ok());
  delete raw;
}

void overwrite_log_record(const std::string& dir, uint64_t position, const std::string& bytes) {
  edit_raw(dir, [&](rocksdb::DB& db, const FamilyByName& family) {
    REQUIRE(db.Put(rocksdb::WriteOptions(), family(events::keys::kLogFamily), events::keys::position_key(position),
                   bytes)
                .ok());
  });
}

}  // namespace ordersd::test
