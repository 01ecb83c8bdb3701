// Parsing of the values a request carries in its headers and query string.
// Pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"

namespace ordersd::http {

// An id in a path (an order, customer, sku): 1 to 64 characters of [A-Za-z0-9_-].
bool valid_id(std::string_view id);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF).
bool valid_utf8(std::string_view text);

// "42" -> 42: decimal digits only, no sign, no spaces, fits in 64 bits.
std::optional<uint64_t> parse_decimal(std::string_view text);

// `"3"` -> 3, the form of the ETags we send. Weak tags, lists and * are not ours.
std::optional<uint64_t> parse_etag(std::string_view value);

// "status=placed&limit=10" -> {status: "placed", limit: "10"}, percent-decoded.
// kInvalidArgument for a name not in `names`, a name given twice (unless it
// is in `repeatable`: its values are then joined with commas, "type=a&type=b"
// -> {type: "a,b"}), or a name or value that is not UTF-8 once decoded.
Result<std::map<std::string, std::string>> parse_query(std::string_view query,
                                                      std::initializer_list<const char*> names,
                                                      std::initializer_list<const char*> repeatable = {});

// "from=1&limit=10" -> {from: 1, limit: 10}, percent-decoded. kInvalidArgument
// for a name not in `names`, a name given twice, or a value that is not a
// decimal.
Result<std::map<std::string, uint64_t>> parse_numeric_query(std::string_view query,
                                                            std::initializer_list<const char*> names);

}  // namespace ordersd::http
