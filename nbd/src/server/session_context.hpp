// SessionContext: what the handshake and transmission phases of one
// connection share (private to the server implementation).
#pragma once

#include <cerrno>

#include "nbd/server/request_buffer_pool.hpp"
#include "nbd/server/server.hpp"
#include "nbd/server/server_options.hpp"
#include "nbd/server/session_result.hpp"

namespace nbd::server_detail {

struct SessionContext {
  Server& server;
  const ServerOptions& options;
  RequestBufferPool& pool;
  int fd = -1;
  SessionResult* result = nullptr;
  Server::Connection* connection = nullptr;

  // Records why the connection ends. A read that found the peer gone (0) is
  // classified as a shutdown when disconnect_all() closed the socket.
  void end(SessionEnd end, int error = 0) const {
    result->end = end;
    result->error = error;
  }
  void end_closed() const {
    end(server.disconnecting() ? SessionEnd::kShutdown : SessionEnd::kClientClosed);
  }
  // A failed recv/send: 0 or a reset means the peer (or disconnect_all())
  // closed the connection.
  void end_io(int ret) const {
    if (ret == 0 || ret == -ECONNRESET || ret == -EPIPE) {
      end_closed();
    } else {
      end(SessionEnd::kSocketError, ret);
    }
  }
};

}  // namespace nbd::server_detail
