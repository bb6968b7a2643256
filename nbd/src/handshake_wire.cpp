// Fixed-newstyle handshake messages (see handshake_wire.hpp).
#include "nbd/handshake_wire.hpp"

#include <limits>

#include "byte_cursor.hpp"

namespace nbd {

using detail::Reader;
using detail::Writer;

namespace {

constexpr bool is_pow2(std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

constexpr std::size_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();

WireError check_server_string(std::string_view s) {
  return s.size() > kMaxStringLength ? WireError::kStringTooLong : WireError::kOk;
}

// Checks `data` against the length a header announced.
WireError check_data_length(std::uint32_t length, std::span<const std::byte> data) {
  if (data.size() < length) return WireError::kTruncated;
  if (data.size() > length) return WireError::kBadLength;
  return WireError::kOk;
}

void write_reply_header(Writer& w, std::uint32_t option, std::uint32_t type, std::size_t length) {
  w.u64(kOptionReplyMagic);
  w.u32(option);
  w.u32(type);
  w.u32(static_cast<std::uint32_t>(length));
}

void write_option_header(Writer& w, std::uint32_t option, std::size_t length) {
  w.u64(kIHaveOpt);
  w.u32(option);
  w.u32(static_cast<std::uint32_t>(length));
}

// Encodes an option reply whose data is `prefix_len` bytes written by
// `fill` followed by the string `tail`.
template <class Fill>
WireResult<std::size_t> encode_reply(std::span<std::byte> out, std::uint32_t option,
                                     std::uint32_t type, std::size_t prefix_len,
                                     std::string_view tail, Fill fill) {
  const std::size_t length = prefix_len + tail.size();
  if (length > kMaxU32) return WireError::kTooLarge;
  const std::size_t total = kOptionReplyHeaderSize + length;
  if (out.size() < total) return WireError::kNoSpace;
  Writer w(out);
  write_reply_header(w, option, type, length);
  fill(w);
  w.str(tail);
  return w.written();
}

}  // namespace

WireError check_block_size(const BlockSize& b) {
  if (!is_pow2(b.minimum) || b.minimum > kMaxMinimumBlockSize) return WireError::kBadBlockSize;
  if (!is_pow2(b.preferred) || b.preferred < b.minimum || b.preferred < kMinPreferredBlockSize) {
    return WireError::kBadBlockSize;
  }
  if (b.maximum != kNoMaximumBlockSize && (b.maximum == 0 || b.maximum % b.minimum != 0)) {
    return WireError::kBadBlockSize;
  }
  return WireError::kOk;
}

WireError check_string(std::string_view s) {
  if (s.size() > kMaxStringLength) return WireError::kStringTooLong;
  if (s.find('\0') != std::string_view::npos) return WireError::kStringHasNul;
  return WireError::kOk;
}

// --- Greeting and client flags ------------------------------------------------------

WireResult<std::size_t> encode_server_greeting(std::span<std::byte> out,
                                               std::uint16_t handshake_flags) {
  if (out.size() < kServerGreetingSize) return WireError::kNoSpace;
  Writer w(out);
  w.u64(kNbdMagic);
  w.u64(kIHaveOpt);
  w.u16(handshake_flags);
  return w.written();
}

WireResult<std::uint16_t> decode_server_greeting(std::span<const std::byte> in) {
  if (in.size() < kServerGreetingSize) return WireError::kTruncated;
  Reader r(in);
  if (r.u64() != kNbdMagic) return WireError::kBadMagic;
  const std::uint64_t second = r.u64();
  if (second == kCliservMagic) return WireError::kOldstyle;
  if (second != kIHaveOpt) return WireError::kBadMagic;
  return r.u16();
}

WireResult<std::size_t> encode_client_flags(std::span<std::byte> out, std::uint32_t client_flags) {
  if (out.size() < kClientFlagsSize) return WireError::kNoSpace;
  Writer w(out);
  w.u32(client_flags);
  return w.written();
}

WireResult<std::uint32_t> decode_client_flags(std::span<const std::byte> in) {
  if (in.size() < kClientFlagsSize) return WireError::kTruncated;
  return load_be32(in.data());
}

WireError check_client_flags(std::uint32_t client_flags, std::uint16_t handshake_flags) {
  if ((client_flags & ~kKnownClientFlags) != 0) return WireError::kBadFlags;
  if ((client_flags & kFlagCFixedNewstyle) && !(handshake_flags & kFlagFixedNewstyle))
    return WireError::kBadFlags;
  if ((client_flags & kFlagCNoZeroes) && !(handshake_flags & kFlagNoZeroes))
    return WireError::kBadFlags;
  return WireError::kOk;
}

// --- Option requests ---------------------------------------------------------------------

WireResult<std::size_t> encode_option_header(std::span<std::byte> out, const OptionHeader& h) {
  if (out.size() < kOptionHeaderSize) return WireError::kNoSpace;
  Writer w(out);
  write_option_header(w, h.option, h.length);
  return w.written();
}

WireResult<OptionHeader> decode_option_header(std::span<const std::byte> in) {
  if (in.size() < kOptionHeaderSize) return WireError::kTruncated;
  Reader r(in);
  if (r.u64() != kIHaveOpt) return WireError::kBadMagic;
  OptionHeader h;
  h.option = r.u32();
  h.length = r.u32();
  return h;
}

WireResult<std::size_t> encode_option(std::span<std::byte> out, std::uint32_t option,
                                      std::span<const std::byte> data) {
  if (data.size() > kMaxU32) return WireError::kTooLarge;
  if (out.size() < kOptionHeaderSize + data.size()) return WireError::kNoSpace;
  Writer w(out);
  write_option_header(w, option, data.size());
  w.bytes(data);
  return w.written();
}

WireResult<std::size_t> encode_opt_export_name(std::span<std::byte> out, std::string_view name) {
  if (WireError e = check_string(name); e != WireError::kOk) return e;
  if (out.size() < kOptionHeaderSize + name.size()) return WireError::kNoSpace;
  Writer w(out);
  write_option_header(w, kOptExportName, name.size());
  w.str(name);
  return w.written();
}

WireResult<std::size_t> encode_opt_info_go(std::span<std::byte> out, std::uint32_t option,
                                           std::string_view name,
                                           std::span<const std::uint16_t> infos) {
  if (WireError e = check_string(name); e != WireError::kOk) return e;
  if (infos.size() > std::numeric_limits<std::uint16_t>::max()) return WireError::kTooLarge;
  const std::size_t length = 4 + name.size() + 2 + 2 * infos.size();
  if (out.size() < kOptionHeaderSize + length) return WireError::kNoSpace;
  Writer w(out);
  write_option_header(w, option, length);
  w.u32(static_cast<std::uint32_t>(name.size()));
  w.str(name);
  w.u16(static_cast<std::uint16_t>(infos.size()));
  for (std::uint16_t info : infos) w.u16(info);
  return w.written();
}

WireResult<std::size_t> encode_opt_meta_context(std::span<std::byte> out, std::uint32_t option,
                                                std::string_view name,
                                                std::span<const std::string_view> queries) {
  if (WireError e = check_string(name); e != WireError::kOk) return e;
  if (queries.size() > kMaxU32) return WireError::kTooLarge;
  std::size_t length = 4 + name.size() + 4;
  for (std::string_view q : queries) {
    if (WireError e = check_string(q); e != WireError::kOk) return e;
    length += 4 + q.size();
  }
  if (length > kMaxU32) return WireError::kTooLarge;
  if (out.size() < kOptionHeaderSize + length) return WireError::kNoSpace;
  Writer w(out);
  write_option_header(w, option, length);
  w.u32(static_cast<std::uint32_t>(name.size()));
  w.str(name);
  w.u32(static_cast<std::uint32_t>(queries.size()));
  for (std::string_view q : queries) {
    w.u32(static_cast<std::uint32_t>(q.size()));
    w.str(q);
  }
  return w.written();
}

WireResult<std::string_view> parse_export_name(std::span<const std::byte> data) {
  std::string_view name = detail::as_string(data);
  if (WireError e = check_string(name); e != WireError::kOk) return e;
  return name;
}

WireResult<InfoGoRequest> parse_info_go(std::span<const std::byte> data) {
  if (data.size() < 6) return WireError::kBadLength;
  Reader r(data);
  const std::uint32_t name_len = r.u32();
  if (name_len > data.size() - 6) return WireError::kNameOverrun;
  InfoGoRequest req;
  req.name = r.str(name_len);
  if (WireError e = check_string(req.name); e != WireError::kOk) return e;
  const std::uint16_t count = r.u16();
  if (r.left() != 2 * std::size_t{count}) return WireError::kInfoCountMismatch;
  req.infos = InfoList(r.rest());
  return req;
}

WireResult<MetaContextRequest> parse_meta_context(std::span<const std::byte> data) {
  if (data.size() < 8) return WireError::kBadLength;
  Reader r(data);
  const std::uint32_t name_len = r.u32();
  if (name_len > data.size() - 8) return WireError::kNameOverrun;
  MetaContextRequest req;
  req.name = r.str(name_len);
  if (WireError e = check_string(req.name); e != WireError::kOk) return e;
  const std::uint32_t count = r.u32();
  const std::span<const std::byte> queries = r.rest();
  // Each query takes at least 4 bytes: reject impossible counts up front so
  // the loop below is bounded by the data, not by the count.
  if (count > queries.size() / 4) return WireError::kQueryCountMismatch;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!r.have(4)) return WireError::kQueryCountMismatch;
    const std::uint32_t len = r.u32();
    if (len > r.left()) return WireError::kQueryOverrun;
    if (WireError e = check_string(r.str(len)); e != WireError::kOk) return e;
  }
  if (r.left() != 0) return WireError::kQueryCountMismatch;
  req.queries = StringList(queries, count);
  return req;
}

