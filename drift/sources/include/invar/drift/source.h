// SPDX-License-Identifier: Apache-2.0
// EventSource: the seam between the agent and whatever observes containers'
// root filesystems. Two fanotify backends:
//  - FID source (fid_source.cpp): one FAN_CLASS_NOTIF|FAN_REPORT_DFID_NAME
//    group. Per container, preferably inode marks on the directories of its
//    merged rootfs that exist in the image (the kernel then raises nothing for
//    files under directories the container created); else, or over budget,
//    FAN_MARK_FILESYSTEM on the host filesystem holding its upperdir. Sees
//    create/write/attrib/rename/delete with the writer's pid.
//  - exec source (exec_source.cpp): one FAN_CLASS_CONTENT group per
//    container, FAN_MARK_FILESYSTEM on its overlay; FAN_OPEN_EXEC_PERM in
//    prevent mode (answers FAN_DENY for upper-layer executables), else
//    FAN_OPEN_EXEC; raises exec and shell events.
// Each source runs one thread of its own. Watch/Unwatch are called from the
// agent's discovery thread; callbacks run on the source's thread and must not
// block (the agent pushes into a bounded queue). Stop() joins the thread and
// closes the groups: the kernel allows any pending permission event.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "invar/drift/container.h"
#include "invar/drift/event.h"
#include "invar/platform/status.h"

namespace invar::drift {

struct WatchOptions {
  bool prevent = false;                  // deny exec of upper-layer files
  std::vector<std::string> allow_globs;  // container paths never denied nor reported
};

struct SourceCallbacks {
  std::function<void(DriftEvent)> on_event;
  std::function<void()> on_overflow;                 // events were lost: rescan
  std::function<void(double seconds)> on_decision;   // permission decision latency
  // Exec source, once from Start(): true when exec follow-ups come from the
  // eBPF exec tracer, false when they read /proc/<pid>/comm.
  std::function<void(bool ebpf)> on_exec_tracer;
};

class EventSource {
 public:
  EventSource() = default;
  virtual ~EventSource() = default;
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;

  // Creates the fanotify group(s) and starts the thread.
  virtual Status Start() = 0;
  // Stops the thread and closes every group (idempotent).
  virtual void Stop() = 0;
  // Starts observing a container; an error leaves it unwatched by this source.
  virtual Status Watch(std::shared_ptr<const Container> c, const WatchOptions& options) = 0;
  virtual void Unwatch(const std::string& container_id) = 0;
};

struct FidSourceOptions {
  std::string proc_dir = "/proc";
  bool report_modify = false;  // add FAN_MODIFY (costly; close-write and the scan cover writes)
  int batch_delay_ms = 5;      // sleep after each non-empty read so the kernel merges events
  bool ignore_marks = true;    // FAN_MARK_IGNORE close-write on files written twice
  // Directories the container creates (absent from the image) are reported
  // when created; then a kernel ignore mark (FAN_MARK_IGNORE, 6.0+) stops the
  // events on their files, and a sweep every coalesce_sweep_ms reports the
  // files present in them (origin scan). Subdirectories, renames in and out,
  // and execs (exec source) are still reported as they happen. See docs/agent.md.
  bool coalesce_new_dirs = true;
  int coalesce_sweep_ms = 1000;
  // Image-directory marks (needs coalesce_new_dirs): an inode mark on each
  // directory of the container's merged rootfs (through /proc/<init>/root)
  // that exists in the image; directories the container creates get no mark
  // (reported when created, their contents by the sweep, also recursively),
  // so the kernel raises no event for work below them. A container whose
  // image has more directories than image_dir_marks_max, or whose marks would
  // pass image_dir_marks_total across containers, or whose overlay rejects
  // the marks, is watched through the filesystem mark instead. 0 disables.
  std::size_t image_dir_marks_max = 4096;
  std::size_t image_dir_marks_total = 65536;
};
std::unique_ptr<EventSource> NewFanotifyFidSource(FidSourceOptions options, SourceCallbacks callbacks);

struct ExecSourceOptions {
  std::string proc_dir = "/proc";
  int settle_ms = 50;  // longest wait after an allowed exec for its comm to change (shell detection)
  // SCHED_FIFO priority of the decision thread (0: normal scheduling). Every
  // exec in a prevent-mode container waits for this thread: on a busy node a
  // normal-priority thread is preempted mid-decision (p99 in milliseconds).
  // Set by Start() while the agent still holds CAP_SYS_NICE; without it the
  // thread keeps normal scheduling and the agent logs why.
  int realtime_priority = 1;
  // Shell/drift follow-ups from the eBPF exec tracer (exec_tracer.h: the new
  // comm reported by the kernel at sched_process_exec), so nothing is read
  // from /proc before an answer. false, or a tracer that cannot load (no BTF,
  // no CAP_BPF/CAP_PERFMON, old kernel, built without eBPF): the comm before
  // the exec is read from /proc/<pid>/comm before answering, and the
  // follow-up polls it for the change.
  bool ebpf = true;
  bool ebpf_filter = true;  // in-kernel filter on the watched mount namespaces (else every host exec)
};
std::unique_ptr<EventSource> NewFanotifyExecSource(ExecSourceOptions options, SourceCallbacks callbacks);

// The time now, CLOCK_REALTIME ns.
std::uint64_t NowNs();

}  // namespace invar::drift
