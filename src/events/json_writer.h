// JsonWriter: writes a JSON document front to back into one string, built
// for speed: the views write a row for everything each batch touches, and the
// hot answers (event lists) are written with it too. Its output is what
// nlohmann's dump() gives for the same document (the row tests compare them);
// keys come out in the order written. The rule across ordersd: JSON that is
// written often goes through JsonWriter; small answers may use nlohmann's
// ordered_json; nothing is assembled by string concatenation.
#pragma once

#include <cstdint>
#include <cstdio>
#include <charconv>
#include <string>
#include <string_view>

namespace ordersd {

class JsonWriter {
 public:
  explicit JsonWriter(size_t reserve) { out_.reserve(reserve); }
  JsonWriter& key(std::string_view k) {
    comma();
    string(k);
    out_ += ':';
    first_ = true;
    return *this;
  }
  JsonWriter& string(std::string_view v) {
    comma();
    out_ += '"';
    // Runs of characters that need no escape go in one append.
    size_t run = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(v[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(v.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default: {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out_ += buf;
        }
      }
    }
    out_.append(v.data() + run, v.size() - run);
    out_ += '"';
    first_ = false;
    return *this;
  }
  JsonWriter& number(uint64_t v) { return integer(v); }
  JsonWriter& signed_number(int64_t v) { return integer(v); }
  JsonWriter& null() { return raw("null"); }
  JsonWriter& open(char bracket) {
    comma();
    out_ += bracket;
    first_ = true;
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_ += bracket;
    first_ = false;
    return *this;
  }
  // A value that is already JSON text (a document written elsewhere).
  JsonWriter& json(std::string_view v) { return raw(v); }
  std::string take() { return std::move(out_); }

 private:
  template <typename Int>
  JsonWriter& integer(Int v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return raw(std::string_view(buf, static_cast<size_t>(end - buf)));
  }
  JsonWriter& raw(std::string_view v) {
    comma();
    out_ += v;
    first_ = false;
    return *this;
  }
  void comma() {
    if (!first_) out_ += ',';
    first_ = true;
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace ordersd
