#include "loadgen/progress_line.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace loadgen {
namespace {

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

std::string fixed(double v, int decimals) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string seconds(double s) {
  std::string out = fixed(s, s >= 10 ? 0 : 1);
  out.push_back('s');
  return out;
}

}  // namespace

std::string format_count(double v) {
  if (v < 1000) return fixed(v, v == static_cast<double>(static_cast<std::uint64_t>(v)) ? 0 : 1);
  if (v < 1e6) return fixed(v / 1e3, v < 1e4 ? 2 : (v < 1e5 ? 1 : 0)) + "k";
  if (v < 1e9) return fixed(v / 1e6, v < 1e7 ? 2 : (v < 1e8 ? 1 : 0)) + "M";
  return fixed(v / 1e9, 2) + "G";
}

std::string format_rate_bytes(double b) {
  if (b < 1024) return fixed(b, 0) + " B/s";
  if (b < 1024.0 * 1024) return fixed(b / 1024, 1) + " KiB/s";
  if (b < 1024.0 * 1024 * 1024) return fixed(b / (1024.0 * 1024), 1) + " MiB/s";
  return fixed(b / (1024.0 * 1024 * 1024), 2) + " GiB/s";
}

std::string format_latency(std::uint64_t ns) {
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) {
    return ns < 10000 ? fixed(static_cast<double>(ns) / 1e3, 2) + "us"
                      : fixed(static_cast<double>(ns) / 1e3, 0) + "us";
  }
  if (ns < 1000000000) return fixed(static_cast<double>(ns) / 1e6, 2) + "ms";
  return fixed(static_cast<double>(ns) / 1e9, 2) + "s";
}

ProgressLine::ProgressLine(int fd, bool enabled)
    : fd_(fd), enabled_(enabled), tty_(::isatty(fd) == 1) {}

bool ProgressLine::should_show(ProgressMode mode, int fd) {
  switch (mode) {
    case ProgressMode::kAlways: return true;
    case ProgressMode::kNever: return false;
    case ProgressMode::kAuto: return ::isatty(fd) == 1;
  }
  return false;
}

std::string ProgressLine::format(const ProgressSample& s) {
  std::string line = "[";
  if (s.ops_total != 0) {
    line += format_count(static_cast<double>(s.ops_done)) + " / " +
            format_count(static_cast<double>(s.ops_total)) + " ops";
  } else if (s.total_s > 0) {
    line += seconds(s.elapsed_s) + " / " + seconds(s.total_s);
  } else {
    line += seconds(s.elapsed_s);
  }
  line += "]";
  if (s.warming_up) line += " warmup";
  line += " " + format_count(s.iops) + " IOPS  " + format_rate_bytes(s.bytes_per_s);
  line += "  p99 " + (s.p99_ns == 0 ? std::string("-") : format_latency(s.p99_ns));
  line += "  errors " + std::to_string(s.errors);
  return line;
}

void ProgressLine::update(const ProgressSample& sample) {
  if (!enabled_) return;
  // Built by append: g++ 12 warns falsely (-Wrestrict, PR 105651) about "\r" + s.
  std::string line;
  if (tty_) line.push_back('\r');
  line.append(format(sample));
  line.append(tty_ ? "\033[K" : "\n");
  write_all(fd_, line);
  dirty_ = tty_;
}

void ProgressLine::finish() {
  if (!enabled_ || !dirty_) return;
  write_all(fd_, "\r\033[K");
  dirty_ = false;
}

}  // namespace loadgen
