#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Drift agent benchmark (issue 5): the write-heavy workload
# (/work/shared/bench/drift-workload.c, built static) inside a containerd
# container whose root is on tmpfs, run in interleaved rounds with
#   none | invar detect | invar prevent | inotifywait -m -r | auditctl -w
# and prints wall-time medians and ratios, alert latency p50/p99, exec
# latency added in prevent mode, agent CPU and peak RSS, and agent RSS with
# 200 idle containers. Needs root. Starts its own containerd; cleans up.
#
#   scripts/bench/drift.sh [--rounds 5] [--files 20000] [--idle 200]
#   AGENT=/path/to/invar-agent-binary (default: build/drift test agent, or `invar agent`)
#   AGENT_BASE=/path/to/older-agent: adds mode detect-base (that binary, detect) to the rounds
#   MODES="none detect ...": the modes to run (default: none detect prevent inotify audit [detect-base])
#   EXEC_ROUNDS=3: prevent-mode exec rounds per binary (AGENT_BASE adds its own runs to each)
#   AGENT_ARGS / AGENT_BASE_ARGS: extra agent flags (e.g. AGENT_BASE=$AGENT AGENT_BASE_ARGS=--no-ebpf
#     for an A/B of the eBPF exec tracer against the /proc fallback in the same minutes)
# Each exec round also runs the floor: scripts/bench/exec-floor.c (a minimal
# FAN_OPEN_EXEC_PERM listener that answers at once), and prints the agent's
# decision p99 as a ratio to the floor's p99 of the same round.
set -euo pipefail

ROUNDS=5
FILES=20000
IDLE=200
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--files N] [--idle N]" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z "${AGENT:-}" ]]; then
  if [[ -x $ROOT/build/drift/tests/integration/drift/invar_agent_for_tests ]]; then
    AGENT=$ROOT/build/drift/tests/integration/drift/invar_agent_for_tests
  else
    AGENT="$ROOT/build/release/enforcer/cli/invar agent"
  fi
fi
W=/dev/shm/invar-bench-$$
SOCK=$W/containerd.sock
CTR="ctr -a $SOCK -n k8s.io"
CONTAINERD_PID=""
AUDITD_STARTED=""
AGENT_PID=""
WATCH_PID=""

