// SPDX-License-Identifier: Apache-2.0
// The eBPF backend of ExecTracer (exec_tracer.h): loads the embedded object
// built from bpf/exec_trace.bpf.c, attaches its raw tracepoint on
// sched_process_exec, mmaps the watch set and reads the ring buffer with
// libbpf's ring_buffer__consume (memory reads only, no syscall). The object
// file is embedded with .incbin (ccache does not cache that translation unit,
// so it never goes stale). libbpf's messages go to the debug log; the last
// warning is kept for the error Open() returns. Thread-safety: see the header.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "bpf/exec_trace.h"
#include "invar/drift/exec_tracer.h"
#include "invar/platform/log.h"

#ifndef INVAR_EXEC_BPF_OBJ
#error "INVAR_EXEC_BPF_OBJ (path of the compiled exec_trace.bpf.o) must be defined"
#endif

extern "C" const char invar_exec_bpf_obj[];
extern "C" const char invar_exec_bpf_obj_end[];
__asm__(
    ".pushsection .rodata\n"
    ".balign 8\n"
    ".hidden invar_exec_bpf_obj\n"
    ".hidden invar_exec_bpf_obj_end\n"
    "invar_exec_bpf_obj:\n"
    ".incbin \"" INVAR_EXEC_BPF_OBJ
    "\"\n"
    "invar_exec_bpf_obj_end:\n"
    ".popsection\n");

namespace invar::drift {
namespace {

std::mutex g_print_mu;
std::string g_last_warning;  // guarded by g_print_mu

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  // A verifier rejection comes as one message holding the whole program log;
  // its end says why.
  static char buf[16384];  // guarded by g_print_mu
  std::lock_guard<std::mutex> lock(g_print_mu);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  log::Debug("libbpf: {}", line);
  g_last_warning = line.size() > 400 ? "..." + line.substr(line.size() - 400) : line;
  return 0;
}

Status Fail(std::string_view what, int err) {
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(g_print_mu);
    detail = std::move(g_last_warning);
    g_last_warning.clear();
  }
  if (detail.empty()) return ErrnoStatus(what, err);
  return ErrnoStatus(std::string(what) + " (libbpf: " + detail + ")", err);
}

class BpfExecTracer final : public ExecTracer {
 public:
  ~BpfExecTracer() override {
    if (ring_) ring_buffer__free(ring_);
    if (watch_ != nullptr) ::munmap(watch_, watch_len_);
    if (link_) bpf_link__destroy(link_);
    if (obj_) bpf_object__close(obj_);
  }

