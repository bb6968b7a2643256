// corobd: the NBD block daemon. Parses the command line and config file
// (exit 2 with one line on invalid input, 0 for --help/--version) and runs
// the daemon (daemon/daemon.hpp: exit 0 after a clean shutdown, 1 when
// start-up or shutdown fails).
#include <cstdio>

#include "config/parse_config.hpp"
#include "daemon/daemon.hpp"

int main(int argc, char** argv) {
  config::ParseResult parsed = config::parse_config(argc, argv);
  if (!parsed.ok()) {
    std::FILE* out = parsed.exit_code == 0 ? stdout : stderr;
    std::fprintf(out, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  return corobd::run_daemon(*parsed.config);
}
