#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Webhook throughput and latency, side by side in one run, same certificate:
#   invar webhook (standalone, review's namespace enforcing `immutable`)
#   nginx returning a static AdmissionReview (the ceiling: TLS + HTTP, no work)
#   the minimal Go webhook (the floor cost of the Go admission stack)
# wrk -t1 -c32 -d${DURATION}s --latency POSTing review-5k.json over HTTPS
# keep-alive; then all three at a fixed RATE (default 10,000 reviews/s, paced
# by webhook-rate.lua over 32 connections): nginx and Go there are the harness
# floor of the tail (what wrk's 1 ms release batches cost any server). Each
# throughput run also counts the server's CPU time (`perf stat -e task-clock`
# over all its processes/threads, if perf is installed) divided by the
# requests wrk completed: CPU µs per request. Prints Markdown tables with ratios.
#
#   scripts/bench/webhook.sh            # builds build/bench if INVAR is unset
#   INVAR=build/release/enforcer/cli/invar DURATION=10 scripts/bench/webhook.sh
#   CURVE="5000 8000 10000 12000" ...   # also p99 vs offered rate, invar and nginx
#   THREADS=1 ...                       # invar --threads and nginx worker_processes
#   SCHED=1 ...                         # + where the fixed-rate tail waits (below)
#   SLICE_NS=100000 ...                 # EEVDF slice request for every server's threads
#
# SLICE_NS asks the kernel (Linux >= 6.12, EEVDF custom slices; unprivileged:
# sched_setattr with SCHED_OTHER and sched_runtime) for that time slice on
# every thread of all three servers alike (invar, nginx's workers, Go), not
# on wrk: a woken task with a shorter slice gets an earlier deadline and
# waits less behind wrk. An experiment for the tail, same for every server.
#
# With SCHED=1, one more invar fixed-rate run under `perf sched record` and
# `perf stat -e context-switches,cpu-migrations`: context switches and
# migrations per request, and `perf sched latency` (wakeup -> running delay,
# average and maximum) for invar's workers and wrk: run-queue delay on the
# two shared cores, as opposed to time spent handling.
#
# With CALLGRIND=1 it only counts the invar server's instructions per review
# (load-independent): invar --threads=1 under callgrind, 200 reviews to warm
# up uninstrumented, then instrumentation on for exactly REVIEWS (1000)
# keep-alive reviews over one connection (curl; its one TLS handshake is
# included and shown separately). Prints Ir per review, the main inclusive
# costs per review, and keeps the profile with CALLGRIND_OUT=<file>.
#
# With BASE=<another invar binary> it also runs a paired A/B of CPU time per
# review (ROUNDS rounds, default 3, BASE and INVAR alternating, same wrk load):
# `perf stat -e task-clock` on the server over the wrk run divided by the
# requests wrk completed. That number depends far less on what else the
# machine is doing than reviews/s does.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${SHARED_BENCH:-/work/shared/bench}
duration=${DURATION:-10}
threads=${THREADS:-$(nproc)}
review=${REVIEW:-$repo/tests/data/review-5k.json}
[ -f "$review" ] || review=$shared/review-5k.json

if [ -z "${INVAR:-}" ]; then
  cmake -S "$repo" -B "$repo/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINVAR_TESTS=OFF >/dev/null
  cmake --build "$repo/build/bench" --target invar -j2 >/dev/null
  INVAR=$repo/build/bench/enforcer/cli/invar
