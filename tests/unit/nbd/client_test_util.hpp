// Shared pieces of the nbd::Client tests.
//
// - FakeServer: a scripted NBD server on a thread of its own, at the other
//   end of a socketpair, speaking with blocking I/O and the nbd_wire
//   encoders. The script sees every byte the client sends and sends exactly
//   what the test wants (out-of-order replies, malformed chunks, a close
//   mid-flight). A helper that fails (EOF, an unexpected message) throws;
//   the script then ends, the server's socket closes, and error() holds the
//   message for the test to check.
// - Coroutines: spawns coroutines on an EventLoop and runs the loop until
//   they have all returned, aborting with a message if that takes longer
//   than a watchdog limit (a hang is a failure, not a ctest timeout).
// - CoroutineGroup: from inside a coroutine, enters more coroutines and
//   waits until they have all returned (requests made concurrently).
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "corolib/co_event.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/loop/event_loop.hpp"
#include "nbd/wire.hpp"

namespace nbd_client_test {

using Bytes = std::vector<std::byte>;

// The byte at absolute offset `pos` of pattern `seed`: distinct per seed and
// position, never constant over a block.
inline std::byte pattern_byte(std::uint64_t seed, std::uint64_t pos) {
  std::uint64_t x = (pos + 1) * 0x9e3779b97f4a7c15ull ^ (seed * 0xbf58476d1ce4e5b9ull);
  x ^= x >> 29;
  return static_cast<std::byte>(x);
}

inline Bytes pattern(std::uint64_t seed, std::uint64_t offset, std::size_t length) {
  Bytes out(length);
  for (std::size_t i = 0; i < length; ++i) out[i] = pattern_byte(seed, offset + i);
  return out;
}

// --- coroutines on a loop ------------------------------------------------------------

class Coroutines {
 public:
  explicit Coroutines(corolib::EventLoop& loop) : loop_(loop) {}

  template <class F>
  void spawn(F&& fn) {
    ++live_;
    loop_.enter_soon(corolib::create([this, fn = std::forward<F>(fn)]() mutable {
      fn();
      --live_;
    }));
  }

  // Runs the loop until every spawned coroutine has returned.
  void run(std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    loop_.run_until([&] {
      if (live_ > 0 && std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "FATAL: %d coroutine(s) still running after %llds: hung\n", live_,
                     static_cast<long long>(limit.count()));
        std::abort();
      }
      return live_ == 0;
    });
  }

  int live() const { return live_; }

 private:
  corolib::EventLoop& loop_;
  int live_ = 0;
};

template <class F>
void run_coroutine(corolib::EventLoop& loop, F&& fn) {
  Coroutines c(loop);
  c.spawn(std::forward<F>(fn));
  c.run();
}

// Coroutines entered from a coroutine (the group's owner), and a wait for
// all of them. For one thread: the owner's. The destructor waits as well
// (the coroutines use the group), so a group lives in a coroutine.
class CoroutineGroup {
 public:
  CoroutineGroup() = default;
  CoroutineGroup(const CoroutineGroup&) = delete;
  CoroutineGroup& operator=(const CoroutineGroup&) = delete;
  ~CoroutineGroup() { wait(); }

  // Creates a coroutine running fn() and enters it (it runs until it first
  // yields).
  template <class F>
  void enter(F&& fn) {
    ++live_;
    corolib::enter(corolib::create([this, fn = std::forward<F>(fn)]() mutable {
      fn();
      if (--live_ == 0) done_.set();
    }));
  }

  // Enters n coroutines running fn(i), i = 0 .. n-1.
  template <class F>
  void enter_n(int n, const F& fn) {
    for (int i = 0; i < n; ++i) enter([fn, i] { fn(i); });
  }

  // Yields until every coroutine entered so far has returned.
  void wait() {
    while (live_ > 0) {
      done_.reset();
      done_.wait();
    }
  }

 private:
  corolib::CoEvent done_;
  int live_ = 0;
};

// --- the fake server ---------------------------------------------------------------------

