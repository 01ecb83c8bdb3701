// Damage on purpose, for tests of what ordersd does with it.
#pragma once

#include <cstdint>
#include <string>

namespace ordersd::test {

// Overwrites the log's record at `position` in the closed data directory
// `dir` with `bytes` (which need not be an envelope), straight through RocksDB.
void overwrite_log_record(const std::string& dir, uint64_t position, const std::string& bytes);

}  // namespace ordersd::test