fi
for tool in wrk nginx go openssl; do
  command -v "$tool" >/dev/null || { echo "webhook.sh: $tool not found (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/invar-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" \
  -out "$work/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
chmod 0600 "$work/key.pem"
ns=$(grep -o '"namespace": *"[^"]*"' "$review" | head -1 | sed 's/.*: *"\(.*\)"/\1/')
cat >"$work/config.yaml" <<YAML
namespaces:
  $ns: {invar.dev/enforce: immutable}
YAML

if [ -n "${CALLGRIND:-}" ]; then
  for tool in valgrind callgrind_control callgrind_annotate curl; do
    command -v "$tool" >/dev/null || { echo "webhook.sh: $tool not found" >&2; exit 2; }
  done
  n=${REVIEWS:-1000}
  out=${CALLGRIND_OUT:-$work/callgrind.out}
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "$INVAR" --log-level=warn webhook \
    --standalone --listen=127.0.0.1:18448 --tls-cert="$work/cert.pem" --tls-key="$work/key.pem" \
    --config="$work/config.yaml" --threads=1 --seccomp=off 2>"$work/valgrind.log" &
  vg=$!
  pids+=($vg)
  for _ in $(seq 300); do curl -sk -o /dev/null https://127.0.0.1:18448/healthz 2>/dev/null && break; sleep 0.1; done
  posts() {  # COUNT: COUNT reviews over one keep-alive connection
    for _ in $(seq "$1"); do printf 'url = "https://127.0.0.1:18448/validate"\noutput = "/dev/null"\n'; done >"$work/urls.txt"
    curl -sSk --fail -X POST -H 'Content-Type: application/json' --data-binary @"$review" -K "$work/urls.txt" || {
      echo "webhook.sh: reviews under callgrind failed; valgrind log:" >&2
      tail -20 "$work/valgrind.log" >&2
      exit 1
    }
  }
  posts 200
  callgrind_control -i on "$vg" >/dev/null 2>&1
  posts "$n"
  callgrind_control -d "$vg" >/dev/null 2>&1  # dump 1: exactly the $n reviews
  callgrind_control -i off "$vg" >/dev/null 2>&1
  kill "$vg"; wait "$vg" 2>/dev/null || true
  f=$out.1
  total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "callgrind, invar --threads=1, $n keep-alive reviews of $(basename "$review") over 1 connection: $(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.1fk", t / n / 1000 }') Ir per review (1 TLS handshake included)"
  echo "inclusive Ir per review:"
  callgrind_annotate --inclusive=yes "$f" 2>/dev/null | awk -v n="$n" '/^ *[0-9,]+ .*[:(]/ {
      c=$1; gsub(",", "", c); $1=""; if (c / n >= 1000) printf "%8.1fk %s\n", c / n / 1000, substr($0, 1, 150) }' |
    grep -E "Handle|DecodeReview|DepthExceeds|DecodeObject|Decide|AppendReview|AppendJsonEscaped|SSL_read_ex|SSL_write_ex|SSL_do_handshake|epoll|Parse\(|malloc|free|stage1|Evaluate|scheduler::run" | head -30
  exit 0
fi

# invar
start_invar() {  # BINARY PORT
  "$1" --log-level=warn webhook --standalone --listen=127.0.0.1:"$2" --tls-cert="$work/cert.pem" \
    --tls-key="$work/key.pem" --config="$work/config.yaml" --threads="$threads" 2>>"$work/invar.log" &
  pids+=($!)
}
start_invar "$INVAR" 18443
# nginx
mkdir -p "$work/nginx/tmp"
sed -e 's/127.0.0.1:8443/127.0.0.1:18444/' -e "s/^worker_processes .*/worker_processes $threads;/" \
  "$shared/nginx-ceiling.conf" >"$work/nginx/nginx.conf"
cp "$work/cert.pem" "$work/key.pem" "$work/nginx/"
(cd "$work/nginx" && nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e stderr 2>"$work/nginx.log")
# Go
cp -r "$shared/go-webhook" "$work/go-src"
(cd "$work/go-src" && GOFLAGS=-mod=mod go build -o "$work/go-webhook" . 2>"$work/go-build.log")
GOMAXPROCS=$threads "$work/go-webhook" -addr 127.0.0.1:18445 -cert "$work/cert.pem" -key "$work/key.pem" \
  -procs "$threads" 2>"$work/go.log" &
pids+=($!)
go_pid=$!
invar_pid=${pids[0]}

for port in 18443 18444 18445; do
  for _ in $(seq 100); do
    curl -sk -o /dev/null "https://127.0.0.1:$port/healthz" 2>/dev/null && break
    sleep 0.1
  done
