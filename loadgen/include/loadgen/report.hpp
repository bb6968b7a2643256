// The end-of-run report, as text (like fio's) or as one JSON document.
//
// Contract
// - Pure formatting of Options and RunResult; no I/O. Any thread.
// - Numbers: IOPS and bandwidth are over the measured window (elapsed_s:
//   from the end of the warmup to the last completion); latencies are of
//   successful measured requests, from the request being handed to the
//   client to its reply, in nanoseconds in JSON.
//
// JSON (--json): stable keys, schema 1. New keys may be added in later
// schemas; the ones below keep their names and meaning.
//   schema            1
//   exit_status       the process's exit status (0, 1, 2, 3)
//   error             null, or the one-line reason for exit status 2 or 3
//   options           {uri, rw, mix (read percent), bs, qd, conns,
//                      runtime_ms (null with --ops), ops (null without),
//                      warmup_ms, offset, range (bytes tested, after
//                      defaulting and rounding down to bs), rate (0:
//                      unlimited), flush_every (0: never), fua, verify,
//                      resume (null or the state file), seed (the one used)}
//   export            {size, min_block, preferred_block, max_payload,
//                      read_only, can_flush, can_fua, multi_conn}
//   elapsed_s         the measured window in seconds
//   read, write,      per operation type: {ops, bytes, errors, iops,
//   flush               bw_bytes_per_s, lat_ns: {min, avg, p50, p90, p99,
//                        p99_9, max}} (lat_ns values 0 when ops is 0)
//   total             {ops, bytes, errors, iops, bw_bytes_per_s}
//   errors            {total, by_errno: {"EIO": n, ...; "other": n}}
//                     (every failed request, warmup included)
//   cpu               {user_s, system_s, ns_per_op}: this process over the
//                      measured window; ns_per_op = (user + system) / total ops
//   verify            {enabled, reads_verified, rereads, mismatches,
//                      torn_accepted, resumed, resume_checked, state_file
//                      (null or path), state_saved, blocks_tracked}
//   rate              {target_iops, late_ops}
//   loop              {iterations, enter_calls, sqes}: the EventLoop's
//                      counters over the whole run, warmup included
//                      (diagnostics: what a request costs the loop)
//   connections_lost  connections that went down during the run
//   interrupted       stopped by SIGINT/SIGTERM
#pragma once

#include <string>

#include "loadgen/options.hpp"
#include "loadgen/runner.hpp"

namespace loadgen {

std::string format_text_report(const Options& options, const RunResult& result);
std::string format_json_report(const Options& options, const RunResult& result);

// "EIO", "ECONNRESET", ...; "other" for 0; "E<n>" if unknown.
std::string errno_name(int err);

}  // namespace loadgen
