#include "daemon/connection_limiter.hpp"

#include <gtest/gtest.h>

namespace corobd {
namespace {

using Action = ConnectionLimiter::Action;

TEST(DaemonConnectionLimiter, ServesUpToTheLimitThenRefusesThenCloses) {
  ConnectionLimiter l(2);
  EXPECT_EQ(l.admit().action, Action::kServe);
  EXPECT_EQ(l.admit().action, Action::kServe);
  auto r1 = l.admit();
  EXPECT_EQ(r1.action, Action::kRefuse);
  EXPECT_TRUE(r1.log_burst);
  auto r2 = l.admit();
  EXPECT_EQ(r2.action, Action::kRefuse);
  EXPECT_FALSE(r2.log_burst);
  auto r3 = l.admit();
  EXPECT_EQ(r3.action, Action::kClose);
  EXPECT_FALSE(r3.log_burst);
  EXPECT_EQ(l.refused_total(), 3u);
  EXPECT_EQ(l.active(), 2u);
  EXPECT_EQ(l.refusing(), 2u);
}

TEST(DaemonConnectionLimiter, ABurstEndsWithTheNextServedConnection) {
  ConnectionLimiter l(1);
  EXPECT_EQ(l.admit().previous_burst_refused, 0u);
  EXPECT_EQ(l.admit().action, Action::kRefuse);
  EXPECT_EQ(l.admit().action, Action::kClose);  // closed: nothing to release
  l.release_refused();
  l.release();
  auto d = l.admit();
  EXPECT_EQ(d.action, Action::kServe);
  EXPECT_EQ(d.previous_burst_refused, 2u);
  auto again = l.admit();
  EXPECT_TRUE(again.log_burst);  // a new burst
  l.release_refused();
  l.release();
  EXPECT_EQ(l.admit().previous_burst_refused, 1u);
}

}  // namespace
}  // namespace corobd
