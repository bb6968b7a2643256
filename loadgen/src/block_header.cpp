#include "loadgen/block_header.hpp"

#include <cstdio>
#include <cstring>

#include "loadgen/rng.hpp"

namespace loadgen {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the block format is little-endian; add byte swaps for big-endian hosts");

constexpr std::size_t kChecksumOffset = 40;
constexpr std::uint64_t kK1 = 0x87c37b91114253d5ULL;
constexpr std::uint64_t kK2 = 0x4cf5ad432745937fULL;

inline std::uint64_t load64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void store64(unsigned char* p, std::uint64_t v) { std::memcpy(p, &v, 8); }

inline std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// A 64-bit checksum of buf[0, size) with the 8 bytes at kChecksumOffset
// taken as zero: a multiply-rotate chain per word (as in MurmurHash3's
// body), finalised with mix64. Not cryptographic: it catches corruption,
// not an adversary.
std::uint64_t block_checksum(const unsigned char* p, std::size_t size) {
  std::uint64_t h = 0x636f726f62642d6cULL ^ size;
  const std::size_t words = size / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w = i == kChecksumOffset / 8 ? 0 : load64(p + i * 8);
    w *= kK1;
    w = rotl(w, 31);
    w *= kK2;
    h ^= w;
    h = rotl(h, 27) * 5 + 0x52dce729;
  }
  for (std::size_t i = words * 8; i < size; ++i) {
    h = (h ^ p[i]) * kK1;
  }
  return mix64(h ^ size);
}

std::string hex(std::uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(v));
  return text;
}

}  // namespace

BlockHeader fill_block(void* buf, std::size_t size, std::uint64_t offset, std::uint64_t seed,
                       std::uint64_t seq) {
  auto* p = static_cast<unsigned char*>(buf);
  BlockHeader h;
  h.offset = offset;
  h.seed = seed;
  h.seq = seq;
  h.size = static_cast<std::uint32_t>(size);
  store64(p + 0, h.magic);
  store64(p + 8, h.offset);
  store64(p + 16, h.seed);
  store64(p + 24, h.seq);
  const std::uint64_t size_version =
      static_cast<std::uint64_t>(h.size) | (static_cast<std::uint64_t>(h.version) << 32);
  store64(p + 32, size_version);
  store64(p + kChecksumOffset, 0);
  // Payload: xorshift64 from a key unique to this version of this block.
  std::uint64_t x = mix64(mix64(seed ^ kK1) ^ mix64(offset + kGolden) ^ mix64(seq * kK2)) | 1;
  std::size_t i = kBlockHeaderSize;
  for (; i + 8 <= size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    store64(p + i, x);
  }
  for (; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<unsigned char>(x);
  }
  h.checksum = block_checksum(p, size);
  store64(p + kChecksumOffset, h.checksum);
  return h;
}

BlockInspection inspect_block(const void* buf, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(buf);
  BlockInspection r;
  if (size >= kBlockHeaderSize) {
    r.header.magic = load64(p + 0);
    r.header.offset = load64(p + 8);
    r.header.seed = load64(p + 16);
    r.header.seq = load64(p + 24);
    const std::uint64_t size_version = load64(p + 32);
    r.header.size = static_cast<std::uint32_t>(size_version);
    r.header.version = static_cast<std::uint32_t>(size_version >> 32);
    r.header.checksum = load64(p + kChecksumOffset);
  }
  if (size >= kBlockHeaderSize && r.header.magic == kBlockMagic) {
    r.computed_checksum = block_checksum(p, size);
    const bool ok = r.header.size == size && r.header.version == kBlockFormatVersion &&
                    r.computed_checksum == r.header.checksum;
    r.kind = ok ? BlockKind::kValid : BlockKind::kCorrupt;
    return r;
  }
  // Not our magic: all zeroes, or garbage.
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    if (load64(p + i) != 0) break;
  }
  for (; i < size; ++i) {
    if (p[i] != 0) break;
  }
  if (i < size) {
    r.kind = BlockKind::kCorrupt;
    r.computed_checksum = block_checksum(p, size);
  }
  return r;
}

std::string describe(const BlockHeader& h) {
  std::string s = "{offset=" + std::to_string(h.offset) + " seed=" + std::to_string(h.seed) +
                  " seq=" + std::to_string(h.seq) + " size=" + std::to_string(h.size) +
                  " checksum=" + hex(h.checksum);
  if (h.magic != kBlockMagic) s += " magic=" + hex(h.magic) + " (not a corobd-load block)";
  if (h.version != kBlockFormatVersion) s += " version=" + std::to_string(h.version);
  s += "}";
  return s;
}

std::string describe(const BlockInspection& in) {
  switch (in.kind) {
    case BlockKind::kZero: return "zeroes";
    case BlockKind::kValid: return "valid block " + describe(in.header);
    case BlockKind::kCorrupt:
      return "corrupt block " + describe(in.header) + ", checksum computed " +
             hex(in.computed_checksum);
  }
  return "?";
}

}  // namespace loadgen
