// Seed inputs for nbd_wire_fuzz, built with the encoders so they stay valid
// as the code changes: at least one well-formed input per fuzz target. The
// first byte of each seed selects the target (see kTargets in
// nbd_wire_fuzz.cpp).
#include "nbd_wire_fuzz_seeds.hpp"

#include <string_view>

#include "nbd/wire.hpp"

namespace nbd::fuzz {
namespace {

enum Target : std::uint8_t {
  kGreeting,
  kClientFlags,
  kOptionHeader,
  kExportName,
  kInfoGo,
  kMetaContext,
  kOptionReplyHeader,
  kOptionReply,
  kExportNameReply,
  kRequest,
  kSimpleReply,
  kChunkHeader,
  kChunk,
  kMisc,
  kServerStream,
  kClientStream,
};

class SeedBuilder {
 public:
  explicit SeedBuilder(std::uint8_t target) { bytes_.push_back(target); }

  template <class Enc>
  SeedBuilder& add(Enc enc) {
    std::byte buf[8192];
    auto n = enc(std::span<std::byte>(buf));
    if (n) {
      for (std::size_t i = 0; i < *n; ++i) bytes_.push_back(std::to_integer<std::uint8_t>(buf[i]));
    }
    return *this;
  }
  // Appends an encoded option and drops its 16-byte header: the data alone.
  template <class Enc>
  SeedBuilder& add_data_only(Enc enc, std::size_t header) {
    const std::size_t before = bytes_.size();
    add(enc);
    bytes_.erase(bytes_.begin() + static_cast<std::ptrdiff_t>(before),
                 bytes_.begin() + static_cast<std::ptrdiff_t>(before + header));
    return *this;
  }
  SeedBuilder& raw(std::initializer_list<std::uint8_t> b) {
    bytes_.insert(bytes_.end(), b);
    return *this;
  }
  SeedBuilder& u16(std::uint16_t v) { return raw({std::uint8_t(v >> 8), std::uint8_t(v)}); }
  SeedBuilder& u32(std::uint32_t v) { return u16(std::uint16_t(v >> 16)).u16(std::uint16_t(v)); }
  SeedBuilder& text(std::string_view s) {
    for (char c : s) bytes_.push_back(static_cast<std::uint8_t>(c));
    return *this;
  }
  std::vector<std::uint8_t> done() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace

std::vector<std::vector<std::uint8_t>> seeds() {
  const std::uint16_t infos[] = {kInfoExport, kInfoName, kInfoDescription, kInfoBlockSize};
  const std::string_view queries[] = {"base:allocation", "base:"};
  const BlockDescriptor extents[] = {{4096, 0}, {65536, kStateHole | kStateZero}};
  std::vector<std::vector<std::uint8_t>> s;

  s.push_back(
      SeedBuilder(kGreeting)
          .add([](auto o) { return encode_server_greeting(o, kFlagFixedNewstyle | kFlagNoZeroes); })
          .done());
  s.push_back(SeedBuilder(kClientFlags).u32(kFlagCFixedNewstyle | kFlagCNoZeroes).done());
  s.push_back(SeedBuilder(kOptionHeader)
                  .add([](auto o) {
                    return encode_option_header(o, {kOptGo, 10});
                  })
                  .done());
  s.push_back(SeedBuilder(kExportName).text("disk").done());
  s.push_back(
      SeedBuilder(kInfoGo)
          .add_data_only([&](auto o) { return encode_opt_info_go(o, kOptGo, "disk", infos); },
                         kOptionHeaderSize)
          .done());
  s.push_back(SeedBuilder(kMetaContext)
                  .add_data_only(
                      [&](auto o) {
                        return encode_opt_meta_context(o, kOptSetMetaContext, "disk", queries);
                      },
                      kOptionHeaderSize)
                  .done());
  s.push_back(
      SeedBuilder(kOptionReplyHeader).add([](auto o) { return encode_rep_ack(o, kOptGo); }).done());
  // Option replies: u32 type, then the data.
  s.push_back(SeedBuilder(kOptionReply).u32(kRepAck).done());
  s.push_back(SeedBuilder(kOptionReply).u32(kRepServer).u32(4).text("diskdescription").done());
  s.push_back(SeedBuilder(kOptionReply)
                  .u32(kRepInfo)
                  .u16(kInfoExport)
                  .u32(0)
                  .u32(1 << 30)
                  .u16(0x1ed)
                  .done());
  s.push_back(SeedBuilder(kOptionReply)
                  .u32(kRepInfo)
                  .u16(kInfoBlockSize)
                  .u32(512)
                  .u32(4096)
                  .u32(1 << 25)
                  .done());
  s.push_back(SeedBuilder(kOptionReply).u32(kRepInfo).u16(kInfoName).text("disk").done());
  s.push_back(SeedBuilder(kOptionReply).u32(kRepMetaContext).u32(1).text("base:allocation").done());
  s.push_back(SeedBuilder(kOptionReply).u32(kRepErrUnknown).text("no such export").done());
  s.push_back(SeedBuilder(kExportNameReply)
                  .add([](auto o) {
                    return encode_export_name_reply(o, {1 << 20, 0x3}, false);
                  })
                  .done());
  s.push_back(SeedBuilder(kRequest)
                  .add([](auto o) {
                    return encode_request(o, {kCmdFlagFua, kCmdWrite, 7, 4096, 512});
                  })
                  .done());
  s.push_back(SeedBuilder(kSimpleReply)
                  .add([](auto o) {
                    return encode_simple_reply(o, {kErrIo, 7});
                  })
                  .done());
  s.push_back(SeedBuilder(kChunkHeader).add([](auto o) { return encode_none_chunk(o, 7); }).done());
  // Chunks: u16 flags, u16 type, then the payload.
  s.push_back(SeedBuilder(kChunk).u16(kReplyFlagDone).u16(kReplyTypeNone).done());
  s.push_back(
      SeedBuilder(kChunk).u16(0).u16(kReplyTypeOffsetData).u32(0).u32(4096).text("data").done());
  s.push_back(SeedBuilder(kChunk).u16(0).u16(kReplyTypeOffsetHole).u32(0).u32(0).u32(512).done());
  s.push_back(SeedBuilder(kChunk)
                  .u16(kReplyFlagDone)
                  .u16(kReplyTypeBlockStatus)
                  .add_data_only(
                      [&](auto o) { return encode_block_status(o, kReplyFlagDone, 7, 1, extents); },
                      kChunkHeaderSize)
                  .done());
  s.push_back(SeedBuilder(kChunk)
                  .u16(kReplyFlagDone)
                  .u16(kReplyTypeError)
                  .u32(kErrInval)
                  .u16(4)
                  .text("oops")
                  .done());
  s.push_back(SeedBuilder(kChunk)
                  .u16(0)
                  .u16(kReplyTypeErrorOffset)
                  .u32(kErrIo)
                  .u16(2)
                  .text("io")
                  .u32(0)
                  .u32(512)
                  .done());
  s.push_back(SeedBuilder(kChunk).u16(0).u16(0x8005).u32(kErrIo).u16(1).text("x").u32(9).done());
  s.push_back(SeedBuilder(kMisc).u32(512).u32(4096).u32(1 << 25).text("base:allocation").done());
  // Server stream: flags, options, GO, requests.
  s.push_back(SeedBuilder(kServerStream)
                  .u32(kFlagCFixedNewstyle)
                  .add([](auto o) { return encode_option(o, kOptStructuredReply, {}); })
                  .add([&](auto o) {
                    return encode_opt_meta_context(o, kOptSetMetaContext, "disk", queries);
                  })
                  .add([&](auto o) { return encode_opt_info_go(o, kOptGo, "disk", infos); })
                  .add([](auto o) {
                    return encode_request(o, {0, kCmdWrite, 1, 0, 4});
                  })
                  .text("abcd")
                  .add([](auto o) {
                    return encode_request(o, {0, kCmdRead, 2, 0, 4096});
                  })
                  .add([](auto o) {
                    return encode_request(o, {0, kCmdDisc, 3, 0, 0});
                  })
                  .done());
  // Client stream: a simple reply, then a structured read and block status.
  s.push_back(
      SeedBuilder(kClientStream)
          .add([](auto o) {
            return encode_simple_reply(o, {0, 1});
          })
          .add([](auto o) { return encode_offset_data_prefix(o, 0, 2, 0, 4); })
          .text("data")
          .add([](auto o) { return encode_offset_hole(o, 0, 2, 4, 4092); })
          .add([](auto o) { return encode_none_chunk(o, 2); })
          .add([&](auto o) { return encode_block_status(o, kReplyFlagDone, 3, 1, extents); })
          .add([](auto o) {
            return encode_error_chunk(o, kReplyFlagDone, 4, kErrPerm, "read-only");
          })
          .done());
  return s;
}

}  // namespace nbd::fuzz
