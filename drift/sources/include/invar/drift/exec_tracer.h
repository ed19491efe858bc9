// SPDX-License-Identifier: Apache-2.0
// ExecTracer: the kernel's word that a process exec'd, with its new comm, for
// processes in watched mount namespaces. The exec source (exec_source.cpp)
// settles its shell/drift follow-ups from these records instead of reading
// /proc/<pid>/comm before answering a permission event.
//
// One backend per .cpp (STYLE 4): exec_tracer_bpf.cpp (a raw tracepoint on
// sched_process_exec feeding a BPF ring buffer, built when CMake finds clang
// and libbpf) and exec_tracer_none.cpp (always fails: the caller falls back to
// /proc). libbpf stays behind this header.
//
// Open() loads and attaches; it needs CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN)
// and kernel BTF, and must run before the agent drops capabilities and
// installs seccomp. After that nothing here makes a bpf() syscall: records are
// read from the mmap'ed ring, the watch set is written through mmap.
// Thread-safety: Watch/Unwatch may be called from any thread (their own
// mutex); fd() and Drain() from one consumer thread. Destruction detaches.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "invar/platform/status.h"

namespace invar::drift {

struct ExecRecord {
  pid_t tgid = 0;              // the process (after the exec)
  pid_t tid = 0;               // the thread that called execve
  std::uint32_t mnt_ns = 0;    // its mount namespace inode number
  std::uint64_t ktime_ns = 0;  // CLOCK_MONOTONIC
  char comm[16] = {};          // NUL-terminated new comm
  // Start of the new argv, NUL-separated (up to 127 bytes, possibly cut
  // mid-argument); valid only during the Drain callback. FalcoCmdline()
  // (procinfo.h) turns it into proc.cmdline.
  std::string_view args;
};

struct ExecTracerOptions {
  // false: report every exec on the host (no in-kernel filter).
  bool filter_mnt_ns = true;
};

class ExecTracer {
 public:
  ExecTracer() = default;
  virtual ~ExecTracer() = default;
  ExecTracer(const ExecTracer&) = delete;
  ExecTracer& operator=(const ExecTracer&) = delete;

  // The ring's fd. Records are submitted without a wakeup (one wakeup per
  // exec saved): poll() reports them when called, but a sleeping waiter is
  // not woken, so drain after other wakeups or on a timer.
  virtual int fd() const = 0;
  // Calls `fn` for every record there now; returns how many.
  virtual std::size_t Drain(const std::function<void(const ExecRecord&)>& fn) = 0;
  // Adds/removes a mount namespace (stat("/proc/<pid>/ns/mnt").st_ino) to the
  // in-kernel filter. A set too crowded to place one turns the filter off
  // (every exec reported) rather than lose it.
  virtual void Watch(std::uint32_t mnt_ns) = 0;
  virtual void Unwatch(std::uint32_t mnt_ns) = 0;
  // Records the kernel could not queue (ring full).
  virtual std::uint64_t dropped() const = 0;
  // True when the in-kernel filter is on.
  virtual bool filtering() const = 0;
};

// Loads and attaches the tracer, or says why it cannot (not built with eBPF,
// no BTF, no privilege, old kernel).
Result<std::unique_ptr<ExecTracer>> OpenExecTracer(const ExecTracerOptions& options = {});

}  // namespace invar::drift
