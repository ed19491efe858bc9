// SPDX-License-Identifier: Apache-2.0
// The floor for invar's exec decision latency (issue 5): the least a
// FAN_OPEN_EXEC_PERM listener can do. One fanotify group, FAN_MARK_FILESYSTEM
// on a container's overlay (given as /proc/<pid>/root), a blocking read of
// events, FAN_ALLOW written back at once, the event fd closed. Times each
// decision the way the agent does (read returned -> answer written) and, on
// SIGTERM/SIGINT, prints the same summary line as the agent's exec source:
//   exec decisions: N answered; last K: p50 X us, p90 X us, p99 X us, max X us
// scripts/bench/drift.sh compiles it with cc and runs it in the same exec
// loop as the agent, so the agent's p99 can be read as a ratio to this one.
//   exec-floor <marked path> [fifo-priority (0: normal scheduling; default 1, as the agent)]
// Prints "ready" on stdout once the mark is placed. Needs CAP_SYS_ADMIN.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 16384

static volatile sig_atomic_t stop;
static uint32_t samples[MAX_SAMPLES];
static uint64_t count;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <marked path> [fifo-priority]\n", argv[0]);
    return 2;
  }
  int prio = argc > 2 ? atoi(argv[2]) : 1;
  if (prio > 0) {
    struct sched_param sp = {.sched_priority = prio};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) fprintf(stderr, "SCHED_FIFO: %s\n", strerror(errno));
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;  // no SA_RESTART: the blocking read returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (fan < 0) {
    perror("fanotify_init");
    return 1;
  }
  if (fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, argv[1]) != 0) {
    perror("fanotify_mark");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  static char buf[16384] __attribute__((aligned(8)));
  while (!stop) {
    ssize_t len = read(fan, buf, sizeof buf);
    if (len <= 0) {
      if (len < 0 && errno != EINTR) perror("read");
      if (len < 0 && errno == EINTR) continue;
      break;
    }
    uint64_t t0 = now_ns();
    struct fanotify_event_metadata* md = (struct fanotify_event_metadata*)buf;
    while (FAN_EVENT_OK(md, len)) {
      if (md->fd >= 0) {
        if (md->mask & FAN_OPEN_EXEC_PERM) {
          struct fanotify_response r = {.fd = md->fd, .response = FAN_ALLOW};
          if (write(fan, &r, sizeof r) != (ssize_t)sizeof r) perror("write");
          uint64_t d = now_ns() - t0;
          samples[count % MAX_SAMPLES] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
          ++count;
        }
        close(md->fd);
      }
      md = FAN_EVENT_NEXT(md, len);
    }
  }
  size_t n = count < MAX_SAMPLES ? (size_t)count : MAX_SAMPLES;
  if (n == 0) {
    printf("exec decisions: 0 answered\n");
    return 0;
  }
  qsort(samples, n, sizeof samples[0], cmp_u32);
#define Q(f) (samples[(size_t)((f) * (double)n) < n ? (size_t)((f) * (double)n) : n - 1] / 1e3)
  printf("exec decisions: %llu answered; last %zu: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
         (unsigned long long)count, n, Q(0.5), Q(0.9), Q(0.99), samples[n - 1] / 1e3);
  return 0;
}
