// ReplySender (nbd/src/server/reply_sender.hpp) on a socketpair: replies
// finished together leave in one sendmsg, a reply's pieces stay contiguous
// and in queue order through short writes and the iovec limit, and a peer
// that goes away fails every queued and later reply.
#include "reply_sender.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/event_loop.hpp"

namespace nbd::server_detail {
namespace {

using Bytes = std::vector<std::byte>;

// A reply made of `pieces` iovecs: a 16-byte header naming the reply, then
// payload pieces of `piece_size` bytes filled with the reply's number.
struct TestReply {
  TestReply(int id, int pieces, std::size_t piece_size) : pieces(pieces), piece_size(piece_size) {
    std::snprintf(header, sizeof header, "reply %09d", id);
    payload.assign(static_cast<std::size_t>(pieces - 1) * piece_size,
                   static_cast<std::byte>(id & 0xff));
  }
  // Built when sending: the reply may have moved since construction.
  std::vector<iovec> iov() {
    std::vector<iovec> v{{header, sizeof header}};
    for (int i = 0; i + 1 < pieces; ++i) v.push_back({payload.data() + i * piece_size, piece_size});
    return v;
  }
  Bytes bytes() const {
    Bytes b(sizeof header);
    std::memcpy(b.data(), header, sizeof header);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
  }
  int pieces;
  std::size_t piece_size;
  char header[16];
  Bytes payload;
  int result = 1;  // not sent yet
};

class ReplySenderTest : public ::testing::Test {
 protected:
  ReplySenderTest() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    server_ = fds[0];
    peer_ = fds[1];
  }
  ~ReplySenderTest() override {
    if (server_ >= 0) ::close(server_);
    if (peer_ >= 0) ::close(peer_);
  }

