#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Is the exec-decision tail the VM's idle vCPUs? Runs the floor listener
# (scripts/bench/exec-floor.c: answers FAN_OPEN_EXEC_PERM at once, SCHED_FIFO 1)
# on CPU 0 over a tmpfs, and 2,000 execs of a copy of /bin/true on CPU 1,
# alternately with the CPUs left idle and with a SCHED_IDLE busy loop on
# each CPU (it runs only when nothing else wants the CPU, but keeps the vCPU
# from halting). Prints the listener's decision percentiles per case.
#   sudo scripts/bench/exec-idle.sh [rounds (default 3)]
# Needs root (fanotify permission events, tmpfs mount), taskset, chrt, cc.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
work=$(mktemp -d /tmp/invar-exec-idle.XXXXXX)
spin=()
cleanup() {
  for p in "${spin[@]}"; do kill "$p" 2>/dev/null || true; done
  mountpoint -q "$work/fs" && umount "$work/fs"
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/exec-floor" "$repo/scripts/bench/exec-floor.c"
mkdir "$work/fs"
mount -t tmpfs tmpfs "$work/fs"
cp /bin/true "$work/fs/true"

run() {  # label
  taskset -c 0 "$work/exec-floor" "$work/fs" 1 >"$work/floor.txt" 2>&1 &
  local fp=$!
  for _ in $(seq 100); do grep -q ready "$work/floor.txt" && break; sleep 0.02; done
  taskset -c 1 sh -c "i=0; while [ \$i -lt 2000 ]; do $work/fs/true; i=\$((i+1)); done"
  kill -TERM "$fp"
  wait "$fp" || true
  echo "$1: $(grep -o 'p50.*' "$work/floor.txt")"
}

echo "cpuidle driver: $(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo n/a); $(uptime)"
for _ in $(seq "$rounds"); do
  run "vCPUs idle          "
  chrt -i 0 taskset -c 0 sh -c 'while :; do :; done' & spin+=($!)
  chrt -i 0 taskset -c 1 sh -c 'while :; do :; done' & spin+=($!)
  run "SCHED_IDLE spinners "
  kill "${spin[@]}"; wait "${spin[@]}" 2>/dev/null || true
  spin=()
done
