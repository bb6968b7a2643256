// Verifier: corobd-load's model of what every block of the tested range may
// contain, and the checks that reads are held to.
//
// Model
// - Every write gets a sequence number (seq) from one counter, unique over
//   the run (and over resumed runs: the counter is saved). The block it
//   writes carries (offset, seed, seq) in its header (block_header.hpp).
// - Writes to one block never overlap: the runner starts a write on a block
//   only when write_in_flight(block) is false. Reads may overlap a write.
// - Per block the model keeps:
//     acked   the latest acknowledged version, 0 for "baseline": what the
//             device held before this model knew the block (zeroes or a
//             well-formed corobd-load block for this offset, e.g. from an
//             earlier run);
//     upper   the highest version that may be on the device: a write in
//             flight, or one that failed (it may or may not have landed);
//     durable the latest version known to survive a restart of the server:
//             acknowledged with FUA, or acknowledged before a flush that
//             has completed was sent (on the same connection, or on any if
//             the server advertises multi-conn: end_flush(all=true)).
//             Each version remembers the acknowledgement count when it was
//             acknowledged (its mark), each flush the count when it was
//             sent; the durable version is the newest whose mark a
//             completed flush covers. A version overwritten while a flush
//             that may cover it is in flight is kept as a candidate until
//             the next overwrite (one candidate per block: when several
//             flushes overlap, the model may settle for an older durable
//             version, which makes the check after a restart more lenient,
//             never wrong).
// - A read issued when the block's latest acknowledged version was L, and
//   checked when its highest possible version is U, must find version L
//   (or baseline, if L is 0) or one of our versions in (L, U]. With no
//   write in flight during the read, U == L: exactly the latest
//   acknowledged version. So a lost write (an older version, or zeroes), a
//   misdirected write (another offset in the header), a torn or corrupted
//   block (bad checksum) and a version from nowhere all fail.
// - A read that overlapped a write of its block may also see a torn mix of
//   the two versions (servers do not make reads and writes atomic against
//   each other); check_read() marks such failures `overlapped` so the
//   runner re-reads once the write is done instead of reporting them.
// - Saved state (for --resume) keeps, per block ever written, [durable,
//   upper]: after a crash and restart the block must hold the durable
//   version or a later one of ours, up to upper. restore() loads that as
//   acked = durable, upper = upper; settle() narrows a block to what a
//   check read found.
// - Torn blocks: a write that was not acknowledged (it failed, or the
//   server died with it in flight), or was acknowledged but not yet
//   flushed when the server crashed, may have landed in part. A block with
//   such a write (an `uncertain` block: a failed write, or restored with
//   upper > durable) may therefore read back as a mix of versions: the
//   checksum fails, but the header is zeroes or one of ours for this
//   offset within the accepted versions. check_read() accepts that and
//   sets ReadCheck::torn; the next acknowledged write makes the block
//   certain again. A block without such writes must never be torn.
//
// Contract
// - Pure bookkeeping: no I/O, no coroutines, never yields. Allocates its
//   block table in the constructor (56 bytes per block; at most kMaxBlocks
//   blocks, 448 MiB) and nothing per request, except describe_expected()
//   for a report. One thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/block_header.hpp"

namespace loadgen {

struct VerifyConfig {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;      // byte offset of block 0
  std::uint32_t block_size = 0;  // >= kBlockHeaderSize
  std::uint64_t blocks = 0;      // 1 .. kMaxBlocks
  unsigned connections = 1;
};

// One block of a saved model: the versions it may hold after a restart.
struct SavedBlock {
  std::uint64_t index = 0;
  std::uint64_t durable = 0;  // 0: baseline
  std::uint64_t upper = 0;    // >= durable, >= 1
  friend bool operator==(const SavedBlock&, const SavedBlock&) = default;
};

// The whole saved model (see state_file.hpp for its file format).
struct SavedState {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
  std::uint32_t block_size = 0;
  std::uint64_t blocks = 0;
  std::uint64_t next_seq = 1;
  std::vector<SavedBlock> written;  // ascending index, only blocks ever written
};

enum class ReadVerdict {
  kOk,
  kMismatch,
};

// Why a read failed (for the report).
enum class MismatchKind {
  kNone,
  kZeroes,         // zeroes where a version of ours was acknowledged (lost write)
  kStale,          // an older version of ours (lost write)
  kUnknown,        // a version of ours newer than any that may be there
  kWrongOffset,    // a well-formed block written for another offset (misdirected)
  kWrongSeed,      // a well-formed block of another run (a lost write, or a stale image)
  kWrongSize,      // a corobd-load block written with another --bs (or offset)
  kCorrupt,        // bad checksum, bad size or garbage
};

std::string_view to_string(MismatchKind kind);

// What a read saw, from begin_read() to check_read().
struct ReadTicket {
  std::uint64_t acked = 0;
  std::uint64_t upper = 0;
  bool write_in_flight = false;
};

struct ReadCheck {
  ReadVerdict verdict = ReadVerdict::kOk;
  MismatchKind kind = MismatchKind::kNone;
  bool overlapped = false;  // a write of this block was in flight at some point during the read
  bool torn = false;        // accepted although torn: an uncertain block (see above)
  BlockInspection found;
};

class Verifier {
 public:
  static constexpr std::uint64_t kMaxBlocks = std::uint64_t{1} << 23;

