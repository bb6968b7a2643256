// corobd: the NBD block daemon. Takes a socket passed by systemd (socket
// activation; exit 1 with one line when it is unusable), parses the command
// line and config file (exit 2 with one line on invalid input, 0 for
// --help/--version) and runs the daemon (daemon/daemon.hpp: exit 0 after a
// clean shutdown, 1 when start-up or shutdown fails), telling systemd about
// it when NOTIFY_SOCKET is set (daemon/systemd_integration.hpp).
#include <unistd.h>

#include <cstdio>

#include "config/parse_config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/systemd_integration.hpp"

int main(int argc, char** argv) {
  corobd::systemd::ActivationSocket activation = corobd::systemd::take_activation_socket();
  if (!activation.error.empty()) {
    std::fprintf(stderr, "corobd: %s\n", activation.error.c_str());
    return corobd::kExitRuntime;
  }
  config::ParseOptions options;
  options.check_socket = !activation.activated;
  config::ParseResult parsed = config::parse_config(argc, argv, options);
  if (!parsed.ok()) {
    if (activation.fd >= 0) ::close(activation.fd);
    std::FILE* out = parsed.exit_code == 0 ? stdout : stderr;
    std::fprintf(out, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  corobd::DaemonHooks hooks;
  hooks.listen_fd = activation.fd;
  return corobd::run_daemon(*parsed.config, corobd::systemd::notify_hooks(hooks));
}
