// SPDX-License-Identifier: Apache-2.0
// The exec fanotify source (see source.h). One FAN_CLASS_CONTENT group per
// container, FAN_MARK_FILESYSTEM on its overlay (reached as
// /proc/<init pid>/root, which works from any mount namespace), all groups
// polled by one decision thread through epoll.
//
// A decision starts with fstat() of the event's own fd (never an open on the
// marked overlay, which would raise a permission event this thread would have
// to answer itself) and a lookup in the image's executable index
// (image_index.h: inode number + ctime of every executable in the lowerdirs,
// by a builder thread when a container of a new image is watched, shared per
// image; until it is there the container's decisions take the path lookup).
// An unchanged image file is allowed
// right away, with no path lookup. Anything else (an upper file, a copied-up
// image file, an image without an index) takes the path lookup: readlink of
// the event fd, fstatat of the same path in the host upperdir (through an fd
// on the upperdir), compare. Then the answer is written.
//
// Shell detection: after an allowed exec of a shell or busybox (whose applet
// is known only from the exec'd name) the thread follows the exec up until it
// went through, then reads the process. Two ways to know it went through:
//  - eBPF (default; exec_tracer.h): the kernel reports (tgid, new comm) at
//    sched_process_exec through a ring buffer (no wakeup per record: it is
//    drained each time the thread wakes, every 1 ms while follow-ups wait). The
//    record settles the oldest open follow-up of that pid and its comm is the
//    process's name (a busybox applet's name even if it already exited).
//    Nothing is read from /proc before the answer. Every fanotify fd is read
//    before the ring is drained, so in detect mode (no permission wait) the
//    follow-up of an exec always exists before its record is consumed.
//  - /proc fallback (--no-ebpf, or the tracer cannot load): the comm before
//    the exec is read from /proc on the answer's path (afterwards the exec
//    may already have replaced it, and a busybox applet that exits within a
//    millisecond would then be misnamed), then /proc/<pid>/comm is polled
//    every millisecond for up to settle_ms until it changes.
// Follow-ups run only when no fanotify fd is readable: before each /proc
// access the thread polls epoll with a zero timeout and answers what is
// waiting first.
//
// Closing a group (Unwatch, Stop, or the agent dying) makes the kernel allow
// what is pending. Decision latency (read of the event -> answer written) goes
// to on_decision and into a ring of the last kLatencySamples raw samples whose
// p50/p99/max the thread logs when it stops, with the same for each step of
// the decision (scripts/bench/drift.sh prints them). The thread runs
// SCHED_FIFO (options.realtime_priority) when allowed.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "invar/drift/exec_tracer.h"
#include "invar/drift/image_index.h"
#include "invar/drift/procinfo.h"
#include "invar/drift/source.h"
#include "invar/drift/upper.h"
#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

constexpr std::size_t kLatencySamples = 16384;
constexpr std::size_t kStepSamples = 4096;
constexpr std::uint64_t kTracerKey = ~0ull;  // epoll data of the exec tracer's ring fd

struct Group {
  std::shared_ptr<const Container> c;
  WatchOptions opts;
  UniqueFd fan;
  UniqueFd upper;                               // O_PATH fd on the host upperdir (path lookups)
  std::shared_ptr<const ImageExecIndex> index;  // null: every decision takes the path lookup
  std::uint32_t mnt_ns = 0;                     // in the exec tracer's filter (0: not)
};

struct Pending {
  std::uint64_t due_ns;   // give up waiting for the comm to change
  std::string pre_comm;   // comm before the exec (/proc fallback)
  std::uint64_t time_ns;
  std::shared_ptr<const Container> c;
  pid_t pid;
  std::string path;
  bool upper;
  bool denied;
  bool superseded = false;  // the pid exec'd again: it ran this program until then
  bool done = false;
  bool traced = false;      // the exec tracer reported the exec; exec_comm is its comm
  char exec_comm[16] = {};
  std::string exec_cmdline = {};  // the start of its argv at the exec (tracer)
};

