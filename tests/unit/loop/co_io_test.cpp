// The co_* helpers against real files in a temp dir, pipes and sockets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::EventLoop;
using corolib::Fd;
using corolib_test::run_coroutine;
using corolib_test::Tasks;
using corolib_test::TempDir;

class LoopCoIoTest : public corolib_test::LoopTest {
 protected:
  int open_file(const std::string& path, int flags = O_RDWR | O_CREAT | O_TRUNC) {
    int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << strerror(errno);
    return fd;
  }
  TempDir dir_;
};

// The byte every block b holds at index i: distinct per block and offset.
std::uint8_t pattern(int block, int i) { return static_cast<std::uint8_t>(block * 31 + i * 7 + 1); }

TEST_P(LoopCoIoTest, ManyCoroutinesWriteAndReadOneFileExactly) {
  constexpr int kBlock = 4096;
  const int blocks = scaled(256);
  EventLoop loop;
  const int fd = open_file(dir_.file("data"));
  Tasks tasks(loop);
  int failures = 0;
  for (int b = 0; b < blocks; ++b) {
    tasks.spawn([&, b] {
      std::vector<std::uint8_t> out(kBlock);
      for (int i = 0; i < kBlock; ++i) out[i] = pattern(b, i);
      // Alternate plain and vectored writes (two halves).
      int written;
      if (b % 2 == 0) {
        written = corolib::co_pwrite(fd, out.data(), kBlock, std::int64_t{b} * kBlock);
      } else {
        iovec iov[2] = {{out.data(), kBlock / 2}, {out.data() + kBlock / 2, kBlock / 2}};
        written = corolib::co_pwritev(fd, iov, 2, std::int64_t{b} * kBlock);
      }
      if (written != kBlock) ++failures;
    });
  }
  tasks.run();
  ASSERT_EQ(failures, 0);

  for (int b = 0; b < blocks; ++b) {
    tasks.spawn([&, b] {
      std::vector<std::uint8_t> in(kBlock);
      int got;
      if (b % 2 == 1) {
        got = corolib::co_pread(fd, in.data(), kBlock, std::int64_t{b} * kBlock);
      } else {
        iovec iov[2] = {{in.data(), 100}, {in.data() + 100, kBlock - 100}};
        got = corolib::co_preadv(fd, iov, 2, std::int64_t{b} * kBlock);
      }
      if (got != kBlock) ++failures;
      for (int i = 0; i < kBlock; ++i) {
        if (in[i] != pattern(b, i)) {
          ++failures;
          break;
        }
      }
    });
  }
  tasks.run();
  EXPECT_EQ(failures, 0);

  // And the file, read without the loop, holds exactly those bytes.
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(blocks) * kBlock);
  std::vector<std::uint8_t> check(kBlock);
  for (int b = 0; b < blocks; b += 17) {
    ASSERT_EQ(pread(fd, check.data(), kBlock, off_t{b} * kBlock), kBlock);
    for (int i = 0; i < kBlock; ++i) ASSERT_EQ(check[i], pattern(b, i)) << b << " " << i;
  }
  close(fd);
}

TEST_P(LoopCoIoTest, ReadPastEndOfFileIsShort) {
  EventLoop loop;
  const int fd = open_file(dir_.file("short"));
  ASSERT_EQ(pwrite(fd, "0123456789", 10, 0), 10);
  run_coroutine(loop, [&] {
    char buf[32];
    EXPECT_EQ(corolib::co_pread(fd, buf, sizeof(buf), 4), 6);
    EXPECT_EQ(std::memcmp(buf, "456789", 6), 0);
    EXPECT_EQ(corolib::co_pread(fd, buf, sizeof(buf), 10), 0);
    EXPECT_EQ(corolib::co_pread(fd, buf, sizeof(buf), 1000), 0);
  });
  close(fd);
}

TEST_P(LoopCoIoTest, ErrorsComeBackAsNegativeErrno) {
  EventLoop loop;
  const int rdonly = open_file(dir_.file("ro"), O_RDONLY | O_CREAT);
  run_coroutine(loop, [&] {
    char buf[8] = {};
    EXPECT_EQ(corolib::co_pwrite(rdonly, buf, sizeof(buf), 0), -EBADF);
    EXPECT_EQ(corolib::co_pread(-1, buf, sizeof(buf), 0), -EBADF);
    EXPECT_EQ(corolib::co_fsync(12345), -EBADF);
  });
  close(rdonly);
}

