// corobd-load: parses the command line and runs the load (see
// loadgen/options.hpp for the command line, loadgen/runner.hpp for what a
// run does, loadgen/report.hpp for the output, loadgen/exit_status.hpp for
// the exit statuses).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <string>

#include "loadgen/exit_status.hpp"
#include "loadgen/nbd_target.hpp"
#include "loadgen/options.hpp"
#include "loadgen/progress_line.hpp"
#include "loadgen/report.hpp"
#include "loadgen/runner.hpp"

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted.store(true); }

void print(FILE* f, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), f);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', f);
  std::fflush(f);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loadgen;
  const ParsedOptions parsed = parse_options(argc, argv);
  if (parsed.exit_code >= 0) {
    print(parsed.exit_code == 0 ? stdout : stderr, parsed.output);
    return parsed.exit_code;
  }
  const Options& options = parsed.options;

  // The first SIGINT/SIGTERM ends the run cleanly (report, state saved);
  // a second one kills (SA_RESETHAND).
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  ProgressLine progress(STDERR_FILENO, ProgressLine::should_show(options.progress, STDERR_FILENO));
  NbdTargetFactory factory(options.nbd_uri);
  RunResult result;
  try {
    Runner runner(options, &factory, &progress, &g_interrupted);
    result = runner.run();
  } catch (const std::exception& e) {
    print(stderr, std::string("corobd-load: cannot run: ") + e.what());
    return kExitFailed;
  }

  if (!result.error.empty()) print(stderr, "corobd-load: " + result.error);
  for (const std::string& m : result.mismatches) print(stderr, "corobd-load: " + m);
  if (result.stats->mismatches > result.mismatches.size()) {
    print(stderr, "corobd-load: verify: " +
                      std::to_string(result.stats->mismatches - result.mismatches.size()) +
                      " more mismatches not shown");
  }
  if (!result.state_error.empty()) print(stderr, "corobd-load: --resume: " + result.state_error);

  if (options.json) {
    print(stdout, format_json_report(options, result));
  } else if (result.exit_code != kExitBadArguments && result.exit_code != kExitConnectFailed) {
    print(stdout, format_text_report(options, result));
  }
  return result.exit_code;
}
