// nbd::Client: a coroutine NBD client for one connection to a UNIX-socket
// NBD server (corobd, qemu-nbd, nbdkit, ...).
//
// Contract
// - Thread: a Client is used on one thread, whose EventLoop runs its
//   coroutines; every coroutine_fn member is called from coroutines running
//   there (abort otherwise, in debug builds). Nothing here is thread-safe.
//   For several connections make several Clients (on one loop or several).
// - connect*() opens the socket, negotiates (see nbd/client/handshake.hpp:
//   fixed newstyle, NO_ZEROES, STRUCTURED_REPLY, base:allocation, GO with
//   block sizes, EXPORT_NAME fallback) and starts the reply-reader
//   coroutine. Returns 0 or -errno with error_message() saying why. A
//   Client that is connected, or whose connection is still closing, refuses
//   another connect with -EISCONN; after disconnect()/close() it may connect
//   again.
// - Requests (read ... block_status) may be issued by many coroutines at
//   once; they are pipelined on the one connection. Each takes a cookie
//   from a fixed table of options.max_in_flight slots (waiting while all
//   are taken; each reply frees one and wakes the longest waiter), is sent
//   whole (header and payload in one sendmsg) under
//   the connection's send CoMutex, and suspends until the reader coroutine
//   has matched its reply by cookie and woken it. Replies may arrive in any
//   order. READ data is received straight into the caller's buffer (short
//   runs that arrived with other replies are copied out of the receive
//   buffer); OFFSET_HOLE chunks are zero-filled. Buffers must stay valid
//   until the call returns: they do, the caller being suspended.
// - Hot path: a request allocates nothing. Its state lives on the caller's
//   coroutine stack; the cookie table and receive buffer are allocated at
//   connect. (block_status into a std::vector grows the vector, the
//   caller's choice.)
// - Results: 0 on success, else -errno:
//   * the server's NBD error, mapped with nbd_to_errno() (NBD_EINVAL ->
//     -EINVAL, NBD_ENOSPC -> -ENOSPC, NBD_ENOTSUP -> -EOPNOTSUPP, ...);
//   * with options.strict, a request the server said it does not accept
//     fails locally without being sent: -EPERM (write to a read-only
//     export), -EOPNOTSUPP (command or FAST_ZERO not advertised, BLOCK_STATUS
//     without base:allocation), -EINVAL (flag not allowed, misaligned to
//     the minimum block size, past the end, longer than max_payload(), a
//     zero-length BLOCK_STATUS), -ENOSPC (WRITE/WRITE_ZEROES past the end);
//   * -ENOTCONN: not connected, or the connection is down or disconnecting;
//   * requests in flight when the connection dies: -EIO if the server broke
//     the protocol (bad magic, unknown cookie, a chunk that does not fit its
//     request, a malformed chunk, ...: the client then closes the
//     connection itself), -ECONNRESET if the server closed it, the
//     socket's -errno if receiving failed otherwise (-ECANCELED when the
//     EventLoop shut down), -ESHUTDOWN if close() was called.
//     error_message() says what happened. Every waiting request is woken;
//     none hangs.
//   * -EIO for a reply that is well-formed but incomplete (a READ whose
//     chunks do not cover the request, a BLOCK_STATUS without extents); the
//     connection stays up.
// - disconnect() lets the requests in flight finish (new ones get
//   -ENOTCONN), sends NBD_CMD_DISC, shuts the socket down and waits for the
//   reader to finish. close() does not wait for replies: requests in flight
//   fail with -ESHUTDOWN. Either leaves the Client ready to destroy or
//   reconnect. Destroying a Client whose reader still runs (connected and
//   neither disconnect() nor close() has returned) aborts with a message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/io_timeout.hpp"
#include "nbd/client/client_options.hpp"
#include "nbd/client/extent.hpp"
#include "nbd/client/negotiated_export.hpp"
#include "nbd/client/uri.hpp"

