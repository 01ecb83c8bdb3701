// The text of schemas/order_events.fbs, compiled in by CMake.
#pragma once

namespace ordersd::events {
const char* order_events_schema_text();
}
