// libFuzzer target for the NBD wire decoders (library nbd_wire).
//
// The first input byte picks a target; the rest is that target's input:
//   one decoder per message type, plus two stream targets that parse a
//   byte stream the way the server (option haggling, then requests) and the
//   client (replies and chunks) will.
// Every decoder must return a value or an error without reading out of
// bounds (ASan/UBSan catch that) and, where the encoding is canonical, a
// decoded value must re-encode to exactly the input bytes (checked here;
// a mismatch aborts).
//
// Built as a libFuzzer binary with clang and -DCOROBD_FUZZ=ON; in every other
// build a plain driver (fuzz_driver_main.cpp) runs it over generated seeds
// and their mutations.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "nbd/wire.hpp"

namespace {

using namespace nbd;

using In = std::span<const std::byte>;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "nbd_wire_fuzz: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Buffer for re-encoding: big enough for any message the targets rebuild
// (option data is not limited here, so size it from the input).
std::vector<std::byte>& scratch(std::size_t need) {
  static std::vector<std::byte> buf;
  if (buf.size() < need) buf.resize(need);
  return buf;
}

// Re-encodes with enc and checks the bytes equal `expect`.
template <class Enc>
void expect_reencodes(In expect, Enc enc, const char* what) {
  auto& buf = scratch(expect.size() + 64);
  WireResult<std::size_t> n = enc(std::span<std::byte>(buf));
  check(n.ok(), what);
  check(*n == expect.size() && std::memcmp(buf.data(), expect.data(), expect.size()) == 0, what);
}

bool same(In a, In b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Touches every byte a view hands out, so a bad view shows up under ASan.
volatile std::uint32_t sink;
void touch(std::string_view s) {
  for (char c : s) sink = sink + static_cast<unsigned char>(c);
}
void touch(In b) {
  for (std::byte x : b) sink = sink + std::to_integer<std::uint32_t>(x);
}

void fuzz_greeting(In in) {
  auto r = decode_server_greeting(in);
  if (r)
    expect_reencodes(
        in.first(kServerGreetingSize), [&](auto o) { return encode_server_greeting(o, *r); },
        "greeting");
}

void fuzz_client_flags(In in) {
  auto r = decode_client_flags(in);
  if (!r) return;
  expect_reencodes(
      in.first(kClientFlagsSize), [&](auto o) { return encode_client_flags(o, *r); },
      "client flags");
  const bool ok = check_client_flags(*r, kFlagFixedNewstyle | kFlagNoZeroes) == WireError::kOk;
  check(ok == ((*r & ~kKnownClientFlags) == 0), "check_client_flags");
}

void fuzz_option_header(In in) {
  auto r = decode_option_header(in);
  if (r)
    expect_reencodes(
        in.first(kOptionHeaderSize), [&](auto o) { return encode_option_header(o, *r); },
        "option header");
}

void fuzz_export_name(In in) {
  auto r = parse_export_name(in);
  if (!r) return;
  touch(*r);
  auto& buf = scratch(in.size() + kOptionHeaderSize + 64);
  auto n = encode_opt_export_name(std::span<std::byte>(buf), *r);
  check(n.ok() &&
            same(std::span<const std::byte>(buf).subspan(kOptionHeaderSize, *n - kOptionHeaderSize),
                 in),
        "export name re-encode");
}

void fuzz_info_go(In in) {
  auto r = parse_info_go(in);
  if (!r) return;
  touch(r->name);
  std::vector<std::uint16_t> infos(r->infos.begin(), r->infos.end());
  check(infos.size() == r->infos.size(), "info list size");
  // Re-encode: header + data must equal header + input.
  auto& buf = scratch(in.size() + kOptionHeaderSize + 64);
  auto n = encode_opt_info_go(std::span<std::byte>(buf), kOptGo, r->name, infos);
  check(n.ok() &&
            same(std::span<const std::byte>(buf).subspan(kOptionHeaderSize, *n - kOptionHeaderSize),
                 in),
        "info/go re-encode");
}

void fuzz_meta_context(In in) {
  auto r = parse_meta_context(in);
  if (!r) return;
  touch(r->name);
  std::vector<std::string_view> queries;
  for (std::string_view q : r->queries) {
    touch(q);
    queries.push_back(q);
    (void)split_meta_context(q);
  }
  check(queries.size() == r->queries.size(), "query count");
  auto& buf = scratch(in.size() + kOptionHeaderSize + 64);
  auto n = encode_opt_meta_context(std::span<std::byte>(buf), kOptSetMetaContext, r->name, queries);
  check(n.ok() &&
            same(std::span<const std::byte>(buf).subspan(kOptionHeaderSize, *n - kOptionHeaderSize),
                 in),
        "meta context re-encode");
}

void fuzz_option_reply_header(In in) {
  auto r = decode_option_reply_header(in);
  if (r) {
    expect_reencodes(
        in.first(kOptionReplyHeaderSize), [&](auto o) { return encode_option_reply_header(o, *r); },
        "option reply header");
  }
}

// Input: u32 reply type, then the reply data (the header length is the
// data size, as a client computes it after reading the header).
void fuzz_option_reply(In in) {
  if (in.size() < 4) return;
  const OptionReplyHeader h{kOptGo, load_be32(in.data()),
                            static_cast<std::uint32_t>(in.size() - 4)};
  const In data = in.subspan(4);
  auto r = decode_option_reply(h, data);
  if (!r) return;
  touch(r->name);
  touch(r->text);
  touch(r->raw);
  // Rebuild the whole reply and compare its data part.
  auto rebuild = [&](auto o) -> WireResult<std::size_t> {
    if (is_error_reply(h.type)) return encode_rep_error(o, h.option, h.type, r->text);
    switch (h.type) {
      case kRepAck: return encode_rep_ack(o, h.option);
      case kRepServer: return encode_rep_server(o, h.option, r->name, r->text);
      case kRepMetaContext: return encode_rep_meta_context(o, h.option, r->context_id, r->name);
      case kRepInfo:
        switch (r->info_type) {
          case kInfoExport: return encode_rep_info_export(o, h.option, r->export_info);
          case kInfoName: return encode_rep_info_name(o, h.option, r->text);
          case kInfoDescription: return encode_rep_info_description(o, h.option, r->text);
          case kInfoBlockSize: return encode_rep_info_block_size(o, h.option, r->block_size);
          default: return WireError::kUnknownType;
        }
      default: fail("decode_option_reply accepted an unknown type");
    }
  };
  auto& buf = scratch(in.size() + kOptionReplyHeaderSize + 64);
  auto n = rebuild(std::span<std::byte>(buf));
  if (n.error() == WireError::kUnknownType) return;  // unknown info: passed through raw
  check(n.ok(), "option reply rebuild");
  check(same(std::span<const std::byte>(buf).subspan(kOptionReplyHeaderSize,
                                                     *n - kOptionReplyHeaderSize),
             data),
        "option reply re-encode");
}

void fuzz_export_name_reply(In in) {
  for (bool no_zeroes : {false, true}) {
    auto r = decode_export_name_reply(in, no_zeroes);
    if (!r) continue;
    auto& buf = scratch(kExportNameReplySize);
    auto n = encode_export_name_reply(std::span<std::byte>(buf), *r, no_zeroes);
    check(n.ok() && std::memcmp(buf.data(), in.data(), kExportNameReplyShortSize) == 0,
          "export name reply");
  }
}

void fuzz_request(In in) {
  auto r = decode_request(in);
  if (!r) return;
  expect_reencodes(
      in.first(kRequestHeaderSize), [&](auto o) { return encode_request(o, *r); }, "request");
  (void)allowed_command_flags(r->type, static_cast<std::uint16_t>(r->flags * 31u));
  (void)command_name(r->type);
}

void fuzz_simple_reply(In in) {
  auto r = decode_simple_reply(in);
  if (!r) return;
  expect_reencodes(
      in.first(kSimpleReplySize), [&](auto o) { return encode_simple_reply(o, *r); },
      "simple reply");
  (void)nbd_to_errno(r->error);
}

void fuzz_chunk_header(In in) {
  auto r = decode_chunk_header(in);
  if (r)
    expect_reencodes(
        in.first(kChunkHeaderSize), [&](auto o) { return encode_chunk_header(o, *r); },
        "chunk header");
}

// Re-encodes a decoded chunk and checks header + payload are the input.
void check_chunk_reencodes(const Chunk& c, In payload) {
  const ChunkHeader& h = c.header;
  std::vector<BlockDescriptor> descriptors(c.descriptors.begin(), c.descriptors.end());
  auto rebuild = [&](auto o) -> WireResult<std::size_t> {
    switch (h.type) {
      case kReplyTypeNone: return encode_none_chunk(o, h.cookie);
      case kReplyTypeOffsetData: {
        auto n = encode_offset_data_prefix(o, h.flags, h.cookie, c.offset,
                                           static_cast<std::uint32_t>(c.data.size()));
        if (!n || o.size() < *n + c.data.size()) return n;
        if (!c.data.empty()) std::memcpy(o.data() + *n, c.data.data(), c.data.size());
        return *n + c.data.size();
      }
      case kReplyTypeOffsetHole:
        return encode_offset_hole(o, h.flags, h.cookie, c.offset, c.hole_size);
      case kReplyTypeBlockStatus:
        return encode_block_status(o, h.flags, h.cookie, c.context_id, descriptors);
      case kReplyTypeError: return encode_error_chunk(o, h.flags, h.cookie, c.error, c.message);
      case kReplyTypeErrorOffset:
        return encode_error_offset_chunk(o, h.flags, h.cookie, c.error, c.message, c.offset);
      default: return WireError::kUnknownType;  // unknown error chunk: not canonical
    }
  };
  auto& buf = scratch(payload.size() + kChunkHeaderSize + 64);
  auto n = rebuild(std::span<std::byte>(buf));
  if (n.error() == WireError::kUnknownType) {
    check(is_error_chunk(h.type), "decode_chunk accepted an unknown non-error type");
    return;
  }
  check(n.ok(), "chunk rebuild");
  if (h.type == kReplyTypeNone && h.flags != kReplyFlagDone)
    return;  // extra flags are not re-encoded
  auto header = decode_chunk_header(std::span<const std::byte>(buf).first(kChunkHeaderSize));
  check(header.ok() && *header == h, "chunk header re-encode");
  check(same(std::span<const std::byte>(buf).subspan(kChunkHeaderSize, *n - kChunkHeaderSize),
             payload),
        "chunk payload re-encode");
}

// Input: u16 flags, u16 type, then the payload (length = payload size).
void fuzz_chunk(In in) {
  if (in.size() < 4) return;
  const In payload = in.subspan(4);
  const ChunkHeader h{load_be16(in.data()), load_be16(in.data() + 2), 0x1122334455667788,
                      static_cast<std::uint32_t>(payload.size())};
  auto c = decode_chunk(h, payload);
  if (!c) return;
  touch(c->data);
  touch(c->message);
  for (BlockDescriptor d : c->descriptors) check(d.length != 0, "zero-length descriptor accepted");
  check_chunk_reencodes(*c, payload);
  if (h.type == kReplyTypeOffsetData) {
    auto od = decode_offset_data_prefix(h, payload);
    check(od.ok() && od->offset == c->offset && od->data_length == c->data.size(),
          "offset data prefix");
  }
}

// Input: 12 bytes of block size constraints, then a context name.
void fuzz_misc(In in) {
  if (in.size() < 12) return;
  const BlockSize b{load_be32(in.data()), load_be32(in.data() + 4), load_be32(in.data() + 8)};
  if (check_block_size(b) == WireError::kOk) {
    check(b.minimum != 0 && (b.minimum & (b.minimum - 1)) == 0 && b.maximum != 0,
          "check_block_size");
  }
  const std::string_view name(reinterpret_cast<const char*>(in.data() + 12), in.size() - 12);
  if (auto s = split_meta_context(name)) {
    check(!s->ns.empty() && s->ns.size() + 1 + s->leaf.size() == name.size(), "split_meta_context");
  }
  (void)check_string(name);
  (void)errno_to_nbd(static_cast<int>(load_be32(in.data())));
}

// The server's view: client flags, then options until GO/EXPORT_NAME, then
// requests (with WRITE payloads) until the input ends.
void fuzz_server_stream(In in) {
  auto flags = decode_client_flags(in);
  if (!flags) return;
  in = in.subspan(kClientFlagsSize);
  bool transmission = false;
  while (!transmission) {
    auto h = decode_option_header(in);
    if (!h || h->length > kMaxOptionLength) return;
    in = in.subspan(kOptionHeaderSize);
    if (in.size() < h->length) return;
    const In data = in.first(h->length);
    in = in.subspan(h->length);
    switch (h->option) {
      case kOptExportName: transmission = parse_export_name(data).ok(); break;
      case kOptInfo:
      case kOptGo: transmission = parse_info_go(data).ok() && h->option == kOptGo; break;
      case kOptListMetaContext:
      case kOptSetMetaContext:
        if (auto m = parse_meta_context(data)) {
          for (std::string_view q : m->queries) touch(q);
        }
        break;
      default: break;
    }
  }
  while (true) {
    auto req = decode_request(in);
    if (!req) return;
    in = in.subspan(kRequestHeaderSize);
    if (command_has_payload(req->type)) {
      if (req->length > in.size()) return;
      touch(in.first(req->length));
      in = in.subspan(req->length);
    }
  }
}

// The client's view: a stream of simple replies and structured chunks.
void fuzz_client_stream(In in) {
  while (true) {
    auto kind = classify_reply(in);
    if (!kind) return;
    if (*kind == ReplyKind::kSimple) {
      auto r = decode_simple_reply(in);
      if (!r) return;
      in = in.subspan(kSimpleReplySize);
      continue;
    }
    auto h = decode_chunk_header(in);
    if (!h) return;
    in = in.subspan(kChunkHeaderSize);
    if (in.size() < h->length) return;
    auto c = decode_chunk(*h, in.first(h->length));
    if (!c) return;
    touch(c->message);
    touch(c->data);
    for (BlockDescriptor d : c->descriptors) sink = sink + d.length;
    in = in.subspan(h->length);
  }
}

using Target = void (*)(In);
constexpr Target kTargets[] = {
    fuzz_greeting,
    fuzz_client_flags,
    fuzz_option_header,
    fuzz_export_name,
    fuzz_info_go,
    fuzz_meta_context,
    fuzz_option_reply_header,
    fuzz_option_reply,
    fuzz_export_name_reply,
    fuzz_request,
    fuzz_simple_reply,
    fuzz_chunk_header,
    fuzz_chunk,
    fuzz_misc,
    fuzz_server_stream,
    fuzz_client_stream,
};

}  // namespace

// Number of targets, for the seed generator (fuzz_seeds.cpp).
extern "C" std::size_t nbd_wire_fuzz_target_count() { return std::size(kTargets); }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const In in(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  kTargets[data[0] % std::size(kTargets)](in);
  return 0;
}
