// Verifier and the block format, against a fake device model: a byte array
// the test writes to, corrupts and rolls back by hand, so each way a device
// can lose or damage data is checked on its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "loadgen/block_header.hpp"
#include "loadgen/state_file.hpp"
#include "loadgen/verifier.hpp"

namespace loadgen {
namespace {

using ::testing::HasSubstr;

constexpr std::uint32_t kBs = 4096;
constexpr std::uint64_t kBlocks = 16;
constexpr std::uint64_t kOffset = 1 << 20;
constexpr std::uint64_t kSeed = 77;

// --- block format -------------------------------------------------------------------

TEST(BlockHeaderTest, RoundTrip) {
  std::vector<unsigned char> buf(kBs);
  const BlockHeader h = fill_block(buf.data(), buf.size(), 8192, 5, 99);
  const BlockInspection in = inspect_block(buf.data(), buf.size());
  EXPECT_EQ(in.kind, BlockKind::kValid);
  EXPECT_EQ(in.header, h);
  EXPECT_EQ(h.offset, 8192u);
  EXPECT_EQ(h.seed, 5u);
  EXPECT_EQ(h.seq, 99u);
  EXPECT_EQ(h.size, kBs);
  EXPECT_EQ(in.computed_checksum, h.checksum);
  // The on-disk layout is fixed: magic first, little-endian.
  EXPECT_EQ(std::memcmp(buf.data(), "CRBDLOAD", 8), 0);
}

TEST(BlockHeaderTest, ZeroesAreRecognised) {
  std::vector<unsigned char> buf(kBs, 0);
  EXPECT_EQ(inspect_block(buf.data(), buf.size()).kind, BlockKind::kZero);
  buf[kBs - 1] = 1;
  EXPECT_EQ(inspect_block(buf.data(), buf.size()).kind, BlockKind::kCorrupt);
}

TEST(BlockHeaderTest, EveryFlippedByteIsCaught) {
  std::vector<unsigned char> buf(512);
  fill_block(buf.data(), buf.size(), 0, 1, 1);
  for (std::size_t i = 0; i < buf.size(); ++i) {
    buf[i] ^= 0x01;
    ASSERT_EQ(inspect_block(buf.data(), buf.size()).kind, BlockKind::kCorrupt) << i;
    buf[i] ^= 0x01;
  }
  EXPECT_EQ(inspect_block(buf.data(), buf.size()).kind, BlockKind::kValid);
}

TEST(BlockHeaderTest, VersionsDiffer) {
  std::vector<unsigned char> a(kBs), b(kBs), c(kBs);
  fill_block(a.data(), kBs, 0, 1, 1);
  fill_block(b.data(), kBs, 0, 1, 2);
  fill_block(c.data(), kBs, 4096, 1, 1);
  EXPECT_NE(std::memcmp(a.data() + 48, b.data() + 48, kBs - 48), 0);
  EXPECT_NE(std::memcmp(a.data() + 48, c.data() + 48, kBs - 48), 0);
  // A torn mix of two versions fails its checksum.
  std::memcpy(a.data() + kBs / 2, b.data() + kBs / 2, kBs / 2);
  EXPECT_EQ(inspect_block(a.data(), kBs).kind, BlockKind::kCorrupt);
}

TEST(BlockHeaderTest, ReadWithAnotherSizeIsCorrupt) {
  std::vector<unsigned char> buf(8192);
  fill_block(buf.data(), 4096, 0, 1, 1);
  fill_block(buf.data() + 4096, 4096, 4096, 1, 2);
  EXPECT_EQ(inspect_block(buf.data(), 8192).kind, BlockKind::kCorrupt);
}

TEST(BlockHeaderTest, DescribeNamesTheFields) {
  std::vector<unsigned char> buf(kBs);
  fill_block(buf.data(), kBs, 12288, 3, 41);
  const std::string text = describe(inspect_block(buf.data(), kBs));
  EXPECT_THAT(text, HasSubstr("offset=12288"));
  EXPECT_THAT(text, HasSubstr("seed=3"));
  EXPECT_THAT(text, HasSubstr("seq=41"));
  EXPECT_THAT(text, HasSubstr("valid"));
}

// --- the model against a fake device -----------------------------------------------------

class FakeDevice {
 public:
  FakeDevice() : bytes_(kBlocks * kBs) {}
  unsigned char* block(std::uint64_t b) { return bytes_.data() + b * kBs; }
  std::vector<unsigned char> snapshot() const { return bytes_; }
  void restore(const std::vector<unsigned char>& s) { bytes_ = s; }