TEST_P(LoopCoIoTest, SyncAndFallocate) {
  EventLoop loop;
  const int fd = open_file(dir_.file("alloc"));
  run_coroutine(loop, [&] {
    EXPECT_EQ(corolib::co_fallocate(fd, 0, 0, 1 << 20), 0);
    EXPECT_EQ(corolib::co_pwrite(fd, "abcd", 4, 8192), 4);
    EXPECT_EQ(corolib::co_fdatasync(fd), 0);
    EXPECT_EQ(corolib::co_fsync(fd), 0);
  });
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  // Punching a hole reads back as zeroes (where the file system can punch).
  int punched = 0;
  run_coroutine(loop, [&] {
    punched = corolib::co_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096);
  });
  if (punched == 0) {
    char buf[4] = {1, 1, 1, 1};
    ASSERT_EQ(pread(fd, buf, 4, 8192), 4);
    EXPECT_EQ(std::memcmp(buf, "\0\0\0\0", 4), 0);
  } else {
    EXPECT_EQ(punched, -EOPNOTSUPP);
  }
  close(fd);
}

TEST_P(LoopCoIoTest, FixedBuffersAndRegisteredFiles) {
  EventLoop loop;
  const int fd = open_file(dir_.file("fixed"));
  alignas(4096) static char buffers[2][8192];
  iovec iov[2] = {{buffers[0], sizeof(buffers[0])}, {buffers[1], sizeof(buffers[1])}};
  ASSERT_EQ(loop.register_buffers(iov, 2), 0);
  int files[2] = {-1, fd};  // a sparse slot, then the file at index 1
  ASSERT_EQ(loop.register_files(files, 2), 0);
  std::memset(buffers[0], 'x', sizeof(buffers[0]));
  run_coroutine(loop, [&] {
    // Plain fd with a fixed buffer, then the registered file.
    EXPECT_EQ(corolib::co_pwrite_fixed(fd, buffers[0], 4096, 0, 0), 4096);
    EXPECT_EQ(corolib::co_pwrite_fixed(Fd::registered(1), buffers[0] + 4096, 4096, 4096, 0), 4096);
    EXPECT_EQ(corolib::co_pread_fixed(Fd::registered(1), buffers[1], 8192, 0, 1), 8192);
    EXPECT_EQ(corolib::co_pread(Fd::registered(1), buffers[1], 10, 0), 10);
    EXPECT_EQ(corolib::co_fsync(Fd::registered(1)), 0);
    // Outside the registered buffer: refused.
    char other[16];
    EXPECT_EQ(corolib::co_pread_fixed(fd, other, sizeof(other), 0, 0), -EFAULT);
  });
  EXPECT_EQ(std::memcmp(buffers[0], buffers[1], sizeof(buffers[0])), 0);
  // Update the table, then close through it.
  const int fd2 = open_file(dir_.file("fixed2"));
  ASSERT_EQ(loop.update_registered_files(0, &fd2, 1), 0);
  run_coroutine(loop, [&] {
    EXPECT_EQ(corolib::co_pwrite(Fd::registered(0), "abc", 3, 0), 3);
    EXPECT_EQ(corolib::co_close(Fd::registered(0)), 0);
    EXPECT_EQ(corolib::co_pwrite(Fd::registered(0), "abc", 3, 0), -EBADF);
  });
  struct stat st;
  ASSERT_EQ(fstat(fd2, &st), 0);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(loop.unregister_files(), 0);
  EXPECT_EQ(loop.unregister_buffers(), 0);
  close(fd);
  close(fd2);
}

TEST_P(LoopCoIoTest, CloseThroughTheRing) {
  EventLoop loop;
  const int fd = open_file(dir_.file("close"));
  run_coroutine(loop, [&] { EXPECT_EQ(corolib::co_close(fd), 0); });
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_P(LoopCoIoTest, PipeReaderWaitsForWriter) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  Tasks tasks(loop);
  std::string got;
  tasks.spawn([&] {
    char buf[64];
    for (;;) {
      int n = corolib::co_read(fds[0], buf, sizeof(buf));
      ASSERT_GE(n, 0);
      if (n == 0) break;
      got.append(buf, n);
    }
  });
  tasks.spawn([&] {
    for (int i = 0; i < 10; ++i) {
      std::string chunk = "chunk" + std::to_string(i) + ";";
      ASSERT_EQ(corolib::co_write(fds[1], chunk.data(), chunk.size()),
                static_cast<int>(chunk.size()));
      ASSERT_EQ(corolib::co_nop(), 0);  // let the reader drain between chunks
    }
    ASSERT_EQ(corolib::co_close(fds[1]), 0);
  });
  tasks.run();
  EXPECT_EQ(got, "chunk0;chunk1;chunk2;chunk3;chunk4;chunk5;chunk6;chunk7;chunk8;chunk9;");
  close(fds[0]);
}

