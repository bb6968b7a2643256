// Exit statuses of corobd-load.
//
// Contract
// - The process exits with exactly one of these; scripts rely on them:
//     0  clean run: no I/O errors, no verification mismatch
//     1  a verification mismatch, or I/O errors
//     2  bad arguments (also: arguments the server cannot honour, such as
//        --fua on a server without FUA or a --range past the export's end)
//     3  could not connect to the server or negotiate the export
#pragma once

namespace loadgen {

enum ExitStatus : int {
  kExitOk = 0,
  kExitFailed = 1,
  kExitBadArguments = 2,
  kExitConnectFailed = 3,
};

}  // namespace loadgen
