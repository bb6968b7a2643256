// Runner end to end against FakeTarget (fake_target.hpp): an in-memory
// device with random delays, so requests overlap as on a real server, and
// knobs that make it lose, corrupt or fail I/O.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fake_target.hpp"
#include "loadgen/exit_status.hpp"
#include "loadgen/options.hpp"
#include "loadgen/report.hpp"
#include "loadgen/runner.hpp"

namespace loadgen {
namespace {

using ::testing::HasSubstr;
using loadgen_test::FakeDisk;
using loadgen_test::FakeFactory;
using namespace std::chrono_literals;

constexpr std::uint64_t kDiskSize = 1 << 20;  // 256 blocks of 4 KiB

Options base_options() {
  Options o;
  o.uri = "fake";
  o.pattern = Pattern::kRandReadWrite;
  o.queue_depth = 8;
  o.connections = 2;
  o.ops = 4000;
  o.warmup = 0ms;
  o.verify = true;
  o.progress = ProgressMode::kNever;
  return o;
}

RunResult run(const Options& o, FakeDisk& disk) {
  FakeFactory factory(&disk);
  Runner runner(o, &factory);
  return runner.run();
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/loadgen-runner-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  FakeDisk disk_{kDiskSize};
};

TEST_F(RunnerTest, CleanVerifiedRun) {
  const Options o = base_options();
  const RunResult r = run(o, disk_);
  ASSERT_EQ(r.exit_code, kExitOk) << r.error << (r.mismatches.empty() ? "" : r.mismatches[0]);
  const RunStats& s = *r.stats;
  EXPECT_EQ(s.op(OpType::kRead).ops + s.op(OpType::kWrite).ops, 4000u);
  EXPECT_NEAR(static_cast<double>(s.op(OpType::kRead).ops), 2000, 300);
  EXPECT_EQ(s.reads_verified, s.op(OpType::kRead).ops + 0);
  EXPECT_EQ(s.mismatches, 0u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(r.blocks, 256u);
  EXPECT_EQ(r.range, kDiskSize);
  EXPECT_EQ(disk_.connects, 2u);
  EXPECT_EQ(disk_.reads + disk_.writes, 4000u + s.rereads);
  EXPECT_GT(r.elapsed_s, 0.0);
  EXPECT_GT(s.op(OpType::kRead).latency.count(), 0u);
}

TEST_F(RunnerTest, HeavyOverlapOnFewBlocksStaysClean) {
  // 16 workers on 4 blocks: writes queue for busy blocks, reads race writes
  // and see torn data, which must be re-read rather than reported.
  Options o = base_options();
  o.range = 4 * 4096;
  o.ops = 3000;
  disk_.max_delay_us = 50;
  const RunResult r = run(o, disk_);
  ASSERT_EQ(r.exit_code, kExitOk) << (r.mismatches.empty() ? r.error : r.mismatches[0]);
  EXPECT_EQ(r.stats->mismatches, 0u);
}

TEST_F(RunnerTest, CatchesLostWrites) {
  Options o = base_options();
  o.range = 16 * 4096;  // small: lost blocks are read back soon
  disk_.drop_write_every = 50;
  const RunResult r = run(o, disk_);
  EXPECT_EQ(r.exit_code, kExitFailed);
  ASSERT_GE(r.stats->mismatches, 1u);
  ASSERT_FALSE(r.mismatches.empty());
  EXPECT_THAT(r.mismatches[0], HasSubstr("mismatch at offset "));
  EXPECT_THAT(r.mismatches[0], HasSubstr("expected: version seq="));
  EXPECT_THAT(r.mismatches[0], HasSubstr("found:"));
  EXPECT_THAT(r.mismatches[0], HasSubstr("lost write"));
  // The run stops at the mismatch, well before its 4000 ops.
  EXPECT_LT(r.stats->total_ops(), 4000u);
}

TEST_F(RunnerTest, CatchesACorruptBlock) {
  Options o = base_options();
  o.range = 16 * 4096;
  disk_.corrupt_reads_at = 5 * 4096 + 123;
  const RunResult r = run(o, disk_);
  EXPECT_EQ(r.exit_code, kExitFailed);
  ASSERT_FALSE(r.mismatches.empty());
  EXPECT_THAT(r.mismatches[0], HasSubstr("offset 20480 "));
  EXPECT_THAT(r.mismatches[0], HasSubstr("corrupt"));
}

TEST_F(RunnerTest, IoErrorsAreCountedByErrno) {
  Options o = base_options();
  o.verify = false;
  disk_.eio_read_every = 10;
  const RunResult r = run(o, disk_);
  EXPECT_EQ(r.exit_code, kExitFailed);
  EXPECT_GT(r.stats->errors_with(EIO), 0u);
  EXPECT_EQ(r.stats->errors_with(EIO), r.stats->op(OpType::kRead).errors);
  const std::string text = format_text_report(o, r);
  EXPECT_THAT(text, HasSubstr("EIO"));
  EXPECT_THAT(format_json_report(o, r), HasSubstr("\"EIO\": "));
}

TEST_F(RunnerTest, ConnectFailureExitsThree) {
  disk_.refuse_connect = true;
  const RunResult r = run(base_options(), disk_);
  EXPECT_EQ(r.exit_code, kExitConnectFailed);
  EXPECT_THAT(r.error, HasSubstr("connection refused"));
}

TEST_F(RunnerTest, ArgumentsTheExportCannotHonourExitTwo) {
  Options o = base_options();
  o.range = 2 * kDiskSize;
  EXPECT_EQ(run(o, disk_).exit_code, kExitBadArguments);
  o = base_options();
  o.offset = kDiskSize;
  EXPECT_EQ(run(o, disk_).exit_code, kExitBadArguments);
  o = base_options();
  o.fua = true;
  disk_.info.can_fua = false;
  RunResult r = run(o, disk_);
  EXPECT_EQ(r.exit_code, kExitBadArguments);
  EXPECT_THAT(r.error, HasSubstr("--fua"));
  disk_.info.can_fua = true;
  o = base_options();
  disk_.info.read_only = true;
  EXPECT_EQ(run(o, disk_).exit_code, kExitBadArguments);
  disk_.info.read_only = false;
  o = base_options();
  disk_.info.min_block = 512;
  o.block_size = 1000;
  EXPECT_EQ(run(o, disk_).exit_code, kExitBadArguments);
}

TEST_F(RunnerTest, FlushEveryAndFua) {
  Options o = base_options();
  o.pattern = Pattern::kRandWrite;
  o.flush_every = 100;
  o.fua = true;
  o.ops = 1000;
  const RunResult r = run(o, disk_);
  ASSERT_EQ(r.exit_code, kExitOk);
  EXPECT_EQ(r.stats->op(OpType::kFlush).ops, 10u);
  EXPECT_EQ(disk_.fua_writes, 1000u);
  EXPECT_EQ(disk_.flushes, 10u + 2u);  // plus the final flush of each connection
}

TEST_F(RunnerTest, FlushGoesToEveryConnectionWithoutMultiConn) {
  Options o = base_options();
  o.pattern = Pattern::kWrite;
  o.flush_every = 100;
  o.ops = 1000;
  disk_.info.multi_conn = false;
  const RunResult r = run(o, disk_);
  ASSERT_EQ(r.exit_code, kExitOk);
  EXPECT_EQ(r.stats->op(OpType::kFlush).ops, 20u);
}

TEST_F(RunnerTest, RuntimeAndWarmup) {
  Options o = base_options();
  o.ops.reset();
  o.runtime = 300ms;
  o.warmup = 200ms;
  const RunResult r = run(o, disk_);
  ASSERT_EQ(r.exit_code, kExitOk);
  EXPECT_GT(r.elapsed_s, 0.29);
  EXPECT_LT(r.elapsed_s, 1.0);
  // Requests of the warmup were issued but not measured.
  EXPECT_GT(disk_.reads + disk_.writes, r.stats->total_ops());
}

TEST_F(RunnerTest, RatePacing) {
  Options o = base_options();
  o.ops.reset();
  o.runtime = 1s;
  o.rate = 500;
  const RunResult r = run(o, disk_);
  ASSERT_EQ(r.exit_code, kExitOk);
  const double iops = static_cast<double>(r.stats->total_ops()) / r.elapsed_s;
  EXPECT_NEAR(iops, 500, 75);
}

TEST_F(RunnerTest, InterruptStopsTheRun) {
  Options o = base_options();
  o.ops.reset();
  o.runtime = 60s;
  std::atomic<bool> interrupt{true};
  FakeFactory factory(&disk_);
  Runner runner(o, &factory, nullptr, &interrupt);
  const RunResult r = runner.run();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.exit_code, kExitOk);
}

// --- --resume: durability across a "restart" ------------------------------------------------

TEST_F(RunnerTest, ResumeChecksAFlushedDeviceAfterACrash) {
  Options o = base_options();
  o.resume = dir_ + "/state";
  o.flush_every = 64;
  const RunResult first = run(o, disk_);
  ASSERT_EQ(first.exit_code, kExitOk);
  ASSERT_TRUE(first.state_saved) << first.state_error;
  EXPECT_FALSE(first.resumed);
  EXPECT_GT(first.blocks_tracked, 100u);

  disk_.crash();  // everything flushed survives
  Options check = o;
  check.ops = 0;
  check.pattern = Pattern::kRandRead;
  check.flush_every = 0;
  const RunResult second = run(check, disk_);
  EXPECT_EQ(second.exit_code, kExitOk) << (second.mismatches.empty() ? second.error : second.mismatches[0]);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.stats->resume_checked, first.blocks_tracked);

