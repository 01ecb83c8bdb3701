// Every key and value of a side space of a log, in key order: what the tests
// of the views compare.
#pragma once

#include <map>
#include <string>

#include "events/event_log.h"

namespace ordersd::test {

// Throws std::runtime_error when the log cannot be read.
std::map<std::string, std::string> space_rows(const events::EventLog& log, const std::string& space);

}  // namespace ordersd::test
