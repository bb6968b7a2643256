// Helpers for the NBD wire tests: byte vectors from hex and text, and a
// wrapper that runs an encoder into a big buffer and returns what it wrote.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "nbd/wire.hpp"

namespace nbd::test {

using Bytes = std::vector<std::byte>;

// "4e42 444d" -> {0x4e, 0x42, 0x44, 0x4d}; spaces and newlines are ignored.
inline Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char ch : s) {
    int v;
    if (ch >= '0' && ch <= '9') {
      v = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      v = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      v = ch - 'A' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_LT(hi, 0) << "odd number of hex digits in " << s;
  return out;
}

inline Bytes text(std::string_view s) {
  Bytes out;
  for (char ch : s) out.push_back(static_cast<std::byte>(ch));
  return out;
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes u16(std::uint16_t v) {
  Bytes b(2);
  store_be16(b.data(), v);
  return b;
}
inline Bytes u32(std::uint32_t v) {
  Bytes b(4);
  store_be32(b.data(), v);
  return b;
}
inline Bytes u64(std::uint64_t v) {
  Bytes b(8);
  store_be64(b.data(), v);
  return b;
}

inline std::span<const std::byte> first(const Bytes& b, std::size_t n) {
  return std::span<const std::byte>(b).first(n);
}

// Runs enc(span) on a generous buffer, expects success, returns the bytes.
template <class Enc>
Bytes encoded(Enc enc) {
  Bytes buf(256 * 1024, std::byte{0xee});
  WireResult<std::size_t> n = enc(std::span<std::byte>(buf));
  EXPECT_TRUE(n.ok()) << n.message();
  buf.resize(n.ok() ? *n : 0);
  return buf;
}

// Runs enc(span) on a generous buffer and returns its error (kOk if it
// succeeded).
template <class Enc>
WireError encode_error(Enc enc) {
  Bytes buf(256 * 1024);
  return enc(std::span<std::byte>(buf)).error();
}

}  // namespace nbd::test