  void small_send_buffer() {
    int size = 4096;  // the kernel doubles it, and keeps a minimum
    ASSERT_EQ(::setsockopt(server_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
  }

  // Runs `body` in a coroutine on the loop, with the sender started before
  // and stopped after it, until the whole thing has finished.
  template <class Body>
  void run(ReplySender& sender, Body body) {
    bool done = false;
    corolib::enter(corolib::create([&] {
      sender.start();
      body();
      sender.stop();
      done = true;
    }));
    loop_.run_until([&] { return done; });
  }

  // Sends each reply from a coroutine of its own, all started at once (as
  // request coroutines finishing in one loop iteration), and waits for them.
  void send_all(ReplySender& sender, std::vector<TestReply>& replies) {
    int left = static_cast<int>(replies.size());
    corolib::Coroutine* waiter = corolib::self();
    for (TestReply& r : replies) {
      corolib::enter(corolib::create([&] {
        std::vector<iovec> iov = r.iov();
        r.result = sender.send(iov.data(), static_cast<int>(iov.size()));
        if (--left == 0) corolib::wake_deferred(waiter);
      }));
    }
    corolib::yield();
  }

  // Reads from the peer until it has `n` bytes (or the stream ends).
  Bytes read_peer(std::size_t n) const {
    Bytes b(n);
    std::size_t done = 0;
    while (done < n) {
      ssize_t got = ::recv(peer_, b.data() + done, n - done, 0);
      if (got <= 0) break;
      done += static_cast<std::size_t>(got);
    }
    b.resize(done);
    return b;
  }

  static Bytes concatenation(const std::vector<TestReply>& replies) {
    Bytes all;
    for (const TestReply& r : replies) {
      Bytes b = r.bytes();
      all.insert(all.end(), b.begin(), b.end());
    }
    return all;
  }

  corolib::EventLoop loop_;
  int server_ = -1;
  int peer_ = -1;
};

TEST_F(ReplySenderTest, RepliesFinishedTogetherLeaveInOneSendmsg) {
  ReplySender sender(server_);
  std::vector<TestReply> replies;
  for (int i = 0; i < 32; ++i) replies.emplace_back(i, 2, 4096);
  run(sender, [&] { send_all(sender, replies); });
  for (const TestReply& r : replies) EXPECT_EQ(r.result, 0);
  EXPECT_EQ(sender.stats().replies, 32u);
  EXPECT_EQ(sender.stats().sendmsgs, 1u);
  const Bytes expected = concatenation(replies);
  EXPECT_EQ(read_peer(expected.size()), expected);
}

TEST_F(ReplySenderTest, RepliesQueuedDuringASendmsgGoInTheNextOne) {
  ReplySender sender(server_);
  std::vector<TestReply> first;
  std::vector<TestReply> second;
  for (int i = 0; i < 8; ++i) first.emplace_back(i, 3, 100);
  for (int i = 8; i < 16; ++i) second.emplace_back(i, 3, 100);
  run(sender, [&] {
    int left = 2;
    corolib::Coroutine* waiter = corolib::self();
    auto wave = [&](std::vector<TestReply>& replies) {
      corolib::enter(corolib::create([&] {
        send_all(sender, replies);
        if (--left == 0) corolib::wake_deferred(waiter);
      }));
    };
    wave(first);
    // Let the sender run and put its sendmsg in flight, then queue more.
    loop_.enter_soon(corolib::self());
    corolib::yield();
    wave(second);
    corolib::yield();
  });
  EXPECT_EQ(sender.stats().replies, 16u);
  EXPECT_EQ(sender.stats().sendmsgs, 2u);
  std::vector<TestReply> all;
  for (int i = 0; i < 16; ++i) all.emplace_back(i, 3, 100);
  const Bytes expected = concatenation(all);
  EXPECT_EQ(read_peer(expected.size()), expected);
}

TEST_F(ReplySenderTest, ShortWritesKeepEveryReplyWholeAndInOrder) {
  small_send_buffer();
  ReplySender sender(server_);
  std::vector<TestReply> replies;
  for (int i = 0; i < 48; ++i) replies.emplace_back(i, 1 + i % 4, 1000 + 1500 * (i % 7));
  const Bytes expected = concatenation(replies);
  Bytes received;
  std::thread reader([&] {
    // Slowly, in small pieces, so that the sender's writes come up short.
    Bytes chunk(3000);
    while (received.size() < expected.size()) {
      ssize_t got = ::recv(peer_, chunk.data(), chunk.size(), 0);
      if (got <= 0) break;
      received.insert(received.end(), chunk.begin(), chunk.begin() + got);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  run(sender, [&] { send_all(sender, replies); });
  reader.join();
  for (const TestReply& r : replies) EXPECT_EQ(r.result, 0);
  EXPECT_GT(sender.stats().sendmsgs, 1u);
  EXPECT_EQ(received, expected);
}

TEST_F(ReplySenderTest, MoreIovecsThanOneSendmsgTakesAreSplitInOrder) {
  ReplySender sender(server_);
  std::vector<TestReply> replies;
  // 400 replies of 3 iovecs: more than kMaxIov in all.
  for (int i = 0; i < 400; ++i) replies.emplace_back(i, 3, 8);
  const Bytes expected = concatenation(replies);
  ASSERT_GT(replies.size() * 3, static_cast<std::size_t>(ReplySender::kMaxIov));
  Bytes received;
  std::thread reader([&] { received = read_peer(expected.size()); });
  run(sender, [&] { send_all(sender, replies); });
  reader.join();
  EXPECT_EQ(sender.stats().sendmsgs, 2u);
  EXPECT_EQ(received, expected);
}

TEST_F(ReplySenderTest, PeerClosingMidFlushFailsQueuedAndLaterReplies) {
  small_send_buffer();
  ReplySender sender(server_);
  std::vector<TestReply> replies;
  // Far more than the socket buffers hold: the first sendmsg comes up short
  // and the next one waits for room that never comes.
  for (int i = 0; i < 16; ++i) replies.emplace_back(i, 2, 64 * 1024);
  std::thread closer([&] {
    // Take a little, then go away with the rest unread.
    Bytes some = read_peer(1000);
    EXPECT_EQ(some.size(), 1000u);
    ::close(peer_);
    peer_ = -1;
  });
  int later = 1;
  std::uint64_t sendmsgs_before_later = 0;
  run(sender, [&] {
    send_all(sender, replies);
    sendmsgs_before_later = sender.stats().sendmsgs;
    TestReply extra(99, 2, 10);
    std::vector<iovec> iov = extra.iov();
    later = sender.send(iov.data(), static_cast<int>(iov.size()));
  });
  closer.join();
  // The first reply may have gone out before the peer closed; the rest not.
  int failed = 0;
  for (const TestReply& r : replies) {
    if (r.result != 0) {
      EXPECT_TRUE(r.result == -EPIPE || r.result == -ECONNRESET) << r.result;
      ++failed;
    }
  }
  EXPECT_GE(failed, 15);
  EXPECT_EQ(later, replies.back().result);
  EXPECT_EQ(sender.stats().sendmsgs, sendmsgs_before_later);  // nothing more was tried
}

TEST_F(ReplySenderTest, EmptyRepliesSendNothing) {
  ReplySender sender(server_);
  int result = 1;
  run(sender, [&] {
    iovec empty[2] = {{nullptr, 0}, {nullptr, 0}};
    result = sender.send(empty, 2);
  });
  EXPECT_EQ(result, 0);
  EXPECT_EQ(sender.stats().replies, 0u);
  EXPECT_EQ(sender.stats().sendmsgs, 0u);
}

TEST_F(ReplySenderTest, StopOfASenderNeverStartedReturnsAtOnce) {
  ReplySender sender(server_);
  bool done = false;
  corolib::enter(corolib::create([&] {
    sender.stop();
    done = true;
  }));
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace nbd::server_detail
