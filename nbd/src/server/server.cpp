#include "nbd/server/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <stdexcept>
#include <utility>

#include "handshake.hpp"
#include "session_context.hpp"
#include "transmission.hpp"

namespace nbd {

Server::Server(std::shared_ptr<const ExportRegistry> exports, ServerOptions options)
    : options_(std::move(options)), pool_(options_.buffer_cache_bytes), exports_(std::move(exports)) {
  if (exports_ == nullptr) throw std::invalid_argument("nbd server: no export registry");
  if (options_.max_requests_in_flight == 0) {
    throw std::invalid_argument("nbd server: max_requests_in_flight must be at least 1");
  }
  if (options_.max_bytes_in_flight == 0) {
    throw std::invalid_argument("nbd server: max_bytes_in_flight must be at least 1");
  }
  if (options_.handshake_timeout.count() < 0) {
    throw std::invalid_argument("nbd server: handshake_timeout must not be negative");
  }
}

Server::~Server() { assert(connections_ == nullptr && "nbd::Server destroyed while serving"); }

coroutine_fn SessionResult Server::serve(int fd) { return run(fd, false); }

coroutine_fn SessionResult Server::refuse(int fd) { return run(fd, true); }

coroutine_fn SessionResult Server::run(int fd, bool refusing) {
  corolib::assert_in_coroutine("nbd::Server::serve");
  connections_total_.fetch_add(1, std::memory_order_relaxed);
  SessionResult result;
  Connection connection;
  connection.fd = fd;
  std::shared_ptr<const ExportRegistry> exports;
  if (attach(&connection)) {
    exports = this->exports();
    server_detail::SessionContext ctx{*this, options_, pool_, fd, &result, &connection};
    server_detail::Negotiated negotiated;
    bool transmission = false;
    {
      server_detail::Handshake handshake(ctx, *exports, refusing);
      transmission = handshake.run(&negotiated);
    }  // its buffers go back to the pool here
    if (transmission) {
      result.negotiated = true;
      result.info = negotiated.info;
      negotiated_.fetch_add(1, std::memory_order_relaxed);
      if (options_.on_negotiated) options_.on_negotiated(result.info);
      server_detail::Transmission session(ctx, negotiated);
      session.run();
    }
    detach(&connection);
  } else {
    result.end = SessionEnd::kShutdown;
  }
  ::close(fd);
  account(result);
  return result;
}

bool Server::attach(Connection* c) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (disconnecting_.load(std::memory_order_relaxed)) return false;
  c->prev = nullptr;
  c->next = connections_;
  if (connections_ != nullptr) connections_->prev = c;
  connections_ = c;
  ++active_;
  return true;
}

void Server::detach(Connection* c) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else {
    connections_ = c->next;
  }
  if (c->next != nullptr) c->next->prev = c->prev;
  --active_;
  requests_.fetch_add(c->requests.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void Server::account(const SessionResult& r) {
  errors_.fetch_add(r.counters.errors, std::memory_order_relaxed);
  bytes_read_.fetch_add(r.counters.bytes_read, std::memory_order_relaxed);
  bytes_written_.fetch_add(r.counters.bytes_written, std::memory_order_relaxed);
}

void Server::set_exports(std::shared_ptr<const ExportRegistry> exports) {
  if (exports == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  exports_ = std::move(exports);
}

std::shared_ptr<const ExportRegistry> Server::exports() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exports_;
}

void Server::request_shutdown() { shutdown_requested_.store(true, std::memory_order_relaxed); }

void Server::disconnect_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  disconnecting_.store(true, std::memory_order_release);
  for (Connection* c = connections_; c != nullptr; c = c->next) ::shutdown(c->fd, SHUT_RDWR);
}

void Server::set_receive_delay(std::chrono::microseconds delay) {
  receive_delay_us_.store(delay.count() > 0 ? delay.count() : 0, std::memory_order_relaxed);
}

ServerStats Server::stats() const {
  ServerStats s;
  s.connections = connections_total_.load(std::memory_order_relaxed);
  s.active_connections = active_connections();
  s.negotiated = negotiated_.load(std::memory_order_relaxed);
  {
    // Ended connections were added to requests_ by detach(), under the lock.
    std::lock_guard<std::mutex> lock(mutex_);
    s.requests = requests_.load(std::memory_order_relaxed);
    for (const Connection* c = connections_; c != nullptr; c = c->next) {
      s.requests += c->requests.load(std::memory_order_relaxed);
    }
  }
  s.errors = errors_.load(std::memory_order_relaxed);
  s.bytes_read = bytes_read_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  return s;
}

std::size_t Server::active_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return active_;
}

}  // namespace nbd
