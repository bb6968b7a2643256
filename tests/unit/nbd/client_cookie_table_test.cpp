// CookieTable (nbd/src/client/cookie_table.hpp): fixed capacity, unique
// cookies, stale cookies never match, drain empties it.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "cookie_table.hpp"

namespace {

using nbd::client_detail::CookieTable;

TEST(ClientCookieTableTest, InsertFindEraseAndCapacity) {
  CookieTable<int> table(3);
  int a = 1, b = 2, c = 3;
  EXPECT_TRUE(table.empty());
  const auto ca = table.insert(&a);
  const auto cb = table.insert(&b);
  const auto cc = table.insert(&c);
  EXPECT_TRUE(table.full());
  EXPECT_EQ(table.size(), 3u);
  EXPECT_NE(ca, 0u);
  EXPECT_EQ(table.find(ca), &a);
  EXPECT_EQ(table.find(cb), &b);
  EXPECT_EQ(table.find(cc), &c);
  EXPECT_EQ(table.erase(cb), &b);
  EXPECT_FALSE(table.full());
  EXPECT_EQ(table.find(cb), nullptr);
  EXPECT_EQ(table.erase(cb), nullptr);
  EXPECT_EQ(table.find(0), nullptr);
  EXPECT_EQ(table.find(~0ull), nullptr);
  EXPECT_EQ(table.find(3), nullptr);  // index out of range
}

TEST(ClientCookieTableTest, AReusedSlotGetsANewCookie) {
  CookieTable<int> table(1);
  int x = 0;
  std::set<std::uint64_t> seen;
  std::uint64_t previous = table.insert(&x);
  seen.insert(previous);
  for (int i = 0; i < 1000; ++i) {
    table.erase(previous);
    const std::uint64_t cookie = table.insert(&x);
    EXPECT_TRUE(seen.insert(cookie).second) << "cookie reused";
    EXPECT_EQ(table.find(previous), nullptr) << "a stale cookie matched";
    previous = cookie;
  }
}

TEST(ClientCookieTableTest, DrainRemovesEverything) {
  CookieTable<int> table(8);
  int items[5] = {};
  for (int& i : items) table.insert(&i);
  std::vector<int*> drained;
  table.drain([&](int* p) { drained.push_back(p); });
  EXPECT_EQ(drained.size(), 5u);
  EXPECT_TRUE(table.empty());
  for (int i = 0; i < 8; ++i) table.insert(&items[0]);
  EXPECT_TRUE(table.full());
}

}  // namespace
