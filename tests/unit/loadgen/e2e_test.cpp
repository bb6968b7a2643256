// corobd-load end to end: the real binary against independent NBD servers
// (nbdkit's memory plugin, qemu-nbd on a raw image file) and, once it is
// built, corobd itself. Servers run as child processes on sockets in a
// temporary directory and are killed in teardown. Tests skip when a server
// program is not installed.
//
// Besides clean --verify runs, the image-file cases stop qemu-nbd between
// runs and damage the image behind its back, then restart it and check the
// device with --verify --resume:
//   - a corrupted block (a flipped byte)   -> exit 1, its offset printed;
//   - a lost write (an older image copied back over acknowledged, flushed
//     writes)                              -> exit 1, "lost write";
//   - qemu-nbd killed mid-run (SIGKILL)    -> the run exits 1 (I/O errors)
//     but saves its state, and the check after a restart passes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "server_process.hpp"

#ifndef COROBD_LOAD_PATH
#error "COROBD_LOAD_PATH must name the corobd-load binary"
#endif

namespace loadgen_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using test_support::ChildProcess;
using test_support::program_available;
using test_support::read_file;
using test_support::ServerProcess;
using namespace std::chrono_literals;

constexpr std::uint64_t kImageSize = 64u << 20;

// The value of a top-level-ish "key": number in a JSON report, -1 if absent.
double json_number(const std::string& json, const std::string& path_regex) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex(path_regex + R"(\s*:\s*([0-9.eE+-]+))"))) return -1;
  return std::stod(m[1].str());
}

class LoadE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/corobd-load-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = dir_ + "/nbd.sock";
    image_ = dir_ + "/disk.img";
    state_ = dir_ + "/state";
    uri_ = "nbd+unix:///?socket=" + socket_;
  }
  void TearDown() override {
    server_.reset();
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "(keeping %s for inspection)\n", dir_.c_str());
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  void create_image() {
    const int fd = ::open(image_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kImageSize)), 0);
    ::close(fd);
  }

  void start(std::vector<std::string> argv) {
    server_ = std::make_unique<ServerProcess>(std::move(argv), socket_, dir_ + "/server.log");
    ASSERT_TRUE(server_->ready()) << "server did not start:\n" << server_->log();
  }
  void start_nbdkit_memory() {
    if (!program_available("nbdkit")) GTEST_SKIP() << "nbdkit is not installed";
    start({"nbdkit", "-f", "--exit-with-parent", "-U", socket_, "memory", "256M"});
  }
  void start_qemu_nbd() {
    if (!program_available("qemu-nbd")) GTEST_SKIP() << "qemu-nbd is not installed";
    start({"qemu-nbd", "--socket=" + socket_, "--format=raw", "--persistent", "--shared=16",
           "--cache=writeback", image_});
  }

  ProgramResult load(std::vector<std::string> args) {
    std::vector<std::string> argv{COROBD_LOAD_PATH, "--uri", uri_, "--progress", "never"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, dir_);
  }

  static std::string explain(const ProgramResult& r) {
    return "status " + std::to_string(r.status) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
  }

  void flip_byte(std::uint64_t offset) {
    const int fd = ::open(image_.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    unsigned char b = 0;
    ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(offset)), 1);
    b ^= 0x40;
    ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(offset)), 1);
    ::fsync(fd);
    ::close(fd);
  }

  std::string dir_, socket_, image_, state_, uri_;
  std::unique_ptr<ServerProcess> server_;
};

// --- clean verified runs against independent servers ---------------------------------------

