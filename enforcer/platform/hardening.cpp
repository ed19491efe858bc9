// SPDX-License-Identifier: Apache-2.0
// libcap + libseccomp self-hardening. See hardening.h for when to call.
#include "invar/platform/hardening.h"

#include <seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace invar::hardening {
namespace {

std::string Normalize(std::string_view name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.rfind("cap_", 0) != 0) n = "cap_" + n;
  return n;
}

struct CapFree {
  void operator()(cap_t c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// The syscalls every invar process needs once serving: memory, threads,
// futexes, polling, sockets it already has, reading files, signals and time.
const char* const kCommon[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat", "newfstatat", "stat",
    "lstat", "statx", "lseek", "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "ioctl", "access", "faccessat", "faccessat2", "pipe",
    "pipe2", "dup", "dup2", "dup3", "fcntl", "flock", "fsync", "fdatasync", "getdents64", "getcwd",
    "readlink", "readlinkat", "open", "openat", "openat2", "getpid", "gettid", "getppid", "getuid", "geteuid",
    "getgid", "getegid", "getgroups", "getrlimit", "prlimit64", "getrusage", "sysinfo", "uname", "futex",
    "futex_waitv", "set_robust_list", "get_robust_list", "set_tid_address", "clone", "clone3", "exit",
    "exit_group", "sched_yield", "sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime",
    "clock_getres", "gettimeofday", "time", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "poll", "ppoll", "select", "pselect6", "eventfd2", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "signalfd4", "tgkill", "kill", "getrandom", "rseq", "membarrier", "restart_syscall",
    "prctl", "arch_prctl", "socket", "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
    "recvmmsg", "shutdown", "getsockname", "getpeername", "getsockopt", "setsockopt", "socketpair",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "umask", "uname", "rename", "renameat",
    "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "ftruncate", "fallocate", "copy_file_range",
    "sendfile", "splice", "getpriority", "setpriority", "capget", "mincore",
};

const char* const kWebhook[] = {"accept", "accept4", "bind", "listen",
                                 // sigwait() for SIGTERM, added by the webhook
                                 "rt_sigtimedwait"};

const char* const kAgent[] = {
    "fanotify_init",  "fanotify_mark", "open_by_handle_at", "name_to_handle_at", "pidfd_open",
    "pidfd_send_signal", "setns", "accept", "accept4", "bind", "listen", "fchmod", "fchown", "chmod",
    "process_vm_readv",
};

template <size_t N>
void Append(std::vector<std::string>& out, const char* const (&names)[N]) {
  for (const char* n : names) out.emplace_back(n);
}

}  // namespace

std::vector<std::string> EffectiveCapabilities() {
  std::vector<std::string> out;
  CapPtr caps(cap_get_proc());
  if (!caps) return out;
  for (cap_value_t v = 0; v <= CAP_LAST_CAP; ++v) {
    cap_flag_value_t set = CAP_CLEAR;
    if (cap_get_flag(caps.get(), v, CAP_EFFECTIVE, &set) == 0 && set == CAP_SET) {
      char* name = cap_to_name(v);
      if (name) {
        out.emplace_back(name);
        cap_free(name);
      }
    }
  }
  return out;
}

Status DropCapabilities(const std::vector<std::string>& keep) {
  std::vector<cap_value_t> values;
  for (const auto& k : keep) {
    cap_value_t v;
    std::string n = Normalize(k);
    if (cap_from_name(n.c_str(), &v) != 0) return Status::InvalidArgument("unknown capability: " + k);
    values.push_back(v);
  }
  // Bounding set first (needs CAP_SETPCAP, which we may be about to drop).
  for (cap_value_t v = 0; v <= CAP_LAST_CAP; ++v) {
    if (std::find(values.begin(), values.end(), v) != values.end()) continue;
    if (CAP_IS_SUPPORTED(v) && cap_drop_bound(v) != 0 && errno != EPERM && errno != EINVAL) {
      return ErrnoStatus("cap_drop_bound");
    }
  }
  if (cap_reset_ambient() != 0 && errno != EINVAL) return ErrnoStatus("cap_reset_ambient");
  CapPtr caps(cap_init());  // all clear
  if (!caps) return ErrnoStatus("cap_init");
  if (!values.empty()) {
    if (cap_set_flag(caps.get(), CAP_PERMITTED, static_cast<int>(values.size()), values.data(), CAP_SET) != 0 ||
        cap_set_flag(caps.get(), CAP_EFFECTIVE, static_cast<int>(values.size()), values.data(), CAP_SET) != 0) {
      return ErrnoStatus("cap_set_flag");
    }
  }
  if (cap_set_proc(caps.get()) != 0) return ErrnoStatus("cap_set_proc");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return ErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)");
  return Status::Ok();
}

std::vector<std::string> SeccompAllowlist(SeccompProfile profile) {
  std::vector<std::string> out;
  Append(out, kCommon);
  switch (profile) {
    case SeccompProfile::kWebhook: Append(out, kWebhook); break;
    case SeccompProfile::kAgent: Append(out, kAgent); break;
    case SeccompProfile::kTest: break;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status InstallSeccomp(SeccompProfile profile, const std::vector<std::string>& extra, SeccompAction action) {
  uint32_t def = SCMP_ACT_ERRNO(EPERM);
  if (action == SeccompAction::kKill) def = SCMP_ACT_KILL_PROCESS;
  if (action == SeccompAction::kLog) def = SCMP_ACT_LOG;
  struct CtxFree {
    void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
  };
  std::unique_ptr<void, CtxFree> ctx(seccomp_init(def));
  if (!ctx) return Status::Internal("seccomp_init failed");
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return ErrnoStatus("seccomp_attr_set(TSYNC)", -rc);
  }
  auto names = SeccompAllowlist(profile);
  names.insert(names.end(), extra.begin(), extra.end());
  for (const auto& n : names) {
    int nr = seccomp_syscall_resolve_name(n.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture (e.g. "open" on arm64)
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc != 0) {
      return ErrnoStatus("seccomp_rule_add(" + n + ")", -rc);
    }
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) return ErrnoStatus("seccomp_load", -rc);
  return Status::Ok();
}

}  // namespace invar::hardening