cleanup() {
  set +e
  [[ -n $WATCH_PID ]] && kill "$WATCH_PID" 2>/dev/null
  [[ -n ${PROFILER_PID:-} ]] && kill -INT "$PROFILER_PID" 2>/dev/null && wait "$PROFILER_PID" 2>/dev/null
  [[ -n $AGENT_PID ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  if [[ -n ${UPPER:-} ]]; then auditctl -W "$UPPER" -p wa >/dev/null 2>&1; fi
  if [[ -n $AUDITD_STARTED ]]; then kill "$AUDITD_STARTED" 2>/dev/null; auditctl -e 0 >/dev/null 2>&1; fi
  if [[ -S $SOCK ]]; then
    for id in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
    sleep 0.5
    for id in $($CTR containers ls -q 2>/dev/null); do
      $CTR tasks delete -f "$id" >/dev/null 2>&1; $CTR containers delete "$id" >/dev/null 2>&1
    done
  fi
  [[ -n $CONTAINERD_PID ]] && kill "$CONTAINERD_PID" 2>/dev/null && wait "$CONTAINERD_PID" 2>/dev/null
  for p in $(pgrep -f "$W/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/root" "$W/state" "$W/img/rootfs/bin" "$W/img/rootfs/tmp" "$W/img/rootfs/etc" "$W/img/arch"
cat >"$W/config.toml" <<TOML
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
TOML
containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
CONTAINERD_PID=$!
for _ in $(seq 100); do $CTR version >/dev/null 2>&1 && break; sleep 0.1; done

gcc -static -O2 -o "$W/img/rootfs/bin/drift-workload" /work/shared/bench/drift-workload.c
cp /bin/busybox "$W/img/rootfs/bin/busybox"
printf 'int main(void) { return 0; }\n' | gcc -static -O2 -x c -o "$W/img/rootfs/bin/noop" -
for a in sh true sleep seq echo cat rm mkdir; do ln -s busybox "$W/img/rootfs/bin/$a"; done
chmod 1777 "$W/img/rootfs/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/img/rootfs/etc/passwd"
tar -C "$W/img/rootfs" -cf "$W/img/arch/layer.tar" .
DIFF=$(sha256sum "$W/img/arch/layer.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$DIFF" >"$W/img/config.json"
CFG=$(sha256sum "$W/img/config.json" | cut -d' ' -f1)
cp "$W/img/config.json" "$W/img/arch/$CFG.json"
printf '[{"Config":"%s.json","RepoTags":["docker.io/invar/bench:1"],"Layers":["layer.tar"]}]' "$CFG" >"$W/img/arch/manifest.json"
tar -C "$W/img/arch" -cf "$W/img/image.tar" .
$CTR images import "$W/img/image.tar" >/dev/null

run_container() {  # id
  $CTR run -d --annotation io.kubernetes.cri.container-type=container \
    --annotation io.kubernetes.cri.sandbox-name=bench --annotation io.kubernetes.cri.sandbox-namespace=bench \
    --annotation io.kubernetes.cri.container-name="$1" docker.io/invar/bench:1 "$1" sleep 1000000 >/dev/null
}
# Ids are unique per run: runc keeps its state in a machine-wide directory.
BENCH=bench-$$
run_container "$BENCH"
UPPER=$(grep -o 'upperdir=[^,]*' "/proc/$(cat "$W/state/io.containerd.runtime.v2.task/k8s.io/$BENCH/init.pid")/mountinfo" | head -1 | cut -d= -f2)
EXEC_SEQ=0
MPORT=$((19000 + $$ % 1000))
cexec() { EXEC_SEQ=$((EXEC_SEQ + 1)); $CTR tasks exec --exec-id "b$EXEC_SEQ" "$BENCH" "$@"; }

start_agent() {  # mode [binary [extra args]]
  rm -rf "$W/agent-state"; : >"$W/alerts.json"
  # shellcheck disable=SC2086
  ${2:-$AGENT} ${3:-} --containerd-state "$W/state/io.containerd.runtime.v2.task" --state-dir "$W/agent-state" \
    --action "$1" --output json --output-file "$W/alerts.json" --no-stdout --ready-file "$W/ready" \
    --rescan-seconds 0 --metrics-listen "127.0.0.1:$MPORT" ${AGENT_ARGS:-} 2>"$W/agent.log" &
  AGENT_PID=$!
  for _ in $(seq 200); do grep -q "watching container ${BENCH:0:12}" "$W/agent.log" 2>/dev/null && break; sleep 0.05; done
}
stop_agent() {
  AGENT_ALERTS=$(wc -l <"$W/alerts.json")
  AGENT_CPU_TICKS=$(awk '{print $14+$15}' "/proc/$AGENT_PID/stat")
  AGENT_HWM=$(awk '/VmHWM/{print $2}' "/proc/$AGENT_PID/status")
  kill "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=""
  if [[ -n ${KEEP_LOG:-} ]]; then cat "$W/agent.log" >>"$KEEP_LOG"; fi
}

# PROFILE=perf|strace (with PROFILE_DIR=dir): profile the agent during each
# detect/prevent workload run (perf record -g / strace -c -f); off by default
# because either one slows the agent down.
PROFILER_PID=""
start_profiler() {  # tag
  [[ -z ${PROFILE:-} ]] && return 0
  mkdir -p "${PROFILE_DIR:=$ROOT/build/drift-profile}"
  case $PROFILE in
    perf) perf record -q -F 1999 -g -p "$AGENT_PID" -o "$PROFILE_DIR/perf-$1.data" >/dev/null 2>&1 & ;;
    strace) strace -c -f -p "$AGENT_PID" -o "$PROFILE_DIR/strace-$1.txt" >/dev/null 2>&1 & ;;
  esac
  PROFILER_PID=$!
  sleep 0.5
}
stop_profiler() {
  [[ -z $PROFILER_PID ]] && return 0
  kill -INT "$PROFILER_PID" 2>/dev/null; wait "$PROFILER_PID" 2>/dev/null || true; PROFILER_PID=""
}

declare -A TIMES CPU HWM WLCPU
MODES=${MODES:-"none detect prevent inotify audit${AGENT_BASE:+ detect-base}"}
if ! command -v auditctl >/dev/null; then MODES=${MODES/ audit/}; fi

# Prints the wall time (ms); leaves the workload's own CPU time (user+sys in
# ms, from busybox time: wait4's rusage, so it holds the kernel's fanotify
# work done in the writer's context, and not the watcher's) in $W/wl-cpu.
workload() {
  local t0 t1
  t0=$(date +%s%N)
  cexec /bin/busybox time /bin/drift-workload /tmp/wl "$FILES" 2>"$W/wl-time"
  t1=$(date +%s%N)
  awk '{for (i = 1; i < NF; i++) if ($i == "user" || $i == "sys") t += ($(i+1) + 0) * 60 + ($(i+2) + 0) }
       END { printf "%d", t * 1000 }' "$W/wl-time" >"$W/wl-cpu"
  echo $(((t1 - t0) / 1000000))
}

if [[ $MODES == *audit* ]] && ! pgrep -x auditd >/dev/null; then
  auditd -n >/dev/null 2>&1 &
  AUDITD_STARTED=$!
  sleep 1
  # Enabled only around the audit rounds below: an enabled audit subsystem
  # slows every syscall of every process, which skewed the other modes.
  auditctl -e 0 >/dev/null
fi

echo "drift bench: $ROUNDS interleaved rounds, $FILES files, containerd root on tmpfs ($W)" >&2
for r in $(seq "$ROUNDS"); do
  for m in $MODES; do
    case $m in
      none) ms=$(workload) ;;
      detect|prevent|detect-base)
        start_agent "$( [[ $m == prevent ]] && echo prevent || echo flag )" "$( [[ $m == detect-base ]] && echo "$AGENT_BASE" )"
        start_profiler "$m-$r"
        ms=$(workload)
        sleep 0.3
        stop_profiler
        stop_agent
        CPU[$m]="${CPU[$m]:-} $AGENT_CPU_TICKS"; HWM[$m]="${HWM[$m]:-} $AGENT_HWM" ;;
      inotify)
        inotifywait -q -m -r -e modify,create,delete,move,attrib "$UPPER" >/dev/null 2>&1 &
        WATCH_PID=$!; sleep 0.5
        ms=$(workload)
        kill "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID="" ;;
      audit)
        if [[ -n $AUDITD_STARTED ]]; then auditctl -e 1 >/dev/null; fi
        auditctl -w "$UPPER" -p wa >/dev/null
        ms=$(workload)
        auditctl -W "$UPPER" -p wa >/dev/null
        if [[ -n $AUDITD_STARTED ]]; then auditctl -e 0 >/dev/null; fi ;;
    esac
    TIMES[$m]="${TIMES[$m]:-} $ms"
    WLCPU[$m]="${WLCPU[$m]:-} $(cat "$W/wl-cpu")"
    echo "round $r $m ${ms} ms, workload CPU $(cat "$W/wl-cpu") ms${AGENT_ALERTS:+ ($AGENT_ALERTS alerts, agent CPU $AGENT_CPU_TICKS ticks)} (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    AGENT_ALERTS=""
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
HZ=$(getconf CLK_TCK)
BASE=$(echo "${TIMES[none]:-1}" | median)
WLBASE=$(echo "${WLCPU[none]:-1}" | median)
# Workload CPU: the container's own user+sys time (the watcher's kernel work in
# the writer's context shows here; its own threads do not). Less sensitive to
# other load on the machine than the wall time.
printf '\n| watcher | median wall (ms) | vs none | workload CPU (ms, median) | vs none | agent CPU (s, median) | agent peak RSS (MiB, max) |\n|---|---|---|---|---|---|---|\n'
for m in $MODES; do
  med=$(echo "${TIMES[$m]}" | median)
  ratio=$(awk -v a="$med" -v b="$BASE" 'BEGIN{printf "%+.1f%%", (a/b-1)*100}')
  wl=$(echo "${WLCPU[$m]}" | median)
  wlratio=$(awk -v a="$wl" -v b="$WLBASE" 'BEGIN{printf "%+.1f%%", (b > 0 ? (a/b-1)*100 : 0)}')
  cpu="-"; rss="-"
  if [[ -n ${CPU[$m]:-} ]]; then
    cpu=$(echo "${CPU[$m]}" | median | awk -v hz="$HZ" '{printf "%.2f", $1/hz}')
    rss=$(echo "${HWM[$m]}" | tr ' ' '\n' | sort -n | tail -1 | awk '{printf "%.1f", $1/1024}')
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$m" "$med" "$ratio" "$wl" "$wlratio" "$cpu" "$rss"
done

