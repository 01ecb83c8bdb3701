#include "http/params.h"

#include <charconv>

#include "http/router.h"

namespace ordersd::http {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;  // cut off
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  uint64_t v = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_etag(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.size() < 3 || value.front() != '"' || value.back() != '"') return std::nullopt;
  return parse_decimal(value.substr(1, value.size() - 2));
}

Result<std::map<std::string, std::string>> parse_query(std::string_view query,
                                                      std::initializer_list<const char*> names,
                                                      std::initializer_list<const char*> repeatable) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (!valid_utf8(name) || !valid_utf8(value)) {
      return Status::invalid_argument("a query parameter holds invalid UTF-8 once percent-decoded");
    }
    bool known = false;
    for (const char* n : names) known = known || name == n;
    if (!known) return Status::invalid_argument("unknown query parameter '" + name + "'");
    if (auto it = out.find(name); it != out.end()) {
      bool repeats = false;
      for (const char* n : repeatable) repeats = repeats || name == n;
      if (!repeats) return Status::invalid_argument(name + " is given twice");
      it->second += "," + value;
      continue;
    }
    out[name] = std::move(value);
  }
  return out;
}

Result<std::map<std::string, uint64_t>> parse_numeric_query(std::string_view query,
                                                            std::initializer_list<const char*> names) {
  auto parsed = parse_query(query, names);
  if (!parsed) return parsed.status();
  std::map<std::string, uint64_t> out;
  for (const auto& [name, value] : *parsed) {
    auto number = parse_decimal(value);
    if (!number) return Status::invalid_argument(name + " must be a non-negative integer");
    out[name] = *number;
  }
  return out;
}

}  // namespace ordersd::http
