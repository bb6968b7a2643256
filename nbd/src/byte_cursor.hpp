// Internal: sequential big-endian readers and writers over byte spans.
//
// Writer does no bounds checks: encoders compute the full message size and
// check it against the output span before writing anything. Reader checks
// every read against what is left (have()) so decoders can walk variable
// layouts safely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "nbd/byte_order.hpp"

namespace nbd::detail {

class Writer {
 public:
  explicit Writer(std::span<std::byte> out) : p_(out.data()), begin_(out.data()) {}

  void u16(std::uint16_t v) {
    store_be16(p_, v);
    p_ += 2;
  }
  void u32(std::uint32_t v) {
    store_be32(p_, v);
    p_ += 4;
  }
  void u64(std::uint64_t v) {
    store_be64(p_, v);
    p_ += 8;
  }
  void bytes(std::span<const std::byte> b) {
    if (!b.empty()) std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }
  void str(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void zeroes(std::size_t n) {
    if (n != 0) std::memset(p_, 0, n);
    p_ += n;
  }
  std::size_t written() const { return static_cast<std::size_t>(p_ - begin_); }

 private:
  std::byte* p_;
  std::byte* begin_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : rest_(in) {}

  bool have(std::size_t n) const { return rest_.size() >= n; }
  std::size_t left() const { return rest_.size(); }

  // Each read requires have(n) to have been checked.
  std::uint16_t u16() { return load_be16(take(2).data()); }
  std::uint32_t u32() { return load_be32(take(4).data()); }
  std::uint64_t u64() { return load_be64(take(8).data()); }
  std::span<const std::byte> bytes(std::size_t n) { return take(n); }
  std::string_view str(std::size_t n) {
    auto b = take(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  std::span<const std::byte> rest() const { return rest_; }

 private:
  std::span<const std::byte> take(std::size_t n) {
    auto b = rest_.first(n);
    rest_ = rest_.subspan(n);
    return b;
  }

  std::span<const std::byte> rest_;
};

// Strings as bytes, and bytes as strings.
inline std::string_view as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace nbd::detail