  explicit Verifier(const VerifyConfig& config);

  const VerifyConfig& config() const { return config_; }
  std::uint64_t offset_of(std::uint64_t block) const {
    return config_.offset + block * config_.block_size;
  }

  // --- writes ---
  bool write_in_flight(std::uint64_t block) const { return blocks_[block].in_flight; }
  // Starts a write of `block` (which must have none in flight): takes the
  // next seq and fills buf[0, block_size) with the block. Returns the seq.
  std::uint64_t begin_write(std::uint64_t block, void* buf);
  // The write of `seq` finished with `result` (0 or -errno) on connection
  // `conn`; fua: it was sent with FUA.
  void end_write(std::uint64_t block, std::uint64_t seq, int result, unsigned conn, bool fua);

  // --- reads ---
  ReadTicket begin_read(std::uint64_t block) const;
  ReadCheck check_read(std::uint64_t block, const ReadTicket& ticket, const void* buf) const;
  // "version seq=12 {offset=... seed=... seq=12 size=... checksum=...}" or
  // "zeroes or any corobd-load block for offset N", plus the later versions
  // that would also be accepted. Allocates: for reports only.
  std::string describe_expected(std::uint64_t block, const ReadTicket& ticket) const;

  // --- flushes ---
  // Call begin_flush() when sending a flush and end_flush() with its mark
  // when it is answered (ok: it succeeded). all_connections: the server
  // advertises multi-conn, so the flush covers writes acknowledged on every
  // connection.
  std::uint64_t begin_flush();
  void end_flush(unsigned conn, std::uint64_t mark, bool all_connections, bool ok = true);

  // --- saved state ---
  SavedState save() const;
  // Loads a saved model whose seed, offset, block size and block count
  // match config(); returns false (and changes nothing) if they do not.
  bool restore(const SavedState& state);
  // After a check read of a restored block succeeded: the block now holds
  // what was found; later reads must find exactly that.
  void settle(std::uint64_t block, const BlockInspection& found);
  // True if the block was ever written (in this run or a saved one).
  bool written(std::uint64_t block) const { return blocks_[block].upper != 0; }

  std::uint64_t next_seq() const { return next_seq_; }
  std::uint64_t blocks_written() const;

 private:
  struct BlockState {
    std::uint64_t acked = 0;
    std::uint64_t upper = 0;
    std::uint64_t durable = 0;    // known durable (an older version than acked, or acked)
    std::uint64_t ack_mark = 0;   // ack_counter_ when acked was acknowledged (0: durable)
    std::uint64_t candidate = 0;  // an overwritten version a flush in flight may cover
    std::uint64_t candidate_mark = 0;
    std::uint16_t conn = 0;       // connection acked was acknowledged on
    std::uint16_t candidate_conn = 0;
    bool in_flight = false;
    bool uncertain = false;  // a failed or unflushed-and-crashed write may have landed in part
  };

  bool covered(std::uint64_t mark, std::uint16_t conn) const { return mark <= flushed_[conn]; }
  std::uint64_t durable_version(const BlockState& s) const {
    if (covered(s.ack_mark, s.conn)) return s.acked;
    if (s.candidate_mark != 0 && covered(s.candidate_mark, s.candidate_conn)) return s.candidate;
    return s.durable;
  }
  bool flush_pending_after(std::uint64_t mark) const;
  // A torn block's header (its first sector came from one of the versions
  // it may hold).
  bool plausible_torn(std::uint64_t block, const BlockInspection& found, std::uint64_t lo,
                      std::uint64_t hi) const;

  VerifyConfig config_;
  std::vector<BlockState> blocks_;
  std::vector<std::uint64_t> flushed_;  // per connection: acks covered by a completed flush
  std::vector<std::uint64_t> pending_flushes_;  // marks of flushes in flight
  std::uint64_t next_seq_ = 1;
  std::uint64_t ack_counter_ = 0;
};

}  // namespace loadgen
