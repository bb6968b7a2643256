// The format of a block written by corobd-load --verify.
//
// Layout (all fields little-endian), at the start of every written block:
//     0  u64 magic      "CRBDLOAD" (0x44414f4c44425243)
//     8  u64 offset     the block's byte offset on the export
//    16  u64 seed       the run's --seed
//    24  u64 seq        the write's sequence number (>= 1, unique per write)
//    32  u32 size       the block size in bytes
//    36  u32 version    kBlockFormatVersion
//    40  u64 checksum   of the whole block, computed with this field zero
//    48  ...            payload: a pseudo-random stream keyed by
//                       (seed, offset, seq), up to the end of the block
// So every version of every block has distinct contents, a block written to
// the wrong place or a stale version shows in its header, and a torn or
// corrupted block fails its checksum.
//
// Contract
// - fill_block() writes a complete block of `size` >= kBlockHeaderSize bytes.
// - inspect_block() classifies what a read returned: all zeroes (never
//   written), a well-formed block (magic, size and checksum good), or
//   garbage (then `header` holds whatever the first 48 bytes decode to, for
//   the report). No allocation; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loadgen {

inline constexpr std::uint64_t kBlockMagic = 0x44414f4c44425243ULL;  // "CRBDLOAD"
inline constexpr std::uint32_t kBlockFormatVersion = 1;
inline constexpr std::size_t kBlockHeaderSize = 48;

struct BlockHeader {
  std::uint64_t magic = kBlockMagic;
  std::uint64_t offset = 0;
  std::uint64_t seed = 0;
  std::uint64_t seq = 0;
  std::uint32_t size = 0;
  std::uint32_t version = kBlockFormatVersion;
  std::uint64_t checksum = 0;
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

enum class BlockKind {
  kZero,     // every byte zero
  kValid,    // magic, version, size and checksum check out
  kCorrupt,  // anything else
};

struct BlockInspection {
  BlockKind kind = BlockKind::kZero;
  BlockHeader header;               // as decoded from the first 48 bytes
  std::uint64_t computed_checksum = 0;  // of the block as read (checksum field zeroed)
};

// Writes the block for (offset, seed, seq) into buf[0, size). Returns its header.
BlockHeader fill_block(void* buf, std::size_t size, std::uint64_t offset, std::uint64_t seed,
                       std::uint64_t seq);

BlockInspection inspect_block(const void* buf, std::size_t size);

// "{offset=4096 seed=1 seq=17 size=4096 checksum=0x1234abcd...}"
std::string describe(const BlockHeader& header);
// "zeroes", "valid block {...}" or "corrupt block {...}, checksum computed 0x..."
std::string describe(const BlockInspection& inspection);

}  // namespace loadgen