// Raw samples (ns) of one quantity: the first kStepSamples of a run, or a
// ring of the last `cap`. Decision thread only (then Stop).
class Samples {
 public:
  explicit Samples(std::size_t cap) : cap_(cap) {}
  void Add(std::int64_t ns) {
    const auto v = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, UINT32_MAX));
    if (v_.size() < cap_) {
      v_.push_back(v);
    } else {
      v_[n_ % cap_] = v;
    }
    ++n_;
  }
  std::uint64_t count() const { return n_; }
  // "p50 X us, p99 Y us, max Z us" over the kept samples ("" when none).
  std::string Summary(bool with_p90 = false) const {
    if (v_.empty()) return {};
    std::vector<std::uint32_t> v = v_;
    std::sort(v.begin(), v.end());
    auto q = [&](double f) {
      return v[std::min(v.size() - 1, static_cast<std::size_t>(f * static_cast<double>(v.size())))] / 1e3;
    };
    char buf[160];
    if (with_p90) {
      std::snprintf(buf, sizeof buf, "p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us", q(0.5), q(0.9), q(0.99),
                    v.back() / 1e3);
    } else {
      std::snprintf(buf, sizeof buf, "p50 %.1f us, p99 %.1f us, max %.1f us", q(0.5), q(0.99), v.back() / 1e3);
    }
    return buf;
  }
  std::size_t kept() const { return v_.size(); }

 private:
  std::size_t cap_;
  std::vector<std::uint32_t> v_;
  std::uint64_t n_ = 0;
};

// The steps of a decision, timed one after the other from the read of the
// event (kWait: behind earlier events of the same read()).
enum Step { kWait, kIndex, kReadlink, kUpperStat, kComm, kAnswer, kSteps };
constexpr std::array<const char*, kSteps> kStepNames = {"wait in batch", "fstat+index", "readlink",
                                                       "upper fstatat", "comm", "answer write"};

class ExecSource final : public EventSource {
 public:
  ExecSource(ExecSourceOptions o, SourceCallbacks cb) : opts_(std::move(o)), cb_(std::move(cb)) {
    for (std::size_t i = 0; i < kSteps; ++i) steps_.emplace_back(kStepSamples);
  }
  ~ExecSource() override { Stop(); }

