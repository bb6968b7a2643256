// Connection: life cycle and the send path (the reply reader is in
// reply_reader.cpp). See connection.hpp.
#include "connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "stream_io.hpp"

namespace nbd::client_detail {
namespace {

constexpr std::size_t kMinReceiveBuffer = 16 * 1024;

}  // namespace

Connection::Connection(int fd, const NegotiatedExport& details, const ClientOptions& options,
                       std::string* error)
    : fd_(fd),
      details_(details),
      error_(error),
      table_(options.max_in_flight > 0 ? options.max_in_flight : 1),
      in_(fd, options.receive_buffer > kMinReceiveBuffer ? options.receive_buffer
                                                         : kMinReceiveBuffer) {}

Connection::~Connection() {
  if (reader_running_) {
    std::fprintf(stderr,
                 "nbd::Client destroyed while its connection is open: call disconnect() or "
                 "close() and let it return first\n");
    std::abort();
  }
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start() {
  reader_running_ = true;
  corolib::Coroutine* reader = corolib::create([this] { reader_main(); });
  corolib::enter(reader);
}

void Connection::fail(int err, std::string message) {
  if (failure_ == 0) {
    failure_ = err;
    *error_ = std::move(message);
  }
  if (!shut_ && fd_ >= 0) {
    shut_ = true;
    ::shutdown(fd_, SHUT_RDWR);
  }
}

coroutine_fn int Connection::execute(PendingRequest& req, const void* payload) {
  corolib::assert_in_coroutine("nbd::Client request");
  while (state_ == State::kUp && table_.full()) cookie_waiters_.wait();
  if (state_ != State::kUp) return -ENOTCONN;
  req.header.cookie = table_.insert(&req);

  std::array<std::byte, kRequestHeaderSize> raw;
  (void)encode_request(raw, req.header);
  iovec iov[2] = {{raw.data(), raw.size()},
                  {const_cast<void*>(payload), payload != nullptr ? req.header.length : 0}};
  send_mutex_.lock();
  // If the connection failed meanwhile, the reader fails this request too.
  if (!shut_) {
    const int r = send_all(fd_, iov, payload != nullptr ? 2 : 1);
    if (r == -EPIPE || r == -ECONNRESET) {
      fail(-ECONNRESET, "the server closed the connection (while a request was being sent)");
    } else if (r < 0) {
      fail(r, std::string("sending a request failed: ") + std::strerror(-r));
    }
  }
  send_mutex_.unlock();
  req.done.wait();
  return req.result;
}

coroutine_fn int Connection::disconnect() {
  corolib::assert_in_coroutine("nbd::Client::disconnect");
  int rc = 0;
  if (state_ == State::kUp) {
    state_ = State::kDisconnecting;
    cookie_waiters_.restart_all();  // they fail with -ENOTCONN
    while (!table_.empty() && state_ != State::kDown) idle_waiters_.wait();
    send_mutex_.lock();
    if (!shut_) {
      std::array<std::byte, kRequestHeaderSize> raw;
      Request disc;
      disc.type = kCmdDisc;
      (void)encode_request(raw, disc);
      iovec iov{raw.data(), raw.size()};
      rc = send_all(fd_, &iov, 1);
    } else {
      rc = failure_ != 0 ? failure_ : -ENOTCONN;
    }
    send_mutex_.unlock();
    fail(-ESHUTDOWN, "disconnected by the client");
  } else if (state_ == State::kDisconnecting) {
    rc = -EALREADY;  // another coroutine is disconnecting: wait for it
  } else {
    rc = -ENOTCONN;
  }
  if (reader_running_) reader_done_.wait();
  return rc;
}

coroutine_fn int Connection::close() {
  corolib::assert_in_coroutine("nbd::Client::close");
  fail(-ESHUTDOWN, "closed by the client");
  if (reader_running_) reader_done_.wait();
  return 0;
}

coroutine_fn void Connection::teardown() {
  state_ = State::kDown;
  if (failure_ == 0) failure_ = -ECONNRESET;
  const int code = failure_;
  table_.drain([code](PendingRequest* req) {
    req->result = code;
    req->done.set();
  });
  cookie_waiters_.restart_all();
  idle_waiters_.restart_all();
  if (!shut_) {
    shut_ = true;
    ::shutdown(fd_, SHUT_RDWR);
  }
  // A sender may still be inside sendmsg on fd_ (it fails fast now).
  send_mutex_.lock();
  ::close(fd_);
  fd_ = -1;
  send_mutex_.unlock();
}

}  // namespace nbd::client_detail
