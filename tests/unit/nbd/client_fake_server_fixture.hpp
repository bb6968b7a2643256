// ClientFakeServerTest: the fixture of the nbd::Client tests against a
// scripted server (FakeServer, client_test_util.hpp), shared by
// client_{handshake,transmission,violation,connection}_test.cpp. A test
// runs its client in coroutines on loop_ (run_coroutine()), on the test's
// thread; the FakeServer's script runs on a thread of its own.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client_test_util.hpp"
#include "corolib/loop/event_loop.hpp"
#include "nbd/client/client.hpp"

namespace nbd_client_test {

class ClientFakeServerTest : public ::testing::Test {
 protected:
  // Connects client to server's socket as export `name` (in a coroutine).
  static int connect(nbd::Client& client, FakeServer& server, const char* name = "disk") {
    const int r = client.connect_fd(server.take_client_fd(), name);
    EXPECT_EQ(r, 0) << client.error_message();
    return r;
  }

  corolib::EventLoop loop_;
};

}  // namespace nbd_client_test