TEST_P(LoopCoIoTest, RecvSendPingPongOverASocketpair) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  constexpr int kRounds = 1000;
  Tasks tasks(loop);
  int pongs = 0;
  tasks.spawn([&] {  // ping: sends n, expects n + 1
    for (std::uint32_t n = 0; n < kRounds; n += 2) {
      ASSERT_EQ(corolib::co_send(sv[0], &n, sizeof(n)), 4);
      std::uint32_t reply = 0;
      ASSERT_EQ(corolib::co_recv(sv[0], &reply, sizeof(reply), MSG_WAITALL), 4);
      ASSERT_EQ(reply, n + 1);
      ++pongs;
    }
    ASSERT_EQ(corolib::co_shutdown(sv[0], SHUT_WR), 0);
  });
  tasks.spawn([&] {  // pong
    for (;;) {
      std::uint32_t n = 0;
      int got = corolib::co_recv(sv[1], &n, sizeof(n), MSG_WAITALL);
      if (got == 0) break;
      ASSERT_EQ(got, 4);
      ++n;
      ASSERT_EQ(corolib::co_send(sv[1], &n, sizeof(n)), 4);
    }
  });
  tasks.run();
  EXPECT_EQ(pongs, kRounds / 2);
  close(sv[0]);
  close(sv[1]);
}

TEST_P(LoopCoIoTest, SendmsgAndRecvmsgScatterGather) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  run_coroutine(loop, [&] {
    char header[4] = {'h', 'e', 'a', 'd'};
    char body[6] = {'p', 'a', 'y', 'l', 'o', 'd'};
    iovec out[2] = {{header, sizeof(header)}, {body, sizeof(body)}};
    msghdr msg{};
    msg.msg_iov = out;
    msg.msg_iovlen = 2;
    ASSERT_EQ(corolib::co_sendmsg(sv[0], &msg), 10);
    char a[3], b[7];
    iovec in[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    msghdr rmsg{};
    rmsg.msg_iov = in;
    rmsg.msg_iovlen = 2;
    ASSERT_EQ(corolib::co_recvmsg(sv[1], &rmsg, MSG_WAITALL), 10);
    EXPECT_EQ(std::string(a, 3) + std::string(b, 7), "headpaylod");
  });
  close(sv[0]);
  close(sv[1]);
}

