// SPDX-License-Identifier: Apache-2.0
// The exec fanotify source (see source.h). One FAN_CLASS_CONTENT group per
// container, FAN_MARK_FILESYSTEM on its overlay (reached as
// /proc/<init pid>/root, which works from any mount namespace), all groups
// polled by one decision thread through epoll. A decision is: readlink of the
// event's own fd (never an open on the marked overlay, which would raise a
// permission event this thread would have to answer itself), one lstat of the
// same path in the host upperdir, a write of the answer. Closing a group
// (Unwatch, Stop, or the agent dying) makes the kernel allow what is pending.
// After an allowed exec the thread waits settle_ms and reads /proc/<pid>/comm
// to see what started (busybox applets are known only by argv[0]).
// Decision latency (read of the event -> answer written) goes to
// on_decision and into a ring of the last kLatencySamples raw samples whose
// p50/p99/max the thread logs when it stops (scripts/bench/drift.sh reads it).
// The thread runs SCHED_FIFO (options.realtime_priority) when allowed.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "invar/drift/procinfo.h"
#include "invar/drift/source.h"
#include "invar/drift/upper.h"
#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

constexpr std::size_t kLatencySamples = 16384;

struct Group {
  std::shared_ptr<const Container> c;
  WatchOptions opts;
  UniqueFd fan;
};

struct Pending {
  std::uint64_t due_ns;   // give up waiting for the comm to change
  std::string pre_comm;   // comm before the exec
  std::uint64_t time_ns;
  std::shared_ptr<const Container> c;
  pid_t pid;
  std::string path;
  bool upper;
  bool denied;
};

class ExecSource final : public EventSource {
 public:
  ExecSource(ExecSourceOptions o, SourceCallbacks cb) : opts_(std::move(o)), cb_(std::move(cb)) {}
  ~ExecSource() override { Stop(); }