TEST_F(LoadE2ETest, VerifyAgainstNbdkitMemory) {
  start_nbdkit_memory();
  if (IsSkipped()) return;
  const ProgramResult r = load({"--rw", "randrw", "--mix", "70", "--qd", "32", "--conns", "2",
                                "--runtime", "2s", "--warmup", "200ms", "--verify",
                                "--flush-every", "500", "--json"});
  ASSERT_EQ(r.status, 0) << explain(r);
  EXPECT_EQ(json_number(r.out, "\"mismatches\""), 0);
  EXPECT_EQ(json_number(r.out, "\"exit_status\""), 0);
  EXPECT_GT(json_number(r.out, "\"reads_verified\""), 1000);
  EXPECT_EQ(json_number(r.out, "\"size\""), 256.0 * 1024 * 1024);
  EXPECT_GT(json_number(r.out, "\"iops\""), 100);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(LoadE2ETest, VerifyAgainstQemuNbd) {
  create_image();
  start_qemu_nbd();
  if (IsSkipped()) return;
  const ProgramResult r = load({"--rw", "randrw", "--qd", "16", "--conns", "2", "--runtime",
                                "2s", "--warmup", "0", "--range", "32M", "--verify", "--fua"});
  ASSERT_EQ(r.status, 0) << explain(r);
  EXPECT_THAT(r.out, HasSubstr("verify: "));
  EXPECT_THAT(r.out, HasSubstr(" 0 mismatches"));
  EXPECT_THAT(r.out, HasSubstr("result: ok (exit status 0)"));
  // Every pattern, with a small block size, one after another on a range
  // the run above did not touch: each run finds the blocks of the ones
  // before it (other seeds' versions of the same geometry are accepted).
  for (const char* rw : {"read", "write", "randread", "randwrite", "rw", "randrw"}) {
    const ProgramResult p = load({"--rw", rw, "--bs", "512", "--qd", "4", "--ops", "2000",
                                  "--range", "1M", "--offset", "32M", "--verify"});
    EXPECT_EQ(p.status, 0) << rw << ": " << explain(p);
  }
  // The same range read with another block size: blocks of another geometry.
  const ProgramResult other = load({"--rw", "read", "--bs", "4k", "--ops", "256", "--range", "1M",
                                    "--offset", "32M", "--verify"});
  EXPECT_EQ(other.status, 1) << explain(other);
  EXPECT_THAT(other.err, HasSubstr("another --bs"));
}

TEST_F(LoadE2ETest, ProgressAndRateAgainstNbdkit) {
  start_nbdkit_memory();
  if (IsSkipped()) return;
  std::vector<std::string> argv{COROBD_LOAD_PATH, "--uri",    uri_,       "--progress", "always",
                                "--rate",         "2000",     "--runtime", "2s",        "--warmup",
                                "0",              "--json"};
  const ProgramResult r = run_program(argv, dir_);
  ASSERT_EQ(r.status, 0) << explain(r);
  // Not a terminal: one plain line per second.
  EXPECT_THAT(r.err, HasSubstr(" IOPS "));
  EXPECT_THAT(r.err, ::testing::ContainsRegex("\\[1\\.[0-9]s / 2\\.0s\\]"));
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  const double iops = json_number(r.out, "\"total\": \\{[^}]*\"iops\"");
  EXPECT_NEAR(iops, 2000, 200) << r.out;
}

// --- damage behind the server's back, found after a restart -------------------------------

TEST_F(LoadE2ETest, CorruptedBlockIsFoundAfterRestart) {
  create_image();
  start_qemu_nbd();
  if (IsSkipped()) return;
  // 256 sequential writes cover every 4 KiB block of the first MiB.
  ProgramResult r = load({"--rw", "write", "--range", "1M", "--ops", "256", "--qd", "8",
                          "--verify", "--resume", state_});
  ASSERT_EQ(r.status, 0) << explain(r);
  EXPECT_THAT(r.out, HasSubstr("256 written blocks saved to " + state_));
  ASSERT_EQ(server_->stop(), 0) << server_->log();

  flip_byte(5 * 4096 + 100);  // inside block 5, at offset 20480

  start_qemu_nbd();
  r = load({"--rw", "read", "--range", "1M", "--ops", "0", "--verify", "--resume", state_});
  EXPECT_EQ(r.status, 1) << explain(r);
  EXPECT_THAT(r.err, HasSubstr("mismatch at offset 20480 "));
  EXPECT_THAT(r.err, HasSubstr("corrupt"));
  EXPECT_THAT(r.err, HasSubstr("expected: version seq="));
  EXPECT_THAT(r.err, HasSubstr("found:    corrupt block {offset=20480"));
  EXPECT_THAT(r.out, HasSubstr("1 mismatch"));
  EXPECT_THAT(r.out, HasSubstr("DATA MISMATCH"));

  // The undamaged device checks out.
  flip_byte(5 * 4096 + 100);
  r = load({"--rw", "read", "--range", "1M", "--ops", "0", "--verify", "--resume", state_});
  EXPECT_EQ(r.status, 0) << explain(r);
}

TEST_F(LoadE2ETest, LostWriteIsFoundAfterRestart) {
  create_image();
  start_qemu_nbd();
  if (IsSkipped()) return;
  const std::vector<std::string> write_all{"--rw",     "write", "--range",  "1M", "--ops",
                                           "256",      "--qd",  "8",        "--verify",
                                           "--resume", state_};
  ProgramResult r = load(write_all);
  ASSERT_EQ(r.status, 0) << explain(r);
  ASSERT_EQ(server_->stop(), 0);
  std::filesystem::copy_file(image_, dir_ + "/old.img");  // the device as of the first run

  start_qemu_nbd();
  r = load(write_all);  // every block again, acknowledged and flushed
  ASSERT_EQ(r.status, 0) << explain(r);
  ASSERT_EQ(server_->stop(), 0);

  // The storage "loses" the second run's writes: the old image comes back.
  std::filesystem::copy_file(dir_ + "/old.img", image_,
                             std::filesystem::copy_options::overwrite_existing);
  start_qemu_nbd();
  r = load({"--rw", "read", "--range", "1M", "--ops", "0", "--verify", "--resume", state_});
  EXPECT_EQ(r.status, 1) << explain(r);
  EXPECT_THAT(r.err, HasSubstr("mismatch at offset "));
  EXPECT_THAT(r.err, HasSubstr("an older version (lost write)"));
  EXPECT_THAT(r.err, HasSubstr("more mismatches not shown"));  // all 256 blocks
}

TEST_F(LoadE2ETest, ServerKilledMidRunThenResumeChecksOut) {
  create_image();
  start_qemu_nbd();
  if (IsSkipped()) return;
  std::vector<std::string> argv{COROBD_LOAD_PATH, "--uri", uri_, "--progress", "never", "--rw",
                                "randrw", "--range", "8M", "--qd", "16", "--conns", "2",
                                "--runtime", "20s", "--warmup", "0", "--flush-every", "64",
                                "--verify", "--resume", state_};
  ChildProcess load_run(argv, to_files(dir_ + "/load.out", dir_ + "/load.err"));
  ASSERT_TRUE(load_run.started());
  std::this_thread::sleep_for(1500ms);
  server_->kill();  // SIGKILL: no goodbye, writes in flight
  const int status = load_run.wait_or_kill(60s);
  const std::string out = read_file(dir_ + "/load.out");
  const std::string err = read_file(dir_ + "/load.err");
  EXPECT_EQ(status, 1) << out << err;
  EXPECT_THAT(out, HasSubstr("errors: "));
  EXPECT_THAT(out, HasSubstr("written blocks saved to"));

  start_qemu_nbd();
  const ProgramResult r = load({"--rw", "randrw", "--range", "8M", "--ops", "0", "--verify",
                                "--resume", state_});
  EXPECT_EQ(r.status, 0) << explain(r);
  EXPECT_THAT(r.out, HasSubstr("blocks of " + state_ + " checked"));
  // And the device goes on being usable and consistent.
  const ProgramResult more = load({"--rw", "randrw", "--range", "8M", "--ops", "5000",
                                   "--verify", "--resume", state_});
  EXPECT_EQ(more.status, 0) << explain(more);
}

// --- failures before the run ----------------------------------------------------------------

TEST_F(LoadE2ETest, NoServerExitsThree) {
  const ProgramResult r = load({"--runtime", "1s"});
  EXPECT_EQ(r.status, 3) << explain(r);
  EXPECT_THAT(r.err, StartsWith("corobd-load: cannot connect to "));
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // one line
  EXPECT_TRUE(r.out.empty());
}

TEST_F(LoadE2ETest, BadArgumentsExitTwo) {
  ProgramResult r = load({"--bs", "4q"});
  EXPECT_EQ(r.status, 2) << explain(r);
  EXPECT_THAT(r.err, StartsWith("corobd-load: --bs: '4q' is not a size"));
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  r = run_program({COROBD_LOAD_PATH, "--help"}, dir_);
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("--verify"));
}

