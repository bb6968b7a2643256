// corobd under systemd's protocols, without a running systemd: socket
// activation (systemd-socket-activate, and a hand-made LISTEN_FDS with a
// socket of the wrong kind), sd_notify messages on a NOTIFY_SOCKET of the
// test's own, and the journal log format when JOURNAL_STREAM names stderr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "daemon_process.hpp"

namespace interop {
namespace {

std::vector<std::string> disk_export(const TempDir& dir) {
  return {"--export", "name=disk,file=" + dir.file("disk.img") + ",create=on,size=4M,default=on"};
}

TEST(CorobdSystemdTest, SocketActivationServesIoThroughThePassedSocket) {
  if (!have("systemd-socket-activate") || !have("qemu-io")) {
    GTEST_SKIP() << "systemd-socket-activate or qemu-io not installed";
  }
  TempDir dir;
  const std::string sock = dir.file("activated.sock");
  std::vector<std::string> args = {"-l", sock, COROBD_BINARY};
  for (auto& a : disk_export(dir)) args.push_back(a);
  DaemonProcess d(args, dir.file("log"), {}, "systemd-socket-activate");
  // systemd-socket-activate starts corobd on the first connection.
  ASSERT_TRUE(d.wait_ready(sock)) << d.log();
  const std::string uri = "nbd+unix:///disk?socket=" + sock;
  Output w = run("qemu-io -f raw -c 'write -P 0x3c 0 1M' -c flush " + quote(uri));
  ASSERT_EQ(w.status, 0) << w.output << d.log();
  Output r = run("qemu-io -f raw -c 'read -P 0x3c 0 1M' " + quote(uri));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("Pattern verification failed"), std::string::npos) << r.output;
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_exit());
  EXPECT_EQ(d.exit_status(), 0) << d.log();
  EXPECT_NE(d.log().find("(inherited)"), std::string::npos) << d.log();
  // The socket belongs to systemd: corobd does not remove it.
  struct stat st{};
  EXPECT_EQ(::lstat(sock.c_str(), &st), 0);
}

// Starts corobd with `fd` as its only passed socket (LISTEN_FDS=1); returns
// exit status and stderr.
Output run_with_passed_socket(int fd, const TempDir& dir) {
  const std::string log = dir.file("passed.log");
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);  // dup2(3, 3) would keep FD_CLOEXEC
    ::dup2(high, 3);
    ::setenv("LISTEN_FDS", "1", 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    std::vector<std::string> args = {COROBD_BINARY};
    for (auto& a : disk_export(dir)) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Output o;
  int st = 0;
  ::waitpid(pid, &st, 0);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  o.output = read_file(log);
  return o;
}

TEST(CorobdSystemdTest, PassedTcpSocketIsRefusedWithOneLine) {
  TempDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  Output o = run_with_passed_socket(fd, dir);
  ::close(fd);
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_EQ(o.output, "corobd: socket activation: fd 3 is not a listening AF_UNIX stream socket\n");
}

TEST(CorobdSystemdTest, PassedUnixDatagramSocketIsRefused) {
  TempDir dir;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  Output o = run_with_passed_socket(fd, dir);
  ::close(fd);
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_NE(o.output.find("not a listening AF_UNIX stream socket"), std::string::npos) << o.output;
}

class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }

  // Receives datagrams until one contains `what` or `limit` passed; every
  // datagram received is appended to messages().
  bool wait_for(const std::string& what, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string m(buf, static_cast<std::size_t>(n));
      messages_.push_back(m);
      if (m.find(what) != std::string::npos) return true;
    }
  }
  const std::vector<std::string>& messages() const { return messages_; }
  std::string all() const {
    std::string s;
    for (const auto& m : messages_) s += "[" + m + "]\n";
    return s;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
  std::vector<std::string> messages_;
};

