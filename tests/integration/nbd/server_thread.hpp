// ServerThread: an nbd::Server on an EventLoop in a thread of the test
// process, listening on a UNIX socket in a temporary directory — what the
// daemon will do, reduced to what the tests need.
//
// - The constructor starts the thread and returns once the socket listens.
// - Each accepted connection is served by Server::serve() in a coroutine of
//   its own; the SessionResult of every finished connection is kept, in
//   order of completion (results(), wait_results()).
// - stop() (and the destructor): disconnect_all(), stop accepting, wait for
//   every session, join. The loop is then destroyed on its thread.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "nbd/server/server.hpp"
#include "temp_dir.hpp"

namespace nbd_test {

using test_support::TempDir;

class ServerThread {
 public:
  explicit ServerThread(std::shared_ptr<const nbd::ExportRegistry> exports,
                        nbd::ServerOptions options = {})
      : ServerThread(std::make_shared<nbd::Server>(std::move(exports), std::move(options))) {}

  // Serves an existing Server (several ServerThreads may share one: one
  // Server, connections on several event loops).
  explicit ServerThread(std::shared_ptr<nbd::Server> server) : server_ptr_(std::move(server)) {
    socket_path_ = dir_.file("nbd.sock");
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path_.c_str());
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      ADD_FAILURE() << "cannot listen on " << socket_path_;
    }
    std::promise<void> ready;
    std::future<void> started = ready.get_future();
    thread_ = std::thread([this, &ready] { thread_main(ready); });
    started.wait();
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;
  ~ServerThread() { stop(); }

  const std::string& socket_path() const { return socket_path_; }
  std::string uri(const std::string& export_name = "") const {
    return "nbd+unix:///" + export_name + "?socket=" + socket_path_;
  }
  nbd::Server& server() { return server_; }
  const std::shared_ptr<nbd::Server>& shared_server() const { return server_ptr_; }

  // When set, new connections are refused (Server::refuse()).
  std::atomic<bool> refuse{false};

  std::vector<nbd::SessionResult> results() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return results_;
  }
  // Waits until at least n sessions have finished; returns them (fewer on
  // timeout).
  std::vector<nbd::SessionResult> wait_results(std::size_t n,
                                               std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, limit, [&] { return results_.size() >= n; });
    return results_;
  }
  // The last finished session (waits for one more than `before`).
  nbd::SessionResult wait_result(std::size_t index) {
    auto all = wait_results(index + 1);
    if (all.size() <= index) {
      ADD_FAILURE() << "session " << index << " did not finish";
      return {};
    }
    return all[index];
  }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    server_.disconnect_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    // Should shutdown(2) not wake the pending accept, a connection will.
    if (int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); fd >= 0) {
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path_.c_str());
      (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      ::close(fd);
    }
    thread_.join();
    ::close(listen_fd_);
    std::error_code ignored;
    std::filesystem::remove(socket_path_, ignored);
  }

 private:
  void thread_main(std::promise<void>& ready) {
    corolib::EventLoop loop;
    std::atomic<bool> accepting{true};
    loop.enter_soon(corolib::create([this, &accepting] { accept_loop(accepting); }));
    ready.set_value();
    loop.run_until([&] { return !accepting.load() && live_ == 0; });
    loop.shutdown();
  }

  coroutine_fn void accept_loop(std::atomic<bool>& accepting) {
    while (!stopping_.load()) {
      int fd = corolib::co_accept(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (fd == -EINTR || fd == -ECONNABORTED) continue;
        break;
      }
      ++live_;
      corolib::enter(corolib::create([this, fd] {
        nbd::SessionResult r = refuse.load() ? server_.refuse(fd) : server_.serve(fd);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          results_.push_back(std::move(r));
        }
        cv_.notify_all();
        --live_;
      }));
    }
    accepting.store(false);
  }

  TempDir dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  std::shared_ptr<nbd::Server> server_ptr_;
  nbd::Server& server_ = *server_ptr_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int live_ = 0;  // loop thread only

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<nbd::SessionResult> results_;
};

}  // namespace nbd_test