TEST_F(LoadE2ETest, ExportTooSmallForTheRangeExitsTwo) {
  start_nbdkit_memory();
  if (IsSkipped()) return;
  const ProgramResult r = load({"--range", "1G", "--ops", "10", "--json"});
  EXPECT_EQ(r.status, 2) << explain(r);
  EXPECT_THAT(r.err, HasSubstr("goes past the end of the export"));
  EXPECT_EQ(json_number(r.out, "\"exit_status\""), 2);
}

// --- corobd itself --------------------------------------------------------------------------

TEST_F(LoadE2ETest, VerifyAgainstCorobd) {
#ifndef COROBD_PATH
  GTEST_SKIP() << "the corobd daemon is not built yet (issue 7)";
#else
  create_image();
  start({COROBD_PATH, "--socket", socket_, "--export", "name=disk,file=" + image_ + ",default=on"});
  ProgramResult r = load({"--rw", "randrw", "--mix", "70", "--qd", "32", "--conns", "2",
                          "--runtime", "3s", "--warmup", "0", "--verify", "--flush-every", "1000",
                          "--resume", state_});
  ASSERT_EQ(r.status, 0) << explain(r);
  EXPECT_EQ(server_->stop(), 0) << server_->log();
  start({COROBD_PATH, "--socket", socket_, "--export", "name=disk,file=" + image_ + ",default=on"});
  r = load({"--rw", "randrw", "--ops", "0", "--verify", "--resume", state_});
  EXPECT_EQ(r.status, 0) << explain(r);
#endif
}

}  // namespace
}  // namespace loadgen_test
