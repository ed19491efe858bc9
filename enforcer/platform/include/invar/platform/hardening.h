// SPDX-License-Identifier: Apache-2.0
// Self-hardening of the long-running invar processes (webhook, agent):
// drop capabilities with libcap and install a seccomp allowlist with
// libseccomp. Call from the main thread after every privileged setup step
// (binding ports, placing fanotify marks) and before serving; the seccomp
// filter is applied to all threads (SECCOMP_FILTER_FLAG_TSYNC).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "invar/platform/status.h"

namespace invar::hardening {

// Keeps exactly `keep` (names like "CAP_SYS_ADMIN", case-insensitive, "CAP_"
// optional) in the permitted and effective sets, clears the inheritable and
// ambient sets and the bounding set of everything else, and sets
// PR_SET_NO_NEW_PRIVS. An empty list drops every capability.
Status DropCapabilities(const std::vector<std::string>& keep);

// Names of the capabilities in this process's effective set.
std::vector<std::string> EffectiveCapabilities();

// What a process does once serving; each profile allows the syscalls of the
// common runtime (memory, threads, futex, epoll, sockets, files, signals,
// time) plus its own.
enum class SeccompProfile {
  kWebhook,  // network server: accept, TLS, file reads for cert reload, inotify
  kAgent,    // fanotify, open_by_handle_at, kill, cgroup writes, netlink-free
  kTest,     // the common runtime only, for tests
};

// What happens to a syscall outside the allowlist.
enum class SeccompAction { kErrno, kKill, kLog };

// Installs the allowlist for `profile`, plus `extra` syscall names. Disallowed
// syscalls fail with EPERM (kErrno, the default: a bug becomes an error, not a
// crash) or kill the process (kKill). Irreversible.
Status InstallSeccomp(SeccompProfile profile, const std::vector<std::string>& extra = {},
                      SeccompAction action = SeccompAction::kErrno);

// The allowlist of a profile, for docs and tests.
std::vector<std::string> SeccompAllowlist(SeccompProfile profile);

}  // namespace invar::hardening
