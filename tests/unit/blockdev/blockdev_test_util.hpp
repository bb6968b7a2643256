// Helpers for the blockdev tests: a scratch directory on a disk file system
// (O_DIRECT capable), and coroutines run to completion on an EventLoop.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/event_loop.hpp"

namespace blockdev_test {

// A directory removed (with its contents) at destruction. Under
// $COROBD_TEST_DIR, else $TMPDIR, else /var/tmp: a disk file system, since
// the cache=none tests need O_DIRECT (tmpfs before Linux 6.6 has none).
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("COROBD_TEST_DIR");
    if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
    if (base == nullptr || *base == '\0') base = "/var/tmp";
    std::string pattern = std::string(base) + "/corobd-blockdev-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp in " << base << " failed";
      pattern = "/tmp";
    }
    path_ = pattern;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// True when files in dir can be opened with O_DIRECT.
inline bool supports_o_direct(const std::string& dir) {
  const std::string probe = dir + "/.odirect-probe";
  int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

// The whole contents of a file, read with plain pread (independent of the
// code under test).
inline std::vector<unsigned char> read_file(const std::string& path) {
  std::vector<unsigned char> data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path;
    return data;
  }
  struct stat st {};
  ::fstat(fd, &st);
  data.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return data;
}

inline void write_file(const std::string& path, const std::vector<unsigned char>& data) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

inline std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

// An EventLoop on the calling thread; spawn() starts coroutines (entered at
// once, running until their first yield), run() iterates the loop until
// every spawned coroutine has returned.
class LoopRunner {
 public:
  void spawn(std::function<void()> fn) {
    ++pending_;
    fns_.push_back(std::make_unique<std::function<void()>>(std::move(fn)));
    std::function<void()>* f = fns_.back().get();
    corolib::enter(corolib::create([this, f] {
      (*f)();
      --pending_;
    }));
  }
  void run() {
    loop_.run_until([this] { return pending_ == 0; });
  }
  // spawn(fn) + run().
  void run(std::function<void()> fn) {
    spawn(std::move(fn));
    run();
  }
  corolib::EventLoop& loop() { return loop_; }
  int pending() const { return pending_; }

 private:
  corolib::EventLoop loop_;
  int pending_ = 0;
  std::vector<std::unique_ptr<std::function<void()>>> fns_;
};

// A recognisable byte for position pos of write number seq.
inline unsigned char pattern_byte(std::uint64_t seq, std::uint64_t pos) {
  std::uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15ull ^ (pos * 0xbf58476d1ce4e5b9ull);
  x ^= x >> 29;
  return static_cast<unsigned char>(x | 1);  // never 0: zeroes mean "not written"
}

inline std::vector<unsigned char> pattern(std::uint64_t seq, std::uint64_t offset,
                                          std::size_t length) {
  std::vector<unsigned char> v(length);
  for (std::size_t i = 0; i < length; ++i) v[i] = pattern_byte(seq, offset + i);
  return v;
}

inline bool all_zero(const unsigned char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace blockdev_test