done
# invar answers the review (a denial: one container of review-5k.json is not immutable).
curl -sk -X POST --data-binary @"$review" https://127.0.0.1:18443/validate | head -c 300 >"$work/invar-answer.json"
grep -q '"allowed":false' "$work/invar-answer.json" || {
  echo "webhook.sh: invar did not deny the review: $(cat "$work/invar-answer.json")" >&2
  exit 1
}

# The server's processes and threads for perf stat -p: nginx's workers (not
# the idle master), the pid itself for invar and Go (perf follows threads).
nginx_workers() { pgrep -d, -P "$(cat "$work/nginx/nginx.pid")"; }

# run NAME URL PIDS [extra wrk args...] -> "rps p50 p99 cpu_us_per_request"
# (cpu "-" without perf or PIDS)
run() {
  local name=$1 url=$2 pids_csv=$3
  shift 3
  local out perf_pid=""
  if [ -n "$pids_csv" ] && command -v perf >/dev/null; then
    perf stat -e task-clock -x, -o "$work/perf-$name.txt" -p "$pids_csv" 2>/dev/null &
    perf_pid=$!
    sleep 0.2
  fi
  out=$(cd "$(dirname "$review")" && REVIEW=$review wrk -t1 -c32 -d"${duration}s" --latency "$@" "$url")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
  fi
  echo "$out" >"$work/wrk-$name.txt"
  local rps p50 p99 errors reqs cpu="-"
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  [ -n "$errors" ] && echo "webhook.sh: $name: $errors" >&2
  if [ -n "$perf_pid" ] && [ -s "$work/perf-$name.txt" ]; then
    # perf counted ~0.2 s of idle before wrk started: negligible CPU.
    cpu=$(awk -F, -v n="$reqs" '/task-clock/ { printf "%.1f", $1 * 1000 / n }' "$work/perf-$name.txt")
  fi
  echo "$rps $p50 $p99 $cpu"
}

# Latency strings from wrk ("512.00us", "1.20ms", "2.01s") to milliseconds.
ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.2f", n }'; }

