// nbd::Client's request path allocates nothing once connected: 16
// coroutines issue READ, WRITE (with and without FUA), FLUSH, TRIM,
// WRITE_ZEROES, CACHE and BLOCK_STATUS concurrently, with replies in and
// out of order, simple and structured, while a replaced global operator new
// (alloc_counter.hpp) counts allocations on the client's thread (this test
// is a binary of its own for that reason; the fake server's thread is not
// counted).
#include <gtest/gtest.h>

#include <vector>

#include "alloc_counter.hpp"
#include "client_test_util.hpp"
#include "corolib/co_event.hpp"
#include "nbd/client/client.hpp"

namespace nbd_client_test {
namespace {

constexpr int kWorkers = 16;
constexpr std::uint32_t kRegion = 1u << 20;

// One round of every command on region w; returns the failures.
int request_mix(nbd::Client& client, int w, Bytes& buf, std::vector<nbd::Extent>& extents) {
  int failures = 0;
  auto check = [&](int r) {
    if (r != 0) ++failures;
  };
  const std::uint64_t base = static_cast<std::uint64_t>(w) * kRegion;
  check(client.write(buf.data(), 65536, base));
  check(client.write(buf.data(), 4096, base + 65536, nbd::kCmdFlagFua));
  check(client.read(buf.data(), 65536, base));
  check(client.read(buf.data(), 512, base + 100));
  check(client.flush());
  check(client.trim(65536, base + 131072));
  check(client.read(buf.data(), 65536, base + 131072));  // a hole
  check(client.write_zeroes(65536, base + 262144, nbd::kCmdFlagNoHole));
  check(client.cache(65536, base));
  if (client.export_info().base_allocation) {
    std::uint32_t count = 0;
    check(client.block_status(kRegion, base, [&](const nbd::Extent&) { ++count; }));
    if (count == 0) ++failures;
    check(client.block_status(kRegion, base, &extents));  // capacity reserved
  }
  return failures;
}

void run(bool structured, std::size_t reverse_batch) {
  FakeServer::Setup setup;
  setup.size = kWorkers * kRegion;
  setup.structured = structured;
  Bytes image(setup.size);
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    serve_memory(s, image, {.structured = structured, .reverse_batch = reverse_batch});
  });
  corolib::EventLoop loop;
  nbd::ClientOptions options;
  options.max_in_flight = 8;  // fewer cookies than coroutines: some wait for one
  nbd::Client client(options);
  std::vector<Bytes> buffers(kWorkers, pattern(1, 0, 65536));
  std::vector<std::vector<nbd::Extent>> extents(kWorkers);
  for (auto& e : extents) e.reserve(1024);
  int failures = 0;
  std::size_t allocations = 0;
  run_coroutine(loop, [&] {
    ASSERT_EQ(client.connect_fd(server.take_client_fd(), "disk"), 0) << client.error_message();
    for (int phase = 0; phase < 2; ++phase) {
      corolib::CoEvent go, all_done;
      int left = kWorkers;
      for (int w = 0; w < kWorkers; ++w) {
        corolib::enter(corolib::create([&, w] {
          go.wait();
          for (int i = 0; i < 4; ++i) failures += request_mix(client, w, buffers[w], extents[w]);
          if (--left == 0) all_done.set();
        }));
      }
      // Phase 0 warms up (the loop, the coroutine pool); phase 1 counts.
      const std::size_t n = test_support::allocations_in([&] {
        go.set();
        all_done.wait();
      });
      if (phase == 1) allocations = n;
    }
    // The counter works: one allocation is seen (a call, not a
    // new-expression: never elided).
    EXPECT_EQ(test_support::allocations_in([] { ::operator delete(::operator new(16)); }), 1u);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(allocations, 0u) << "heap allocations on the request path";
}

TEST(ClientAllocTest, StructuredRepliesInOrder) { run(true, 1); }
TEST(ClientAllocTest, StructuredRepliesOutOfOrder) { run(true, 16); }
TEST(ClientAllocTest, SimpleRepliesOutOfOrder) { run(false, 16); }

}  // namespace
}  // namespace nbd_client_test