// MSG_MORE reaches the kernel: on UDP it corks, so two sends become one
// datagram.
TEST_P(LoopCoIoTest, MsgMoreIsHonoured) {
  EventLoop loop;
  const int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(rx, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(rx, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ASSERT_EQ(connect(tx, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  run_coroutine(loop, [&] {
    ASSERT_EQ(corolib::co_send(tx, "abc", 3, MSG_MORE), 3);
    iovec iov = {const_cast<char*>("def"), 3};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ASSERT_EQ(corolib::co_sendmsg(tx, &msg, MSG_MORE), 3);
    ASSERT_EQ(corolib::co_send(tx, "gh", 2, 0), 2);
    char buf[32];
    ASSERT_EQ(corolib::co_recv(rx, buf, sizeof(buf)), 8);
    EXPECT_EQ(std::string(buf, 8), "abcdefgh");
  });
  close(rx);
  close(tx);
}

TEST_P(LoopCoIoTest, AcceptAndConnectOverAUnixSocket) {
  EventLoop loop;
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = dir_.file("sock");
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  Tasks tasks(loop);
  constexpr int kClients = 8;
  int served = 0;
  tasks.spawn([&] {
    for (int i = 0; i < kClients; ++i) {
      const int conn = corolib::co_accept(listener, nullptr, nullptr);
      ASSERT_GE(conn, 0) << strerror(-conn);
      char c;
      ASSERT_EQ(corolib::co_recv(conn, &c, 1), 1);
      ASSERT_EQ(corolib::co_send(conn, &c, 1), 1);
      ASSERT_EQ(corolib::co_close(conn), 0);
      ++served;
    }
  });
  for (int i = 0; i < kClients; ++i) {
    tasks.spawn([&, i] {
      const int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ASSERT_EQ(corolib::co_connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
      const char c = static_cast<char>('a' + i);
      ASSERT_EQ(corolib::co_send(s, &c, 1), 1);
      char echo = 0;
      ASSERT_EQ(corolib::co_recv(s, &echo, 1), 1);
      EXPECT_EQ(echo, c);
      close(s);
    });
  }
  tasks.run();
  EXPECT_EQ(served, kClients);
  close(listener);
}

TEST_P(LoopCoIoTest, AcceptOnANonBlockingTcpListener) {
  EventLoop loop;
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  Tasks tasks(loop);
  tasks.spawn([&] {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof(peer);
    const int conn = corolib::co_accept(listener, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    ASSERT_GE(conn, 0) << strerror(-conn);
    EXPECT_EQ(peer.sin_family, AF_INET);
    close(conn);
  });
  tasks.spawn([&] {
    ASSERT_EQ(corolib::co_nop(), 0);  // the accept is waiting by now
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(corolib::co_connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(s);
  });
  tasks.run();
  close(listener);
}

// A non-blocking socket hands -EAGAIN back to io_uring's caller; the helper
// polls for readiness and resubmits.
TEST_P(LoopCoIoTest, EagainIsRetriedAfterPolling) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
  Tasks tasks(loop);
  char got[4] = {};
  tasks.spawn([&] { EXPECT_EQ(corolib::co_recv(sv[1], got, 3, MSG_DONTWAIT), 3); });
  tasks.spawn([&] {
    for (int i = 0; i < 5; ++i) ASSERT_EQ(corolib::co_nop(), 0);
    ASSERT_EQ(corolib::co_send(sv[0], "xyz", 3), 3);
  });
  tasks.run();
  EXPECT_STREQ(got, "xyz");
  EXPECT_GE(loop.stats().eagain_retries, 1u);
  close(sv[0]);
  close(sv[1]);
}

TEST_P(LoopCoIoTest, RwFlagsReachTheKernel) {
  EventLoop loop;
  const int fd = open_file(dir_.file("rwf"));
  run_coroutine(loop, [&] {
    char data[512] = {'d'};
    iovec out = {data, sizeof(data)};
    EXPECT_EQ(corolib::co_pwritev(fd, &out, 1, 0, RWF_DSYNC), 512);  // a FUA write
    // RWF_NOWAIT on a cached page does not block, and is not retried.
    char back[512];
    iovec in = {back, sizeof(back)};
    EXPECT_EQ(corolib::co_preadv(fd, &in, 1, 0, RWF_NOWAIT), 512);
    EXPECT_EQ(back[0], 'd');
  });
  // kReturnEagain hands -EAGAIN back instead of polling and retrying.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  run_coroutine(loop, [&] {
    char c;
    const int ret = corolib::co_submit(
        [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, sv[0], &c, 1, MSG_DONTWAIT); }, {},
        corolib::kReturnEagain);
    EXPECT_EQ(ret, -EAGAIN);
  });
  close(sv[0]);
  close(sv[1]);
  close(fd);
}

TEST_P(LoopCoIoTest, PollReportsReadiness) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  Tasks tasks(loop);
  int revents = 0;
  tasks.spawn([&] { revents = corolib::co_poll(fds[0], POLLIN); });
  tasks.spawn([&] {
    ASSERT_EQ(corolib::co_nop(), 0);
    EXPECT_EQ(revents, 0);  // still waiting
    ASSERT_EQ(corolib::co_write(fds[1], "!", 1), 1);
  });
  tasks.run();
  EXPECT_TRUE(revents & POLLIN);
  run_coroutine(loop, [&] { EXPECT_TRUE(corolib::co_poll(fds[1], POLLOUT) & POLLOUT); });
  close(fds[0]);
  close(fds[1]);
}

TEST_P(LoopCoIoTest, CancelFdCancelsEveryRequestOnIt) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Tasks tasks(loop);
  std::vector<int> results;
  for (int i = 0; i < 3; ++i) {
    tasks.spawn([&] {
      char c;
      results.push_back(corolib::co_recv(sv[0], &c, 1));
    });
  }
  tasks.spawn([&] {
    ASSERT_EQ(corolib::co_nop(), 0);
    EXPECT_EQ(corolib::co_cancel_fd(sv[0]), 3);
    EXPECT_EQ(corolib::co_cancel_fd(sv[0]), 0);  // nothing left
  });
  tasks.run();
  ASSERT_EQ(results.size(), 3u);
  for (int r : results) EXPECT_EQ(r, -ECANCELED);
  close(sv[0]);
  close(sv[1]);
}

TEST_P(LoopCoIoTest, CoSubmitRunsAnyRequest) {
  EventLoop loop;
  const int fd = open_file(dir_.file("statx"));
  ASSERT_EQ(pwrite(fd, "12345", 5, 0), 5);
  run_coroutine(loop, [&] {
    struct statx stx {};
    const int ret = corolib::co_submit([&](io_uring_sqe* sqe) {
      io_uring_prep_statx(sqe, fd, "", AT_EMPTY_PATH, STATX_SIZE, &stx);
    });
    ASSERT_EQ(ret, 0);
    EXPECT_EQ(stx.stx_size, 5u);
  });
  close(fd);
}

COROLIB_LOOP_INSTANTIATE(LoopCoIoTest);

}  // namespace
