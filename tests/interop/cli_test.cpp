// The corobd binary's start-up: every invalid input exits with status 2 and
// one line naming the problem; runtime start-up failures (socket in use)
// exit 1; the socket file gets its mode; a stale socket is replaced; limits
// and SIGHUP behave as documented.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.hpp"

namespace interop {
namespace {

class CorobdCliTest : public ::testing::Test {
 protected:
  CorobdCliTest() { std::ofstream(image_).put('x'); }

  // Exactly one line, on stderr (run() merges them), with status 2.
  void expect_usage_error(const std::vector<std::string>& args, const std::string& message) {
    Output r = run_corobd(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << "want '" << message << "' in " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "not one line: " << r.output;
    EXPECT_FALSE(std::filesystem::exists(socket_));
  }

  TempDir dir_;
  std::string socket_ = dir_.file("s.sock");
  std::string image_ = dir_.file("disk.img");
};

TEST_F(CorobdCliTest, UnknownOption) {
  expect_usage_error({"--bogus"}, "corobd: unknown option '--bogus'");
}

TEST_F(CorobdCliTest, BadSize) {
  expect_usage_error({"--socket", socket_, "--export", "name=d,file=" + dir_.file("n.img") +
                                                           ",create=on,size=12Q"},
                     "--export 'd': size: '12Q' is not a size");
}

TEST_F(CorobdCliTest, MissingFile) {
  expect_usage_error({"--socket", socket_, "--export", "name=d,file=" + dir_.file("missing.img")},
                     "missing.img");
}

TEST_F(CorobdCliTest, DuplicateExport) {
  expect_usage_error(
      {"--socket", socket_, "--export", "name=d,file=" + image_, "--export", "name=d,file=" + image_},
      "duplicate export name");
}

TEST_F(CorobdCliTest, SocketDirectoryMissing) {
  expect_usage_error({"--socket", dir_.file("nodir/s.sock"), "--export", "name=d,file=" + image_},
                     "--socket: directory '" + dir_.file("nodir") + "' does not exist");
}

TEST_F(CorobdCliTest, NoExport) {
  expect_usage_error({"--socket", socket_}, "no export given");
}

TEST_F(CorobdCliTest, WorldWritableSocketMode) {
  expect_usage_error({"--socket", socket_, "--socket-mode", "0666", "--export", "name=d,file=" + image_},
                     "world-writable");
}

TEST_F(CorobdCliTest, BadConfigFileKey) {
  const std::string conf = dir_.file("c.toml");
  std::ofstream(conf) << "socket = \"" << socket_ << "\"\nbogus = 1\n";
  expect_usage_error({"--config", conf, "--export", "name=d,file=" + image_}, "c.toml:2");
}

TEST_F(CorobdCliTest, VersionAndHelpExitZero) {
  Output v = run_corobd({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.output, "corobd 0.1.0\n");
  Output h = run_corobd({"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.output.find("--export"), std::string::npos) << h.output;
}

TEST_F(CorobdCliTest, LiveSocketIsAStartUpFailure) {
  DaemonProcess first({"--socket", socket_, "--export", "name=d,file=" + image_}, dir_.file("1.log"));
  ASSERT_TRUE(first.wait_ready(socket_)) << first.log();
  Output second = run_corobd({"--socket", socket_, "--export", "name=d,file=" + image_});
  EXPECT_EQ(second.status, 1) << second.output;
  EXPECT_NE(second.output.find("is in use by another process"), std::string::npos) << second.output;
  // The first one is unharmed.
  EXPECT_TRUE(can_connect(socket_));
  first.signal(SIGTERM);
  ASSERT_TRUE(first.wait_exit());
  EXPECT_EQ(first.exit_status(), 0) << first.log();
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(CorobdCliTest, StaleSocketIsReplacedAndModeApplied) {
  {  // A socket file nobody listens on.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  DaemonProcess d({"--socket", socket_, "--socket-mode", "0600", "--export", "name=d,file=" + image_},
                  dir_.file("d.log"));
  ASSERT_TRUE(d.wait_ready(socket_)) << d.log();
  struct stat st;
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  d.signal(SIGINT);
  ASSERT_TRUE(d.wait_exit());
  EXPECT_EQ(d.exit_status(), 0) << d.log();
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(CorobdCliTest, DefaultSocketModeIs0660AndSummaryIsLogged) {
  DaemonProcess d({"--socket", socket_, "--export", "name=d,file=" + image_ + ",readonly=on"},
                  dir_.file("d.log"));
  ASSERT_TRUE(d.wait_ready(socket_)) << d.log();
  struct stat st;
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_exit());
  const std::string log = d.log();
  EXPECT_NE(log.find("corobd 0.1.0 starting"), std::string::npos) << log;
  EXPECT_NE(log.find("io_uring mode="), std::string::npos) << log;
  EXPECT_NE(log.find("export 'd': raw " + image_ + ", 1 bytes, cache=writeback, read-only, default"),
            std::string::npos) << log;
}

TEST_F(CorobdCliTest, NonSocketFileIsNotReplaced) {
  std::ofstream(socket_) << "precious";
  Output r = run_corobd({"--socket", socket_, "--export", "name=d,file=" + image_});
  EXPECT_EQ(r.status, 2) << r.output;  // found by the config check already
  EXPECT_NE(r.output.find("--socket: '" + socket_ + "' exists and is not a socket"), std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(socket_), "precious");
}

using CorobdLimitsTest = DaemonFixture;

TEST_F(CorobdLimitsTest, SighupReloadsTheLogLevel) {
  // Restart with a config file that sets the log level.
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_exit());
  const std::string conf = dir_.file("c.toml");
  std::ofstream(conf) << "log-level = \"info\"\n";
  start({"--config", conf});
  std::ofstream(conf) << "log-level = \"debug\"\n";
  daemon_->signal(SIGHUP);
  log_shows("SIGHUP", std::chrono::seconds(2));
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("SIGHUP"), std::string::npos) << log;
  EXPECT_NE(log.find("SIGHUP: re-read " + conf + ": log level debug"), std::string::npos) << log;
  EXPECT_TRUE(daemon_->running());
}

TEST_F(CorobdLimitsTest, ConnectionsOverTheLimitAreRefusedAndLoggedOnce) {
  if (!have("nbdinfo") || !have("qemu-io")) GTEST_SKIP() << "nbdinfo or qemu-io not installed";
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_exit());
  start({"--max-connections", "1"});
  // Hold the only slot: qemu-io waits on its stdin.
  const std::string fifo = dir_.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread holder([&] {
    run("qemu-io -f raw " + quote(uri()) + " < " + quote(fifo), 60);
  });
  int hold = -1;
  for (int i = 0; i < 100 && hold < 0; ++i) {
    hold = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (hold < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(hold, 0);
  log_shows("connection #1 opened");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // negotiated
  Output a = run("nbdinfo --size " + quote(uri()));
  Output b = run("nbdinfo --size " + quote(uri()));
  EXPECT_NE(a.status, 0) << a.output;
  EXPECT_NE(b.status, 0) << b.output;
  ::close(hold);  // qemu-io reads EOF and quits
  holder.join();
  log_shows("connection #1 closed");
  Output c = run("nbdinfo --size " + quote(uri()));
  EXPECT_EQ(c.status, 0) << c.output;
  const std::string log = daemon_->log();
  std::size_t first = log.find("max-connections=1 reached");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("max-connections=1 reached", first + 1), std::string::npos) << log;
  EXPECT_NE(log.find("2 connection(s) were refused"), std::string::npos) << log;
}

TEST_F(CorobdLimitsTest, StalledHandshakeIsDroppedAfterTheTimeout) {
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_exit());
  start({"--handshake-timeout", "300ms"});
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = std::chrono::steady_clock::now();
  char buf[256];
  ssize_t n;
  std::size_t total = 0;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) total += static_cast<std::size_t>(n);
  auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  EXPECT_EQ(n, 0) << "not closed by the server";
  EXPECT_EQ(total, 18u);  // the newstyle greeting, nothing else
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(log_shows("end=handshake-timeout")) << daemon_->log();
}

TEST_F(CorobdLimitsTest, BatchWaitServesVerifiedData) {
  EXPECT_TRUE(log_shows("batch-wait=auto")) << daemon_->log();
  if (!have("fio")) GTEST_SKIP() << "fio not installed";
  if (run("fio --enghelp=nbd").status != 0) GTEST_SKIP() << "fio has no nbd engine";
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_exit());
  // A long delay: a connection that has taken in every request it was sent
  // waits 1 ms before it receives again.
  start({"--batch-wait", "1ms"});
  EXPECT_TRUE(log_shows("batch-wait=1ms")) << daemon_->log();
  Output r = run("fio --name=batched --ioengine=nbd --uri=" + quote(uri()) +
                 " --rw=randrw --bs=4k --size=4M --iodepth=32 --verify=crc32c"
                 " --do_verify=1 --verify_fatal=1 --output-format=terse");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("verify failed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace interop
