// SPDX-License-Identifier: Apache-2.0
// Who made a change: /proc/<pid> (comm, parent comm, exe, cmdline, uid) and
// the user name from the container's /etc/passwd, read from the upperdir then
// the lowerdirs on the host (never through the container's overlay, which
// may carry an exec permission mark). Thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "invar/drift/container.h"
#include "invar/drift/event.h"

namespace invar::drift {

// Falco's proc.cmdline: the process name (comm), then its arguments after
// argv[0], space-separated ("busybox sh -c id" for `/bin/busybox sh -c id`).
// `argv` is the raw NUL-separated argument block (/proc/<pid>/cmdline, or the
// exec tracer's copy); trailing NULs are ignored. A block without a NUL (a
// process that rewrote its title) has no arguments after argv[0].
std::string FalcoCmdline(std::string_view comm, std::string_view argv);

// nullopt when the process is gone. `cmdline` is FalcoCmdline's.
std::optional<ProcessInfo> ReadProcess(const std::string& proc_dir, pid_t pid, const Container* c);

// The name of `uid` in a passwd file's text, or "".
std::string UserFromPasswd(std::string_view passwd, uid_t uid);

// The container's /etc/passwd text (upper layer first), or "".
std::string ContainerPasswd(const Container& c);

// True for the names Falco's shell_procs list holds: sh bash ash dash zsh ksh
// csh tcsh fish mksh busybox-applied shells.
bool IsShellName(std::string_view comm);

}  // namespace invar::drift
