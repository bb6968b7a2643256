// Listener: the daemon's listening UNIX socket.
//
// Contract
// - Listener::create(path, mode, gid) binds and listens on `path`. The file is
//   created with permissions `mode` (world-writable bits are always cleared)
//   and, when gid is set, group gid; it is never reachable with looser
//   permissions, not even briefly (bound under a umask of 0177, then chmod).
//   An existing file at `path`:
//     a socket nobody listens on (connect: ECONNREFUSED) -> removed, replaced;
//     a socket someone listens on -> error "... is in use by another process";
//     anything else (regular file, directory) -> error, left alone.
//   Errors come back as one line naming the path and the problem; nothing is
//   left behind on failure.
// - Listener::adopt(fd) wraps a descriptor that is already listening (the
//   seam for systemd socket activation): the Listener then never unlinks a
//   file.
// - remove_file() unlinks the socket file if it is still the one this
//   Listener bound (same device and inode); the destructor closes the fd but
//   does not unlink (the daemon decides when).
// - Start-up code on the main thread; no logging.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

namespace corobd {

class Listener {
 public:
  struct Result {
    std::unique_ptr<Listener> listener;  // set on success
    std::string error;                   // one line, set on failure
  };

  static Result create(const std::string& path, mode_t mode, std::optional<gid_t> gid,
                       int backlog = 128);
  static std::unique_ptr<Listener> adopt(int fd, std::string description);

  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  int fd() const { return fd_; }
  // The socket path (or the description given to adopt()).
  const std::string& path() const { return path_; }
  bool owns_file() const { return owns_file_; }

  // Unlinks the socket file if this Listener created it and it is unchanged.
  // Returns true when it removed it.
  bool remove_file();
  // Closes the listening socket (idempotent).
  void close();

 private:
  Listener(int fd, std::string path, bool owns_file, dev_t dev, ino_t ino);

  int fd_ = -1;
  std::string path_;
  bool owns_file_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace corobd
