// JsonWriter: a minimal streaming JSON writer for the report (private to
// loadgen). Objects and arrays nest; commas are placed automatically.
// Doubles are written with enough precision and never as NaN/Inf (0).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

class JsonWriter {
 public:
  JsonWriter& begin_object(std::string_view key = {}) { return open(key, '{'); }
  JsonWriter& end_object() { return close('}'); }

  JsonWriter& value(std::string_view key, std::string_view v) {
    prefix(key);
    string(v);
    return *this;
  }
  JsonWriter& value(std::string_view key, const char* v) { return value(key, std::string_view(v)); }
  JsonWriter& value(std::string_view key, const std::string& v) { return value(key, std::string_view(v)); }
  JsonWriter& value(std::string_view key, bool v) {
    prefix(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& value(std::string_view key, std::uint64_t v) {
    prefix(key);
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& value(std::string_view key, int v) {
    prefix(key);
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& value(std::string_view key, unsigned v) { return value(key, std::uint64_t{v}); }
  JsonWriter& value(std::string_view key, double v) {
    prefix(key);
    if (!std::isfinite(v)) v = 0;
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    if (std::fabs(v) >= 1e6 && std::fabs(v) < 1e18) std::snprintf(b, sizeof b, "%.3f", v);
    out_ += b;
    return *this;
  }
  JsonWriter& null(std::string_view key) {
    prefix(key);
    out_ += "null";
    return *this;
  }

  std::string str() const { return out_ + "\n"; }

 private:
  JsonWriter& open(std::string_view key, char c) {
    prefix(key);
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char c) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) {
      out_ += '\n';
      indent();
    }
    out_ += c;
    return *this;
  }
  void prefix(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      out_ += '\n';
      indent();
    }
    if (!key.empty()) {
      string(key);
      out_ += ": ";
    }
  }
  void indent() { out_.append(2 * first_.size(), ' '); }
  void string(std::string_view s) {
    out_ += '"';
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out_ += b;
          } else {
            out_ += ch;
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
};

}  // namespace loadgen
