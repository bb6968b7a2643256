// Tests of the scalar value parsers (config/values.hpp).
#include "config/values.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

#include <string>

namespace config {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// 'text', built by append: g++ 12 warns falsely (-Wrestrict, PR 105651) about "'" + s.
std::string quoted(std::string_view text) { return std::string("'").append(text).append("'"); }

TEST(ParseSize, PlainBytesAndPowersOf1024) {
  EXPECT_EQ(*parse_size("1").value, 1U);
  EXPECT_EQ(*parse_size("512").value, 512U);
  EXPECT_EQ(*parse_size("4k").value, 4096U);
  EXPECT_EQ(*parse_size("4K").value, 4096U);
  EXPECT_EQ(*parse_size("3M").value, 3ULL << 20);
  EXPECT_EQ(*parse_size("1G").value, 1ULL << 30);
  EXPECT_EQ(*parse_size("2T").value, 2ULL << 40);
  EXPECT_EQ(*parse_size("1P").value, 1ULL << 50);
  EXPECT_EQ(*parse_size("7E").value, 7ULL << 60);
  EXPECT_EQ(*parse_size("1g").value, 1ULL << 30);
  EXPECT_EQ(*parse_size("9223372036854775807").value, 9223372036854775807ULL);
}

TEST(ParseSize, RejectsWithAReason) {
  for (const char* bad : {"", "abc", "1.5G", "-1", "+1", "1GB", "1 G", " 1", "1 ", "G", "1x", "0x10", "1Gi"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r) << bad;
    EXPECT_NE(r.error.find("is not a size"), std::string::npos) << bad << ": " << r.error;
    EXPECT_NE(r.error.find("suffix k, M, G, T"), std::string::npos) << r.error;
  }
  EXPECT_NE(parse_size("0").error.find("'0' is zero"), std::string::npos);
  EXPECT_NE(parse_size("0G").error.find("zero"), std::string::npos);
  EXPECT_NE(parse_size("8E").error.find("too large"), std::string::npos);
  EXPECT_NE(parse_size("9223372036854775808").error.find("too large"), std::string::npos);
  EXPECT_NE(parse_size("99999999999999999999999").error.find("too large"), std::string::npos);
  EXPECT_NE(parse_size("8388608T").error.find("too large"), std::string::npos);
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(*parse_duration("500ms").value, milliseconds(500));
  EXPECT_EQ(*parse_duration("10s").value, milliseconds(10'000));
  EXPECT_EQ(*parse_duration("10").value, milliseconds(10'000));  // bare: seconds
  EXPECT_EQ(*parse_duration("2m").value, milliseconds(120'000));
  EXPECT_EQ(*parse_duration("1h").value, milliseconds(3'600'000));
  EXPECT_EQ(*parse_duration("24h").value, milliseconds(86'400'000));
  EXPECT_EQ(*parse_duration("1ms").value, milliseconds(1));
}

TEST(ParseDuration, Rejects) {
  for (const char* bad : {"", "s", "10sec", "1.5s", "-1s", "10 s", "10S", "2min", "1d", "ms10"}) {
    auto r = parse_duration(bad);
    EXPECT_FALSE(r) << bad;
    EXPECT_NE(r.error.find("is not a duration"), std::string::npos) << bad << ": " << r.error;
    EXPECT_NE(r.error.find("500ms, 10s, 2m"), std::string::npos) << r.error;
  }
  EXPECT_NE(parse_duration("0").error.find("zero"), std::string::npos);
  EXPECT_NE(parse_duration("0ms").error.find("zero"), std::string::npos);
  EXPECT_NE(parse_duration("25h").error.find("too long"), std::string::npos);
  EXPECT_NE(parse_duration("86400001ms").error.find("too long"), std::string::npos);
  EXPECT_NE(parse_duration("99999999999999999999999").error.find("too long"), std::string::npos);
}

TEST(ParseDuration, MicrosecondsAreNotADurationUnit) {
  // Only --batch-wait takes us; the other durations keep their units and message.
  for (const char* bad : {"1us", "1000us", "0us"}) {
    EXPECT_EQ(parse_duration(bad).error, quoted(bad) +
                                             " is not a duration (expected a number with unit ms, s, m or h, e.g. "
                                             "500ms, 10s, 2m)");
  }
}

TEST(ParseBatchWait, ModesAndHolds) {
  EXPECT_EQ(parse_batch_wait("auto").value->mode, BatchWaitMode::kAuto);
  EXPECT_EQ(parse_batch_wait("auto").value->delay, microseconds(30));
  EXPECT_EQ(parse_batch_wait("off").value->mode, BatchWaitMode::kOff);
  const std::pair<const char*, microseconds> holds[] = {
      {"1us", microseconds(1)},       {"10us", microseconds(10)},       {"50us", microseconds(50)},
      {"1ms", microseconds(1'000)},   {"1500us", microseconds(1'500)},  {"10ms", microseconds(10'000)},
      {"10000us", microseconds(10'000)},
  };
  for (const auto& [text, hold] : holds) {
    auto r = parse_batch_wait(text);
    ASSERT_TRUE(r) << text << ": " << r.error;
    EXPECT_EQ(r.value->mode, BatchWaitMode::kFixed) << text;
    EXPECT_EQ(r.value->delay, hold) << text;
  }
}

TEST(ParseBatchWait, Rejects) {
  for (const char* bad : {"", "fast", "AUTO", "on", "1.5ms", "10 us", "10µs", "10usec", "us", "-1us", "1d"}) {
    auto r = parse_batch_wait(bad);
    EXPECT_FALSE(r) << bad;
    EXPECT_EQ(r.error, quoted(bad) +
                           " is not auto, off or a duration (expected auto, off, or 1us to 10ms, e.g. 10us, "
                           "50us, 1ms)");
  }
  for (const char* zero : {"0", "0us", "0ms", "0s"}) {
    EXPECT_EQ(parse_batch_wait(zero).error, quoted(zero) + " is zero (use off to never wait)");
  }
  // Up to 10ms; a bare number means seconds, as in every duration.
  for (const char* big : {"10001us", "11ms", "20ms", "1s", "1", "1h", "99999999999999999999999us",
                          "18446744073709551615ms"}) {
    EXPECT_EQ(parse_batch_wait(big).error, quoted(big) + " is too long (at most 10ms)");
  }
}

TEST(ParseSocketMode, OctalForms) {
  EXPECT_EQ(*parse_socket_mode("0660").value, 0660U);
  EXPECT_EQ(*parse_socket_mode("660").value, 0660U);
  EXPECT_EQ(*parse_socket_mode("0o640").value, 0640U);
  EXPECT_EQ(*parse_socket_mode("0600").value, 0600U);
  EXPECT_EQ(*parse_socket_mode("0664").value, 0664U);  // world-readable is harmless
  EXPECT_EQ(*parse_socket_mode("0775").value, 0775U);
  EXPECT_EQ(*parse_socket_mode("0").value, 0U);
}

TEST(ParseSocketMode, RejectsWorldWritableAndNonOctal) {
  for (const char* ww : {"0666", "0662", "0777", "0o002", "2", "0602"}) {
    auto r = parse_socket_mode(ww);
    EXPECT_FALSE(r) << ww;
    EXPECT_NE(r.error.find("world-writable"), std::string::npos) << r.error;
  }
  for (const char* bad : {"", "8", "0x1b0", "rw-rw----", "06600", "-660", "0o", "0o8", "066 "}) {
    auto r = parse_socket_mode(bad);
    EXPECT_FALSE(r) << bad;
    EXPECT_NE(r.error.find("not an octal mode"), std::string::npos) << bad << ": " << r.error;
  }
  EXPECT_NE(parse_socket_mode("4660").error.find("beyond 0777"), std::string::npos);
  EXPECT_NE(parse_socket_mode("1660").error.find("beyond 0777"), std::string::npos);
}

TEST(ParseCount, Range) {
  EXPECT_EQ(*parse_count("1", 1, 10).value, 1U);
  EXPECT_EQ(*parse_count("10", 1, 10).value, 10U);
  EXPECT_NE(parse_count("0", 1, 10).error.find("'0' is out of range (expected an integer from 1 to 10)"),
            std::string::npos);
  EXPECT_NE(parse_count("11", 1, 10).error.find("out of range"), std::string::npos);
  EXPECT_NE(parse_count("99999999999999999999999", 1, 10).error.find("out of range"), std::string::npos);
  for (const char* bad : {"", "x", "-1", "1.0", "1k", " 1", "0x5"}) {
    EXPECT_NE(parse_count(bad, 1, 10).error.find("is not a number"), std::string::npos) << bad;
  }
}

TEST(ParseOnOff, OnlyOnAndOff) {
  EXPECT_TRUE(*parse_on_off("on").value);
  EXPECT_FALSE(*parse_on_off("off").value);
  for (const char* bad : {"", "yes", "true", "1", "ON", "Off"}) {
    EXPECT_NE(parse_on_off(bad).error.find("is not on or off"), std::string::npos) << bad;
  }
}

TEST(ParseLogLevel, Names) {
  EXPECT_EQ(*parse_log_level("trace").value, LogLevel::trace);
  EXPECT_EQ(*parse_log_level("debug").value, LogLevel::debug);
  EXPECT_EQ(*parse_log_level("info").value, LogLevel::info);
  EXPECT_EQ(*parse_log_level("warn").value, LogLevel::warn);
  EXPECT_EQ(*parse_log_level("error").value, LogLevel::error);
  for (const char* bad : {"", "INFO", "warning", "critical", "off"}) {
    EXPECT_NE(parse_log_level(bad).error.find("expected trace, debug, info, warn or error"), std::string::npos);
  }
  for (LogLevel l : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    EXPECT_EQ(*parse_log_level(to_string(l)).value, l);
  }
}

TEST(Format, RoundTripsForLogs) {
  EXPECT_EQ(format_size(1), "1 bytes");
  EXPECT_EQ(format_size(1536), "1536 bytes");
  EXPECT_EQ(format_size(4096), "4 KiB");
  EXPECT_EQ(format_size(1ULL << 30), "1 GiB");
  EXPECT_EQ(format_size(3ULL << 40), "3 TiB");
  EXPECT_EQ(format_size(7ULL << 60), "7 EiB");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(10'000)), "10s");
  EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(1'500)), "1500ms");
  EXPECT_EQ(format_batch_wait(BatchWait{}), "auto");
  EXPECT_EQ(format_batch_wait(BatchWait{.mode = BatchWaitMode::kOff}), "off");
  EXPECT_EQ(format_batch_wait(BatchWait{.mode = BatchWaitMode::kFixed, .delay = microseconds(50)}), "50us");
  EXPECT_EQ(format_batch_wait(BatchWait{.mode = BatchWaitMode::kFixed, .delay = microseconds(1'500)}), "1500us");
  EXPECT_EQ(format_batch_wait(BatchWait{.mode = BatchWaitMode::kFixed, .delay = microseconds(1'000)}), "1ms");
  EXPECT_EQ(format_batch_wait(BatchWait{.mode = BatchWaitMode::kFixed, .delay = microseconds(10'000)}), "10ms");
  for (const char* text : {"auto", "off", "1us", "50us", "1ms", "1500us", "10ms"}) {
    EXPECT_EQ(format_batch_wait(*parse_batch_wait(text).value), text);
  }
  EXPECT_EQ(format_mode(0660), "0660");
  EXPECT_EQ(format_mode(0), "0000");
  EXPECT_EQ(format_mode(0755), "0755");
}

}  // namespace
}  // namespace config
