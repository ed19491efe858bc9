/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* invar's exec tracer, the kernel side: a raw tracepoint on
 * sched_process_exec (no tracefs needed) that reports, for each exec in a
 * watched mount namespace, the process and its new comm through a BPF ring
 * buffer. Loaded by drift/sources/exec_tracer_bpf.cpp, which embeds the
 * object file. CO-RE (kernel BTF) reads task->nsproxy->mnt_ns->ns.inum; the
 * minimal struct definitions below are relocated against the running kernel,
 * and task->mm->arg_start..arg_end gives the start of the new command line.
 * Licensed GPL-compatible because bpf_get_current_task() is a GPL-only
 * helper. Built with clang -target bpf (drift/sources/CMakeLists.txt). */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "exec_trace.h"

struct ns_common {
  unsigned int inum;
} __attribute__((preserve_access_index));
struct mnt_namespace {
  struct ns_common ns;
} __attribute__((preserve_access_index));
struct nsproxy {
  struct mnt_namespace *mnt_ns;
} __attribute__((preserve_access_index));
struct mm_struct {
  unsigned long arg_start;
  unsigned long arg_end;
} __attribute__((preserve_access_index));
struct task_struct {
  struct nsproxy *nsproxy;
  struct mm_struct *mm;
} __attribute__((preserve_access_index));

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} invar_exec_ring SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct invar_exec_watch);
} invar_exec_watch SEC(".maps");

static __always_inline int watched(struct invar_exec_watch *w, __u32 ns) {
  if (*(volatile __u32 *)&w->report_all) return 1;
  __u32 h = ns & (INVAR_EXEC_SLOTS - 1);
#pragma unroll
  for (int i = 0; i < INVAR_EXEC_PROBES; i++) {
    __u32 s = *(volatile __u32 *)&w->slots[(h + i) & (INVAR_EXEC_SLOTS - 1)];
    if (s == ns) return 1;
    if (s == 0) return 0;
  }
  return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int invar_on_exec(void *ctx) {
  __u32 zero = 0;
  struct invar_exec_watch *w = bpf_map_lookup_elem(&invar_exec_watch, &zero);
  if (!w) return 0;
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  __u32 ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
  if (!watched(w, ns)) return 0;
  struct invar_exec_record *r = bpf_ringbuf_reserve(&invar_exec_ring, sizeof(*r), 0);
  if (!r) {
    __sync_fetch_and_add(&w->dropped, 1);
    return 0;
  }
  __u64 id = bpf_get_current_pid_tgid();
  r->tgid = (__u32)(id >> 32);
  r->tid = (__u32)id;
  r->mnt_ns = ns;
  r->pad = 0;
  r->ktime_ns = bpf_ktime_get_ns();
  bpf_get_current_comm(r->comm, sizeof(r->comm));
  /* The new argv, just written to the new stack by the exec: the applet of
   * "busybox sh -c ..." even if the process execs again right away. */
  unsigned long start = BPF_CORE_READ(t, mm, arg_start);
  unsigned long end = BPF_CORE_READ(t, mm, arg_end);
  __u64 len = end > start ? end - start : 0;
  if (len > INVAR_EXEC_ARGS - 1) len = INVAR_EXEC_ARGS - 1;
  barrier_var(len);           /* keep clang from dropping the mask below */
  len &= INVAR_EXEC_ARGS - 1; /* a bound the verifier sees: 0..127 */
  r->args_len = 0;
  r->pad2 = 0;
  if (bpf_probe_read_user(r->args, (__u32)len, (void *)start) == 0) r->args_len = (__u32)len;
  /* No wakeup: the agent drains the ring whenever its decision thread wakes
   * (every exec in a watched container raises a fanotify event) and every
   * millisecond while it waits for a record. */
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