WireResult<MetaContextName> split_meta_context(std::string_view name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0) return WireError::kBadMetaContext;
  return MetaContextName{name.substr(0, colon), name.substr(colon + 1)};
}

// --- Option replies --------------------------------------------------------------------

WireResult<std::size_t> encode_option_reply_header(std::span<std::byte> out,
                                                   const OptionReplyHeader& h) {
  if (out.size() < kOptionReplyHeaderSize) return WireError::kNoSpace;
  Writer w(out);
  write_reply_header(w, h.option, h.type, h.length);
  return w.written();
}

WireResult<OptionReplyHeader> decode_option_reply_header(std::span<const std::byte> in) {
  if (in.size() < kOptionReplyHeaderSize) return WireError::kTruncated;
  Reader r(in);
  if (r.u64() != kOptionReplyMagic) return WireError::kBadMagic;
  OptionReplyHeader h;
  h.option = r.u32();
  h.type = r.u32();
  h.length = r.u32();
  return h;
}

WireResult<std::size_t> encode_rep_ack(std::span<std::byte> out, std::uint32_t option) {
  return encode_reply(out, option, kRepAck, 0, {}, [](Writer&) {});
}

WireResult<std::size_t> encode_rep_server(std::span<std::byte> out, std::uint32_t option,
                                          std::string_view name, std::string_view description) {
  if (WireError e = check_server_string(name); e != WireError::kOk) return e;
  if (WireError e = check_server_string(description); e != WireError::kOk) return e;
  return encode_reply(out, option, kRepServer, 4 + name.size(), description, [&](Writer& w) {
    w.u32(static_cast<std::uint32_t>(name.size()));
    w.str(name);
  });
}

