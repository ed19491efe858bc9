// SPDX-License-Identifier: Apache-2.0
// DriftEvent: one observed change to a container's root filesystem (or an exec
// in it), produced by the event sources (fanotify, upperdir scan) and consumed
// by the agent's pipeline: rules, sinks and actions.
//
// A plain value type: thread-compatible, cheap to move.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "invar/drift/container.h"

namespace invar::drift {

enum class Operation : std::uint8_t {
  kCreate,    // a new file or directory in the upper layer
  kWrite,     // content written (close after write, or found by the scan)
  kTruncate,  // content truncated to zero
  kDelete,    // an upper-only file removed, or an image file whited out
  kRename,
  kChmod,
  kChown,
  kLink,      // hard link
  kSymlink,
  kXattr,     // attributes changed without mode/owner change (xattr, utime)
  kExec,      // exec of a file from the upper layer (not from the image)
  kShell,     // a shell started in the container
};

std::string_view OperationName(Operation op);  // "create", "write", ...
// The Falco evt.type closest to the operation ("openat", "unlink", "execve", ...).
std::string_view OperationSyscall(Operation op);

enum class EventOrigin : std::uint8_t { kFanotify, kScan };

// The process that made the change, when the kernel gave its pid.
struct ProcessInfo {
  pid_t pid = 0;
  std::string comm;       // /proc/<pid>/comm
  std::string pcomm;      // the parent's comm
  std::string exe;        // /proc/<pid>/exe as the container sees it
  std::string cmdline;    // Falco's proc.cmdline: comm, then argv[1..] joined by spaces
  std::optional<uid_t> uid;
  std::string user;       // from the container's /etc/passwd, "" when unknown
};

struct DriftEvent {
  std::uint64_t time_ns = 0;  // CLOCK_REALTIME
  std::shared_ptr<const Container> container;
  std::string path;           // inside the container ("/tmp/x")
  std::string old_path;       // rename: the previous name, when known
  Operation op = Operation::kWrite;
  EventOrigin origin = EventOrigin::kFanotify;
  std::optional<ProcessInfo> process;
  bool exe_upper_layer = false;  // exec/shell: the executable is in the upper layer
  std::string action;            // what the agent did: "flag", "kill", "prevent" (deny), "" none
};

}  // namespace invar::drift
