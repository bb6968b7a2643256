// Workload: which operation corobd-load issues next, and where.
//
// Contract
// - A workload is a deterministic stream of operations over `blocks`
//   blocks of the tested range (block i is at byte offset + i * bs). op(k)
//   is the k-th operation of the stream and depends only on the pattern,
//   the read percentage, the number of blocks and the seed: the same
//   arguments give the same stream on every run and every machine, however
//   requests complete. Workers take op numbers from a shared counter, so a
//   run issues the stream's ops in order (which worker issues which op
//   depends on timing).
// - Patterns (as fio's rw=):
//     read, write       sequential: op k is block k mod blocks
//     randread,         uniform random blocks
//     randwrite
//     rw                sequential blocks, each op a read with probability
//                       read_percent/100, else a write
//     randrw            random blocks, mixed like rw
//   The random block and the read/write choice of op k come from
//   independent counter-based streams (mix64(seed-derived key + k)).
// - Pure: no allocation, no I/O; op() is const and cheap (two mix64 at most).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace loadgen {

enum class Pattern { kRead, kWrite, kRandRead, kRandWrite, kReadWrite, kRandReadWrite };

enum class OpType : std::uint8_t { kRead = 0, kWrite = 1, kFlush = 2 };
inline constexpr int kOpTypes = 3;

std::string_view to_string(Pattern p);
std::string_view to_string(OpType t);
std::optional<Pattern> parse_pattern(std::string_view text);

// True for patterns that issue writes (write, randwrite, rw, randrw).
bool pattern_writes(Pattern p);
bool pattern_reads(Pattern p);
bool pattern_mixed(Pattern p);
bool pattern_random(Pattern p);

struct Op {
  OpType type = OpType::kRead;
  std::uint64_t block = 0;
  friend bool operator==(const Op&, const Op&) = default;
};

class Workload {
 public:
  // blocks >= 1; read_percent in [0, 100] (used by mixed patterns only).
  Workload(Pattern pattern, unsigned read_percent, std::uint64_t blocks, std::uint64_t seed);

  Op op(std::uint64_t k) const;

  Pattern pattern() const { return pattern_; }
  std::uint64_t blocks() const { return blocks_; }

 private:
  Pattern pattern_;
  unsigned read_percent_;
  std::uint64_t blocks_;
  std::uint64_t block_key_;
  std::uint64_t type_key_;
};

}  // namespace loadgen
