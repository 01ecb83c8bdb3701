#include "support/space_rows.h"

#include <stdexcept>

namespace ordersd::test {

std::map<std::string, std::string> space_rows(const events::EventLog& log, const std::string& space) {
  std::map<std::string, std::string> out;
  Status s = log.scan(space, "", [&](std::string_view k, std::string_view v) {
    out.emplace(k, v);
    return true;
  });
  if (!s) throw std::runtime_error("reading " + space + ": " + s.to_string());
  return out;
}

}  // namespace ordersd::test
