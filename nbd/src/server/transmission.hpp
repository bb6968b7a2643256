// Transmission: the request loop of one connection (private to the server
// implementation).
//
// Contract
// - run() is the connection's receiving coroutine: it takes each 28-byte
//   request header from the RequestReader (one recv brings in every request
//   the client has sent; a WRITE's payload is copied or received into the
//   request's pooled buffer), checks the request (check_request()), and
//   starts a pooled coroutine for it; then it goes back to reading. A
//   request coroutine calls the device, hands its whole reply (header and
//   data iovecs) to the ReplySender and waits until it is sent (the replies
//   finished in one loop iteration leave in one sendmsg), then returns its
//   buffer and terminates.
// - Backpressure: run() stops reading while max_requests_in_flight requests
//   are in flight, or while a new request's buffer would push the payload
//   bytes in flight over max_bytes_in_flight (unless nothing is in flight);
//   it waits on a CoQueue that every finishing request wakes.
// - run() returns after NBD_CMD_DISC, end of stream, a socket error, a bad
//   request magic or an undrainable payload, once every request it started
//   has finished. If a reply cannot be sent the socket is shut down, so the
//   receiver stops too; the remaining requests finish without replying.
// - Everything runs on the thread of the connection's EventLoop; the request
//   coroutines are entered from run() and re-entered by the loop.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "blockdev/block_device.hpp"
#include "corolib/co_queue.hpp"
#include "corolib/coroutine.hpp"
#include "handshake.hpp"
#include "nbd/server/request_check.hpp"
#include "nbd/transmission_wire.hpp"
#include "reply_sender.hpp"
#include "request_reader.hpp"
#include "session_context.hpp"

namespace nbd::server_detail {

class Transmission {
 public:
  Transmission(const SessionContext& ctx, const Negotiated& negotiated);
  Transmission(const Transmission&) = delete;
  Transmission& operator=(const Transmission&) = delete;

  coroutine_fn void run();

 private:
  // One request, handed to its coroutine by value (fits the coroutine's
  // inline callable storage: no allocation).
  struct Job {
    Request req;
    RequestVerdict verdict;
    RequestBuffer buffer;
  };

  coroutine_fn bool receive_one(RequestReader& reader);
  coroutine_fn void wait_for_room(std::uint64_t bytes);
  void start(Job job);
  coroutine_fn void serve(Job& job);
  void finish(Job& job);

  // Command bodies. They send the reply themselves.
  coroutine_fn void do_read(Job& job);
  coroutine_fn void do_block_status(Job& job);
  coroutine_fn int do_simple_command(const Job& job);

  // Replies.
  coroutine_fn void send_reply(iovec* iov, int count);
  coroutine_fn void reply_ok(const Request& req);
  coroutine_fn void reply_error(const Request& req, std::uint32_t error, const char* message);
  coroutine_fn void reply_errno(const Request& req, int err) {
    reply_error(req, errno_to_nbd(err), "");
  }
  void note_send_failure(int ret);

  std::uint64_t payload_bytes(const Request& req) const;

  const SessionContext& ctx_;
  std::shared_ptr<const Export> exp_;
  blockdev::BlockDevice& device_;
  RequestPolicy policy_;
  const bool structured_;
  const bool sparse_reads_;
  const std::uint32_t sparse_read_min_;
  SessionCounters& counters_;
  const std::uint32_t max_in_flight_;
  const std::uint64_t max_bytes_in_flight_;

  ReplySender sender_;
  corolib::CoQueue receiver_;  // the receiving coroutine waits here
  std::uint32_t in_flight_ = 0;
  std::uint64_t bytes_in_flight_ = 0;
  bool send_failed_ = false;
  int send_error_ = 0;
};

}  // namespace nbd::server_detail
