// Server: the NBD server — exports, limits and buffers shared by all
// connections — and the entry point the daemon calls for each connection.
//
//   auto exports = std::make_shared<nbd::ExportRegistry>();
//   exports->add("disk", std::move(device), {.description = "scratch disk"});
//   nbd::Server server(exports, {.max_requests_in_flight = 32,
//                                .handshake_timeout = std::chrono::seconds(10)});
//   // in a coroutine on an EventLoop, for every accepted socket:
//   nbd::SessionResult r = server.serve(fd);   // log r when it returns
//
// Contract
// - serve(fd) is coroutine_fn: call it from a coroutine on a thread that runs
//   a corolib::EventLoop, one coroutine per connection. It takes ownership
//   of fd (a connected stream socket, blocking or not), runs the fixed
//   newstyle handshake and then the transmission phase, and returns when the
//   connection has ended, every request coroutine of the connection has
//   finished and every buffer is back in the pool; fd is closed by then.
//   Connections on any number of loops/threads may be served at once; they
//   never affect each other (a malformed request only ends its own
//   connection).
// - Within a connection each request runs in a coroutine of its own
//   (pooled), concurrently with the others; replies may be sent out of
//   order, each one whole (header and data in one sendmsg) under the
//   connection's send CoMutex. At most options.max_requests_in_flight
//   requests (and about options.max_bytes_in_flight payload bytes) are in
//   flight per connection: beyond that the connection stops reading.
// - refuse(fd): for connections over the daemon's limit. Greets the client,
//   answers every option with NBD_REP_ERR_POLICY ("too many connections")
//   until it aborts, disconnects, or the handshake timeout passes; never
//   serves an export. Takes ownership of fd like serve().
// - Nothing here logs or throws once constructed; what happened is in the
//   SessionResult (and options.on_negotiated) for the daemon to log.
// - Receive batching: with set_receive_delay(d), a connection that has
//   taken in every request it was sent sleeps d before its next recv, so a
//   client with a deep queue has sent more by then: they arrive, are served
//   and answered together (one recv, one sendmsg, one loop wakeup), for up
//   to d of added latency per request. Zero (the default) receives at once.
//   Connections pick a change up at their next request.
// - Thread-safe, from any thread: set_exports(), exports(),
//   request_shutdown(), disconnect_all(), stats(), active_connections(),
//   set_receive_delay(), receive_delay().
// - Shutdown: request_shutdown() makes every connection answer new requests
//   with NBD_ESHUTDOWN and new options with NBD_REP_ERR_SHUTDOWN (the spec's
//   soft disconnect: well-behaved clients then send NBD_CMD_DISC);
//   disconnect_all() shuts down every connection's socket (shutdown(2)):
//   each connection stops reading, finishes the requests in flight (their
//   replies fail) and returns from serve() with SessionEnd::kShutdown.
//   After disconnect_all(), serve() ends new connections at once.
// - Destroy the Server only after every serve()/refuse() call returned.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "corolib/coroutine.hpp"
#include "nbd/server/export_registry.hpp"
#include "nbd/server/request_buffer_pool.hpp"
#include "nbd/server/server_options.hpp"
#include "nbd/server/server_stats.hpp"
#include "nbd/server/session_result.hpp"

namespace nbd {

class Server {
 public:
  // Throws std::invalid_argument for a null registry or options out of range.
  explicit Server(std::shared_ptr<const ExportRegistry> exports, ServerOptions options = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  coroutine_fn SessionResult serve(int fd);
  coroutine_fn SessionResult refuse(int fd);

  // Connections that begin after this call negotiate against `exports`;
  // connections already running keep the export they negotiated.
  void set_exports(std::shared_ptr<const ExportRegistry> exports);
  std::shared_ptr<const ExportRegistry> exports() const;

  void request_shutdown();
  bool shutdown_requested() const { return shutdown_requested_.load(std::memory_order_relaxed); }
  void disconnect_all();
  bool disconnecting() const { return disconnecting_.load(std::memory_order_acquire); }

  void set_receive_delay(std::chrono::microseconds delay);
  std::chrono::microseconds receive_delay() const {
    return std::chrono::microseconds(receive_delay_us_.load(std::memory_order_relaxed));
  }
  // What the connections read (microseconds), for their RequestReader.
  const std::atomic<std::int64_t>& receive_delay_us() const { return receive_delay_us_; }

  ServerStats stats() const;
  std::size_t active_connections() const;

  const ServerOptions& options() const { return options_; }
  RequestBufferPool& buffer_pool() { return pool_; }

  // Implementation detail (a connection on the server's list), public only
  // so that the session code can name it.
  struct Connection {
    int fd = -1;
    // Requests received so far; written only by the connection's own loop
    // (a plain store, no shared cache line), read by stats().
    std::atomic<std::uint64_t> requests{0};
    Connection* prev = nullptr;
    Connection* next = nullptr;
  };

 private:
  coroutine_fn SessionResult run(int fd, bool refusing);
  bool attach(Connection* c);
  void detach(Connection* c);
  void account(const SessionResult& r);

  const ServerOptions options_;
  RequestBufferPool pool_;

  mutable std::mutex mutex_;  // exports_, connections_: never held across a yield
  std::shared_ptr<const ExportRegistry> exports_;
  Connection* connections_ = nullptr;
  std::size_t active_ = 0;

  std::atomic<bool> shutdown_requested_{false};
  std::atomic<bool> disconnecting_{false};
  std::atomic<std::int64_t> receive_delay_us_{0};

  std::atomic<std::uint64_t> connections_total_{0};
  std::atomic<std::uint64_t> negotiated_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> bytes_read_{0};
  std::atomic<std::uint64_t> bytes_written_{0};
};

}  // namespace nbd