  Status Start() override {
    ep_.Reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) return ErrnoStatus("epoll_create1");
    wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) return ErrnoStatus("eventfd");
    // /proc/<pid>/comm is opened relative to this (one path component less to resolve).
    proc_.Reset(::open(opts_.proc_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc_) return ErrnoStatus("open " + opts_.proc_dir);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) return ErrnoStatus("epoll_ctl");
    StartTracer();
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
    builder_ = std::thread([this] { BuildLoop(); });
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
    if (builder_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;  // also abandons a walk in progress
      }
      build_cv_.notify_all();
      builder_.join();
    }
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
    tracer_.reset();  // detaches the tracepoint
  }

  Status Watch(std::shared_ptr<const Container> c, const WatchOptions& options) override {
    auto g = std::make_unique<Group>();
    g->c = c;
    g->opts = options;
    if (!c->upperdir.empty()) g->upper.Reset(::open(c->upperdir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    // An image already indexed (another container of it) is used at once;
    // a new one is walked by the builder thread (a large image takes seconds,
    // and a container must be watched within a second of starting).
    g->index = index_cache_.Find(*c);
    g->fan.Reset(fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC));
    if (!g->fan) return ErrnoStatus("fanotify_init(FAN_CLASS_CONTENT)");
    const std::string root = opts_.proc_dir + "/" + std::to_string(c->init_pid) + "/root";
    const std::uint64_t mask = options.prevent ? FAN_OPEN_EXEC_PERM : FAN_OPEN_EXEC;
    if (fanotify_mark(g->fan.get(), FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, root.c_str()) != 0) {
      return ErrnoStatus("fanotify_mark(FAN_MARK_FILESYSTEM) on " + root);
    }
    if (opts_.ebpf) {
      // The mount namespace the container's processes exec in (its init's).
      const std::string ns = opts_.proc_dir + "/" + std::to_string(c->init_pid) + "/ns/mnt";
      struct stat st {};
      if (::stat(ns.c_str(), &st) == 0) {
        g->mnt_ns = static_cast<std::uint32_t>(st.st_ino);
      } else {
        log::Warn("exec tracer: {}: {}; its shells are followed up by name only", ns, std::strerror(errno));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    Unlocked_Unwatch(c->id);
    if (!tracer_) g->mnt_ns = 0;  // /proc fallback (tracer_ is set by Start, reset by Stop, under mu_)
    if (g->mnt_ns != 0) tracer_->Watch(g->mnt_ns);
    const std::uint64_t key = ++next_key_;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, g->fan.get(), &ev) != 0) return ErrnoStatus("epoll_ctl");
    ids_[c->id] = key;
    if (!g->index) {
      build_queue_.push_back(c);
      build_cv_.notify_one();
    }
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
    if (auto g = groups_.find(it->second); g != groups_.end() && g->second->mnt_ns != 0 && tracer_) {
      tracer_->Unwatch(g->second->mnt_ns);
    }
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
    char rel[32];
    auto r = std::to_chars(rel, rel + 16, pid);
    std::memcpy(r.ptr, "/comm", 6);
    UniqueFd fd(::openat(proc_.get(), rel, O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    char buf[64];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return {};
    std::string out(buf, static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // The container path of the event's file (readlink of its fd).
  static std::string EventPath(const Group& g, int fd) {
    char link[32] = "/proc/self/fd/";
    auto r = std::to_chars(link + 14, link + 30, fd);
    *r.ptr = '\0';
    char buf[PATH_MAX];
    std::string path;
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    if (n > 0) path.assign(buf, static_cast<std::size_t>(n));
    // Marked through /proc/<pid>/root, the overlay is seen from the container's
    // mount namespace: the path is already the container's; from the host view
    // it carries the rootfs prefix.
    if (!g.c->rootfs.empty() && path.rfind(g.c->rootfs + "/", 0) == 0) path = path.substr(g.c->rootfs.size());
    return path;
  }

  // `t0`: when the event was read.
  void Decide(Group& g, const fanotify_event_metadata* md, std::chrono::steady_clock::time_point t0) {
    auto lap = t0;
    auto step = [&](Step s) {
      const auto now = std::chrono::steady_clock::now();
      steps_[s].Add(std::chrono::duration_cast<std::chrono::nanoseconds>(now - lap).count());
      lap = now;
    };
    step(kWait);
    struct stat ev {};
    const bool have_stat = ::fstat(md->fd, &ev) == 0;
    const auto match =
        g.index && have_stat ? g.index->Find(ev) : ImageExecIndex::Match::kUnknown;
    step(kIndex);
    std::string path;
    bool upper = false;
    bool allowed_glob = false;
    bool follow = match == ImageExecIndex::Match::kImageShell;
    if (match == ImageExecIndex::Match::kUnknown) {
      path = EventPath(g, md->fd);
      step(kReadlink);
      if (!path.empty() && path[0] == '/') {
        struct stat up {};
        const int rc = g.upper ? ::fstatat(g.upper.get(), path.c_str() + 1, &up, AT_SYMLINK_NOFOLLOW)
                               : ::lstat(HostPath(g.c->upperdir, path).c_str(), &up);
        upper = rc == 0 && S_ISREG(up.st_mode) && have_stat && ev.st_size == up.st_size;
        step(kUpperStat);
      }
      // Follow-up needed only for drift execs and for what may be a shell (a
      // shell binary, or busybox whose applet is known only from argv[0]).
      allowed_glob = upper && Allowed(g.opts, path);
      const std::string_view base = std::string_view(path).substr(path.rfind('/') + 1);
      follow = (upper && !allowed_glob) || IsShellName(base) || base == "busybox";
    }
    const bool deny = g.opts.prevent && upper && !allowed_glob;
    // The comm before the exec, read before the answer lets it change.
    std::string pre_comm;
    if (follow && !deny && !tracer_) {
      pre_comm = Comm(md->pid);
      step(kComm);
    }
    if (md->mask & FAN_OPEN_EXEC_PERM) {
      fanotify_response r{md->fd, deny ? static_cast<std::uint32_t>(FAN_DENY) : static_cast<std::uint32_t>(FAN_ALLOW)};
      if (::write(g.fan.get(), &r, sizeof r) != sizeof r) {
        log::Error("fanotify: answering exec permission failed: {}", std::strerror(errno));
      }
      step(kAnswer);
      const auto took = std::chrono::steady_clock::now() - t0;
      latency_.Add(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
      if (cb_.on_decision) cb_.on_decision(std::chrono::duration<double>(took).count());
    }
    // The process ran its previous program until now: an earlier exec of this
    // pid still pending is finished (by FollowUp, once nothing waits for an
    // answer) as settled.
    for (auto& p : pending_) {
      if (p.pid == md->pid) p.superseded = true;
    }
    if (allowed_glob || !follow) return;
    if (path.empty()) path = EventPath(g, md->fd);  // an image shell: its name, after the answer
    const std::uint64_t now = NowNs();
    pending_.push_back({now + static_cast<std::uint64_t>(opts_.settle_ms) * 1000000ull, std::move(pre_comm), now, g.c,
                        md->pid, std::move(path), upper, deny});
  }

  // A shell: a shell's name, or busybox running a shell applet
  // ("busybox sh -c ...": cmdline is Falco's, so the applet is its second word).
  static bool ShellProcess(std::string_view comm, std::string_view cmdline) {
    if (IsShellName(comm)) return true;
    if (comm != "busybox") return false;
    const auto sp = cmdline.find(' ');
    if (sp == std::string_view::npos) return false;
    return IsShellName(cmdline.substr(sp + 1, cmdline.find(' ', sp + 1) - sp - 1));
  }

  // `settled`: the process runs the exec'd program now (its comm changed, or
  // it is about to exec again).
  void Finish(Pending& p, bool settled) {
    // Traced, allowed, not drift and not a shell (a busybox applet such as
    // true or ls): nothing to report, so nothing to read from /proc either
    // (reading a process that is starting up competes with it).
    if (p.traced && !p.upper && !p.denied && !ShellProcess(p.exec_comm, p.exec_cmdline)) return;
    auto proc = ReadProcess(opts_.proc_dir, p.pid, p.c.get());
    if (p.traced) {
      // The kernel's comm at the exec: right even if the process already
      // exited (then only the exec'd file is known besides it).
      if (!proc) {
        proc = ProcessInfo{};
        proc->pid = p.pid;
        proc->exe = p.path;
      }
      proc->comm = p.exec_comm;
      // The argv at the exec, when /proc no longer shows it (the process
      // exec'd again, as "sh -c 'cmd'" does, or is gone): truncated but true.
      if (!p.exec_cmdline.empty() && proc->cmdline.rfind(p.exec_cmdline, 0) != 0) proc->cmdline = p.exec_cmdline;
    } else if (proc && !settled && (tracer_ || proc->comm == p.pre_comm) && !p.denied) {
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
    const bool shell = proc && !p.denied && ShellProcess(proc->comm, proc->cmdline);
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

  // The builder thread: indexes the images of newly watched containers and
  // hands each index to every group still watching a container of it.
  void BuildLoop() {
    const ImageIndexOptions build_opts{.cancel = &stop_};
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      build_cv_.wait(lock, [this] { return stop_ || !build_queue_.empty(); });
      if (stop_) break;
      std::shared_ptr<const Container> c = std::move(build_queue_.front());
      build_queue_.pop_front();
      lock.unlock();
      auto index = index_cache_.Get(*c, build_opts);
      lock.lock();
      if (!index.ok()) {
        if (!stop_) log::Info("exec decisions for {} take the path lookup: {}", c->ShortId(), index.status().ToString());
        continue;
      }
      const auto st = index_cache_.stats();
      log::Debug("exec index for {}: {} executables; {} image(s) indexed, {} files, {} KiB", c->ShortId(),
                 (*index)->files(), st.indexes, st.files, st.bytes / 1024);
      for (auto& [key, g] : groups_) {
        if (!g->index && g->c->lowerdirs == c->lowerdirs) g->index = *index;
      }
    }
  }

  // Reads and decides every event of the ready fds in `evs`.
  // (The exec tracer's ring is drained by Loop, after every fanotify fd.)
  void HandleReady(const epoll_event* evs, int n) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < n; ++i) {
      auto it = groups_.find(evs[i].data.u64);
      if (it != groups_.end()) ReadGroup(*it->second);
    }
  }

  // Reads and decides every event waiting on one group's fd.
  void ReadGroup(Group& g) {
    for (;;) {
      ssize_t len = ::read(g.fan.get(), buf_, sizeof buf_);
      if (len <= 0) break;
      const auto t0 = std::chrono::steady_clock::now();
      auto* md = reinterpret_cast<const fanotify_event_metadata*>(buf_);
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

  void StartTracer() {
    bool ebpf = false;
    if (!opts_.ebpf) {
      log::Info("exec follow-ups read /proc/<pid>/comm (eBPF exec tracer disabled)");
    } else if (auto t = OpenExecTracer({.filter_mnt_ns = opts_.ebpf_filter}); !t.ok()) {
      log::Info("exec follow-ups read /proc/<pid>/comm (eBPF exec tracer unavailable: {})", t.status().ToString());
    } else {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kTracerKey;
      if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, (*t)->fd(), &ev) != 0) {
        log::Info("exec follow-ups read /proc/<pid>/comm (epoll_ctl on the exec tracer: {})", std::strerror(errno));
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        tracer_ = std::move(*t);
        ebpf = true;
        log::Info("exec follow-ups use the eBPF exec tracer (sched_process_exec, {})",
                  opts_.ebpf_filter ? "filtered to watched mount namespaces" : "every exec on the host");
      }
    }
    if (cb_.on_exec_tracer) cb_.on_exec_tracer(ebpf);
  }

  // Settles follow-ups from the tracer's records. Every fanotify fd is read
  // first: an exec's fanotify event is queued (at open) before its record
  // (at sched_process_exec), so a record consumed here never precedes the
  // follow-up it settles, with or without a permission wait.
  void DrainTracer() {
    for (;;) {
      epoll_event evs[64];
      const int n = ::epoll_wait(ep_.get(), evs, 64, 0);
      bool fan = false;
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < n; ++i) {
        if (evs[i].data.u64 == kTracerKey) continue;
        auto it = groups_.find(evs[i].data.u64);
        if (it == groups_.end()) continue;
        ReadGroup(*it->second);
        fan = true;
      }
      if (!fan) break;
    }
    tracer_->Drain([this](const ExecRecord& r) {
      ++traced_;
      for (auto& p : pending_) {
        if (p.done || p.traced || p.pid != r.tgid) continue;
        p.traced = true;
        std::memcpy(p.exec_comm, r.comm, sizeof p.exec_comm);
        p.exec_cmdline = FalcoCmdline(p.exec_comm, r.args);
        return;
      }
    });
  }

  // Answers whatever waits now (zero-timeout poll): called before each piece
  // of follow-up work, so /proc reads never delay a waiting exec.
  void AnswerWaiting() {
    epoll_event evs[64];
    const int n = ::epoll_wait(ep_.get(), evs, 64, 0);
    if (n > 0) HandleReady(evs, n);
  }

  // The pending follow-ups: done when the exec went through (comm changed),
  // was denied, the pid exec'd again, the process is gone (nothing more to
  // learn), or settle_ms passed.
  void FollowUp() {
    const std::uint64_t now = NowNs();
    // By index: AnswerWaiting() may append (never removes) entries.
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i].done) continue;
      AnswerWaiting();
      Pending& p = pending_[i];
      bool settled = p.superseded || p.traced;
      bool finish = settled || p.denied;
      if (tracer_) {
        // Only the record settles it, also when the pid already exec'd
        // again (records come in exec order; /proc shows the later program
        // by now). No record by the deadline: the exec failed after its
        // answer, or the ring was full.
        settled = p.traced;
        finish = p.traced || p.denied || p.due_ns <= now;
      } else if (!finish) {
        const std::string comm = Comm(p.pid);
        settled = !comm.empty() && comm != p.pre_comm;
        finish = settled || comm.empty() || p.due_ns <= now;
      }
      if (!finish) continue;
      AnswerWaiting();
      Pending q = std::move(pending_[i]);
      pending_[i].done = true;
      try {
        Finish(q, settled);
      } catch (const std::exception& ex) {
        log::Error("exec source: {}", ex.what());
      }
    }
    std::erase_if(pending_, [](const Pending& p) { return p.done; });
  }

  void Loop() {
    epoll_event evs[64];
    while (!stop_) {
      // Records do not wake the thread (BPF_RB_NO_WAKEUP: one wakeup per
      // exec saved); the ring is drained after every wakeup, and every
      // millisecond while follow-ups are open.
      const int timeout = pending_.empty() ? 1000 : 1;
      int n = ::epoll_wait(ep_.get(), evs, 64, timeout);
      if (n < 0 && errno != EINTR) {
        log::Error("exec source: epoll_wait: {}", std::strerror(errno));
        return;
      }
      if (stop_) break;
      if (n > 0) HandleReady(evs, n);
      if (tracer_) DrainTracer();
      FollowUp();
    }
  }

  void LogLatency() {
    if (latency_.kept() == 0) return;
    std::string steps;
    for (std::size_t i = 0; i < kSteps; ++i) {
      if (steps_[i].count() == 0) continue;
      steps += fmt::format("; {} (n {}): {}", kStepNames[i], steps_[i].count(), steps_[i].Summary());
    }
    log::Info("exec decisions: {} answered; last {}: {}", latency_.count(), latency_.kept(), latency_.Summary(true));
    if (tracer_) log::Info("exec tracer: {} records, {} dropped", traced_, tracer_->dropped());
    log::Info("exec decision steps (first {} samples each){}", kStepSamples, steps);
  }

  ExecSourceOptions opts_;
  SourceCallbacks cb_;
  UniqueFd ep_;
  UniqueFd wake_;
  UniqueFd proc_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  ImageExecIndexCache index_cache_;  // thread-safe; Watch and the builder thread
  std::thread builder_;
  std::mutex mu_;  // guards groups_, ids_, build_queue_ (Watch/Unwatch vs the decision and builder threads)
  std::condition_variable build_cv_;
  std::deque<std::shared_ptr<const Container>> build_queue_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Group>> groups_;
  std::unordered_map<std::string, std::uint64_t> ids_;
  std::uint64_t next_key_ = 0;
  std::deque<Pending> pending_;  // decision thread only
  // Set by Start() (null: /proc fallback), reset by Stop(), both under mu_;
  // read by the decision thread (which runs between the two) and under mu_.
  std::unique_ptr<ExecTracer> tracer_;
  std::uint64_t traced_ = 0;            // decision thread: tracer records read
  alignas(fanotify_event_metadata) char buf_[16384];  // decision thread: fanotify reads
  Samples latency_{kLatencySamples};  // decision thread (then Stop): read -> answer, ns
  std::vector<Samples> steps_;        // decision thread (then Stop): per Step, ns
};

}  // namespace

std::unique_ptr<EventSource> NewFanotifyExecSource(ExecSourceOptions options, SourceCallbacks callbacks) {
  return std::make_unique<ExecSource>(std::move(options), std::move(callbacks));
}

}  // namespace invar::drift
