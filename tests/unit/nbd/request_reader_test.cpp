// RequestReader (nbd/src/server/request_reader.hpp) on a socketpair: one
// recv takes in a burst of requests, payloads are copied from the buffer or
// received straight into their destination, headers split across recvs are
// put together, the end of the stream is told apart from a cut, and a
// batching delay is slept only at a request boundary with nothing buffered.
#include "request_reader.hpp"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/event_loop.hpp"
#include "nbd/transmission_wire.hpp"

namespace nbd::server_detail {
namespace {

using Bytes = std::vector<std::byte>;

constexpr std::size_t kBufferSize = 64 * 1024;

Bytes header_of(const Request& req) {
  Bytes b(kRequestHeaderSize);
  EXPECT_TRUE(encode_request(b, req));
  return b;
}

Bytes payload_of(std::size_t n, unsigned seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(i * 7 + seed);
  return b;
}

class RequestReaderTest : public ::testing::Test {
 protected:
  RequestReaderTest() : buffer_(kBufferSize) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    server_ = fds[0];
    peer_ = fds[1];
  }
  ~RequestReaderTest() override {
    ::close(server_);
    close_peer();
  }

  void send_peer(const Bytes& b) {
    ASSERT_EQ(::send(peer_, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
  }
  void reconnect() {
    ::close(server_);
    close_peer();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    server_ = fds[0];
    peer_ = fds[1];
  }
  void close_peer() {
    if (peer_ >= 0) ::close(peer_);
    peer_ = -1;
  }

  // Runs body(reader) in a coroutine on the loop until it returns.
  template <class Body>
  void run(Body body) {
    bool done = false;
    RequestReader reader(server_, buffer_, &delay_us_);
    corolib::enter(corolib::create([&] {
      body(reader);
      done = true;
    }));
    loop_.run_until([&] { return done; });
  }

  // The next header, decoded (a failed test if there is none).
  static Request next(RequestReader& reader) {
    std::span<const std::byte> header;
    EXPECT_EQ(reader.read_header(&header), static_cast<int>(kRequestHeaderSize));
    WireResult<Request> req = decode_request(header);
    EXPECT_TRUE(req);
    return req ? *req : Request{};
  }

  corolib::EventLoop loop_;
  Bytes buffer_;
  std::atomic<std::int64_t> delay_us_{0};
  int server_ = -1;
  int peer_ = -1;
};

TEST_F(RequestReaderTest, OneRecvTakesInABurstOfRequests) {
  Bytes burst;
  for (std::uint64_t i = 0; i < 100; ++i) {
    Bytes h = header_of({0, kCmdRead, i, i * 4096, 4096});
    burst.insert(burst.end(), h.begin(), h.end());
  }
  send_peer(burst);
  std::uint64_t calls = 0;
  run([&](RequestReader& reader) {
    for (std::uint64_t i = 0; i < 100; ++i) {
      Request req = next(reader);
      EXPECT_EQ(req.cookie, i);
      EXPECT_EQ(req.offset, i * 4096);
    }
    calls = reader.recv_calls();
  });
  EXPECT_EQ(calls, 1u);
}

TEST_F(RequestReaderTest, BatchingDelayWaitsBeforeAnEmptyBuffersRecvOnly) {
  using Clock = std::chrono::steady_clock;
  delay_us_ = 30'000;
  // Two requests and half a third: the first recv takes them all.
  Bytes h0 = header_of({0, kCmdRead, 0, 0, 4096});
  Bytes h1 = header_of({0, kCmdRead, 1, 4096, 4096});
  Bytes h2 = header_of({0, kCmdRead, 2, 8192, 4096});
  Bytes first = h0;
  first.insert(first.end(), h1.begin(), h1.end());
  first.insert(first.end(), h2.begin(), h2.begin() + 10);
  send_peer(first);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    send_peer(Bytes(h2.begin() + 10, h2.end()));
  });
  std::uint64_t delays = 0;
  Clock::duration took{};
  run([&](RequestReader& reader) {
    const auto start = Clock::now();
    EXPECT_EQ(next(reader).cookie, 0u);  // empty buffer: waits, then recv
    took = Clock::now() - start;
    EXPECT_EQ(next(reader).cookie, 1u);  // buffered: no wait
    EXPECT_EQ(next(reader).cookie, 2u);  // mid-header: no wait
    delays = reader.delays();
  });
  late.join();
  EXPECT_EQ(delays, 1u);
  EXPECT_GE(took, std::chrono::milliseconds(30));
}

TEST_F(RequestReaderTest, NoBatchingDelayWhenItIsZero) {
  send_peer(header_of({0, kCmdFlush, 7, 0, 0}));
  std::uint64_t delays = 1;
  run([&](RequestReader& reader) {
    EXPECT_EQ(next(reader).cookie, 7u);
    delays = reader.delays();
  });
  EXPECT_EQ(delays, 0u);
}

TEST_F(RequestReaderTest, PayloadsOfEverySizeStayInStepWithTheHeaders) {
  // Small payloads come through the buffer, large ones partly from it and
  // the rest straight from the socket; every header after them must parse.
  const std::size_t sizes[] = {1, 512, 4096, RequestReader::kDirectThreshold - 1,
                               RequestReader::kDirectThreshold, 100000, 3, kBufferSize,
                               kBufferSize + 1, 4096};
  Bytes stream;
  std::vector<Bytes> payloads;
  unsigned seed = 0;
  for (std::size_t n : sizes) {
    Bytes h = header_of({0, kCmdWrite, seed, 0, static_cast<std::uint32_t>(n)});
    payloads.push_back(payload_of(n, seed++));
    stream.insert(stream.end(), h.begin(), h.end());
    stream.insert(stream.end(), payloads.back().begin(), payloads.back().end());
  }
  std::thread writer([&] {
    // In odd-sized pieces, so that headers and payloads straddle recvs.
    for (std::size_t pos = 0; pos < stream.size(); pos += 7001) {
      const std::size_t n = std::min<std::size_t>(7001, stream.size() - pos);
      ASSERT_EQ(::send(peer_, stream.data() + pos, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
    }
  });
  run([&](RequestReader& reader) {
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      Request req = next(reader);
      ASSERT_EQ(req.cookie, i);
      ASSERT_EQ(req.length, payloads[i].size());
      Bytes got(req.length);
      ASSERT_EQ(reader.read_payload(got.data(), got.size()), 0);
      EXPECT_EQ(got, payloads[i]) << "payload " << i;
    }
  });
  writer.join();
}

TEST_F(RequestReaderTest, SkippedPayloadsLeaveTheStreamInStep) {
  Bytes stream = header_of({0, kCmdWrite, 1, 0, 200000});
  Bytes junk = payload_of(200000, 3);
  stream.insert(stream.end(), junk.begin(), junk.end());
  Bytes tail = header_of({0, kCmdFlush, 2, 0, 0});
  stream.insert(stream.end(), tail.begin(), tail.end());
  std::thread writer([&] {
    ASSERT_EQ(::send(peer_, stream.data(), stream.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(stream.size()));
  });
  run([&](RequestReader& reader) {
    Request req = next(reader);
    EXPECT_EQ(reader.skip_payload(req.length), 0);
    EXPECT_EQ(next(reader).cookie, 2u);
  });
  writer.join();
}

TEST_F(RequestReaderTest, HeaderSplitAcrossRecvsIsPutTogether) {
  const Bytes h = header_of({0, kCmdRead, 77, 8192, 512});
  send_peer(Bytes(h.begin(), h.begin() + 10));
  std::thread writer([&] {
    // Once the reader has taken the first part, the rest.
    int pending = 1;
    while (::ioctl(server_, FIONREAD, &pending) == 0 && pending > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    send_peer(Bytes(h.begin() + 10, h.end()));
  });
  std::uint64_t calls = 0;
  run([&](RequestReader& reader) {
    Request req = next(reader);
    EXPECT_EQ(req.cookie, 77u);
    EXPECT_EQ(req.offset, 8192u);
    calls = reader.recv_calls();
  });
  writer.join();
  EXPECT_EQ(calls, 2u);
}

TEST_F(RequestReaderTest, EndOfStreamBetweenRequestsIsZero) {
  send_peer(header_of({0, kCmdFlush, 1, 0, 0}));
  close_peer();
  run([&](RequestReader& reader) {
    EXPECT_EQ(next(reader).cookie, 1u);
    std::span<const std::byte> header;
    EXPECT_EQ(reader.read_header(&header), 0);
  });
}

TEST_F(RequestReaderTest, EndOfStreamInsideAHeaderIsAReset) {
  const Bytes h = header_of({0, kCmdFlush, 1, 0, 0});
  send_peer(Bytes(h.begin(), h.begin() + 20));
  close_peer();
  run([&](RequestReader& reader) {
    std::span<const std::byte> header;
    EXPECT_EQ(reader.read_header(&header), -ECONNRESET);
  });
}

TEST_F(RequestReaderTest, EndOfStreamInsideAPayloadIsAReset) {
  // Through the buffer, and straight into the destination.
  for (std::size_t n : {std::size_t{100}, std::size_t{50000}}) {
    reconnect();
    send_peer(header_of({0, kCmdWrite, 1, 0, static_cast<std::uint32_t>(n)}));
    send_peer(payload_of(n / 2, 1));
    close_peer();
    run([&](RequestReader& reader) {
      Request req = next(reader);
      Bytes got(req.length);
      EXPECT_EQ(reader.read_payload(got.data(), got.size()), -ECONNRESET) << n;
      EXPECT_EQ(reader.skip_payload(1), -ECONNRESET) << n;
    });
  }
}

}  // namespace
}  // namespace nbd::server_detail
