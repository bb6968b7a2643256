// check_request(): the bad-request rules, one by one and in order.
#include "nbd/server/request_check.hpp"

#include <gtest/gtest.h>

namespace nbd {
namespace {

constexpr std::uint16_t kWritable = kFlagHasFlags | kFlagSendFlush | kFlagSendFua |
                                    kFlagSendTrim | kFlagSendWriteZeroes | kFlagSendFastZero |
                                    kFlagCanMultiConn | kFlagSendCache;

RequestPolicy policy(std::uint16_t flags = kWritable | kFlagSendDf) {
  RequestPolicy p;
  p.size = 1u << 20;
  p.transmission_flags = flags;
  p.minimum_block_size = 1;
  p.maximum_payload = kMaxRequestPayload;
  p.block_status_context = true;
  return p;
}

std::uint32_t check(const Request& r, const RequestPolicy& p = policy()) {
  return check_request(r, p).error;
}

TEST(RequestCheck, ValidRequestsPass) {
  EXPECT_EQ(check({0, kCmdRead, 1, 0, 4096}), kErrNone);
  EXPECT_EQ(check({kCmdFlagFua | kCmdFlagDf, kCmdRead, 1, 0, 4096}), kErrNone);
  EXPECT_EQ(check({kCmdFlagFua, kCmdWrite, 1, (1u << 20) - 1, 1}), kErrNone);
  EXPECT_EQ(check({kCmdFlagNoHole | kCmdFlagFastZero, kCmdWriteZeroes, 1, 0, 1u << 20}), kErrNone);
  EXPECT_EQ(check({kCmdFlagReqOne, kCmdBlockStatus, 1, 0, 1u << 20}), kErrNone);
  EXPECT_EQ(check({0, kCmdTrim, 1, 1u << 20, 0}), kErrNone);  // empty, at the end
  EXPECT_EQ(check({0, kCmdCache, 1, 0, 4096}), kErrNone);
  EXPECT_TRUE(check_request({0, kCmdRead, 1, 0, 1}, policy()));
}

TEST(RequestCheck, FlushIgnoresOffsetAndLength) {
  EXPECT_EQ(check({0, kCmdFlush, 1, ~std::uint64_t{0}, ~std::uint32_t{0}}), kErrNone);
}

TEST(RequestCheck, UnknownCommandsAndDisc) {
  EXPECT_EQ(check({0, kCmdResize, 1, 0, 0}), kErrInval);
  EXPECT_EQ(check({0, 0xffff, 1, 0, 0}), kErrInval);
  EXPECT_EQ(check({0, kCmdDisc, 1, 0, 0}), kErrInval);  // the session handles DISC first
}

TEST(RequestCheck, FlagsMustBeAllowedAndAdvertised) {
  EXPECT_EQ(check({0x8000, kCmdRead, 1, 0, 512}), kErrInval);
  EXPECT_EQ(check({kCmdFlagPayloadLen, kCmdWrite, 1, 0, 512}), kErrInval);
  EXPECT_EQ(check({kCmdFlagNoHole, kCmdWrite, 1, 0, 512}), kErrInval);
  EXPECT_EQ(check({kCmdFlagReqOne, kCmdRead, 1, 0, 512}), kErrInval);
  EXPECT_EQ(check({kCmdFlagDf, kCmdRead, 1, 0, 512}, policy(kWritable)), kErrInval);
  EXPECT_EQ(check({kCmdFlagFastZero, kCmdWriteZeroes, 1, 0, 512},
                  policy(kWritable & ~kFlagSendFastZero)),
            kErrInval);
  EXPECT_EQ(check({kCmdFlagFua, kCmdRead, 1, 0, 512}, policy(kFlagHasFlags | kFlagReadOnly)),
            kErrInval);
}

TEST(RequestCheck, ReadOnlyRefusesModificationsAfterFlags) {
  RequestPolicy p = policy(kFlagHasFlags | kFlagReadOnly);
  p.read_only = true;
  EXPECT_EQ(check({0, kCmdWrite, 1, 0, 512}, p), kErrPerm);
  EXPECT_EQ(check({0, kCmdTrim, 1, 0, 512}, p), kErrPerm);
  EXPECT_EQ(check({0, kCmdWriteZeroes, 1, 0, 512}, p), kErrPerm);
  EXPECT_EQ(check({0, kCmdWrite, 1, 1u << 30, 512}, p), kErrPerm);  // before the range
  EXPECT_EQ(check({0, kCmdRead, 1, 0, 512}, p), kErrNone);
  EXPECT_EQ(check({0, kCmdFlush, 1, 0, 0}, p), kErrNone);
  EXPECT_EQ(check({kCmdFlagFua, kCmdWrite, 1, 0, 512}, p), kErrInval);  // flags first
}

TEST(RequestCheck, LengthLimitForDataCommandsOnly) {
  RequestPolicy p = policy();
  p.size = 1ull << 40;
  p.maximum_payload = 1u << 20;
  EXPECT_EQ(check({0, kCmdRead, 1, 0, (1u << 20) + 1}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdWrite, 1, 0, (1u << 20) + 1}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdCache, 1, 0, (1u << 20) + 1}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdWrite, 1, 0, 1u << 20}, p), kErrNone);
  EXPECT_EQ(check({0, kCmdTrim, 1, 0, 0xffffffff}, p), kErrNone);
  EXPECT_EQ(check({0, kCmdWriteZeroes, 1, 0, 0xffffffff}, p), kErrNone);
  EXPECT_EQ(check({0, kCmdBlockStatus, 1, 0, 0xffffffff}, p), kErrNone);
  // Past the end and too long: too long wins (it is checked first).
  p.size = 4096;
  EXPECT_EQ(check({0, kCmdWrite, 1, 0, (1u << 20) + 1}, p), kErrInval);
}

