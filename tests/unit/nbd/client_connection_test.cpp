// nbd::Client's connection going away (the server closing mid-flight,
// disconnect, close, reconnecting) and the local request checks made
// before anything is sent (strict and non-strict mode), against a scripted
// server (FakeServer).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "client_fake_server_fixture.hpp"
#include "client_test_util.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/loop/timer.hpp"
#include "nbd/client/client.hpp"

namespace nbd_client_test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// --- the connection going away -----------------------------------------------------------------

TEST_F(ClientFakeServerTest, ServerClosingMidFlightFailsEveryWaitingRequest) {
  FakeServer::Setup setup;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> reqs;
    for (int i = 0; i < 8; ++i) reqs.push_back(s.read_request());
    s.offset_hole(reqs[5].cookie, reqs[5].offset, 4096, true);
    s.offset_data(reqs[2].cookie, reqs[2].offset, pattern(0, reqs[2].offset, 4096), true);
    // Half a reply, then gone.
    s.offset_data(reqs[3].cookie, reqs[3].offset, Bytes(1000), false);
    s.close_now();
  });
  nbd::Client client;
  std::vector<int> results(8, 1);
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    CoroutineGroup readers;
    readers.enter_n(8, [&](int i) {
      Bytes buf(4096);
      results[i] = client.read(buf.data(), 4096, 4096u * i);
    });
    readers.wait();
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.flush(), -ENOTCONN);
    EXPECT_EQ(client.close(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(results[i], i == 2 || i == 5 ? 0 : -ECONNRESET) << i;
  }
  EXPECT_THAT(client.error_message(),
              HasSubstr("the server closed the connection with 6 request(s) in flight"));
}

TEST_F(ClientFakeServerTest, ServerClosingDuringALargeWriteFailsItAndTheQueue) {
  FakeServer::Setup setup;
  setup.size = 64u << 20;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::byte header[nbd::kRequestHeaderSize];
    s.recv(header, sizeof header);  // the write's header, not its 32 MiB
    Bytes some(65536);
    s.recv(some.data(), some.size());
    s.close_now();
  });
  nbd::Client client;
  int write_result = 1, flush_result = 1;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    const Bytes big(32u << 20, std::byte{1});
    CoroutineGroup flush;
    flush.enter([&] {
      corolib::co_sleep(20ms);  // queued behind the write
      flush_result = client.flush();
    });
    write_result = client.write(big.data(), big.size(), 0);
    flush.wait();
    EXPECT_EQ(client.close(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(write_result, -ECONNRESET);
  EXPECT_TRUE(flush_result == -ECONNRESET || flush_result == -ENOTCONN) << flush_result;
}

TEST_F(ClientFakeServerTest, DisconnectWaitsForRepliesThenSendsDisc) {
  FakeServer::Setup setup;
  bool quiet = false, got_disc = false, eof = false;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> reqs;
    for (int i = 0; i < 4; ++i) reqs.push_back(s.read_request());
    quiet = s.quiet_for(100ms);  // no DISC while replies are owed
    for (const auto& r : reqs) s.none(r.cookie);
    got_disc = s.read_request().type == nbd::kCmdDisc;
    eof = s.wait_eof();
  });
  nbd::Client client;
  std::vector<int> results;
  int late = 1;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    CoroutineGroup flushes;
    flushes.enter_n(4, [&](int) { results.push_back(client.flush()); });
    // A request made while disconnecting is refused.
    corolib::enter(corolib::create([&] {
      corolib::co_sleep(10ms);
      late = client.flush();
    }));
    EXPECT_EQ(client.disconnect(), 0);
    flushes.wait();
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.flush(), -ENOTCONN);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(results, std::vector<int>(4, 0));
  EXPECT_EQ(late, -ENOTCONN);
  EXPECT_TRUE(quiet);
  EXPECT_TRUE(got_disc);
  EXPECT_TRUE(eof);
}

TEST_F(ClientFakeServerTest, CloseFailsRequestsInFlightWithEshutdown) {
  FakeServer::Setup setup;
  bool eof = false;
  std::atomic<int> requests_read{0};
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    for (int i = 0; i < 3; ++i) {
      s.read_request();
      ++requests_read;
    }
    eof = s.wait_eof();  // never replies
  });
  nbd::Client client;
  std::vector<int> results;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    CoroutineGroup readers;
    readers.enter_n(3, [&](int) {
      Bytes buf(4096);
      results.push_back(client.read(buf.data(), 4096, 0));
    });
    // Bounded wait until the server has all three (slow under TSan and load).
    for (int i = 0; i < 10000 && requests_read < 3; ++i) corolib::co_sleep(1ms);
    EXPECT_EQ(client.in_flight(), 3u);
    EXPECT_EQ(client.close(), 0);
    readers.wait();
    EXPECT_EQ(client.close(), 0);  // twice is fine
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(results, std::vector<int>(3, -ESHUTDOWN));
  EXPECT_THAT(client.error_message(), HasSubstr("closed by the client"));
  EXPECT_TRUE(eof);
}