 private:
  std::vector<unsigned char> bytes_;
};

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : v_(config(1)) {}
  static VerifyConfig config(unsigned conns) {
    return VerifyConfig{kSeed, kOffset, kBs, kBlocks, conns};
  }

  // A write the device performs and acknowledges.
  std::uint64_t write(std::uint64_t b, unsigned conn = 0, bool fua = false) {
    const std::uint64_t seq = v_.begin_write(b, buf_.data());
    std::memcpy(dev_.block(b), buf_.data(), kBs);
    v_.end_write(b, seq, 0, conn, fua);
    return seq;
  }
  // A write the device acknowledges but drops.
  std::uint64_t lost_write(std::uint64_t b) {
    const std::uint64_t seq = v_.begin_write(b, buf_.data());
    v_.end_write(b, seq, 0, 0, false);
    return seq;
  }
  ReadCheck read(std::uint64_t b) {
    const ReadTicket t = v_.begin_read(b);
    return v_.check_read(b, t, dev_.block(b));
  }

  Verifier v_;
  FakeDevice dev_;
  std::vector<unsigned char> buf_ = std::vector<unsigned char>(kBs);
};

TEST_F(VerifierTest, NeverWrittenBlocksReadAsZeroes) {
  for (std::uint64_t b = 0; b < kBlocks; ++b) EXPECT_EQ(read(b).verdict, ReadVerdict::kOk);
}

TEST_F(VerifierTest, LatestAcknowledgedVersionPasses) {
  write(3);
  write(3);
  write(5);
  EXPECT_EQ(read(3).verdict, ReadVerdict::kOk);
  EXPECT_EQ(read(5).verdict, ReadVerdict::kOk);
  EXPECT_EQ(read(3).found.header.seq, 2u);
  EXPECT_EQ(read(3).found.header.offset, kOffset + 3 * kBs);
}

TEST_F(VerifierTest, CatchesACorruptedBlock) {
  write(7);
  dev_.block(7)[1000] ^= 0xff;
  const ReadCheck c = read(7);
  EXPECT_EQ(c.verdict, ReadVerdict::kMismatch);
  EXPECT_EQ(c.kind, MismatchKind::kCorrupt);
  EXPECT_FALSE(c.overlapped);
  EXPECT_NE(c.found.computed_checksum, c.found.header.checksum);
}

TEST_F(VerifierTest, CatchesALostOverwrite) {
  write(2);                 // seq 1 reaches the device
  const auto lost = lost_write(2);  // seq 2 is acknowledged but dropped
  const ReadCheck c = read(2);
  EXPECT_EQ(c.verdict, ReadVerdict::kMismatch);
  EXPECT_EQ(c.kind, MismatchKind::kStale);
  EXPECT_EQ(c.found.header.seq, 1u);
  const std::string expected = v_.describe_expected(2, v_.begin_read(2));
  EXPECT_THAT(expected, HasSubstr("seq=" + std::to_string(lost)));
  EXPECT_THAT(expected, HasSubstr("offset=" + std::to_string(kOffset + 2 * kBs)));
}

TEST_F(VerifierTest, CatchesALostFirstWrite) {
  lost_write(4);
  const ReadCheck c = read(4);
  EXPECT_EQ(c.verdict, ReadVerdict::kMismatch);
  EXPECT_EQ(c.kind, MismatchKind::kZeroes);
}

TEST_F(VerifierTest, CatchesAMisdirectedWrite) {
  write(1);
  std::memcpy(dev_.block(6), dev_.block(1), kBs);  // block 1's data landed on block 6
  const ReadCheck c = read(6);
  EXPECT_EQ(c.verdict, ReadVerdict::kMismatch);
  EXPECT_EQ(c.kind, MismatchKind::kWrongOffset);
}

TEST_F(VerifierTest, CatchesABlockOfAnotherRun) {
  write(9);
  fill_block(dev_.block(9), kBs, kOffset + 9 * kBs, kSeed + 1, 1);
  EXPECT_EQ(read(9).kind, MismatchKind::kWrongSeed);
}

TEST_F(VerifierTest, BlocksOfAnotherGeometryAreNamedAsSuch) {
  // An earlier run with --bs 8192 wrote over blocks 14 and 15.
  fill_block(dev_.block(14), 2 * kBs, kOffset + 14 * kBs, kSeed, 1);
  EXPECT_EQ(read(14).kind, MismatchKind::kWrongSize);
  EXPECT_THAT(std::string(to_string(MismatchKind::kWrongSize)), HasSubstr("another --bs"));
}

TEST_F(VerifierTest, BaselineAcceptsBlocksOfEarlierRuns) {
  // A block this model never wrote may hold any corobd-load block for its offset...
  fill_block(dev_.block(10), kBs, kOffset + 10 * kBs, 999, 12345);
  EXPECT_EQ(read(10).verdict, ReadVerdict::kOk);
  // ...but not one for another offset, nor garbage.
  fill_block(dev_.block(11), kBs, kOffset, 999, 1);
  EXPECT_EQ(read(11).kind, MismatchKind::kWrongOffset);
  std::memset(dev_.block(12), 0xab, kBs);
  EXPECT_EQ(read(12).kind, MismatchKind::kCorrupt);
}

TEST_F(VerifierTest, ReadOverlappingAWriteMaySeeEitherVersion) {
  write(0);
  const auto old_data = std::vector<unsigned char>(dev_.block(0), dev_.block(0) + kBs);
  const ReadTicket t = v_.begin_read(0);               // read issued
  const std::uint64_t seq = v_.begin_write(0, buf_.data());  // then a write
  // The old version is fine, and so is the new one (not yet acknowledged).
  ReadCheck c = v_.check_read(0, t, old_data.data());
  EXPECT_EQ(c.verdict, ReadVerdict::kOk);
  EXPECT_TRUE(c.overlapped);
  c = v_.check_read(0, t, buf_.data());
  EXPECT_EQ(c.verdict, ReadVerdict::kOk);
  // A torn mix fails, flagged as overlapped so the runner re-reads.
  std::vector<unsigned char> torn = old_data;
  std::memcpy(torn.data() + kBs / 2, buf_.data() + kBs / 2, kBs / 2);
  c = v_.check_read(0, t, torn.data());
  EXPECT_EQ(c.verdict, ReadVerdict::kMismatch);
  EXPECT_TRUE(c.overlapped);
  std::memcpy(dev_.block(0), buf_.data(), kBs);
  v_.end_write(0, seq, 0, 0, false);
  // Once acknowledged, only the new version passes a read issued afterwards.
  EXPECT_EQ(read(0).verdict, ReadVerdict::kOk);
  const ReadTicket after = v_.begin_read(0);
  c = v_.check_read(0, after, old_data.data());
  EXPECT_EQ(c.kind, MismatchKind::kStale);
  EXPECT_FALSE(c.overlapped);
}

TEST_F(VerifierTest, WriteStartedAndAcknowledgedDuringARead) {
  write(5);
  const auto old_data = std::vector<unsigned char>(dev_.block(5), dev_.block(5) + kBs);
  const ReadTicket t = v_.begin_read(5);
  write(5);  // a whole write happens while the read is in flight
  EXPECT_EQ(v_.check_read(5, t, old_data.data()).verdict, ReadVerdict::kOk);
  EXPECT_EQ(v_.check_read(5, t, dev_.block(5)).verdict, ReadVerdict::kOk);
}

TEST_F(VerifierTest, FailedWriteLeavesBothVersionsPossible) {
  write(8);
  const auto before = std::vector<unsigned char>(dev_.block(8), dev_.block(8) + kBs);
  const std::uint64_t seq = v_.begin_write(8, buf_.data());
  v_.end_write(8, seq, -EIO, 0, false);
  EXPECT_FALSE(v_.write_in_flight(8));
  EXPECT_EQ(read(8).verdict, ReadVerdict::kOk);  // it did not land
  std::memcpy(dev_.block(8), buf_.data(), kBs);
  EXPECT_EQ(read(8).verdict, ReadVerdict::kOk);  // or it did
  std::memcpy(dev_.block(8), before.data(), kBs);
  EXPECT_EQ(read(8).verdict, ReadVerdict::kOk);
}

TEST_F(VerifierTest, TornBlockAcceptedOnlyAfterAnUnfinishedWrite) {
  write(3);
  std::vector<unsigned char> old_data(dev_.block(3), dev_.block(3) + kBs);
  // Torn with no unfinished write: corruption.
  std::vector<unsigned char> next(kBs);
  fill_block(next.data(), kBs, kOffset + 3 * kBs, kSeed, 500);
  std::memcpy(dev_.block(3) + kBs / 2, next.data() + kBs / 2, kBs / 2);
  EXPECT_EQ(read(3).kind, MismatchKind::kCorrupt);
  // A write that failed may have landed in part: its torn mix is accepted.
  std::memcpy(dev_.block(3), old_data.data(), kBs);
  const std::uint64_t seq = v_.begin_write(3, buf_.data());
  v_.end_write(3, seq, -EIO, 0, false);
  std::memcpy(dev_.block(3) + kBs / 2, buf_.data() + kBs / 2, kBs / 2);
  ReadCheck c = read(3);
  EXPECT_EQ(c.verdict, ReadVerdict::kOk);
  EXPECT_TRUE(c.torn);
  // ...but not garbage in the header.
  dev_.block(3)[8] ^= 1;
  EXPECT_EQ(read(3).kind, MismatchKind::kCorrupt);
  // The next acknowledged write makes the block certain again.
  write(3);
  std::memcpy(dev_.block(3) + kBs / 2, old_data.data() + kBs / 2, kBs / 2);
  EXPECT_EQ(read(3).kind, MismatchKind::kCorrupt);
}

TEST_F(VerifierTest, UnknownNewerVersionIsAMismatch) {
  write(13);
  fill_block(dev_.block(13), kBs, kOffset + 13 * kBs, kSeed, 1000);
  EXPECT_EQ(read(13).kind, MismatchKind::kUnknown);
}

// --- durability and saved state -------------------------------------------------------------

SavedBlock saved_for(const SavedState& s, std::uint64_t index) {
  for (const SavedBlock& b : s.written) {
    if (b.index == index) return b;
  }
  return SavedBlock{index, 0, 0};
}

TEST_F(VerifierTest, OnlyFlushedOrFuaWritesAreDurable) {
  const auto a1 = write(0);
  const std::uint64_t mark = v_.begin_flush();
  const auto a2 = write(0);  // acknowledged after the flush was sent: not covered
  v_.end_flush(0, mark, false);
  const auto b1 = write(1, 0, /*fua=*/true);
  const auto c1 = write(2);  // never flushed
  const SavedState s = v_.save();
  EXPECT_EQ(saved_for(s, 0), (SavedBlock{0, a1, a2}));
  EXPECT_EQ(saved_for(s, 1), (SavedBlock{1, b1, b1}));
  EXPECT_EQ(saved_for(s, 2), (SavedBlock{2, 0, c1}));
  EXPECT_EQ(s.written.size(), 3u);
  EXPECT_EQ(s.next_seq, c1 + 1);
}

TEST_F(VerifierTest, OverwriteDuringAFlushKeepsTheCoveredVersion) {
  const auto a1 = write(0);
  const std::uint64_t m1 = v_.begin_flush();  // covers a1
  const auto a2 = write(0);                    // not covered
  const auto a3 = write(0);
  SavedState s = v_.save();
  EXPECT_EQ(saved_for(s, 0), (SavedBlock{0, 0, a3}));  // the flush has not completed
  v_.end_flush(0, m1, true);
  s = v_.save();
  EXPECT_EQ(saved_for(s, 0), (SavedBlock{0, a1, a3}));
  // A failed flush makes nothing durable.
  const std::uint64_t m2 = v_.begin_flush();
  write(0);
  v_.end_flush(0, m2, true, /*ok=*/false);
  s = v_.save();
  EXPECT_EQ(saved_for(s, 0).durable, a1);
  (void)a2;
}

TEST(VerifierConnectionsTest, FlushCoversOnlyItsConnectionWithoutMultiConn) {
  Verifier v(VerifyConfig{kSeed, 0, kBs, kBlocks, 2});
  std::vector<unsigned char> buf(kBs);
  const auto s0 = v.begin_write(0, buf.data());
  v.end_write(0, s0, 0, /*conn=*/0, false);
  const auto s1 = v.begin_write(1, buf.data());
  v.end_write(1, s1, 0, /*conn=*/1, false);
  v.end_flush(0, v.begin_flush(), /*all_connections=*/false);
  SavedState s = v.save();
  EXPECT_EQ(saved_for(s, 0).durable, s0);
  EXPECT_EQ(saved_for(s, 1).durable, 0u);
  v.end_flush(1, v.begin_flush(), true);  // multi-conn: covers everything
  s = v.save();
  EXPECT_EQ(saved_for(s, 1).durable, s1);
}

TEST_F(VerifierTest, RestoreAcceptsDurableOrLaterVersions) {
  const auto a1 = write(0);
  v_.end_flush(0, v_.begin_flush(), true);
  write(0);
  const auto a3 = write(0);
  const SavedState s = v_.save();
  EXPECT_EQ(saved_for(s, 0), (SavedBlock{0, a1, a3}));

  // After a "crash" the device holds the durable version, a later one, or the latest.
  Verifier fresh(config(1));
  ASSERT_TRUE(fresh.restore(s));
  EXPECT_EQ(fresh.next_seq(), a3 + 1);
  std::vector<unsigned char> block(kBs);
  for (std::uint64_t seq = a1; seq <= a3; ++seq) {
    fill_block(block.data(), kBs, kOffset, kSeed, seq);
    EXPECT_EQ(fresh.check_read(0, fresh.begin_read(0), block.data()).verdict, ReadVerdict::kOk) << seq;
  }
  std::vector<unsigned char> zero(kBs, 0);
  EXPECT_EQ(fresh.check_read(0, fresh.begin_read(0), zero.data()).kind, MismatchKind::kZeroes);
  fill_block(block.data(), kBs, kOffset, kSeed, a1 - 0 + 100);
  EXPECT_EQ(fresh.check_read(0, fresh.begin_read(0), block.data()).kind, MismatchKind::kUnknown);

  // settle(): once a check read found version 2, exactly that must be read.
  fill_block(block.data(), kBs, kOffset, kSeed, a1 + 1);
  const ReadCheck c = fresh.check_read(0, fresh.begin_read(0), block.data());
  ASSERT_EQ(c.verdict, ReadVerdict::kOk);
  fresh.settle(0, c.found);
  fill_block(block.data(), kBs, kOffset, kSeed, a3);
  EXPECT_EQ(fresh.check_read(0, fresh.begin_read(0), block.data()).kind, MismatchKind::kUnknown);
}

TEST_F(VerifierTest, RestoredBlocksMayBeTornOnlyIfWritesWereUnflushed) {
  const auto a1 = write(0);
  write(1);
  v_.end_flush(0, v_.begin_flush(), true);
  const auto a2 = write(0);  // block 0 has an unflushed write; block 1 has none
  const SavedState s = v_.save();
  Verifier fresh(config(1));
  ASSERT_TRUE(fresh.restore(s));
  std::vector<unsigned char> v1(kBs), v2(kBs);
  fill_block(v1.data(), kBs, kOffset, kSeed, a1);
  fill_block(v2.data(), kBs, kOffset, kSeed, a2);
  std::memcpy(v1.data() + kBs / 2, v2.data() + kBs / 2, kBs / 2);
  ReadCheck c = fresh.check_read(0, fresh.begin_read(0), v1.data());
  EXPECT_EQ(c.verdict, ReadVerdict::kOk);
  EXPECT_TRUE(c.torn);
  std::vector<unsigned char> b1(dev_.block(1), dev_.block(1) + kBs);
  b1[kBs - 1] ^= 1;
  EXPECT_EQ(fresh.check_read(1, fresh.begin_read(1), b1.data()).kind, MismatchKind::kCorrupt);
}

TEST_F(VerifierTest, RestoreRefusesAnotherGeometry) {
  write(1);
  SavedState s = v_.save();
  Verifier other(VerifyConfig{kSeed, kOffset, 8192, kBlocks / 2, 1});
  EXPECT_FALSE(other.restore(s));
  Verifier other_seed(VerifyConfig{kSeed + 1, kOffset, kBs, kBlocks, 1});
  EXPECT_FALSE(other_seed.restore(s));
}

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/loadgen-state-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/state";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(StateFileTest, RoundTrip) {
  SavedState s;
  s.seed = 9;
  s.offset = 4096;
  s.block_size = 512;
  s.blocks = 1000;
  s.next_seq = 500;
  s.written = {{0, 0, 3}, {7, 5, 5}, {999, 10, 499}};
  std::string error;
  ASSERT_TRUE(save_state(path_, s, &error)) << error;
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  SavedState back;
  ASSERT_TRUE(load_state(path_, &back, &error)) << error;
  EXPECT_EQ(back.seed, 9u);
  EXPECT_EQ(back.offset, 4096u);
  EXPECT_EQ(back.block_size, 512u);
  EXPECT_EQ(back.blocks, 1000u);
  EXPECT_EQ(back.next_seq, 500u);
  EXPECT_EQ(back.written, s.written);
}

