#include "loadgen/verifier.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <vector>

namespace loadgen {

std::string_view to_string(MismatchKind kind) {
  switch (kind) {
    case MismatchKind::kNone: return "none";
    case MismatchKind::kZeroes: return "zeroes where a write was acknowledged (lost write)";
    case MismatchKind::kStale: return "an older version (lost write)";
    case MismatchKind::kUnknown: return "a version that was never written there";
    case MismatchKind::kWrongOffset: return "a block written for another offset (misdirected write)";
    case MismatchKind::kWrongSeed: return "a block of another run (lost write or stale image)";
    case MismatchKind::kWrongSize:
      return "a corobd-load block of another --bs or --offset (use the same geometry, or a fresh device)";
    case MismatchKind::kCorrupt: return "corrupt data";
  }
  return "?";
}

Verifier::Verifier(const VerifyConfig& config)
    : config_(config),
      blocks_(config.blocks),
      flushed_(config.connections == 0 ? 1 : config.connections, 0) {
  assert(config.block_size >= kBlockHeaderSize);
  assert(config.blocks >= 1 && config.blocks <= kMaxBlocks);
  pending_flushes_.reserve(64);
}

std::uint64_t Verifier::begin_write(std::uint64_t block, void* buf) {
  BlockState& s = blocks_[block];
  assert(!s.in_flight);
  const std::uint64_t seq = next_seq_++;
  s.in_flight = true;
  s.upper = seq;
  fill_block(buf, config_.block_size, offset_of(block), config_.seed, seq);
  return seq;
}

void Verifier::end_write(std::uint64_t block, std::uint64_t seq, int result, unsigned conn,
                         bool fua) {
  BlockState& s = blocks_[block];
  s.in_flight = false;
  if (result < 0) {
    s.uncertain = true;  // upper stays at seq: it may be there, in whole or in part
    return;
  }
  s.uncertain = false;
  // The version being replaced: durable already, or a candidate if a flush
  // in flight was sent after it was acknowledged.
  s.durable = durable_version(s);
  if (s.durable != s.acked && s.ack_mark != 0 && flush_pending_after(s.ack_mark)) {
    s.candidate = s.acked;
    s.candidate_mark = s.ack_mark;
    s.candidate_conn = s.conn;
  } else if (s.candidate_mark != 0 &&
             (s.durable == s.candidate || !flush_pending_after(s.candidate_mark))) {
    s.candidate = 0;
    s.candidate_mark = 0;
  }
  s.acked = seq;
  s.ack_mark = ++ack_counter_;
  s.conn = static_cast<std::uint16_t>(conn < flushed_.size() ? conn : 0);
  if (fua) {
    s.durable = seq;
    s.candidate = 0;
    s.candidate_mark = 0;
  }
}

bool Verifier::flush_pending_after(std::uint64_t mark) const {
  for (std::uint64_t p : pending_flushes_) {
    if (p >= mark) return true;
  }
  return false;
}

ReadTicket Verifier::begin_read(std::uint64_t block) const {
  const BlockState& s = blocks_[block];
  return ReadTicket{s.acked, s.upper, s.in_flight};
}

ReadCheck Verifier::check_read(std::uint64_t block, const ReadTicket& ticket,
                               const void* buf) const {
  const BlockState& s = blocks_[block];
  ReadCheck r;
  r.overlapped = ticket.write_in_flight || s.in_flight || s.upper != ticket.upper;
  r.found = inspect_block(buf, config_.block_size);
  const std::uint64_t lo = ticket.acked;
  const std::uint64_t hi = std::max(s.upper, lo);
  const BlockHeader& h = r.found.header;
  switch (r.found.kind) {
    case BlockKind::kZero:
      if (lo == 0) return r;
      r.kind = MismatchKind::kZeroes;
      break;
    case BlockKind::kCorrupt:
      if (s.uncertain && plausible_torn(block, r.found, lo, hi)) {
        r.torn = true;
        return r;
      }
      r.kind = r.found.header.magic == kBlockMagic && r.found.header.size != config_.block_size
                   ? MismatchKind::kWrongSize
                   : MismatchKind::kCorrupt;
      break;
    case BlockKind::kValid:
      if (h.offset != offset_of(block)) {
        r.kind = MismatchKind::kWrongOffset;
      } else if (lo == 0) {
        return r;  // baseline: any block of ours for this offset
      } else if (h.seed != config_.seed) {
        r.kind = MismatchKind::kWrongSeed;
      } else if (h.seq == lo || (h.seq > lo && h.seq <= hi)) {
        return r;
      } else {
        r.kind = h.seq < lo ? MismatchKind::kStale : MismatchKind::kUnknown;
      }
      break;
  }
  r.verdict = ReadVerdict::kMismatch;
  return r;
}

bool Verifier::plausible_torn(std::uint64_t block, const BlockInspection& found,
                              std::uint64_t lo, std::uint64_t hi) const {
  const BlockHeader& h = found.header;
  if (h.magic == 0 && h.offset == 0 && h.seed == 0 && h.seq == 0 && h.size == 0 &&
      h.version == 0 && h.checksum == 0) {
    return true;  // the first sector is zeroes
  }
  if (h.magic != kBlockMagic || h.offset != offset_of(block) || h.size != config_.block_size) {
    return false;
  }
  if (lo == 0) return true;
  return h.seed == config_.seed && h.seq >= lo && h.seq <= hi;
}

std::string Verifier::describe_expected(std::uint64_t block, const ReadTicket& ticket) const {
  const std::uint64_t lo = ticket.acked;
  const std::uint64_t hi = std::max(blocks_[block].upper, lo);
  std::string s;
  if (lo == 0) {
    s = "zeroes or any corobd-load block for offset " + std::to_string(offset_of(block));
  } else {
    std::vector<unsigned char> buf(config_.block_size);
    const BlockHeader h = fill_block(buf.data(), buf.size(), offset_of(block), config_.seed, lo);
    s = "version seq=" + std::to_string(lo) + " " + describe(h);
  }
  if (hi > lo) {
    s += ", or a version with seed=" + std::to_string(config_.seed) + " and seq in " +
         std::to_string(lo + 1) + ".." + std::to_string(hi) + " (written since)";
  }
  return s;
}

std::uint64_t Verifier::begin_flush() {
  pending_flushes_.push_back(ack_counter_);
  return ack_counter_;
}

void Verifier::end_flush(unsigned conn, std::uint64_t mark, bool all_connections, bool ok) {
  const auto it = std::find(pending_flushes_.begin(), pending_flushes_.end(), mark);
  if (it != pending_flushes_.end()) pending_flushes_.erase(it);
  if (!ok) return;
  if (all_connections) {
    for (std::uint64_t& f : flushed_) f = std::max(f, mark);
  } else if (conn < flushed_.size()) {
    flushed_[conn] = std::max(flushed_[conn], mark);
  }
}

SavedState Verifier::save() const {
  SavedState out;
  out.seed = config_.seed;
  out.offset = config_.offset;
  out.block_size = config_.block_size;
  out.blocks = config_.blocks;
  out.next_seq = next_seq_;
  for (std::uint64_t i = 0; i < blocks_.size(); ++i) {
    const BlockState& s = blocks_[i];
    if (s.upper == 0) continue;
    out.written.push_back(SavedBlock{i, durable_version(s), s.upper});
  }
  return out;
}

bool Verifier::restore(const SavedState& state) {
  if (state.seed != config_.seed || state.offset != config_.offset ||
      state.block_size != config_.block_size || state.blocks != config_.blocks) {
    return false;
  }
  for (const SavedBlock& b : state.written) {
    if (b.index >= blocks_.size() || b.durable > b.upper || b.upper >= state.next_seq) return false;
  }
  for (BlockState& s : blocks_) s = BlockState{};
  for (const SavedBlock& b : state.written) {
    BlockState& s = blocks_[b.index];
    s.acked = b.durable;
    s.durable = b.durable;
    s.upper = b.upper;
    s.ack_mark = 0;  // durable
    s.candidate = 0;
    s.candidate_mark = 0;
    s.uncertain = b.upper > b.durable;
  }
  next_seq_ = std::max(next_seq_, state.next_seq);
  return true;
}

void Verifier::settle(std::uint64_t block, const BlockInspection& found) {
  BlockState& s = blocks_[block];
  if (found.kind == BlockKind::kCorrupt) return;  // torn: stays uncertain until rewritten
  std::uint64_t v = 0;
  if (found.kind == BlockKind::kValid && found.header.offset == offset_of(block) &&
      found.header.seed == config_.seed && found.header.seq >= s.acked &&
      found.header.seq <= s.upper) {
    v = found.header.seq;
  }
  // A baseline result (zeroes or a foreign block) for a block whose durable
  // version is baseline: the later writes were lost, legitimately.
  s.acked = v;
  s.durable = v;
  s.upper = v;
  s.ack_mark = 0;
  s.candidate = 0;
  s.candidate_mark = 0;
  s.uncertain = false;
}

std::uint64_t Verifier::blocks_written() const {
  std::uint64_t n = 0;
  for (const BlockState& s : blocks_) n += s.upper != 0;
  return n;
}

}  // namespace loadgen
