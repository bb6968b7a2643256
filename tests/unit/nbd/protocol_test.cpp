// Constants, names, errno mapping and command-flag rules of protocol.hpp,
// checked against the values in the NBD spec (doc/proto.md).
#include "nbd/protocol.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <limits>
#include <set>
#include <string>

#include "nbd/wire_result.hpp"

namespace nbd {
namespace {

TEST(ProtocolTest, MagicsMatchSpec) {
  // The ASCII magics spell what the spec says they spell.
  auto ascii = [](std::uint64_t v) {
    std::string s;
    for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
  };
  EXPECT_EQ(ascii(kNbdMagic), "NBDMAGIC");
  EXPECT_EQ(ascii(kIHaveOpt), "IHAVEOPT");
  EXPECT_EQ(kCliservMagic, 0x00420281861253u);
  EXPECT_EQ(kOptionReplyMagic, 0x3e889045565a9u);
  EXPECT_EQ(kRequestMagic, 0x25609513u);
  EXPECT_EQ(kSimpleReplyMagic, 0x67446698u);
  EXPECT_EQ(kStructuredReplyMagic, 0x668e33efu);
  EXPECT_EQ(kExtendedRequestMagic, 0x21e41c71u);
  EXPECT_EQ(kExtendedReplyMagic, 0x6e8a278cu);
}

TEST(ProtocolTest, FlagBitsMatchSpec) {
  EXPECT_EQ(kFlagFixedNewstyle, 0x1);
  EXPECT_EQ(kFlagNoZeroes, 0x2);
  EXPECT_EQ(kFlagCFixedNewstyle, 0x1u);
  EXPECT_EQ(kFlagCNoZeroes, 0x2u);
  const std::uint16_t tx[] = {kFlagHasFlags,        kFlagReadOnly,   kFlagSendFlush,
                              kFlagSendFua,         kFlagRotational, kFlagSendTrim,
                              kFlagSendWriteZeroes, kFlagSendDf,     kFlagCanMultiConn,
                              kFlagSendResize,      kFlagSendCache,  kFlagSendFastZero,
                              kFlagBlockStatPayload};
  for (unsigned bit = 0; bit < std::size(tx); ++bit) EXPECT_EQ(tx[bit], 1u << bit) << "bit " << bit;
  const std::uint16_t cmd[] = {kCmdFlagFua,    kCmdFlagNoHole,   kCmdFlagDf,
                               kCmdFlagReqOne, kCmdFlagFastZero, kCmdFlagPayloadLen};
  for (unsigned bit = 0; bit < std::size(cmd); ++bit)
    EXPECT_EQ(cmd[bit], 1u << bit) << "bit " << bit;
  EXPECT_EQ(kReplyFlagDone, 0x1);
  EXPECT_EQ(kStateHole, 0x1u);
  EXPECT_EQ(kStateZero, 0x2u);
}

TEST(ProtocolTest, OptionAndReplyValuesMatchSpec) {
  EXPECT_EQ(kOptExportName, 1u);
  EXPECT_EQ(kOptAbort, 2u);
  EXPECT_EQ(kOptList, 3u);
  EXPECT_EQ(kOptPeekExport, 4u);
  EXPECT_EQ(kOptStartTls, 5u);
  EXPECT_EQ(kOptInfo, 6u);
  EXPECT_EQ(kOptGo, 7u);
  EXPECT_EQ(kOptStructuredReply, 8u);
  EXPECT_EQ(kOptListMetaContext, 9u);
  EXPECT_EQ(kOptSetMetaContext, 10u);
  EXPECT_EQ(kOptExtendedHeaders, 11u);

  EXPECT_EQ(kRepAck, 1u);
  EXPECT_EQ(kRepServer, 2u);
  EXPECT_EQ(kRepInfo, 3u);
  EXPECT_EQ(kRepMetaContext, 4u);
  EXPECT_EQ(kRepErrUnsup, 0x80000001u);
  EXPECT_EQ(kRepErrPolicy, 0x80000002u);
  EXPECT_EQ(kRepErrInvalid, 0x80000003u);
  EXPECT_EQ(kRepErrPlatform, 0x80000004u);
  EXPECT_EQ(kRepErrTlsReqd, 0x80000005u);
  EXPECT_EQ(kRepErrUnknown, 0x80000006u);
  EXPECT_EQ(kRepErrShutdown, 0x80000007u);
  EXPECT_EQ(kRepErrBlockSizeReqd, 0x80000008u);
  EXPECT_EQ(kRepErrTooBig, 0x80000009u);
  EXPECT_EQ(kRepErrExtHeaderReqd, 0x8000000au);
  EXPECT_TRUE(is_error_reply(kRepErrUnsup));
  EXPECT_FALSE(is_error_reply(kRepAck));

  EXPECT_EQ(kInfoExport, 0);
  EXPECT_EQ(kInfoName, 1);
  EXPECT_EQ(kInfoDescription, 2);
  EXPECT_EQ(kInfoBlockSize, 3);
}

TEST(ProtocolTest, CommandAndChunkValuesMatchSpec) {
  EXPECT_EQ(kCmdRead, 0);
  EXPECT_EQ(kCmdWrite, 1);
  EXPECT_EQ(kCmdDisc, 2);
  EXPECT_EQ(kCmdFlush, 3);
  EXPECT_EQ(kCmdTrim, 4);
  EXPECT_EQ(kCmdCache, 5);
  EXPECT_EQ(kCmdWriteZeroes, 6);
  EXPECT_EQ(kCmdBlockStatus, 7);
  EXPECT_EQ(kCmdResize, 8);

  EXPECT_EQ(kReplyTypeNone, 0);
  EXPECT_EQ(kReplyTypeOffsetData, 1);
  EXPECT_EQ(kReplyTypeOffsetHole, 2);
  EXPECT_EQ(kReplyTypeBlockStatus, 5);
  EXPECT_EQ(kReplyTypeBlockStatusExt, 6);
  EXPECT_EQ(kReplyTypeError, 0x8001);
  EXPECT_EQ(kReplyTypeErrorOffset, 0x8002);
  EXPECT_TRUE(is_error_chunk(kReplyTypeError));
  EXPECT_TRUE(is_error_chunk(0x8099));
  EXPECT_FALSE(is_error_chunk(kReplyTypeBlockStatus));
}

TEST(ProtocolTest, ErrorValuesMatchSpec) {
  EXPECT_EQ(kErrPerm, 1u);
  EXPECT_EQ(kErrIo, 5u);
  EXPECT_EQ(kErrNoMem, 12u);
  EXPECT_EQ(kErrInval, 22u);
  EXPECT_EQ(kErrNoSpc, 28u);
  EXPECT_EQ(kErrOverflow, 75u);
  EXPECT_EQ(kErrNotSup, 95u);
  EXPECT_EQ(kErrShutdown, 108u);
}

TEST(ProtocolTest, Limits) {
  EXPECT_EQ(kMaxStringLength, 4096u);
  EXPECT_EQ(kMaxRequestPayload, 1u << 25);
  EXPECT_EQ(kMaxMinimumBlockSize, 1u << 16);
  EXPECT_GE(kMaxOptionLength, 4u + kMaxStringLength + 2 + 2 * 4);
}

TEST(ProtocolTest, ErrnoToNbd) {
  EXPECT_EQ(errno_to_nbd(0), kErrNone);
  EXPECT_EQ(errno_to_nbd(EPERM), kErrPerm);
  EXPECT_EQ(errno_to_nbd(EROFS), kErrPerm);
  EXPECT_EQ(errno_to_nbd(EIO), kErrIo);
  EXPECT_EQ(errno_to_nbd(ENOMEM), kErrNoMem);
  EXPECT_EQ(errno_to_nbd(EINVAL), kErrInval);
  EXPECT_EQ(errno_to_nbd(ENOSPC), kErrNoSpc);
  EXPECT_EQ(errno_to_nbd(EDQUOT), kErrNoSpc);
  EXPECT_EQ(errno_to_nbd(EFBIG), kErrNoSpc);
  EXPECT_EQ(errno_to_nbd(EOVERFLOW), kErrOverflow);
  EXPECT_EQ(errno_to_nbd(ENOTSUP), kErrNotSup);
  EXPECT_EQ(errno_to_nbd(EOPNOTSUPP), kErrNotSup);
  EXPECT_EQ(errno_to_nbd(ESHUTDOWN), kErrShutdown);
  // Unknown device errors are I/O errors, not the client's fault.
  EXPECT_EQ(errno_to_nbd(ENXIO), kErrIo);
  EXPECT_EQ(errno_to_nbd(ECANCELED), kErrIo);
  EXPECT_EQ(errno_to_nbd(EAGAIN), kErrIo);
  // I/O paths return -errno: both signs are accepted.
  EXPECT_EQ(errno_to_nbd(-ENOSPC), kErrNoSpc);
  EXPECT_EQ(errno_to_nbd(-EPERM), kErrPerm);
  EXPECT_EQ(errno_to_nbd(-ENXIO), kErrIo);
  EXPECT_EQ(errno_to_nbd(std::numeric_limits<int>::min()), kErrIo);  // found by the fuzzer
  EXPECT_EQ(errno_to_nbd(std::numeric_limits<int>::max()), kErrIo);
}

TEST(ProtocolTest, NbdToErrno) {
  EXPECT_EQ(nbd_to_errno(kErrNone), 0);
  EXPECT_EQ(nbd_to_errno(kErrPerm), EPERM);
  EXPECT_EQ(nbd_to_errno(kErrIo), EIO);
  EXPECT_EQ(nbd_to_errno(kErrNoMem), ENOMEM);
  EXPECT_EQ(nbd_to_errno(kErrInval), EINVAL);
  EXPECT_EQ(nbd_to_errno(kErrNoSpc), ENOSPC);
  EXPECT_EQ(nbd_to_errno(kErrOverflow), EOVERFLOW);
  EXPECT_EQ(nbd_to_errno(kErrNotSup), ENOTSUP);
  EXPECT_EQ(nbd_to_errno(kErrShutdown), ESHUTDOWN);
  // The spec: treat unexpected values as EINVAL.
  EXPECT_EQ(nbd_to_errno(2), EINVAL);
  EXPECT_EQ(nbd_to_errno(0xffffffff), EINVAL);
  // Round trip for every defined value.
  for (std::uint32_t v : {kErrPerm, kErrIo, kErrNoMem, kErrInval, kErrNoSpc, kErrOverflow,
                          kErrNotSup, kErrShutdown}) {
    EXPECT_EQ(errno_to_nbd(nbd_to_errno(v)), v);
    EXPECT_EQ(errno_to_nbd(-nbd_to_errno(v)), v);
  }
}

TEST(ProtocolTest, NamesForEveryDefinedValue) {
  for (std::uint32_t opt = 1; opt <= kOptExtendedHeaders; ++opt)
    EXPECT_NE(option_name(opt), "unknown") << opt;
  EXPECT_EQ(option_name(kOptGo), "NBD_OPT_GO");
  EXPECT_EQ(option_name(0), "unknown");
  EXPECT_EQ(option_name(12), "unknown");

  for (std::uint32_t rep = kRepAck; rep <= kRepMetaContext; ++rep)
    EXPECT_NE(reply_type_name(rep), "unknown");
  for (std::uint32_t rep = kRepErrUnsup; rep <= kRepErrExtHeaderReqd; ++rep)
    EXPECT_NE(reply_type_name(rep), "unknown");
  EXPECT_EQ(reply_type_name(kRepErrUnsup), "NBD_REP_ERR_UNSUP");
  EXPECT_EQ(reply_type_name(0x80000063), "unknown");

  for (std::uint16_t info = 0; info <= kInfoBlockSize; ++info)
    EXPECT_NE(info_name(info), "unknown");
  EXPECT_EQ(info_name(4), "unknown");

  for (std::uint16_t cmd = 0; cmd <= kCmdResize; ++cmd) EXPECT_NE(command_name(cmd), "unknown");
  EXPECT_EQ(command_name(kCmdRead), "NBD_CMD_READ");
  EXPECT_EQ(command_name(9), "unknown");

  for (std::uint16_t t :
       {kReplyTypeNone, kReplyTypeOffsetData, kReplyTypeOffsetHole, kReplyTypeBlockStatus,
        kReplyTypeBlockStatusExt, kReplyTypeError, kReplyTypeErrorOffset}) {
    EXPECT_NE(chunk_type_name(t), "unknown") << t;
  }
  EXPECT_EQ(chunk_type_name(3), "unknown");

  for (std::uint32_t e : {kErrPerm, kErrIo, kErrNoMem, kErrInval, kErrNoSpc, kErrOverflow,
                          kErrNotSup, kErrShutdown}) {
    EXPECT_NE(error_name(e), "unknown") << e;
  }
  EXPECT_EQ(error_name(kErrInval), "NBD_EINVAL");
  EXPECT_EQ(error_name(3), "unknown");
}

TEST(ProtocolTest, AllowedCommandFlags) {
  const std::uint16_t all = kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendTrim |
                            kFlagSendWriteZeroes | kFlagSendDf | kFlagSendCache | kFlagSendFastZero;
  EXPECT_EQ(allowed_command_flags(kCmdRead, all), kCmdFlagFua | kCmdFlagDf);
  EXPECT_EQ(allowed_command_flags(kCmdWrite, all), kCmdFlagFua);
  EXPECT_EQ(allowed_command_flags(kCmdFlush, all), kCmdFlagFua);
  EXPECT_EQ(allowed_command_flags(kCmdTrim, all), kCmdFlagFua);
  EXPECT_EQ(allowed_command_flags(kCmdCache, all), kCmdFlagFua);
  EXPECT_EQ(allowed_command_flags(kCmdDisc, all), kCmdFlagFua);
  EXPECT_EQ(allowed_command_flags(kCmdWriteZeroes, all),
            kCmdFlagFua | kCmdFlagNoHole | kCmdFlagFastZero);
  EXPECT_EQ(allowed_command_flags(kCmdBlockStatus, all), kCmdFlagFua | kCmdFlagReqOne);

  // Flags exposed by a transmission flag need it.
  EXPECT_EQ(allowed_command_flags(kCmdRead, kFlagHasFlags), 0);
  EXPECT_EQ(allowed_command_flags(kCmdWrite, kFlagHasFlags), 0);
  EXPECT_EQ(allowed_command_flags(kCmdWriteZeroes, kFlagHasFlags | kFlagSendWriteZeroes),
            kCmdFlagNoHole);
  EXPECT_EQ(allowed_command_flags(kCmdBlockStatus, kFlagHasFlags), kCmdFlagReqOne);

  // Unknown commands accept nothing.
  EXPECT_EQ(allowed_command_flags(kCmdResize, all), 0);
  EXPECT_EQ(allowed_command_flags(0xffff, all), 0);
  EXPECT_TRUE(is_known_command(kCmdBlockStatus));
  EXPECT_FALSE(is_known_command(kCmdResize));
  EXPECT_TRUE(command_has_payload(kCmdWrite));
  EXPECT_FALSE(command_has_payload(kCmdWriteZeroes));
  EXPECT_FALSE(command_has_payload(kCmdRead));
}

TEST(ProtocolTest, EveryWireErrorHasADistinctMessage) {
  std::set<std::string> seen;
  for (int e = 0; e <= static_cast<int>(WireError::kBadMetaContext); ++e) {
    const std::string msg = wire_error_message(static_cast<WireError>(e));
    EXPECT_FALSE(msg.empty());
    EXPECT_NE(msg, "unknown wire error") << e;
    EXPECT_TRUE(seen.insert(msg).second) << "duplicate message " << msg;
  }
  EXPECT_STREQ(wire_error_message(static_cast<WireError>(200)), "unknown wire error");
}

TEST(ProtocolTest, WireResult) {
  WireResult<int> ok(5);
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(ok.error(), WireError::kOk);
  EXPECT_EQ(ok.value_or(7), 5);
  WireResult<int> bad(WireError::kBadMagic);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), WireError::kBadMagic);
  EXPECT_EQ(bad.value_or(7), 7);
  EXPECT_STREQ(bad.message(), "bad magic number");
}

}  // namespace
}  // namespace nbd
