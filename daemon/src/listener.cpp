#include "daemon/listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace corobd {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

bool fill_address(const std::string& path, sockaddr_un* addr) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// 1: someone listens; 0: nobody does (stale); -errno: could not tell.
int probe(const sockaddr_un& addr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (r == 0) return 1;
  if (err == ECONNREFUSED || err == ENOENT) return 0;
  if (err == EAGAIN) return 1;  // backlog full: alive
  return -err;
}

}  // namespace

Listener::Listener(int fd, std::string path, bool owns_file, dev_t dev, ino_t ino)
    : fd_(fd), path_(std::move(path)), owns_file_(owns_file), dev_(dev), ino_(ino) {}

Listener::~Listener() { close(); }

void Listener::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::unique_ptr<Listener> Listener::adopt(int fd, std::string description) {
  return std::unique_ptr<Listener>(new Listener(fd, std::move(description), false, 0, 0));
}

Listener::Result Listener::create(const std::string& path, mode_t mode, std::optional<gid_t> gid,
                                  int backlog) {
  Result result;
  const std::string what = "socket " + path + ": ";
  sockaddr_un addr;
  if (!fill_address(path, &addr)) {
    result.error = what + "path too long for a UNIX socket (at most " +
                   std::to_string(sizeof addr.sun_path - 1) + " bytes)";
    return result;
  }
  mode &= 0777 & ~static_cast<mode_t>(S_IWOTH);

  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      result.error = what + "exists and is not a socket; refusing to replace it";
      return result;
    }
    int alive = probe(addr);
    if (alive == 1) {
      result.error = what + "is in use by another process (another corobd running?)";
      return result;
    }
    if (alive < 0) {
      result.error = what + "cannot tell whether it is in use: " + errno_text(-alive);
      return result;
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      result.error = what + "cannot remove stale socket: " + errno_text(errno);
      return result;
    }
  } else if (errno != ENOENT) {
    result.error = what + errno_text(errno);
    return result;
  }

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = what + "socket: " + errno_text(errno);
    return result;
  }
  mode_t old_mask = ::umask(0177);
  int r = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int bind_err = errno;
  ::umask(old_mask);
  if (r != 0) {
    ::close(fd);
    result.error = what + "bind: " + errno_text(bind_err);
    return result;
  }
  auto fail = [&](const std::string& step) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    result.error = what + step + ": " + errno_text(err);
  };
  if (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
    fail("chown to group " + std::to_string(*gid));
    return result;
  }
  if (::chmod(path.c_str(), mode) != 0) {
    fail("chmod");
    return result;
  }
  if (::listen(fd, backlog) != 0) {
    fail("listen");
    return result;
  }
  if (::lstat(path.c_str(), &st) != 0) {
    fail("stat");
    return result;
  }
  result.listener.reset(new Listener(fd, path, true, st.st_dev, st.st_ino));
  return result;
}

bool Listener::remove_file() {
  if (!owns_file_) return false;
  owns_file_ = false;
  struct stat st;
  if (::lstat(path_.c_str(), &st) != 0) return false;
  if (st.st_dev != dev_ || st.st_ino != ino_) return false;  // someone else's now
  return ::unlink(path_.c_str()) == 0;
}

}  // namespace corobd
