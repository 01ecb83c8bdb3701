// Names the calling thread, as `top -H`, `ps -L`, perf and /proc show it
// (Linux keeps 15 bytes; a longer name is cut). Every long-lived thread of
// ordersd names itself after its role, so CPU can be told per role.
#pragma once

#include <string_view>

namespace ordersd::events {

void name_this_thread(std::string_view name);

}  // namespace ordersd::events