  // The sequence numbers continue: a third run writing more still checks out.
  const RunResult third = run(o, disk_);
  EXPECT_EQ(third.exit_code, kExitOk) << (third.mismatches.empty() ? third.error : third.mismatches[0]);
}

TEST_F(RunnerTest, ResumeAfterTheServerDiesMidRun) {
  // The crash test: the server dies with writes in flight, some flushed,
  // some not. The state is still saved; after a restart every flushed
  // write must be there, and unflushed ones may or may not be.
  Options o = base_options();
  o.resume = dir_ + "/state";
  o.flush_every = 32;
  o.ops = 100000;
  disk_.die_after_writes = 1500;
  const RunResult first = run(o, disk_);
  EXPECT_EQ(first.exit_code, kExitFailed);
  EXPECT_GT(first.stats->errors_with(ECONNRESET), 0u);
  EXPECT_EQ(first.connections_lost, 2u);
  ASSERT_TRUE(first.state_saved) << first.state_error;

  disk_.crash();
  disk_.dead = false;
  disk_.die_after_writes = 0;
  Options check = o;
  check.ops = 0;
  const RunResult second = run(check, disk_);
  EXPECT_EQ(second.exit_code, kExitOk) << (second.mismatches.empty() ? second.error : second.mismatches[0]);
  EXPECT_EQ(second.stats->resume_checked, first.blocks_tracked);
}

TEST_F(RunnerTest, ResumeCatchesADeviceThatIgnoresFlushes) {
  Options o = base_options();
  o.resume = dir_ + "/state";
  o.flush_every = 64;
  disk_.ignore_flush = true;  // acknowledges flushes, persists nothing
  ASSERT_EQ(run(o, disk_).exit_code, kExitOk);
  disk_.crash();  // back to zeroes
  Options check = o;
  check.ops = 0;
  const RunResult r = run(check, disk_);
  EXPECT_EQ(r.exit_code, kExitFailed);
  EXPECT_GT(r.stats->mismatches, 100u);
  EXPECT_EQ(r.mismatches.size(), kMaxMismatchReports);
  EXPECT_THAT(r.mismatches[0], HasSubstr("zeroes where a write was acknowledged"));
}

TEST_F(RunnerTest, ResumeCatchesFlushedWritesLostInACrash) {
  Options o = base_options();
  o.resume = dir_ + "/state";
  o.flush_every = 64;
  ASSERT_EQ(run(o, disk_).exit_code, kExitOk);
  // The device lied about its flushes: roll one flushed block back to zeroes.
  std::fill(disk_.durable.begin() + 7 * 4096, disk_.durable.begin() + 8 * 4096, 0);
  disk_.crash();
  Options check = o;
  check.ops = 0;
  const RunResult r = run(check, disk_);
  EXPECT_EQ(r.exit_code, kExitFailed);
  ASSERT_FALSE(r.mismatches.empty());
  EXPECT_THAT(r.mismatches[0], HasSubstr("offset 28672 "));
  EXPECT_THAT(r.mismatches[0], HasSubstr("checking the saved state"));
  EXPECT_EQ(r.stats->total_ops(), 0u);  // the workload did not run
}

TEST_F(RunnerTest, ResumeWithAnotherGeometryExitsTwo) {
  Options o = base_options();
  o.resume = dir_ + "/state";
  ASSERT_EQ(run(o, disk_).exit_code, kExitOk);
  Options other = o;
  other.block_size = 8192;
  RunResult r = run(other, disk_);
  EXPECT_EQ(r.exit_code, kExitBadArguments);
  EXPECT_THAT(r.error, HasSubstr("--bs 4096"));
  other = o;
  other.seed = 99;
  other.seed_given = true;
  r = run(other, disk_);
  EXPECT_EQ(r.exit_code, kExitBadArguments);
  EXPECT_THAT(r.error, HasSubstr("--seed"));
}

}  // namespace
}  // namespace loadgen