TEST(CorobdSystemdTest, NotifiesReadyStatusWatchdogReloadAndStopping) {
  TempDir dir;
  NotifySocket notify(dir.file("notify"));
  ASSERT_TRUE(notify.ok());
  const std::string sock = dir.file("corobd.sock");
  std::vector<std::string> args = {"--socket", sock};
  for (auto& a : disk_export(dir)) args.push_back(a);
  DaemonProcess d(args, dir.file("log"),
                  {"NOTIFY_SOCKET=" + dir.file("notify"), "WATCHDOG_USEC=200000"});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.all() << d.log();
  // READY=1 comes once the socket listens, with the status line.
  EXPECT_TRUE(can_connect(sock));
  EXPECT_NE(notify.messages().back().find("STATUS=1 export(s), 0 client(s), 0 IOPS"),
            std::string::npos)
      << notify.all();
  // Pings every 100 ms (half of WATCHDOG_USEC).
  auto start = std::chrono::steady_clock::now();
  int pings = 0;
  while (pings < 5 && notify.wait_for("WATCHDOG=1", std::chrono::seconds(2))) ++pings;
  EXPECT_EQ(pings, 5) << notify.all();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // STATUS= is refreshed by the timer (every 5 s).
  EXPECT_TRUE(notify.wait_for("STATUS=", std::chrono::seconds(8))) << notify.all();

  d.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1")) << notify.all() << d.log();
  EXPECT_NE(notify.messages().back().find("MONOTONIC_USEC="), std::string::npos) << notify.all();
  EXPECT_TRUE(notify.wait_for("READY=1")) << notify.all();

  d.signal(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1")) << notify.all();
  ASSERT_TRUE(d.wait_exit());
  EXPECT_EQ(d.exit_status(), 0) << d.log();
}

TEST(CorobdSystemdTest, WatchdogForAnotherPidSendsNoPings) {
  TempDir dir;
  NotifySocket notify(dir.file("notify"));
  ASSERT_TRUE(notify.ok());
  const std::string sock = dir.file("corobd.sock");
  std::vector<std::string> args = {"--socket", sock};
  for (auto& a : disk_export(dir)) args.push_back(a);
  // WATCHDOG_PID names this test process, not corobd: no watchdog for it.
  DaemonProcess d(args, dir.file("log"),
                  {"NOTIFY_SOCKET=" + dir.file("notify"), "WATCHDOG_USEC=100000",
                   "WATCHDOG_PID=" + std::to_string(::getpid())});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.all() << d.log();
  EXPECT_FALSE(notify.wait_for("WATCHDOG=1", std::chrono::milliseconds(500))) << notify.all();
  d.signal(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1")) << notify.all();
  ASSERT_TRUE(d.wait_exit());
  EXPECT_EQ(d.exit_status(), 0) << d.log();
}

TEST(CorobdSystemdTest, WithoutNotifySocketNothingIsSentAndNoWatchdog) {
  TempDir dir;
  const std::string sock = dir.file("corobd.sock");
  std::vector<std::string> args = {"--socket", sock};
  for (auto& a : disk_export(dir)) args.push_back(a);
  DaemonProcess d(args, dir.file("log"), {"WATCHDOG_USEC=200000"});
  ASSERT_TRUE(d.wait_ready(sock)) << d.log();
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_exit());
  EXPECT_EQ(d.exit_status(), 0) << d.log();
}

std::string journal_stream_of(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
         std::to_string(static_cast<unsigned long long>(st.st_ino));
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST(CorobdSystemdTest, JournalStreamGetsPriorityPrefixesWithoutTimestamps) {
  TempDir dir;
  const std::string log = dir.file("log");
  { std::ofstream create(log); }
  const std::string sock = dir.file("corobd.sock");
  std::vector<std::string> args = {"--socket", sock};
  for (auto& a : disk_export(dir)) args.push_back(a);
  DaemonProcess d(args, log, {"JOURNAL_STREAM=" + journal_stream_of(log)});
  ASSERT_TRUE(d.wait_ready(sock)) << d.log();
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_exit());
  const std::vector<std::string> lines = lines_of(d.log());
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) EXPECT_EQ(l.rfind("<6>info: ", 0), 0u) << l;
}

TEST(CorobdSystemdTest, OtherJournalStreamKeepsTheUsualFormat) {
  TempDir dir;
  const std::string log = dir.file("log");
  const std::string sock = dir.file("corobd.sock");
  std::vector<std::string> args = {"--socket", sock};
  for (auto& a : disk_export(dir)) args.push_back(a);
  DaemonProcess d(args, log, {"JOURNAL_STREAM=1:1"});
  ASSERT_TRUE(d.wait_ready(sock)) << d.log();
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_exit());
  const std::vector<std::string> lines = lines_of(d.log());
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) {
    EXPECT_NE(l.find(" corobd["), std::string::npos) << l;
    EXPECT_NE(l[0], '<') << l;
  }
}

TEST(CorobdSystemdTest, JournalStreamErrorsGetErrPriority) {
  TempDir dir;
  const std::string log = dir.file("log");
  { std::ofstream create(log); }
  // Another daemon serves the socket already: start-up fails with an error line.
  const std::string sock = dir.file("corobd.sock");
  DaemonProcess first({"--socket", sock, "--export", "name=zero,format=null,size=1M"},
                      dir.file("first.log"));
  ASSERT_TRUE(first.wait_ready(sock)) << first.log();
  DaemonProcess d({"--socket", sock, "--export", "name=zero,format=null,size=1M"}, log,
                  {"JOURNAL_STREAM=" + journal_stream_of(log)});
  ASSERT_TRUE(d.wait_exit());
  EXPECT_NE(d.log().find("<3>error: "), std::string::npos) << d.log();
}

}  // namespace
}  // namespace interop
