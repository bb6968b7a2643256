// ServerStats: totals over every connection of a Server, for the daemon's
// periodic or shutdown log line.
//
// Contract
// - A snapshot returned by Server::stats(), callable from any thread.
// - Connection and request counts are live (each connection publishes its
//   own request count; stats() adds them up). Error and byte totals include
//   a connection's counters once it has ended (added up at the end of each
//   connection: no shared cache line on the hot path).
#pragma once

#include <cstdint>

namespace nbd {

struct ServerStats {
  std::uint64_t connections = 0;         // serve() calls so far
  std::uint64_t active_connections = 0;  // serve() calls running now
  std::uint64_t negotiated = 0;          // connections that reached transmission
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
};

}  // namespace nbd