TEST_F(ClientFakeServerTest, ReconnectAfterDisconnect) {
  FakeServer::Setup setup;
  auto script = [&](FakeServer& s) {
    s.handshake(setup);
    Bytes image = pattern(5, 0, setup.size);
    serve_memory(s, image, {});
  };
  FakeServer first(script), second(script);
  nbd::Client client;
  run_coroutine(loop_, [&] {
    for (FakeServer* s : {&first, &second}) {
      if (connect(client, *s) != 0) return;
      EXPECT_EQ(client.connect_fd(-1), -EISCONN);
      Bytes buf(512);
      EXPECT_EQ(client.read(buf.data(), 512, 512), 0);
      EXPECT_EQ(buf, pattern(5, 512, 512));
      EXPECT_EQ(client.disconnect(), 0);
    }
  });
  first.join();
  second.join();
  EXPECT_EQ(first.error(), "");
  EXPECT_EQ(second.error(), "");
}

// --- local checks -------------------------------------------------------------------------------

TEST_F(ClientFakeServerTest, StrictModeRefusesWhatTheServerDidNotOffer) {
  FakeServer::Setup setup;
  setup.size = 1u << 20;
  setup.flags = nbd::kFlagHasFlags | nbd::kFlagReadOnly | nbd::kFlagSendFlush;
  setup.block_size = {512, 4096, 65536};
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    // Only these reach the server.
    nbd::Request r = s.read_request();
    if (r.type != nbd::kCmdFlush) throw ScriptError("expected FLUSH");
    s.none(r.cookie);
    r = s.read_request();
    if (r.type != nbd::kCmdRead || r.offset != 512 || r.length != 1024) throw ScriptError("read");
    s.offset_hole(r.cookie, 512, 1024, true);
    if (s.read_request().type != nbd::kCmdDisc) throw ScriptError("expected DISC");
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(1u << 17);
    EXPECT_EQ(client.write(buf.data(), 512, 0), -EPERM);
    EXPECT_EQ(client.trim(512, 0), -EPERM);
    EXPECT_EQ(client.write_zeroes(512, 0), -EPERM);
    EXPECT_EQ(client.cache(512, 0), -EOPNOTSUPP);
    EXPECT_EQ(client.read(buf.data(), 512, 0, nbd::kCmdFlagFua), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 512, 0, nbd::kCmdFlagDf), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 512, 0, 1u << 9), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 512, 100), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 1000, 0), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 1u << 17, 0), -EINVAL);  // over the maximum
    EXPECT_EQ(client.read(buf.data(), 1024, (1u << 20) - 512), -EINVAL);
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(0, 0, &extents), -EINVAL);
    EXPECT_EQ(client.flush(nbd::kCmdFlagFua), -EINVAL);
    EXPECT_EQ(client.flush(), 0);
    EXPECT_EQ(client.read(buf.data(), 1024, 512), 0);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, StrictModeReportsEnospcPastTheEndForWrites) {
  FakeServer::Setup setup;
  setup.size = 1u << 20;
  setup.flags &= static_cast<std::uint16_t>(~nbd::kFlagSendFastZero);
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    if (s.read_request().type != nbd::kCmdDisc) throw ScriptError("expected DISC");
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(8192);
    EXPECT_EQ(client.write(buf.data(), 8192, (1u << 20) - 4096), -ENOSPC);
    EXPECT_EQ(client.write_zeroes(8192, 1u << 20), -ENOSPC);
    EXPECT_EQ(client.trim(8192, (1u << 20) - 4096), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 1, ~0ull), -EINVAL);
    EXPECT_EQ(client.write_zeroes(4096, 0, nbd::kCmdFlagFastZero), -EOPNOTSUPP);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, NonStrictModeSendsWhatItIsGiven) {
  FakeServer::Setup setup;
  setup.flags = nbd::kFlagHasFlags | nbd::kFlagReadOnly;
  setup.block_size = {512, 4096, 65536};
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    Bytes payload;
    nbd::Request r = s.read_request(&payload);
    if (r.type != nbd::kCmdWrite || payload.size() != 100) throw ScriptError("expected the write");
    s.error_chunk(r.cookie, nbd::kErrPerm, "read-only", true);
    r = s.read_request();
    if (r.type != nbd::kCmdRead || r.offset != 3) throw ScriptError("expected the read");
    s.error_chunk(r.cookie, nbd::kErrInval, "misaligned", true);
    r = s.read_request();
    if (r.type != nbd::kCmdTrim || r.flags != nbd::kCmdFlagFua) throw ScriptError("expected trim");
    s.simple_reply(r.cookie, nbd::kErrInval);
    s.read_request();  // DISC
  });
  nbd::ClientOptions options;
  options.strict = false;
  nbd::Client client(options);
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(100);
    EXPECT_EQ(client.write(buf.data(), 100, 0), -EPERM);
    EXPECT_EQ(client.read(buf.data(), 100, 3), -EINVAL);
    EXPECT_EQ(client.trim(100, 0, nbd::kCmdFlagFua), -EINVAL);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, RequestsBeforeConnectingFail) {
  nbd::Client client;
  run_coroutine(loop_, [&] {
    Bytes buf(512);
    EXPECT_EQ(client.read(buf.data(), 512, 0), -ENOTCONN);
    EXPECT_EQ(client.write(buf.data(), 512, 0), -ENOTCONN);
    EXPECT_EQ(client.flush(), -ENOTCONN);
    EXPECT_EQ(client.disconnect(), -ENOTCONN);
    EXPECT_EQ(client.close(), 0);
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.in_flight(), 0u);
  });
}

}  // namespace
}  // namespace nbd_client_test