  Status Open(const ExecTracerOptions& o) {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(LibbpfPrint); });
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "invar_exec");
    const auto size = static_cast<std::size_t>(invar_exec_bpf_obj_end - invar_exec_bpf_obj);
    obj_ = bpf_object__open_mem(invar_exec_bpf_obj, size, &open_opts);
    if (obj_ == nullptr) return Fail("bpf_object__open_mem", errno);
    if (int rc = bpf_object__load(obj_); rc != 0) return Fail("loading the exec tracer", -rc);
    bpf_program* prog = bpf_object__find_program_by_name(obj_, "invar_on_exec");
    bpf_map* ring = bpf_object__find_map_by_name(obj_, "invar_exec_ring");
    bpf_map* watch = bpf_object__find_map_by_name(obj_, "invar_exec_watch");
    if (prog == nullptr || ring == nullptr || watch == nullptr)
      return Status::Internal("exec tracer object incomplete");
    const long page = ::sysconf(_SC_PAGESIZE);
    watch_len_ = (sizeof(invar_exec_watch) + static_cast<std::size_t>(page) - 1) /
                 static_cast<std::size_t>(page) * static_cast<std::size_t>(page);
    void* m = ::mmap(nullptr, watch_len_, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(watch), 0);
    if (m == MAP_FAILED) return Fail("mmap of the exec watch set", errno);
    watch_ = static_cast<invar_exec_watch*>(m);
    __atomic_store_n(&watch_->report_all, o.filter_mnt_ns ? 0u : 1u, __ATOMIC_RELEASE);
    ring_fd_ = bpf_map__fd(ring);
    ring_ = ring_buffer__new(ring_fd_, &BpfExecTracer::OnSample, this, nullptr);
    if (ring_ == nullptr) return Fail("ring_buffer__new", errno);
    link_ = bpf_program__attach(prog);
    if (link_ == nullptr) return Fail("attaching to sched_process_exec", errno);
    return Status::Ok();
  }

  int fd() const override { return ring_fd_; }

  std::size_t Drain(const std::function<void(const ExecRecord&)>& fn) override {
    fn_ = &fn;
    n_ = 0;
    ring_buffer__consume(ring_);
    fn_ = nullptr;
    return n_;
  }

  void Watch(std::uint32_t ns) override {
    if (ns == 0 || ns == INVAR_EXEC_TOMBSTONE) return;
    std::lock_guard<std::mutex> lock(mu_);
    const std::uint32_t h = ns & (INVAR_EXEC_SLOTS - 1);
    int free_slot = -1;
    for (std::uint32_t i = 0; i < INVAR_EXEC_PROBES; ++i) {
      const std::uint32_t k = (h + i) & (INVAR_EXEC_SLOTS - 1);
      const std::uint32_t s = __atomic_load_n(&watch_->slots[k], __ATOMIC_RELAXED);
      if (s == ns) {
        ++refs_[ns];
        return;
      }
      if (free_slot < 0 && (s == 0 || s == INVAR_EXEC_TOMBSTONE)) free_slot = static_cast<int>(k);
      if (s == 0) break;
    }
    ++refs_[ns];
    if (free_slot < 0) {
      if (__atomic_exchange_n(&watch_->report_all, 1u, __ATOMIC_RELEASE) == 0) {
        log::Warn("exec tracer: no free slot for mount namespace {}; reporting every exec on the host", ns);
      }
      return;
    }
    __atomic_store_n(&watch_->slots[free_slot], ns, __ATOMIC_RELEASE);
  }

  void Unwatch(std::uint32_t ns) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refs_.find(ns);
    if (it == refs_.end() || --it->second > 0) return;
    refs_.erase(it);
    const std::uint32_t h = ns & (INVAR_EXEC_SLOTS - 1);
    for (std::uint32_t i = 0; i < INVAR_EXEC_PROBES; ++i) {
      const std::uint32_t k = (h + i) & (INVAR_EXEC_SLOTS - 1);
      const std::uint32_t s = __atomic_load_n(&watch_->slots[k], __ATOMIC_RELAXED);
      if (s == ns) {
        __atomic_store_n(&watch_->slots[k], INVAR_EXEC_TOMBSTONE, __ATOMIC_RELEASE);
        return;
      }
      if (s == 0) return;
    }
  }

  std::uint64_t dropped() const override { return __atomic_load_n(&watch_->dropped, __ATOMIC_RELAXED); }
  bool filtering() const override { return __atomic_load_n(&watch_->report_all, __ATOMIC_RELAXED) == 0; }

 private:
  static int OnSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<BpfExecTracer*>(ctx);
    if (size < sizeof(invar_exec_record) || self->fn_ == nullptr) return 0;
    invar_exec_record raw;
    std::memcpy(&raw, data, sizeof raw);
    ExecRecord r;
    r.tgid = static_cast<pid_t>(raw.tgid);
    r.tid = static_cast<pid_t>(raw.tid);
    r.mnt_ns = raw.mnt_ns;
    r.ktime_ns = raw.ktime_ns;
    std::memcpy(r.comm, raw.comm, sizeof r.comm);
    r.comm[sizeof r.comm - 1] = '\0';
    r.args = std::string_view(raw.args, std::min<std::size_t>(raw.args_len, sizeof raw.args));
    ++self->n_;
    (*self->fn_)(r);
    return 0;
  }

  bpf_object* obj_ = nullptr;
  bpf_link* link_ = nullptr;
  ring_buffer* ring_ = nullptr;
  int ring_fd_ = -1;
  invar_exec_watch* watch_ = nullptr;
  std::size_t watch_len_ = 0;
  const std::function<void(const ExecRecord&)>* fn_ = nullptr;  // during Drain
  std::size_t n_ = 0;
  std::mutex mu_;                                // Watch/Unwatch
  std::unordered_map<std::uint32_t, int> refs_;  // containers per mount ns (guarded by mu_)
};

}  // namespace

Result<std::unique_ptr<ExecTracer>> OpenExecTracer(const ExecTracerOptions& options) {
  auto t = std::make_unique<BpfExecTracer>();
  if (auto st = t->Open(options); !st.ok()) return st;
  return std::unique_ptr<ExecTracer>(std::move(t));
}

}  // namespace invar::drift