# set_slice NS PID... : the EEVDF slice request on every thread of each PID.
set_slice() {
  python3 - "$@" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_sched_setattr = 314  # x86-64
ns = int(sys.argv[1])
for pid in sys.argv[2:]:
    for tid in os.listdir(f"/proc/{pid}/task"):
        # struct sched_attr (VER0, 48 bytes): size, policy=SCHED_OTHER, flags, nice, prio, runtime, deadline, period
        attr = struct.pack("IIQiIQQQ", 48, 0, 0, 0, 0, ns, 0, 0)
        buf = ctypes.create_string_buffer(attr, 48)
        if libc.syscall(SYS_sched_setattr, int(tid), buf, 0) != 0:
            sys.exit(f"webhook.sh: sched_setattr({tid}): {os.strerror(ctypes.get_errno())}")
PY
}
if [ -n "${SLICE_NS:-}" ]; then
  set_slice "$SLICE_NS" "$invar_pid" "$go_pid" $(tr , ' ' <<<"$(nginx_workers)")
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r i_rps i_p50 i_p99 i_cpu < <(run invar https://127.0.0.1:18443/validate "$invar_pid" -s "$shared/post.lua")
read -r n_rps n_p50 n_p99 n_cpu < <(run nginx https://127.0.0.1:18444/validate "$(nginx_workers)" -s "$shared/post.lua")
read -r g_rps g_p50 g_p99 g_cpu < <(run go https://127.0.0.1:18445/validate "$go_pid" -s "$shared/post.lua")
rate=${RATE:-10000}
rate_lua=$repo/scripts/bench/webhook-rate.lua
read -r r_rps r_p50 r_p99 r_cpu < <(RATE=$rate run invar-rate https://127.0.0.1:18443/validate "$invar_pid" -s "$rate_lua")
read -r rn_rps rn_p50 rn_p99 rn_cpu < <(RATE=$rate run nginx-rate https://127.0.0.1:18444/validate "$(nginx_workers)" -s "$rate_lua")
read -r rg_rps rg_p50 rg_p99 rg_cpu < <(RATE=$rate run go-rate https://127.0.0.1:18445/validate "$go_pid" -s "$rate_lua")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

sched_report=""
if [ -n "${SCHED:-}" ]; then
  command -v perf >/dev/null || { echo "webhook.sh: SCHED needs perf (linux-perf)" >&2; exit 2; }
  perf stat -e context-switches,cpu-migrations -x, -o "$work/perf-sched-stat.txt" -p "$invar_pid" 2>/dev/null &
  sched_stat=$!
  perf sched record -o "$work/sched.data" -- sleep "$duration" >/dev/null 2>&1 &
  sched_rec=$!
  sleep 0.2
  read -r s_rps s_p50 s_p99 _ < <(RATE=$rate run invar-sched https://127.0.0.1:18443/validate "" -s "$rate_lua")
  wait "$sched_rec" 2>/dev/null || true
  kill -INT "$sched_stat"; wait "$sched_stat" 2>/dev/null || true
  s_reqs=$(awk '/requests in/ {print $1}' "$work/wrk-invar-sched.txt")
  sched_report=$(
    echo "fixed ${rate}/s under perf sched (achieved $(printf %.0f "$s_rps")/s, p50 $(ms "$s_p50") ms, p99 $(ms "$s_p99") ms):"
    awk -F, -v n="$s_reqs" '$3 ~ /context-switches|cpu-migrations/ { printf "  invar %s per request: %.3f\n", $3, $1 / n }' \
      "$work/perf-sched-stat.txt"
    echo "  perf sched latency -p (wakeup -> running), invar's threads (pid $invar_pid) and wrk:"
    tids=$(ls "/proc/$invar_pid/task" | paste -sd'|')
    perf sched latency -p -i "$work/sched.data" --sort max 2>/dev/null |
      grep -E "Task|^ *-+$|:($tids) |wrk:" | head -12 | sed 's/^/  /'
  )
fi

# cpu_per_review BINARY PORT -> "reviews/s µs-CPU-per-review" (server started and stopped here)
cpu_per_review() {
  start_invar "$1" "$2"
  local pid=${pids[-1]}
  for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$2/healthz" 2>/dev/null && break; sleep 0.1; done
  perf stat -e task-clock -x, -o "$work/perf-$2.txt" -p "$pid" &
  local perf_pid=$!
  local out
  out=$(cd "$(dirname "$review")" && REVIEW=$review wrk -t1 -c32 -d"${duration}s" -s "$shared/post.lua" \
    "https://127.0.0.1:$2/validate")
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  local reqs rps msec
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  msec=$(awk -F, '/task-clock/ {print $1}' "$work/perf-$2.txt")
  awk -v r="$rps" -v m="$msec" -v n="$reqs" 'BEGIN { printf "%.0f %.1f\n", r, m * 1000 / n }'
}
echo
echo "wrk -t1 -c32 -d${duration}s --latency, HTTPS keep-alive, POST $(basename "$review") ($(wc -c <"$review") bytes), $(nproc) cores, invar --threads=$threads${SLICE_NS:+, slice request of ${SLICE_NS} ns on every server thread}"
echo
echo "| server | reviews/s | p50 ms | p99 ms | server CPU µs/request | vs nginx | vs Go |"
echo "|---|---|---|---|---|---|---|"
printf "| invar webhook (evaluates immutable, denies) | %.0f | %s | %s | %s | %s | %s |\n" "$i_rps" "$(ms "$i_p50")" "$(ms "$i_p99")" "$i_cpu" "$(ratio "$i_rps" "$n_rps")" "$(ratio "$i_rps" "$g_rps")"
printf "| nginx static reply (ceiling) | %.0f | %s | %s | %s | 1.00 | %s |\n" "$n_rps" "$(ms "$n_p50")" "$(ms "$n_p99")" "$n_cpu" "$(ratio "$n_rps" "$g_rps")"
printf "| Go minimal webhook (floor of the Go stack) | %.0f | %s | %s | %s | %s | 1.00 |\n" "$g_rps" "$(ms "$g_p50")" "$(ms "$g_p99")" "$g_cpu" "$(ratio "$g_rps" "$n_rps")"
echo
echo "fixed rate: ${rate}/s offered by webhook-rate.lua (1 ms release batches), 32 conns, ${duration}s; nginx and Go are the harness floor"
echo
echo "| server | achieved/s | p50 ms | p99 ms | server CPU µs/request |"
echo "|---|---|---|---|---|"
printf "| invar | %.0f | %s | %s | %s |\n" "$r_rps" "$(ms "$r_p50")" "$(ms "$r_p99")" "$r_cpu"
printf "| nginx | %.0f | %s | %s | %s |\n" "$rn_rps" "$(ms "$rn_p50")" "$(ms "$rn_p99")" "$rn_cpu"
printf "| Go | %.0f | %s | %s | %s |\n" "$rg_rps" "$(ms "$rg_p50")" "$(ms "$rg_p99")" "$rg_cpu"
echo
echo "load average before: $load_before; after: $load_after"
if [ -n "${CURVE:-}" ]; then
  echo
  echo "p99 vs offered rate (webhook-rate.lua, 32 conns, ${duration}s each, invar and nginx interleaved):"
  echo
  echo "| offered/s | invar achieved/s | invar p50 ms | invar p99 ms | nginx achieved/s | nginx p50 ms | nginx p99 ms |"
  echo "|---|---|---|---|---|---|---|"
  for r in $CURVE; do
    read -r ci_rps ci_p50 ci_p99 _ < <(RATE=$r run "curve-invar-$r" https://127.0.0.1:18443/validate "" -s "$rate_lua")
    read -r cn_rps cn_p50 cn_p99 _ < <(RATE=$r run "curve-nginx-$r" https://127.0.0.1:18444/validate "" -s "$rate_lua")
    printf "| %s | %.0f | %s | %s | %.0f | %s | %s |\n" "$r" "$ci_rps" "$(ms "$ci_p50")" "$(ms "$ci_p99")" \
      "$cn_rps" "$(ms "$cn_p50")" "$(ms "$cn_p99")"
  done
  echo
  echo "load average after the curve: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
if [ -n "${BASE:-}" ]; then
  command -v perf >/dev/null || { echo "webhook.sh: BASE needs perf (linux-perf)" >&2; exit 2; }
  echo
  echo "paired A/B, CPU time of the server per review (perf stat task-clock / wrk requests, wrk -t1 -c32 -d${duration}s):"
  echo
  echo "| round | BASE reviews/s | BASE µs CPU/review | INVAR reviews/s | INVAR µs CPU/review |"
  echo "|---|---|---|---|---|"
  for round in $(seq "${ROUNDS:-3}"); do
    read -r ab_base_rps ab_base_cpu < <(cpu_per_review "$BASE" 18446)
    read -r ab_new_rps ab_new_cpu < <(cpu_per_review "$INVAR" 18447)
    echo "| $round | $ab_base_rps | $ab_base_cpu | $ab_new_rps | $ab_new_cpu |"
  done
  echo
  echo "load average after the A/B: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
[ -n "$sched_report" ] && { echo; echo "$sched_report"; echo; }
[ "$n_cpu" != "-" ] && [ "$i_cpu" != "-" ] && awk -v n="$n_cpu" -v i="$i_cpu" 'BEGIN {
  printf "CPU per request: invar %.1f µs, nginx %.1f µs; 0.70 x nginx at equal CPU needs invar <= %.1f µs (nginx / 0.7)\n", i, n, n / 0.7 }'
echo "targets: invar >= 0.70 x nginx ($(ratio "$i_rps" "$n_rps")), >= 2 x Go ($(ratio "$i_rps" "$g_rps")), p99 <= 2 ms at ~10k/s ($(ms "$r_p99") ms at $(printf %.0f "$r_rps")/s)"