TEST_F(StateFileTest, MissingFileIsReported) {
  SavedState s;
  std::string error;
  bool missing = false;
  EXPECT_FALSE(load_state(path_, &s, &error, &missing));
  EXPECT_TRUE(missing);
  EXPECT_THAT(error, HasSubstr(path_));
}

TEST_F(StateFileTest, DamageIsDetected) {
  SavedState s;
  s.seed = 1;
  s.block_size = 4096;
  s.blocks = 10;
  s.next_seq = 20;
  s.written = {{1, 2, 3}, {4, 5, 6}};
  std::string error;
  ASSERT_TRUE(save_state(path_, s, &error));
  std::string data;
  {
    std::ifstream in(path_, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto rewrite = [&](const std::string& d) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << d;
  };
  SavedState back;
  bool missing = true;
  std::string flipped = data;
  flipped[flipped.size() - 12] ^= 1;  // a record byte
  rewrite(flipped);
  EXPECT_FALSE(load_state(path_, &back, &error, &missing));
  EXPECT_FALSE(missing);
  EXPECT_THAT(error, HasSubstr("checksum"));
  rewrite(data.substr(0, data.size() - 1));
  EXPECT_FALSE(load_state(path_, &back, &error));
  rewrite("something else\n");
  EXPECT_FALSE(load_state(path_, &back, &error));
  EXPECT_THAT(error, HasSubstr("not a corobd-load state file"));
}

}  // namespace
}  // namespace loadgen
