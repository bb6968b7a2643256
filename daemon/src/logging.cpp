#include "daemon/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <systemd/sd-daemon.h>

#include <memory>
#include <string_view>

#include "daemon/systemd_integration.hpp"

namespace corobd {

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::trace: return spdlog::level::trace;
    case config::LogLevel::debug: return spdlog::level::debug;
    case config::LogLevel::info: return spdlog::level::info;
    case config::LogLevel::warn: return spdlog::level::warn;
    case config::LogLevel::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

namespace {

// %* in the journal pattern: the sd-daemon.h priority prefix ("<3>") that
// journald turns into the entry's PRIORITY=.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view p = priority(msg.level);
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }

 private:
  static std::string_view priority(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace:
      case spdlog::level::debug: return SD_DEBUG;
      case spdlog::level::info: return SD_INFO;
      case spdlog::level::warn: return SD_WARNING;
      case spdlog::level::err: return SD_ERR;
      case spdlog::level::critical: return SD_CRIT;
      default: return SD_INFO;
    }
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_formatter(bool journal) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (journal) {
    // journald adds the time, the identifier and the pid itself.
    f->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%l: %v");
  } else {
    f->set_pattern("%Y-%m-%d %H:%M:%S.%e corobd[%P] %l: %v");
  }
  return f;
}

void setup_logging(config::LogLevel level) {
  auto logger = spdlog::stderr_logger_mt("corobd");
  logger->set_formatter(make_formatter(systemd::journal_stream_is_stderr()));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  set_log_level(level);
}

void set_log_level(config::LogLevel level) { spdlog::set_level(to_spdlog(level)); }

}  // namespace corobd
