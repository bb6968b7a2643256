// SIGTERM while clients are writing: corobd exits 0, removes its socket, and
// every write it acknowledged is there after a restart.
#include <gtest/gtest.h>
#include <libnbd.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.hpp"

namespace interop {
namespace {

constexpr std::size_t kBlock = 64 * 1024;
constexpr std::size_t kBlocks = kDiskSize / kBlock;

std::vector<char> pattern(std::size_t block, unsigned round) {
  std::vector<char> buf(kBlock);
  for (std::size_t i = 0; i < kBlock; ++i)
    buf[i] = static_cast<char>((block * 131 + round * 7 + i / 512) & 0xff);
  return buf;
}

using CorobdShutdownTest = DaemonFixture;

TEST_F(CorobdShutdownTest, SigtermDuringLoadKeepsEveryAcknowledgedWrite) {
  // Writers: several connections, each writing its own blocks round after
  // round with pipelined (asynchronous) requests; what was acknowledged is
  // recorded per block.
  constexpr int kWriters = 4;
  std::vector<std::atomic<int>> acked_round(kBlocks);
  for (auto& a : acked_round) a.store(-1);
  std::atomic<bool> started{false};
  std::atomic<int> acks{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      nbd_handle* h = nbd_create();
      if (h == nullptr || nbd_connect_uri(h, uri().c_str()) != 0) {
        ADD_FAILURE() << "connect: " << nbd_get_error();
        if (h) nbd_close(h);
        return;
      }
      started.store(true);
      for (unsigned round = 0; round < 1000; ++round) {
        bool failed = false;
        for (std::size_t b = w; b < kBlocks; b += kWriters) {
          std::vector<char> buf = pattern(b, round);
          if (nbd_pwrite(h, buf.data(), kBlock, b * kBlock, 0) != 0) {
            failed = true;
            break;
          }
          acked_round[b].store(static_cast<int>(round));
          acks.fetch_add(1);
        }
        if (failed) break;
      }
      nbd_close(h);
    });
  }
  while (acks.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t pid = daemon_->pid();
  daemon_->signal(SIGTERM);
  for (auto& t : writers) t.join();
  ASSERT_TRUE(daemon_->wait_exit()) << daemon_->log();
  EXPECT_EQ(daemon_->exit_status(), 0) << daemon_->log();
  EXPECT_FALSE(std::filesystem::exists(socket_));
  EXPECT_NE(daemon_->log().find("flushed"), std::string::npos) << daemon_->log();
  (void)pid;

  // Restart and read every block back through the server.
  start();
  nbd_handle* h = nbd_create();
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(nbd_connect_uri(h, uri().c_str()), 0) << nbd_get_error();
  std::vector<char> got(kBlock);
  int checked = 0;
  for (std::size_t b = 0; b < kBlocks; ++b) {
    int round = acked_round[b].load();
    if (round < 0) continue;
    ASSERT_EQ(nbd_pread(h, got.data(), kBlock, b * kBlock, 0), 0) << nbd_get_error();
    // The acknowledged round, or a later one that was in flight at SIGTERM.
    bool ok = false;
    for (int r = round; r <= round + 1 && !ok; ++r) ok = got == pattern(b, static_cast<unsigned>(r));
    EXPECT_TRUE(ok) << "block " << b << " lost round " << round;
    ++checked;
  }
  EXPECT_GT(checked, 0);
  nbd_shutdown(h, 0);
  nbd_close(h);
}

TEST_F(CorobdShutdownTest, IdleClientIsDisconnectedWithinTheGracePeriod) {
  nbd_handle* h = nbd_create();
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(nbd_connect_uri(h, uri().c_str()), 0) << nbd_get_error();
  auto t0 = std::chrono::steady_clock::now();
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_exit(std::chrono::seconds(15))) << daemon_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(daemon_->exit_status(), 0) << daemon_->log();
  EXPECT_FALSE(std::filesystem::exists(socket_));
  nbd_close(h);
  daemon_.reset();
}

}  // namespace
}  // namespace interop
