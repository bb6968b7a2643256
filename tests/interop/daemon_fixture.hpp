// DaemonFixture: a running corobd with two exports in a temporary
// directory — "disk", a 16 MiB raw file made with create=on (the default
// export), and "zero", a 1 GiB null export — on a socket in that directory.
// TearDown sends SIGTERM and expects exit status 0 and the socket removed.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.hpp"

namespace interop {

inline constexpr std::uint64_t kDiskSize = 16u << 20;

class DaemonFixture : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void TearDown() override {
    if (!daemon_) return;
    daemon_->signal(SIGTERM);
    ASSERT_TRUE(daemon_->wait_exit()) << daemon_->log();
    EXPECT_EQ(daemon_->exit_status(), 0) << daemon_->log();
    EXPECT_FALSE(std::filesystem::exists(socket_)) << "socket file left behind";
    daemon_.reset();
  }

  std::vector<std::string> base_args() const {
    return {"--socket", socket_,
            "--export", "name=disk,file=" + disk_ + ",create=on,size=16M,description=the disk",
            "--export", "name=zero,format=null,size=1G"};
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = base_args();
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<DaemonProcess>(args, log_);
    ASSERT_TRUE(daemon_->wait_ready(socket_))
        << "corobd did not start (status " << daemon_->exit_status() << "): " << daemon_->log();
  }

  // Waits up to `timeout` for `text` in the daemon's log (lines are written
  // after the socket appears, and asynchronously to anything a test does);
  // true once it is there.
  bool log_shows(const std::string& text,
                 std::chrono::milliseconds timeout = std::chrono::seconds(3)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (daemon_->log().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  std::string uri(const std::string& name = "disk") const {
    return "nbd+unix:///" + name + "?socket=" + socket_;
  }

  TempDir dir_;
  std::string socket_ = dir_.file("corobd.sock");
  std::string disk_ = dir_.file("disk.img");
  std::string log_ = dir_.file("corobd.log");
  std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace interop