WireResult<std::size_t> encode_rep_info_export(std::span<std::byte> out, std::uint32_t option,
                                               const ExportInfo& info) {
  return encode_reply(out, option, kRepInfo, kInfoExportLength, {}, [&](Writer& w) {
    w.u16(kInfoExport);
    w.u64(info.size);
    w.u16(info.transmission_flags);
  });
}

WireResult<std::size_t> encode_rep_info_name(std::span<std::byte> out, std::uint32_t option,
                                             std::string_view name) {
  if (WireError e = check_server_string(name); e != WireError::kOk) return e;
  return encode_reply(out, option, kRepInfo, 2, name, [](Writer& w) { w.u16(kInfoName); });
}

WireResult<std::size_t> encode_rep_info_description(std::span<std::byte> out, std::uint32_t option,
                                                    std::string_view description) {
  if (WireError e = check_server_string(description); e != WireError::kOk) return e;
  return encode_reply(out, option, kRepInfo, 2, description,
                      [](Writer& w) { w.u16(kInfoDescription); });
}

WireResult<std::size_t> encode_rep_info_block_size(std::span<std::byte> out, std::uint32_t option,
                                                   const BlockSize& block_size) {
  if (WireError e = check_block_size(block_size); e != WireError::kOk) return e;
  return encode_reply(out, option, kRepInfo, kInfoBlockSizeLength, {}, [&](Writer& w) {
    w.u16(kInfoBlockSize);
    w.u32(block_size.minimum);
    w.u32(block_size.preferred);
    w.u32(block_size.maximum);
  });
}

