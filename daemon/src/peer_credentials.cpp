#include "daemon/peer_credentials.hpp"

#include <sys/socket.h>

namespace corobd {

PeerCredentials peer_credentials(int fd) {
  PeerCredentials c;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred) {
    c.pid = cred.pid;
    c.uid = cred.uid;
    c.gid = cred.gid;
  }
  return c;
}

std::string to_string(const PeerCredentials& c) {
  auto f = [](long v) { return v < 0 ? std::string("?") : std::to_string(v); };
  return "pid=" + f(c.pid) + " uid=" + f(c.uid) + " gid=" + f(c.gid);
}

}  // namespace corobd