struct ScriptError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class FakeServer {
 public:
  using Script = std::function<void(FakeServer&)>;

  explicit FakeServer(Script script) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    client_fd_ = fds[0];
    fd_ = fds[1];
    thread_ = std::thread([this, script = std::move(script)] {
      try {
        script(*this);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = e.what();
      }
      ::close(fd_);
    });
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;
  ~FakeServer() {
    join();
    if (client_fd_ >= 0) ::close(client_fd_);
  }

  // The client's end, for Client::connect_fd() (which takes ownership).
  int take_client_fd() {
    const int fd = client_fd_;
    client_fd_ = -1;
    return fd;
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }
  // The script's failure ("" if it ran to the end). Call after join().
  std::string error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

  // --- raw bytes ---
  void send(std::span<const std::byte> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw ScriptError("server: send failed: " + std::string(std::strerror(errno)));
      done += static_cast<std::size_t>(n);
    }
  }
  // false on EOF before the first byte; throws on EOF later.
  bool recv_or_eof(void* buf, std::size_t len) {
    auto* p = static_cast<std::byte*>(buf);
    std::size_t done = 0;
    while (done < len) {
      const ssize_t n = ::recv(fd_, p + done, len - done, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ScriptError("server: recv failed: " + std::string(std::strerror(errno)));
      if (n == 0) {
        if (done == 0) return false;
        throw ScriptError("server: EOF in the middle of a message");
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  void recv(void* buf, std::size_t len) {
    if (!recv_or_eof(buf, len)) throw ScriptError("server: unexpected EOF");
  }
  // True if the client closed its end (EOF within `limit`).
  bool wait_eof(std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    std::byte b;
    return ::recv(fd_, &b, 1, 0) == 0;
  }
  // True if nothing arrives within `limit`.
  bool quiet_for(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) == 0;
  }
  void close_now() { ::shutdown(fd_, SHUT_RDWR); }

  // --- handshake ---
  void greet(std::uint16_t flags = nbd::kFlagFixedNewstyle | nbd::kFlagNoZeroes) {
    std::byte buf[nbd::kServerGreetingSize];
    auto n = nbd::encode_server_greeting(buf, flags);
    send({buf, *n});
  }
  std::uint32_t client_flags() {
    std::byte buf[4];
    recv(buf, 4);
    return *nbd::decode_client_flags(buf);
  }
  struct Option {
    std::uint32_t option = 0;
    Bytes data;
  };
  Option read_option() {
    std::byte buf[nbd::kOptionHeaderSize];
    recv(buf, sizeof buf);
    auto h = nbd::decode_option_header(buf);
    if (!h) throw ScriptError(std::string("server: bad option header: ") + h.message());
    Option o{h->option, Bytes(h->length)};
    recv(o.data.data(), o.data.size());
    return o;
  }
  Option expect_option(std::uint32_t option) {
    Option o = read_option();
    if (o.option != option) {
      throw ScriptError("server: expected " + std::string(nbd::option_name(option)) + ", got " +
                        std::string(nbd::option_name(o.option)));
    }
    return o;
  }
  template <class Encode>
  void send_encoded(Encode&& encode) {
    Bytes buf(64 * 1024);
    auto n = encode(std::span<std::byte>(buf));
    if (!n) throw ScriptError(std::string("server: cannot encode: ") + n.message());
    send({buf.data(), *n});
  }
  void rep_ack(std::uint32_t option) {
    send_encoded([&](std::span<std::byte> b) { return nbd::encode_rep_ack(b, option); });
  }
  void rep_error(std::uint32_t option, std::uint32_t type, std::string_view message = {}) {
    send_encoded(
        [&](std::span<std::byte> b) { return nbd::encode_rep_error(b, option, type, message); });
  }
  void rep_info_export(std::uint32_t option, std::uint64_t size, std::uint16_t flags) {
    send_encoded([&](std::span<std::byte> b) {
      return nbd::encode_rep_info_export(b, option, nbd::ExportInfo{size, flags});
    });
  }
  void rep_block_size(std::uint32_t option, nbd::BlockSize bs) {
    send_encoded(
        [&](std::span<std::byte> b) { return nbd::encode_rep_info_block_size(b, option, bs); });
  }
  void rep_meta_context(std::uint32_t option, std::uint32_t id, std::string_view name) {
    send_encoded(
        [&](std::span<std::byte> b) { return nbd::encode_rep_meta_context(b, option, id, name); });
  }

  // The usual negotiation, as corobd or qemu-nbd answer it.
  struct Setup {
    std::string export_name = "disk";
    std::uint64_t size = 1u << 20;
    std::uint16_t flags = nbd::kFlagHasFlags | nbd::kFlagSendFlush | nbd::kFlagSendFua |
                          nbd::kFlagSendTrim | nbd::kFlagSendWriteZeroes | nbd::kFlagSendDf |
                          nbd::kFlagSendCache | nbd::kFlagSendFastZero | nbd::kFlagCanMultiConn;
    nbd::BlockSize block_size{1, 4096, 32u * 1024 * 1024};
    bool structured = true;
    std::uint32_t context_id = 42;
  };
  void handshake(const Setup& s) {
    greet();
    if (client_flags() != (nbd::kFlagCFixedNewstyle | nbd::kFlagCNoZeroes)) {
      throw ScriptError("server: unexpected client flags");
    }
    expect_option(nbd::kOptStructuredReply);
    if (!s.structured) {
      rep_error(nbd::kOptStructuredReply, nbd::kRepErrUnsup);
    } else {
      rep_ack(nbd::kOptStructuredReply);
      Option meta = expect_option(nbd::kOptSetMetaContext);
      auto req = nbd::parse_meta_context(meta.data);
      if (!req || req->name != s.export_name) throw ScriptError("server: bad SET_META_CONTEXT");
      bool asked = false;
      for (std::string_view q : req->queries) asked |= q == nbd::kMetaContextBaseAllocation;
      if (!asked) throw ScriptError("server: base:allocation not asked for");
      rep_meta_context(nbd::kOptSetMetaContext, s.context_id, nbd::kMetaContextBaseAllocation);
      rep_ack(nbd::kOptSetMetaContext);
    }
    Option go = expect_option(nbd::kOptGo);
    auto req = nbd::parse_info_go(go.data);
    if (!req || req->name != s.export_name) throw ScriptError("server: bad GO");
    if (!req->infos.contains(nbd::kInfoBlockSize)) throw ScriptError("server: no BLOCK_SIZE asked");
    rep_info_export(nbd::kOptGo, s.size, s.flags);
    rep_block_size(nbd::kOptGo, s.block_size);
    rep_ack(nbd::kOptGo);
  }

  // --- transmission ---
  // The next request, or false on EOF. *payload receives a WRITE's data.
  bool read_request_or_eof(nbd::Request* req, Bytes* payload = nullptr) {
    std::byte buf[nbd::kRequestHeaderSize];
    if (!recv_or_eof(buf, sizeof buf)) return false;
    auto r = nbd::decode_request(buf);
    if (!r) throw ScriptError(std::string("server: bad request: ") + r.message());
    *req = *r;
    if (r->type == nbd::kCmdWrite) {
      Bytes data(r->length);
      recv(data.data(), data.size());
      if (payload != nullptr) *payload = std::move(data);
    }
    return true;
  }
  nbd::Request read_request(Bytes* payload = nullptr) {
    nbd::Request req;
    if (!read_request_or_eof(&req, payload)) throw ScriptError("server: EOF instead of a request");
    return req;
  }
  void simple_reply(std::uint64_t cookie, std::uint32_t error = 0,
                    std::span<const std::byte> data = {}) {
    std::byte buf[nbd::kSimpleReplySize];
    (void)nbd::encode_simple_reply(buf, {error, cookie});
    Bytes all(buf, buf + sizeof buf);
    all.insert(all.end(), data.begin(), data.end());
    send(all);
  }
  // Any chunk, payload as given (lengths need not make sense).
  void raw_chunk(std::uint16_t flags, std::uint16_t type, std::uint64_t cookie,
                 std::span<const std::byte> payload, std::uint32_t length_field) {
    std::byte buf[nbd::kChunkHeaderSize];
    (void)nbd::encode_chunk_header(buf, {flags, type, cookie, length_field});
    Bytes all(buf, buf + sizeof buf);
    all.insert(all.end(), payload.begin(), payload.end());
    send(all);
  }
  void none(std::uint64_t cookie) {
    send_encoded([&](std::span<std::byte> b) { return nbd::encode_none_chunk(b, cookie); });
  }
  void offset_data(std::uint64_t cookie, std::uint64_t offset, std::span<const std::byte> data,
                   bool done) {
    std::byte buf[nbd::kChunkHeaderSize + 8];
    auto n = nbd::encode_offset_data_prefix(buf, done ? nbd::kReplyFlagDone : 0, cookie, offset,
                                            static_cast<std::uint32_t>(data.size()));
    Bytes all(buf, buf + *n);
    all.insert(all.end(), data.begin(), data.end());
    send(all);
  }
  void offset_hole(std::uint64_t cookie, std::uint64_t offset, std::uint32_t size, bool done) {
    send_encoded([&](std::span<std::byte> b) {
      return nbd::encode_offset_hole(b, done ? nbd::kReplyFlagDone : 0, cookie, offset, size);
    });
  }
  void block_status(std::uint64_t cookie, std::uint32_t context,
                    std::span<const nbd::BlockDescriptor> d, bool done) {
    Bytes buf(nbd::block_status_chunk_size(d.size()));
    auto n = nbd::encode_block_status(buf, done ? nbd::kReplyFlagDone : 0, cookie, context, d);
    if (!n) throw ScriptError("server: cannot encode block status");
    send({buf.data(), *n});
  }
  void error_chunk(std::uint64_t cookie, std::uint32_t error, std::string_view message, bool done) {
    send_encoded([&](std::span<std::byte> b) {
      return nbd::encode_error_chunk(b, done ? nbd::kReplyFlagDone : 0, cookie, error, message);
    });
  }
  void error_offset_chunk(std::uint64_t cookie, std::uint32_t error, std::uint64_t offset,
                          bool done) {
    send_encoded([&](std::span<std::byte> b) {
      return nbd::encode_error_offset_chunk(b, done ? nbd::kReplyFlagDone : 0, cookie, error,
                                            "failed here", offset);
    });
  }

 private:
  int fd_ = -1;
  int client_fd_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::string error_;
};

// --- a memory-backed server script ------------------------------------------------------

struct MemoryServerOptions {
  bool structured = true;         // the handshake negotiated structured replies
  std::uint32_t context_id = 42;  // base:allocation's id
  std::size_t reverse_batch = 1;  // reply to up to this many queued requests in reverse
  std::uint64_t block = 4096;     // hole / allocation granularity
};

// Serves READ, WRITE, FLUSH, TRIM, WRITE_ZEROES, CACHE and BLOCK_STATUS
// against `image` until NBD_CMD_DISC or EOF; returns the number of requests.
// Structured READ replies describe all-zero blocks as OFFSET_HOLE chunks.
// TRIM and WRITE_ZEROES without NO_HOLE deallocate whole blocks (for
// BLOCK_STATUS). Requests that are already waiting on the socket are taken
// in batches and answered last-first (reverse_batch > 1): out of order.
inline std::size_t serve_memory(FakeServer& s, Bytes& image, const MemoryServerOptions& o) {
  const std::uint64_t blocks = (image.size() + o.block - 1) / o.block;
  std::vector<bool> allocated(blocks, true);
  struct Pending {
    nbd::Request req;
    Bytes data;  // READ: the data at arrival
  };
  std::size_t served = 0;
  auto zero_range = [&](std::uint64_t off, std::uint64_t len, bool deallocate) {
    std::memset(image.data() + off, 0, len);
    if (!deallocate) return;
    for (std::uint64_t b = (off + o.block - 1) / o.block; (b + 1) * o.block <= off + len; ++b) {
      allocated[b] = false;
    }
  };
  auto reply = [&](Pending& p) {
    const nbd::Request& r = p.req;
    if (r.type == nbd::kCmdRead && o.structured) {
      if (r.length == 0) return s.none(r.cookie);
      // Runs of data and of all-zero blocks.
      std::uint64_t pos = 0;
      while (pos < r.length) {
        const std::uint64_t end = std::min<std::uint64_t>(r.length, (pos / o.block + 1) * o.block);
        bool zero = true;
        for (std::uint64_t i = pos; i < end && zero; ++i) zero = p.data[i] == std::byte{0};
        std::uint64_t run_end = end;
        while (run_end < r.length) {
          const std::uint64_t next = std::min<std::uint64_t>(r.length, run_end + o.block);
          bool z = true;
          for (std::uint64_t i = run_end; i < next && z; ++i) z = p.data[i] == std::byte{0};
          if (z != zero) break;
          run_end = next;
        }
        const bool done = run_end == r.length;
        if (zero) {
          s.offset_hole(r.cookie, r.offset + pos, static_cast<std::uint32_t>(run_end - pos), done);
        } else {
          s.offset_data(r.cookie, r.offset + pos,
                        std::span<const std::byte>(p.data).subspan(pos, run_end - pos), done);
        }
        pos = run_end;
      }
      return;
    }
    if (r.type == nbd::kCmdRead) return s.simple_reply(r.cookie, 0, p.data);
    if (r.type == nbd::kCmdBlockStatus) {
      std::vector<nbd::BlockDescriptor> d;
      for (std::uint64_t pos = r.offset; pos < r.offset + r.length && pos < image.size();) {
        const std::uint64_t b = pos / o.block;
        const std::uint64_t end = std::min<std::uint64_t>(image.size(), (b + 1) * o.block);
        const std::uint32_t flags = allocated[b] ? 0 : nbd::kStateHole | nbd::kStateZero;
        if (!d.empty() && d.back().status == flags) {
          d.back().length += static_cast<std::uint32_t>(end - pos);
        } else {
          d.push_back({static_cast<std::uint32_t>(end - pos), flags});
        }
        pos = end;
        if ((r.flags & nbd::kCmdFlagReqOne) != 0) break;
      }
      return s.block_status(r.cookie, o.context_id, d, true);
    }
    if (o.structured) return s.none(r.cookie);
    s.simple_reply(r.cookie);
  };
  for (;;) {
    std::vector<Pending> batch;
    bool disc = false;
    do {
      Pending p;
      Bytes payload;
      if (!s.read_request_or_eof(&p.req, &payload)) {
        disc = true;
        break;
      }
      ++served;
      const nbd::Request& r = p.req;
      if (r.type == nbd::kCmdDisc) {
        disc = true;
        break;
      }
      if (r.offset + r.length > image.size() && r.type != nbd::kCmdFlush) {
        throw ScriptError("server: request past the end");
      }
      switch (r.type) {
        case nbd::kCmdRead:
          p.data.assign(image.begin() + r.offset, image.begin() + r.offset + r.length);
          break;
        case nbd::kCmdWrite:
          std::memcpy(image.data() + r.offset, payload.data(), r.length);
          for (std::uint64_t b = r.offset / o.block; b * o.block < r.offset + r.length; ++b) {
            allocated[b] = true;
          }
          break;
        case nbd::kCmdTrim:
          zero_range(r.offset, r.length, true);
          break;
        case nbd::kCmdWriteZeroes:
          zero_range(r.offset, r.length, (r.flags & nbd::kCmdFlagNoHole) == 0);
          break;
        default:
          break;
      }
      batch.push_back(std::move(p));
    } while (batch.size() < o.reverse_batch && !s.quiet_for(std::chrono::milliseconds(0)));
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) reply(*it);
    if (disc) return served;
  }
}

}  // namespace nbd_client_test