# --- Alert latency: from a directory's creation (its ctime in the upperdir: mkdir
# leaves it unchanged afterwards) to the alert's evt.time (when the agent read it).
start_agent flag
cexec sh -c 'i=0; while [ $i -lt 300 ]; do mkdir /tmp/lat$i; i=$((i+1)); sleep 0.01; done'
sleep 1
stop_agent
python3 - "$W/alerts.json" "$UPPER" <<'PY'
import json, os, sys
alerts, upper = sys.argv[1], sys.argv[2]
lat = []
for line in open(alerts):
    a = json.loads(line)
    f = a["output_fields"]
    p = f.get("fd.name", "")
    if f.get("invar.op") == "create" and p.startswith("/tmp/lat"):
        st = os.lstat(upper + p)
        lat.append((f["evt.time"] - st.st_ctime_ns) / 1e6)
lat.sort()
if lat:
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"\nalert latency (write -> alert, {len(lat)} files): p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, max {lat[-1]:.2f} ms")
else:
    print("\nalert latency: no alerts")
PY

# --- Exec latency added in prevent mode: 2000 execs of an image binary, two
# kinds: /bin/true (a busybox applet: the decision reads /proc/<pid>/comm
# before answering, for shell detection) and /bin/noop (any other image
# binary: fstat of the event fd + image index lookup, then the answer).
exec_loop() {  # binary
  local t0 t1
  t0=$(date +%s%N)
  cexec sh -c "i=0; while [ \$i -lt 2000 ]; do $1; i=\$((i+1)); done"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000))
}
# With AGENT_BASE, that agent's prevent runs are interleaved with this one's
# (same rounds, same load), labelled "base".
EXEC_ROUNDS=${EXEC_ROUNDS:-3}
cc -O2 -o "$W/exec-floor" "$ROOT/scripts/bench/exec-floor.c"
BENCH_ROOT=/proc/$(cat "$W/state/io.containerd.runtime.v2.task/k8s.io/$BENCH/init.pid")/root
for bin in /bin/true /bin/noop; do
  E0=""; E1=""; E2=""; EF=""
  : >"$W/decisions.txt"
  for r in $(seq "$EXEC_ROUNDS"); do
    E0="$E0 $(exec_loop $bin)"
    "$W/exec-floor" "$BENCH_ROOT" >"$W/floor.txt" 2>&1 &
    FLOOR_PID=$!
    for _ in $(seq 100); do grep -q ready "$W/floor.txt" && break; sleep 0.02; done
    EF="$EF $(exec_loop $bin)"
    kill -TERM "$FLOOR_PID"; wait "$FLOOR_PID" || true
    grep -o 'exec decisions: .*' "$W/floor.txt" | sed "s/^/run $r floor: /" >>"$W/decisions.txt" || true
    start_agent prevent; E1="$E1 $(exec_loop $bin)"
    curl -s "http://127.0.0.1:$MPORT/metrics" >"$W/metrics.txt" || true
    stop_agent
    # Exact percentiles from the exec source's raw samples (logged when it stops).
    grep -o 'exec decisions: .*' "$W/agent.log" | sed "s/^/run $r: /" >>"$W/decisions.txt" || true
    grep -o 'exec decision steps.*' "$W/agent.log" | sed "s/^/run $r: /" >>"$W/decisions.txt" || true
    grep -o 'exec tracer: .*' "$W/agent.log" | sed "s/^/run $r: /" >>"$W/decisions.txt" || true
    if [[ -n ${AGENT_BASE:-} ]]; then
      start_agent prevent "$AGENT_BASE" "${AGENT_BASE_ARGS:-}"; E2="$E2 $(exec_loop $bin)"
      stop_agent
      grep -o 'exec decisions: .*' "$W/agent.log" | sed "s/^/run $r base: /" >>"$W/decisions.txt" || true
    fi
  done
  e0=$(echo "$E0" | median); e1=$(echo "$E1" | median)
  echo
  awk -v a="$e0" -v b="$e1" -v bin="$bin" 'BEGIN{printf "exec latency (%s): %.1f us per exec without agent, %.1f us in prevent mode: %+.1f us added per exec\n", bin, a/2000, b/2000, (b-a)/2000}'
  ef=$(echo "$EF" | median)
  awk -v a="$e0" -v b="$ef" -v bin="$bin" 'BEGIN{printf "exec latency (%s), floor listener: %.1f us per exec: %+.1f us added per exec\n", bin, b/2000, (b-a)/2000}'
  if [[ -n $E2 ]]; then
    e2=$(echo "$E2" | median)
    awk -v a="$e0" -v b="$e2" -v bin="$bin" 'BEGIN{printf "exec latency (%s), base agent: %.1f us in prevent mode: %+.1f us added per exec\n", bin, b/2000, (b-a)/2000}'
  fi
  # The agent's own decision time (event read -> answer written), from its histogram.
  awk -F'[{}" ]+' '/^invar_drift_exec_decision_seconds_bucket/ {le[n]=$3; c[n]=$NF; n++}
    /^invar_drift_exec_decision_seconds_count/ {total=$NF}
    END { if (total == 0) { print "exec decision: no samples"; exit }
          p50="-"; p99="-";
          for (i = 0; i < n; i++) { if (p50 == "-" && c[i] >= 0.5*total) p50=le[i]; if (p99 == "-" && c[i] >= 0.99*total) p99=le[i] }
          printf "exec decision in the agent (%d decisions, last prevent run): p50 <= %s s, p99 <= %s s (histogram bucket bounds)\n", total, p50, p99 }' "$W/metrics.txt"
  if [[ -s $W/decisions.txt ]]; then
    echo "exec decision in the agent, exact (event read -> answer written, per prevent run; then its steps):"
    sed 's/^/  /' "$W/decisions.txt"
    # The agent's p99 over the floor's, per round.
    awk '/exec decisions: [0-9]+ answered; last/ {
           match($0, /p99 [0-9.]+ us/); v = substr($0, RSTART + 4, RLENGTH - 7)
           split($0, w, ":"); tag = w[1]; run = tag; sub(/ (floor|base)$/, "", run)
           if (tag ~ / floor$/) f[run] = v; else if (tag ~ / base$/) b[run] = v; else a[run] = v; runs[run] = 1 }
         END { for (r in runs) if (f[r] > 0) {
                 printf "  %s: decision p99 agent %.1f us, floor %.1f us: %.2fx the floor", r, a[r], f[r], a[r] / f[r]
                 if (b[r] > 0) printf "; base %.1f us: %.2fx", b[r], b[r] / f[r]
                 printf "\n" } }' "$W/decisions.txt" | sort
  fi
done

# --- RSS with idle containers.
if [[ $IDLE -gt 0 ]]; then
  for i in $(seq "$IDLE"); do run_container "idle-$$-$i"; done
  start_agent flag
  for _ in $(seq 600); do
    n=$(grep -c "watching container" "$W/agent.log" || true)
    [[ $n -ge $((IDLE + 1)) ]] && break
    sleep 0.1
  done
  sleep 1
  rss=$(awk '/VmRSS/{print $2}' "/proc/$AGENT_PID/status")
  stop_agent
  awk -v r="$rss" -v h="$AGENT_HWM" -v n="$IDLE" -v w="$n" 'BEGIN{printf "agent RSS with %d idle containers (+1 bench, %d watched): %.1f MiB (peak %.1f MiB)\n", n, w, r/1024, h/1024}'
fi