WireResult<std::size_t> encode_rep_meta_context(std::span<std::byte> out, std::uint32_t option,
                                                std::uint32_t context_id, std::string_view name) {
  if (WireError e = check_server_string(name); e != WireError::kOk) return e;
  return encode_reply(out, option, kRepMetaContext, 4, name, [&](Writer& w) { w.u32(context_id); });
}

WireResult<std::size_t> encode_rep_error(std::span<std::byte> out, std::uint32_t option,
                                         std::uint32_t type, std::string_view message) {
  if (!is_error_reply(type)) return WireError::kBadType;
  if (WireError e = check_server_string(message); e != WireError::kOk) return e;
  return encode_reply(out, option, type, 0, message, [](Writer&) {});
}

WireResult<OptionReply> decode_option_reply(const OptionReplyHeader& header,
                                            std::span<const std::byte> data) {
  if (WireError e = check_data_length(header.length, data); e != WireError::kOk) return e;
  OptionReply rep;
  rep.header = header;
  rep.raw = data;
  Reader r(data);
  if (is_error_reply(header.type)) {
    rep.text = detail::as_string(data);
    if (WireError e = check_server_string(rep.text); e != WireError::kOk) return e;
    return rep;
  }
  switch (header.type) {
    case kRepAck:
      if (!data.empty()) return WireError::kBadLength;
      return rep;
    case kRepServer: {
      if (data.size() < 4) return WireError::kBadLength;
      const std::uint32_t name_len = r.u32();
      if (name_len > r.left()) return WireError::kNameOverrun;
      rep.name = r.str(name_len);
      rep.text = r.str(r.left());
      if (WireError e = check_server_string(rep.name); e != WireError::kOk) return e;
      if (WireError e = check_server_string(rep.text); e != WireError::kOk) return e;
      return rep;
    }
    case kRepInfo: {
      if (data.size() < 2) return WireError::kBadLength;
      rep.info_type = r.u16();
      rep.raw = r.rest();
      switch (rep.info_type) {
        case kInfoExport:
          if (data.size() != kInfoExportLength) return WireError::kBadLength;
          rep.export_info.size = r.u64();
          rep.export_info.transmission_flags = r.u16();
          break;
        case kInfoName:
        case kInfoDescription:
          rep.text = r.str(r.left());
          if (WireError e = check_server_string(rep.text); e != WireError::kOk) return e;
          break;
        case kInfoBlockSize:
          if (data.size() != kInfoBlockSizeLength) return WireError::kBadLength;
          rep.block_size.minimum = r.u32();
          rep.block_size.preferred = r.u32();
          rep.block_size.maximum = r.u32();
          if (WireError e = check_block_size(rep.block_size); e != WireError::kOk) return e;
          break;
        default: break;  // unknown information: the client ignores it
      }
      return rep;
    }
    case kRepMetaContext: {
      if (data.size() < 4) return WireError::kBadLength;
      rep.context_id = r.u32();
      rep.name = r.str(r.left());
      if (WireError e = check_server_string(rep.name); e != WireError::kOk) return e;
      if (auto split = split_meta_context(rep.name); !split) return split.error();
      return rep;
    }
    default: return WireError::kUnknownType;
  }
}

// --- NBD_OPT_EXPORT_NAME reply --------------------------------------------------------------

WireResult<std::size_t> encode_export_name_reply(std::span<std::byte> out, const ExportInfo& info,
                                                 bool no_zeroes) {
  const std::size_t total = no_zeroes ? kExportNameReplyShortSize : kExportNameReplySize;
  if (out.size() < total) return WireError::kNoSpace;
  Writer w(out);
  w.u64(info.size);
  w.u16(info.transmission_flags);
  w.zeroes(total - kExportNameReplyShortSize);
  return w.written();
}

WireResult<ExportInfo> decode_export_name_reply(std::span<const std::byte> in, bool no_zeroes) {
  const std::size_t total = no_zeroes ? kExportNameReplyShortSize : kExportNameReplySize;
  if (in.size() < total) return WireError::kTruncated;
  Reader r(in);
  ExportInfo info;
  info.size = r.u64();
  info.transmission_flags = r.u16();
  return info;
}

}  // namespace nbd
