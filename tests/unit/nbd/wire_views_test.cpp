// The list views over decoded messages: iteration, indexing, and safety when
// built by hand over bytes no decoder validated.
#include "nbd/wire_views.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <string_view>
#include <vector>

#include "wire_test_util.hpp"

namespace nbd {
namespace {

using test::Bytes;
using test::cat;
using test::hex;
using test::text;

TEST(WireViewsTest, ByteOrder) {
  Bytes b(8);
  store_be16(b.data(), 0x0102);
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 2), hex("0102"));
  store_be32(b.data(), 0x01020304);
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 4), hex("01020304"));
  store_be64(b.data(), 0x0102030405060708);
  EXPECT_EQ(b, hex("0102030405060708"));
  EXPECT_EQ(load_be16(b.data()), 0x0102);
  EXPECT_EQ(load_be32(b.data()), 0x01020304u);
  EXPECT_EQ(load_be64(b.data()), 0x0102030405060708u);
  // Unaligned.
  const Bytes u = hex("ff fedcba9876543210");
  EXPECT_EQ(load_be64(u.data() + 1), 0xfedcba9876543210u);
  static_assert(
      load_be32(
          std::array{std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}}.data()) ==
      0xdeadbeef);
}

TEST(WireViewsTest, InfoList) {
  const Bytes raw = hex("0000 0003 ffff");
  InfoList l(raw);
  EXPECT_EQ(l.size(), 3u);
  EXPECT_FALSE(l.empty());
  EXPECT_EQ(l[1], 3);
  EXPECT_EQ(std::vector<std::uint16_t>(l.begin(), l.end()),
            (std::vector<std::uint16_t>{0, 3, 0xffff}));
  EXPECT_TRUE(l.contains(0xffff));
  EXPECT_FALSE(l.contains(1));
  EXPECT_EQ(std::distance(l.begin(), l.end()), 3);
  // An odd trailing byte is not a value.
  const Bytes odd = hex("0001 02");
  EXPECT_EQ(InfoList(odd).size(), 1u);
  EXPECT_TRUE(InfoList().empty());
  EXPECT_EQ(InfoList().begin(), InfoList().end());
}

TEST(WireViewsTest, StringList) {
  const Bytes raw =
      cat({hex("00000005"), text("base:"), hex("00000000"), hex("00000002"), text("ab")});
  StringList l(raw, 3);
  EXPECT_EQ(l.size(), 3u);
  std::vector<std::string_view> got(l.begin(), l.end());
  EXPECT_EQ(got, (std::vector<std::string_view>{"base:", "", "ab"}));
  EXPECT_TRUE(StringList().empty());
  EXPECT_EQ(StringList().begin(), StringList().end());
}

TEST(WireViewsTest, StringListOverUnvalidatedBytesStopsSafely) {
  // Claims 3 strings; the second length runs past the end.
  const Bytes raw = cat({hex("00000001"), text("a"), hex("00000010"), text("bc")});
  std::vector<std::string_view> got;
  for (std::string_view s : StringList(raw, 3)) got.push_back(s);
  EXPECT_EQ(got, (std::vector<std::string_view>{"a"}));
  // Claims strings but has too few bytes for a length.
  got.clear();
  const Bytes tiny = hex("0000");
  for (std::string_view s : StringList(tiny, 5)) got.push_back(s);
  EXPECT_TRUE(got.empty());
}

TEST(WireViewsTest, DescriptorList) {
  const Bytes raw = hex("00001000 00000001 00000200 00000003 ffff");
  DescriptorList l(raw);  // the partial trailing descriptor is ignored
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0], (BlockDescriptor{0x1000, kStateHole}));
  EXPECT_EQ(l[1], (BlockDescriptor{0x200, kStateHole | kStateZero}));
  std::vector<BlockDescriptor> got(l.begin(), l.end());
  EXPECT_EQ(got.size(), 2u);
  EXPECT_TRUE(DescriptorList().empty());
}

}  // namespace
}  // namespace nbd
