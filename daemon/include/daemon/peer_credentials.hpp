// PeerCredentials: who is on the other end of a UNIX socket (SO_PEERCRED),
// for the connection log lines.
//
// Contract
// - peer_credentials(fd) never fails: on error the fields stay -1.
//   Any thread; one getsockopt(2), no I/O that blocks.
#pragma once

#include <string>

namespace corobd {

struct PeerCredentials {
  long pid = -1;
  long uid = -1;
  long gid = -1;
};

PeerCredentials peer_credentials(int fd);

// "pid=1234 uid=1000 gid=1000" ("pid=? ..." when unknown).
std::string to_string(const PeerCredentials& c);

}  // namespace corobd
