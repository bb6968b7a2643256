#include "loadgen/report.hpp"

#include <cstring>

#include "json_writer.hpp"
#include "loadgen/progress_line.hpp"

namespace loadgen {
namespace {

constexpr OpType kTypes[] = {OpType::kRead, OpType::kWrite, OpType::kFlush};

double per_second(std::uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

std::string bytes_text(std::uint64_t b) {
  char text[64];
  if (b >= (1ull << 30) && b % (1ull << 30) == 0) {
    std::snprintf(text, sizeof text, "%llu GiB", static_cast<unsigned long long>(b >> 30));
  } else if (b >= (1ull << 20) && b % (1ull << 20) == 0) {
    std::snprintf(text, sizeof text, "%llu MiB", static_cast<unsigned long long>(b >> 20));
  } else if (b >= 1024 && b % 1024 == 0) {
    std::snprintf(text, sizeof text, "%llu KiB", static_cast<unsigned long long>(b >> 10));
  } else {
    std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(b));
  }
  return text;
}

std::string fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string describe_workload(const Options& o) {
  std::string s(to_string(o.pattern));
  if (pattern_mixed(o.pattern)) s += " (" + std::to_string(o.read_percent) + "% reads)";
  return s;
}

}  // namespace

std::string errno_name(int err) {
  if (err == 0) return "other";
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? name : "E" + std::to_string(err);
}

std::string format_text_report(const Options& o, const RunResult& r) {
  std::string out;
  out += "corobd-load: " + describe_workload(o) + ", bs=" + std::to_string(o.block_size) +
         ", qd=" + std::to_string(o.queue_depth) + ", conns=" + std::to_string(o.connections) +
         ", range=" + bytes_text(r.range) + " at offset " + std::to_string(o.offset) +
         ", seed=" + std::to_string(r.seed);
  if (o.rate != 0) out += ", rate=" + std::to_string(o.rate) + " IOPS";
  if (o.fua) out += ", fua";
  if (o.flush_every != 0) out += ", flush every " + std::to_string(o.flush_every) + " writes";
  if (o.verify) out += ", verify";
  out += "\n";
  if (r.info.size != 0) {
    out += "export: " + std::to_string(r.info.size) + " bytes (" + bytes_text(r.info.size) + ")";
    if (r.info.min_block > 1) out += ", min block " + std::to_string(r.info.min_block);
    if (r.info.read_only) out += ", read-only";
    if (r.info.multi_conn) out += ", multi-conn";
    out += "\n";
  }
  if (!r.error.empty()) {
    out += "error: " + r.error + "\n";
    return out;
  }
  const RunStats& s = *r.stats;
  if (r.workload_ran) {
    out += "measured " + fixed(r.elapsed_s, 2) + "s";
    if (o.warmup.count() != 0) out += " after " + fixed(static_cast<double>(o.warmup.count()) / 1000, 2) + "s warmup";
    if (r.interrupted) out += " (interrupted)";
    out += "\n";
    for (OpType t : kTypes) {
      const OpStats& op = s.op(t);
      if (op.ops == 0 && op.errors == 0) continue;
      const std::string name(to_string(t));
      out += "  " + name + std::string(6 - name.size(), ' ') + ": IOPS=" +
             format_count(per_second(op.ops, r.elapsed_s));
      if (t != OpType::kFlush) {
        const double bw = per_second(op.bytes, r.elapsed_s);
        out += ", BW=" + format_rate_bytes(bw) + " (" + fixed(bw / 1e6, 1) + " MB/s)";
      }
      out += ", " + std::to_string(op.ops) + " ops";
      if (op.errors != 0) out += ", " + std::to_string(op.errors) + " errors";
      out += "\n";
      if (op.ops != 0) {
        const LatencyHistogram& h = op.latency;
        out += "    lat: min=" + format_latency(h.min()) +
               " avg=" + format_latency(static_cast<std::uint64_t>(h.mean() + 0.5)) +
               " max=" + format_latency(h.max()) + "\n";
        out += "    lat percentiles: p50=" + format_latency(h.percentile(50)) +
               " p90=" + format_latency(h.percentile(90)) +
               " p99=" + format_latency(h.percentile(99)) +
               " p99.9=" + format_latency(h.percentile(99.9)) + "\n";
      }
    }
    const double total_bw = per_second(s.total_bytes(), r.elapsed_s);
    out += "  total : IOPS=" + format_count(per_second(s.total_ops(), r.elapsed_s)) +
           ", BW=" + format_rate_bytes(total_bw) + " (" + fixed(total_bw / 1e6, 1) + " MB/s), " +
           std::to_string(s.total_ops()) + " ops\n";
    if (o.rate != 0) {
      out += "  rate  : target " + std::to_string(o.rate) + " IOPS, " + std::to_string(s.ops_late) +
             " requests issued over 1 ms late\n";
    }
    const double cpu = r.cpu_user_s + r.cpu_system_s;
    out += "  cpu   : usr=" + fixed(r.cpu_user_s, 2) + "s sys=" + fixed(r.cpu_system_s, 2) + "s";
    if (s.total_ops() != 0) {
      out += ", " + format_latency(static_cast<std::uint64_t>(cpu * 1e9 / static_cast<double>(s.total_ops()))) +
             " per request";
    }
    out += "\n";
  }
  if (s.total_errors() == 0) {
    out += "  errors: none\n";
  } else {
    out += "  errors: " + std::to_string(s.total_errors()) + " (";
    bool first = true;
    for (int e = 1; e <= RunStats::kMaxTrackedErrno + 1; ++e) {
      const int idx = e > RunStats::kMaxTrackedErrno ? 0 : e;
      if (s.errors_with(idx) == 0) continue;
      if (!first) out += ", ";
      first = false;
      out += errno_name(idx) + " " + std::to_string(s.errors_with(idx));
    }
    out += ")";
    if (r.connections_lost != 0) out += ", " + std::to_string(r.connections_lost) + " connections lost";
    out += "\n";
  }
  if (o.verify) {
    out += "  verify: ";
    if (r.resumed) out += std::to_string(s.resume_checked) + " blocks of " + o.resume + " checked, ";
    out += std::to_string(s.reads_verified) + " reads checked, " + std::to_string(s.mismatches) +
           (s.mismatches == 1 ? " mismatch" : " mismatches");
    if (s.rereads != 0) out += " (" + std::to_string(s.rereads) + " re-reads after overlapping writes)";
    if (s.torn_accepted != 0) {
      out += ", " + std::to_string(s.torn_accepted) + " torn blocks accepted (writes that never completed)";
    }
    out += "\n";
    if (!o.resume.empty()) {
      if (r.state_saved) {
        out += "  state : " + std::to_string(r.blocks_tracked) + " written blocks saved to " + o.resume + "\n";
      } else if (!r.state_error.empty()) {
        out += "  state : NOT saved: " + r.state_error + "\n";
      }
    }
  }
  out += "result: ";
  switch (r.exit_code) {
    case 0: out += "ok"; break;
    case 1: out += s.mismatches != 0 ? "DATA MISMATCH" : (r.state_error.empty() ? "I/O ERRORS" : "STATE NOT SAVED"); break;
    default: out += "failed"; break;
  }
  out += " (exit status " + std::to_string(r.exit_code) + ")\n";
  return out;
}

std::string format_json_report(const Options& o, const RunResult& r) {
  JsonWriter j;
  const RunStats& s = *r.stats;
  j.begin_object();
  j.value("schema", 1);
  j.value("exit_status", r.exit_code);
  if (r.error.empty()) {
    j.null("error");
  } else {
    j.value("error", r.error);
  }

  j.begin_object("options");
  j.value("uri", o.uri);
  j.value("rw", to_string(o.pattern));
  j.value("mix", pattern_mixed(o.pattern) ? o.read_percent : (pattern_reads(o.pattern) ? 100u : 0u));
  j.value("bs", std::uint64_t{o.block_size});
  j.value("qd", o.queue_depth);
  j.value("conns", o.connections);
  if (o.ops) {
    j.null("runtime_ms");
    j.value("ops", *o.ops);
  } else {
    j.value("runtime_ms", static_cast<std::uint64_t>(o.runtime.count()));
    j.null("ops");
  }
  j.value("warmup_ms", static_cast<std::uint64_t>(o.warmup.count()));
  j.value("offset", o.offset);
  j.value("range", r.range);
  j.value("rate", o.rate);
  j.value("flush_every", o.flush_every);
  j.value("fua", o.fua);
  j.value("verify", o.verify);
  if (o.resume.empty()) {
    j.null("resume");
  } else {
    j.value("resume", o.resume);
  }
  j.value("seed", r.seed);
  j.end_object();

  j.begin_object("export");
  j.value("size", r.info.size);
  j.value("min_block", std::uint64_t{r.info.min_block});
  j.value("preferred_block", std::uint64_t{r.info.preferred_block});
  j.value("max_payload", std::uint64_t{r.info.max_payload});
  j.value("read_only", r.info.read_only);
  j.value("can_flush", r.info.can_flush);
  j.value("can_fua", r.info.can_fua);
  j.value("multi_conn", r.info.multi_conn);
  j.end_object();

  j.value("elapsed_s", r.elapsed_s);
  for (OpType t : kTypes) {
    const OpStats& op = s.op(t);
    j.begin_object(to_string(t));
    j.value("ops", op.ops);
    j.value("bytes", op.bytes);
    j.value("errors", op.errors);
    j.value("iops", per_second(op.ops, r.elapsed_s));
    j.value("bw_bytes_per_s", per_second(op.bytes, r.elapsed_s));
    j.begin_object("lat_ns");
    const LatencyHistogram& h = op.latency;
    j.value("min", h.min());
    j.value("avg", h.mean());
    j.value("p50", h.percentile(50));
    j.value("p90", h.percentile(90));
    j.value("p99", h.percentile(99));
    j.value("p99_9", h.percentile(99.9));
    j.value("max", h.max());
    j.end_object();
    j.end_object();
  }
  j.begin_object("total");
  j.value("ops", s.total_ops());
  j.value("bytes", s.total_bytes());
  j.value("errors", s.total_errors());
  j.value("iops", per_second(s.total_ops(), r.elapsed_s));
  j.value("bw_bytes_per_s", per_second(s.total_bytes(), r.elapsed_s));
  j.end_object();

  j.begin_object("errors");
  j.value("total", s.total_errors());
  j.begin_object("by_errno");
  for (int e = 1; e <= RunStats::kMaxTrackedErrno + 1; ++e) {
    const int idx = e > RunStats::kMaxTrackedErrno ? 0 : e;
    if (s.errors_with(idx) != 0) j.value(errno_name(idx), s.errors_with(idx));
  }
  j.end_object();
  j.end_object();

  j.begin_object("cpu");
  j.value("user_s", r.cpu_user_s);
  j.value("system_s", r.cpu_system_s);
  j.value("ns_per_op", s.total_ops() == 0 ? 0.0
                                          : (r.cpu_user_s + r.cpu_system_s) * 1e9 /
                                                static_cast<double>(s.total_ops()));
  j.end_object();

  j.begin_object("verify");
  j.value("enabled", o.verify);
  j.value("reads_verified", s.reads_verified);
  j.value("rereads", s.rereads);
  j.value("mismatches", s.mismatches);
  j.value("torn_accepted", s.torn_accepted);
  j.value("resumed", r.resumed);
  j.value("resume_checked", s.resume_checked);
  if (o.resume.empty()) {
    j.null("state_file");
  } else {
    j.value("state_file", o.resume);
  }
  j.value("state_saved", r.state_saved);
  j.value("blocks_tracked", r.blocks_tracked);
  j.end_object();

  j.begin_object("rate");
  j.value("target_iops", o.rate);
  j.value("late_ops", s.ops_late);
  j.end_object();

  j.begin_object("loop");
  j.value("iterations", r.loop_iterations);
  j.value("enter_calls", r.loop_enter_calls);
  j.value("sqes", r.loop_sqes);
  j.end_object();

  j.value("connections_lost", r.connections_lost);
  j.value("interrupted", r.interrupted);
  j.end_object();
  return j.str();
}

}  // namespace loadgen
