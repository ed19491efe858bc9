/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) OR Apache-2.0 */
/* The layout shared by exec_trace.bpf.c (the kernel side) and
 * exec_tracer_bpf.cpp (its loader): one record per exec in a watched mount
 * namespace, and the watch set the loader writes through mmap. Plain C with
 * fixed-width types; no kernel headers beyond linux/types.h. */
#ifndef INVAR_DRIFT_SOURCES_BPF_EXEC_TRACE_H_
#define INVAR_DRIFT_SOURCES_BPF_EXEC_TRACE_H_

#include <linux/types.h>

#define INVAR_EXEC_SLOTS 8192 /* power of two: open addressing by inum & (SLOTS - 1) */
#define INVAR_EXEC_PROBES 8   /* linear probe length; a set with no free slot in reach reports all */
#define INVAR_EXEC_TOMBSTONE 0xffffffffu
#define INVAR_EXEC_ARGS 128 /* power of two; up to 127 bytes of the new argv are kept */

struct invar_exec_record {
  __u32 tgid;     /* the process after the exec (== its pid) */
  __u32 tid;      /* the thread that exec'd (old_pid when a non-leader thread exec'd) */
  __u32 mnt_ns;   /* inode number of its mount namespace */
  __u32 pad;
  __u64 ktime_ns; /* CLOCK_MONOTONIC */
  char comm[16];  /* the new comm: basename of the exec'd path (a busybox applet's name) */
  __u32 args_len; /* bytes of args filled */
  __u32 pad2;
  char args[INVAR_EXEC_ARGS]; /* start of the new argv, NUL-separated ("busybox\0sh\0-c\0...") */
};

/* Written by user space through mmap (single 32-bit stores), read by the
 * program. report_all != 0 turns the filter off. dropped counts records the
 * ring had no room for. */
struct invar_exec_watch {
  __u32 report_all;
  __u32 pad;
  __u64 dropped;
  __u32 slots[INVAR_EXEC_SLOTS]; /* 0 empty, TOMBSTONE deleted, else a mount ns inum */
};

#endif
