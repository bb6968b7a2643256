#include "daemon/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>

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

void setup_logging(config::LogLevel level) {
  auto logger = spdlog::stderr_logger_mt("corobd");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e corobd[%P] %l: %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  set_log_level(level);
}

void set_log_level(config::LogLevel level) { spdlog::set_level(to_spdlog(level)); }

}  // namespace corobd