TEST(RequestCheck, BlockStatusNeedsAContextAndALength) {
  RequestPolicy p = policy();
  EXPECT_EQ(check({0, kCmdBlockStatus, 1, 0, 0}, p), kErrInval);
  p.block_status_context = false;
  EXPECT_EQ(check({0, kCmdBlockStatus, 1, 0, 512}, p), kErrInval);
}

TEST(RequestCheck, Alignment) {
  RequestPolicy p = policy();
  p.minimum_block_size = 512;
  EXPECT_EQ(check({0, kCmdRead, 1, 1, 512}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdRead, 1, 512, 511}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdWrite, 1, 512, 1}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdTrim, 1, 100, 512}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdWriteZeroes, 1, 0, 1000}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdCache, 1, 7, 512}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdBlockStatus, 1, 3, 512}, p), kErrInval);
  EXPECT_EQ(check({0, kCmdRead, 1, 1024, 2048}, p), kErrNone);
  EXPECT_EQ(check({0, kCmdFlush, 1, 3, 3}, p), kErrNone);
  // Misaligned and past the end: alignment is reported.
  EXPECT_EQ(check({0, kCmdWrite, 1, (1u << 20) + 1, 512}, p), kErrInval);
}

TEST(RequestCheck, RangePastTheEnd) {
  const RequestPolicy p = policy();
  const std::uint64_t size = p.size;
  EXPECT_EQ(check({0, kCmdWrite, 1, size - 1, 2}), kErrNoSpc);
  EXPECT_EQ(check({0, kCmdWriteZeroes, 1, size, 1}), kErrNoSpc);
  EXPECT_EQ(check({0, kCmdRead, 1, size, 1}), kErrInval);
  EXPECT_EQ(check({0, kCmdTrim, 1, size + 1, 0}), kErrInval);
  EXPECT_EQ(check({0, kCmdCache, 1, size - 4095, 4096}), kErrInval);
  EXPECT_EQ(check({0, kCmdBlockStatus, 1, size, 1}), kErrInval);
  // Offset + length overflowing 64 bits.
  EXPECT_EQ(check({0, kCmdRead, 1, ~std::uint64_t{0}, 2}), kErrInval);
  EXPECT_EQ(check({0, kCmdWrite, 1, ~std::uint64_t{0} - 1, 4}), kErrNoSpc);
  EXPECT_EQ(check({0, kCmdRead, 1, size, 0}), kErrNone);
  EXPECT_EQ(check({0, kCmdRead, 1, size + 1, 0}), kErrInval);
}

TEST(RequestCheck, MessagesAreNeverNull) {
  EXPECT_NE(check_request({0, 99, 1, 0, 0}, policy()).message, nullptr);
  EXPECT_STREQ(check_request({0, kCmdRead, 1, 0, 1}, policy()).message, "");
}

TEST(RequestCheck, UndrainablePayloads) {
  EXPECT_FALSE(must_disconnect({0, kCmdWrite, 1, 0, kMaxRequestPayload + 1}));
  EXPECT_FALSE(must_disconnect({0, kCmdWrite, 1, 0, 2 * kMaxRequestPayload}));
  EXPECT_TRUE(must_disconnect({0, kCmdWrite, 1, 0, 2 * kMaxRequestPayload + 1}));
  EXPECT_FALSE(must_disconnect({0, kCmdRead, 1, 0, 0xffffffff}));  // no payload
  EXPECT_FALSE(must_disconnect({0, 42, 1, 0, 0xffffffff}));
}

}  // namespace
}  // namespace nbd
