#include "loadgen/workload.hpp"

#include "loadgen/rng.hpp"

namespace loadgen {

std::string_view to_string(Pattern p) {
  switch (p) {
    case Pattern::kRead: return "read";
    case Pattern::kWrite: return "write";
    case Pattern::kRandRead: return "randread";
    case Pattern::kRandWrite: return "randwrite";
    case Pattern::kReadWrite: return "rw";
    case Pattern::kRandReadWrite: return "randrw";
  }
  return "?";
}

std::string_view to_string(OpType t) {
  switch (t) {
    case OpType::kRead: return "read";
    case OpType::kWrite: return "write";
    case OpType::kFlush: return "flush";
  }
  return "?";
}

std::optional<Pattern> parse_pattern(std::string_view text) {
  for (Pattern p : {Pattern::kRead, Pattern::kWrite, Pattern::kRandRead, Pattern::kRandWrite,
                    Pattern::kReadWrite, Pattern::kRandReadWrite}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

bool pattern_writes(Pattern p) {
  return p != Pattern::kRead && p != Pattern::kRandRead;
}

bool pattern_reads(Pattern p) {
  return p != Pattern::kWrite && p != Pattern::kRandWrite;
}

bool pattern_mixed(Pattern p) { return p == Pattern::kReadWrite || p == Pattern::kRandReadWrite; }

bool pattern_random(Pattern p) {
  return p == Pattern::kRandRead || p == Pattern::kRandWrite || p == Pattern::kRandReadWrite;
}

Workload::Workload(Pattern pattern, unsigned read_percent, std::uint64_t blocks,
                   std::uint64_t seed)
    : pattern_(pattern),
      read_percent_(read_percent > 100 ? 100 : read_percent),
      blocks_(blocks == 0 ? 1 : blocks),
      // Two unrelated keys, so the block and type streams are independent.
      block_key_(mix64(seed ^ 0x626c6f636b73ULL /* "blocks" */)),
      type_key_(mix64(seed ^ 0x7479706573ULL /* "types" */)) {}

Op Workload::op(std::uint64_t k) const {
  Op op;
  if (pattern_random(pattern_)) {
    op.block = scale_to(mix64(block_key_ + k * kGolden), blocks_);
  } else {
    op.block = k % blocks_;
  }
  switch (pattern_) {
    case Pattern::kRead:
    case Pattern::kRandRead: op.type = OpType::kRead; break;
    case Pattern::kWrite:
    case Pattern::kRandWrite: op.type = OpType::kWrite; break;
    case Pattern::kReadWrite:
    case Pattern::kRandReadWrite:
      op.type = scale_to(mix64(type_key_ + k * kGolden), 100) < read_percent_ ? OpType::kRead
                                                                               : OpType::kWrite;
      break;
  }
  return op;
}

}  // namespace loadgen