namespace nbd {

namespace client_detail {
class Connection;
}

class Client {
 public:
  explicit Client(const ClientOptions& options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // --- connecting ---------------------------------------------------------------

  // nbd+unix:///EXPORT?socket=PATH (see nbd/client/uri.hpp); a URI that does
  // not parse gives -EINVAL.
  coroutine_fn int connect(std::string_view uri);
  coroutine_fn int connect(const NbdUri& uri);
  coroutine_fn int connect_unix(std::string_view socket_path, std::string_view export_name = {});
  // Negotiates on a socket the caller connected (tests use socketpairs). The
  // Client owns fd from now on, also when this fails.
  coroutine_fn int connect_fd(int fd, std::string_view export_name = {});

  // True from a successful connect until the connection goes down or
  // disconnect()/close() begins.
  bool connected() const;
  // What the handshake settled (size, flags, block sizes, structured
  // replies, base:allocation). Meaningful after a successful connect; kept
  // after the connection goes down.
  const NegotiatedExport& export_info() const { return export_; }
  std::uint64_t size() const { return export_.size; }
  // Why the last connect failed or why the connection went down ("" if
  // neither happened).
  const std::string& error_message() const { return error_; }
  // Requests holding a cookie right now (sent or about to be sent).
  std::uint32_t in_flight() const;
  const ClientOptions& options() const { return options_; }

  // --- requests (flags: NBD_CMD_FLAG_*, see nbd/protocol.hpp) ----------------------

  // NBD_CMD_READ of count bytes at offset into buf. Flags: kCmdFlagFua,
  // kCmdFlagDf.
  coroutine_fn int read(void* buf, std::uint32_t count, std::uint64_t offset,
                        std::uint16_t flags = 0);
  // NBD_CMD_WRITE. Flags: kCmdFlagFua.
  coroutine_fn int write(const void* buf, std::uint32_t count, std::uint64_t offset,
                         std::uint16_t flags = 0);
  // NBD_CMD_FLUSH.
  coroutine_fn int flush(std::uint16_t flags = 0);
  // NBD_CMD_TRIM (a hint: the range may read back as anything afterwards).
  coroutine_fn int trim(std::uint32_t count, std::uint64_t offset, std::uint16_t flags = 0);
  // NBD_CMD_WRITE_ZEROES. Flags: kCmdFlagFua, kCmdFlagNoHole (keep the range
  // allocated), kCmdFlagFastZero (fail with -EOPNOTSUPP rather than write
  // zeroes slowly).
  coroutine_fn int write_zeroes(std::uint32_t count, std::uint64_t offset, std::uint16_t flags = 0);
  // NBD_CMD_CACHE (prefetch hint).
  coroutine_fn int cache(std::uint32_t count, std::uint64_t offset, std::uint16_t flags = 0);
  // NBD_CMD_BLOCK_STATUS for base:allocation: extents from offset, in order,
  // to the callback (see nbd/client/extent.hpp for what it may do) or
  // appended to *out (cleared first). The extents may end before offset +
  // count (the caller asks again from where they end) or, rarely, after it.
  // Flags: kCmdFlagReqOne (at most one extent).
  coroutine_fn int block_status(std::uint32_t count, std::uint64_t offset, ExtentCallback callback,
                                std::uint16_t flags = 0);
  coroutine_fn int block_status(std::uint32_t count, std::uint64_t offset, std::vector<Extent>* out,
                                std::uint16_t flags = 0);

  // --- closing ----------------------------------------------------------------------

  // Drains the requests in flight, sends NBD_CMD_DISC, closes. Returns 0 if
  // DISC was sent; -ENOTCONN if there was no connection; -EALREADY if
  // another coroutine is disconnecting (this one waits for it too); else
  // the error the connection died of.
  coroutine_fn int disconnect();
  // Closes at once; requests in flight fail with -ESHUTDOWN. Returns 0.
  coroutine_fn int close();

 private:
  int check(std::uint16_t type, std::uint16_t flags, std::uint64_t offset,
            std::uint64_t count) const;
  int fail(int err, std::string message);
  corolib::IoTimeout deadline() const;
  coroutine_fn int negotiate(int fd, std::string_view export_name, corolib::IoTimeout timeout);

  ClientOptions options_;
  NegotiatedExport export_;
  std::string error_;
  std::unique_ptr<client_detail::Connection> connection_;
};

}  // namespace nbd
