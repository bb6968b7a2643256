// Connection: one negotiated NBD connection in the transmission phase: the
// send path, the cookie table, the reply-reader coroutine and the teardown
// (private to nbd_client; nbd::Client is its public face).
//
// Contract
// - Constructed on a socket that finished the handshake; start() creates
//   the reply-reader coroutine and runs it until it first waits for the
//   socket. All on one thread, whose EventLoop serves every coroutine_fn.
// - execute() sends one request and waits for its reply (see client.hpp for
//   the semantics). Request state lives in the caller's PendingRequest.
// - States: up -> (disconnecting ->) down. The connection goes down when
//   the reader stops: the server closed the socket, a socket error, a
//   protocol violation (the reader stops at once), or fail() from a sender
//   or from close()/disconnect(), which shut the socket down so the
//   reader's recv returns. Only the reader completes requests and tears
//   down, so no READ buffer is ever written after its request returned:
//   on its way out it fails every request still in the table with the
//   first failure recorded, wakes every waiter, waits for the send mutex
//   (no sendmsg may still use the descriptor) and closes the socket.
// - The destructor aborts if the reader still runs; it is safe once
//   reader_running() is false (after disconnect()/close() returned, or the
//   connection went down and the reader finished).
#pragma once

#include <cstdint>
#include <string>

#include "cookie_table.hpp"
#include "corolib/co_event.hpp"
#include "corolib/co_mutex.hpp"
#include "corolib/co_queue.hpp"
#include "corolib/coroutine.hpp"
#include "nbd/client/client_options.hpp"
#include "nbd/client/negotiated_export.hpp"
#include "nbd/transmission_wire.hpp"
#include "pending_request.hpp"
#include "recv_buffer.hpp"

namespace nbd::client_detail {

class Connection {
 public:
  // Takes ownership of fd. *error receives the reason the connection went
  // down; it must outlive the Connection.
  Connection(int fd, const NegotiatedExport& details, const ClientOptions& options,
             std::string* error);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void start();

  // Sends req (and payload, header.length bytes, for WRITE) and waits for
  // the reply. Returns req.result, or -ENOTCONN without sending.
  coroutine_fn int execute(PendingRequest& req, const void* payload);

  coroutine_fn int disconnect();
  coroutine_fn int close();

  bool up() const { return state_ == State::kUp; }
  bool reader_running() const { return reader_running_; }
  std::uint32_t in_flight() const { return table_.size(); }

 private:
  enum class State : std::uint8_t { kUp, kDisconnecting, kDown };

  // Records the first failure (err, message) and shuts the socket down so
  // the reader stops. Idempotent; any coroutine.
  void fail(int err, std::string message);

  // --- the reply reader (reply_reader.cpp) ---
  coroutine_fn void reader_main();
  // One reply or chunk; 0, or -errno once the connection must go down.
  coroutine_fn int read_reply();
  coroutine_fn int on_simple_reply(const SimpleReply& reply);
  coroutine_fn int on_chunk(const ChunkHeader& header);
  coroutine_fn int on_offset_data(PendingRequest& req, const ChunkHeader& header);
  coroutine_fn int on_offset_hole(PendingRequest& req, const ChunkHeader& header);
  coroutine_fn int on_block_status(PendingRequest& req, const ChunkHeader& header);
  coroutine_fn int on_error_chunk(PendingRequest& req, const ChunkHeader& header);
  // Finishes req with result: frees its cookie, wakes it and one coroutine
  // waiting for a cookie.
  void complete(PendingRequest& req, int result);
  // A protocol violation: fail(-EIO, ...); returns -EIO.
  int violation(std::string message);
  // The socket failed or reached EOF (err from RecvBuffer).
  int lost(int err);
  coroutine_fn void teardown();

  int fd_;
  NegotiatedExport details_;
  std::string* error_;
  State state_ = State::kUp;
  bool shut_ = false;  // shutdown(2) done: nothing more goes out
  int failure_ = 0;    // the first failure, for requests in flight
  bool reader_running_ = false;

  CookieTable<PendingRequest> table_;
  RecvBuffer in_;
  corolib::CoMutex send_mutex_;
  corolib::CoQueue cookie_waiters_;  // waiting for a free cookie
  corolib::CoQueue idle_waiters_;    // disconnect() waiting for the table to empty
  corolib::CoEvent reader_done_;
};

}  // namespace nbd::client_detail