  Status Start() override {
    ep_.Reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) return ErrnoStatus("epoll_create1");
    wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) return ErrnoStatus("eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) return ErrnoStatus("epoll_ctl");
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
    if (opts_.realtime_priority > 0) {
      sched_param sp{};
      sp.sched_priority = opts_.realtime_priority;
      if (int rc = pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &sp); rc != 0) {
        log::Info("exec decisions at normal priority (SCHED_FIFO {}: {})", opts_.realtime_priority, std::strerror(rc));
      }
    }
    return Status::Ok();
  }

  void Stop() override {
    if (thread_.joinable()) {
      stop_ = true;
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
      thread_.join();
      LogLatency();
    }
    std::lock_guard<std::mutex> lock(mu_);
    groups_.clear();  // closing the groups allows anything pending
    ids_.clear();
  }

  Status Watch(std::shared_ptr<const Container> c, const WatchOptions& options) override {
    auto g = std::make_unique<Group>();
    g->c = c;
    g->opts = options;
    g->fan.Reset(fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC));
    if (!g->fan) return ErrnoStatus("fanotify_init(FAN_CLASS_CONTENT)");
    const std::string root = opts_.proc_dir + "/" + std::to_string(c->init_pid) + "/root";
    const std::uint64_t mask = options.prevent ? FAN_OPEN_EXEC_PERM : FAN_OPEN_EXEC;
    if (fanotify_mark(g->fan.get(), FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, root.c_str()) != 0) {
      return ErrnoStatus("fanotify_mark(FAN_MARK_FILESYSTEM) on " + root);
    }
    std::lock_guard<std::mutex> lock(mu_);
    Unlocked_Unwatch(c->id);
    const std::uint64_t key = ++next_key_;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, g->fan.get(), &ev) != 0) return ErrnoStatus("epoll_ctl");
    ids_[c->id] = key;
    groups_[key] = std::move(g);
    return Status::Ok();
  }

  void Unwatch(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Unlocked_Unwatch(id);
  }

 private:
  void Unlocked_Unwatch(const std::string& id) {
    auto it = ids_.find(id);
    if (it == ids_.end()) return;
    groups_.erase(it->second);  // close -> epoll drops it, kernel allows pending events
    ids_.erase(it);
  }

  static bool Allowed(const WatchOptions& o, const std::string& path) {
    for (const auto& g : o.allow_globs) {
      if (PathGlobMatch(g, path)) return true;
    }
    return false;
  }

  std::string Comm(pid_t pid) const {
    char buf[64];
    UniqueFd fd(::open((opts_.proc_dir + "/" + std::to_string(pid) + "/comm").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return {};
    std::string out(buf, static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // `t0`: when the event was read.
  void Decide(Group& g, const fanotify_event_metadata* md, std::chrono::steady_clock::time_point t0) {
    char buf[PATH_MAX];
    std::string path;
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(md->fd)).c_str(), buf, sizeof buf - 1);
    if (n > 0) path.assign(buf, static_cast<std::size_t>(n));
    // Marked through /proc/<pid>/root, the overlay is seen from the container's
    // mount namespace: the path is already the container's; from the host view
    // it carries the rootfs prefix.
    if (!g.c->rootfs.empty() && path.rfind(g.c->rootfs + "/", 0) == 0) path = path.substr(g.c->rootfs.size());
    bool upper = false;
    if (!path.empty() && path[0] == '/') {
      struct stat up {}, ev {};
      if (::lstat(HostPath(g.c->upperdir, path).c_str(), &up) == 0 && S_ISREG(up.st_mode) &&
          ::fstat(md->fd, &ev) == 0 && ev.st_size == up.st_size) {
        upper = true;
      }
    }
    const bool allowed_glob = upper && Allowed(g.opts, path);
    const bool deny = g.opts.prevent && upper && !allowed_glob;
    // Follow-up needed only for drift execs and for what may be a shell (a
    // shell binary, or busybox whose applet is known only from argv[0]);
    // then the comm before the exec is read now, before the answer lets it change.
    const std::string base = path.substr(path.rfind('/') + 1);
    const bool follow = (upper && !allowed_glob) || IsShellName(base) || base == "busybox";
    const std::string pre_comm = follow && !deny ? Comm(md->pid) : std::string();
    if (md->mask & FAN_OPEN_EXEC_PERM) {
      fanotify_response r{md->fd, deny ? static_cast<std::uint32_t>(FAN_DENY) : static_cast<std::uint32_t>(FAN_ALLOW)};
      if (::write(g.fan.get(), &r, sizeof r) != sizeof r) {
        log::Error("fanotify: answering exec permission failed: {}", std::strerror(errno));
      }
      const auto took = std::chrono::steady_clock::now() - t0;
      RecordLatency(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
      if (cb_.on_decision) cb_.on_decision(std::chrono::duration<double>(took).count());
    }
    // The process ran its previous program until now: an earlier exec of
    // this pid still pending is finished with what it is now (after the
    // answer: its /proc reads are not on the exec's path).
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->pid == md->pid) {
        Pending prev = std::move(*it);
        pending_.erase(it);
        Finish(prev, /*settled=*/true);
        break;
      }
    }
    if (allowed_glob || !follow) return;
    const std::uint64_t now = NowNs();
    pending_.push_back({now + static_cast<std::uint64_t>(opts_.settle_ms) * 1000000ull, pre_comm, now, g.c, md->pid,
                        path, upper, deny});
  }

  // `settled`: the process runs the exec'd program now (its comm changed, or
  // it is about to exec again).
  void Finish(Pending& p, bool settled) {
    auto proc = ReadProcess(opts_.proc_dir, p.pid, p.c.get());
    if (proc && !settled && proc->comm == p.pre_comm && !p.denied) {
      // Never saw the switch (same name, or exited and reused): trust the file name.
      proc->comm = p.path.substr(p.path.rfind('/') + 1).substr(0, 15);
    }
    const std::string base = p.path.substr(p.path.rfind('/') + 1);
    if (!proc && p.pid > 0 && !p.denied) {
      // Exited before settle_ms: all that is known is the file it ran
      // (a busybox applet is then seen as "busybox", not as its argv[0]).
      proc = ProcessInfo{};
      proc->pid = p.pid;
      proc->comm = base.substr(0, 15);
      proc->exe = p.path;
    }
    bool shell = false;
    if (proc && !p.denied) {
      shell = IsShellName(proc->comm);
      if (!shell && proc->comm == "busybox") {
        // "busybox sh -c ..." : the applet is argv[1].
        auto sp = proc->cmdline.find(' ');
        if (sp != std::string::npos) {
          std::string applet = proc->cmdline.substr(sp + 1, proc->cmdline.find(' ', sp + 1) - sp - 1);
          shell = IsShellName(applet);
        }
      }
    }
    auto emit = [&](Operation op) {
      DriftEvent e;
      e.time_ns = p.time_ns;
      e.container = p.c;
      e.path = p.path;
      e.op = op;
      e.origin = EventOrigin::kFanotify;
      e.process = proc;
      if (e.process && p.denied) e.process->exe = p.path;  // it never ran; say what was refused
      e.exe_upper_layer = p.upper;
      if (p.denied) e.action = "prevent";
      if (cb_.on_event) cb_.on_event(std::move(e));
    };
    if (p.upper) emit(Operation::kExec);
    if (shell) emit(Operation::kShell);
  }

  void Loop() {
    alignas(fanotify_event_metadata) char buf[16384];
    epoll_event evs[64];
    while (!stop_) {
      int timeout = pending_.empty() ? 1000 : 1;
      int n = ::epoll_wait(ep_.get(), evs, 64, timeout);
      if (n < 0 && errno != EINTR) {
        log::Error("exec source: epoll_wait: {}", std::strerror(errno));
        return;
      }
      if (stop_) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (int i = 0; i < n; ++i) {
          auto it = groups_.find(evs[i].data.u64);
          if (it == groups_.end()) continue;
          Group& g = *it->second;
          for (;;) {
            ssize_t len = ::read(g.fan.get(), buf, sizeof buf);
            if (len <= 0) break;
            const auto t0 = std::chrono::steady_clock::now();
            auto* md = reinterpret_cast<const fanotify_event_metadata*>(buf);
            while (FAN_EVENT_OK(md, len)) {
              if (md->fd >= 0) {
                Decide(g, md, t0);
                ::close(md->fd);
              } else if (md->mask & FAN_Q_OVERFLOW) {
                log::Warn("exec source: queue overflow for {}", g.c->ShortId());
              }
              md = FAN_EVENT_NEXT(md, len);
            }
          }
        }
      }
      const std::uint64_t now = NowNs();
      for (auto it = pending_.begin(); it != pending_.end();) {
        // Done when the exec went through (comm changed), was denied, the
        // process is gone (nothing more to learn: waiting for due_ns only kept
        // re-reading /proc), or timed out.
        const std::string comm = it->denied ? std::string() : Comm(it->pid);
        const bool changed = !comm.empty() && comm != it->pre_comm;
        if (it->denied || changed || comm.empty() || it->due_ns <= now) {
          try {
            Finish(*it, changed);
          } catch (const std::exception& ex) {
            log::Error("exec source: {}", ex.what());
          }
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  void RecordLatency(std::int64_t ns) {
    if (latency_.size() < kLatencySamples) {
      latency_.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, UINT32_MAX)));
    } else {
      latency_[decisions_ % kLatencySamples] = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, UINT32_MAX));
    }
    ++decisions_;
  }

  void LogLatency() {
    if (latency_.empty()) return;
    std::vector<std::uint32_t> v = latency_;
    std::sort(v.begin(), v.end());
    auto q = [&](double f) { return v[std::min(v.size() - 1, static_cast<std::size_t>(f * static_cast<double>(v.size())))] / 1e3; };
    log::Info("exec decisions: {} answered; last {}: p50 {:.1f} us, p90 {:.1f} us, p99 {:.1f} us, max {:.1f} us",
              decisions_, v.size(), q(0.5), q(0.9), q(0.99), v.back() / 1e3);
  }

  ExecSourceOptions opts_;
  SourceCallbacks cb_;
  UniqueFd ep_;
  UniqueFd wake_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards groups_, ids_ (Watch/Unwatch vs the decision thread)
  std::unordered_map<std::uint64_t, std::unique_ptr<Group>> groups_;
  std::unordered_map<std::string, std::uint64_t> ids_;
  std::uint64_t next_key_ = 0;
  std::deque<Pending> pending_;  // decision thread only
  std::vector<std::uint32_t> latency_;  // decision thread (then Stop): ns, ring of kLatencySamples
  std::uint64_t decisions_ = 0;
};

}  // namespace

std::unique_ptr<EventSource> NewFanotifyExecSource(ExecSourceOptions options, SourceCallbacks callbacks) {
  return std::make_unique<ExecSource>(std::move(options), std::move(callbacks));
}

}  // namespace invar::drift
