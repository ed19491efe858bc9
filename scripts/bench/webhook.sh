#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Webhook throughput and latency, side by side in one run, same certificate:
#   invar webhook (standalone, review's namespace enforcing `immutable`)
#   nginx returning a static AdmissionReview (the ceiling: TLS + HTTP, no work)
#   the minimal Go webhook (the floor cost of the Go admission stack)
# wrk -t1 -c32 -d${DURATION}s --latency POSTing review-5k.json over HTTPS
# keep-alive; then invar at a fixed RATE (default 10,000 reviews/s, paced by
# webhook-rate.lua over 32 connections). Prints a Markdown table with ratios.
#
#   scripts/bench/webhook.sh            # builds build/bench if INVAR is unset
#   INVAR=build/release/enforcer/cli/invar DURATION=10 scripts/bench/webhook.sh
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

# invar
start_invar() {  # BINARY PORT
  "$1" --log-level=warn webhook --standalone --listen=127.0.0.1:"$2" --tls-cert="$work/cert.pem" \
    --tls-key="$work/key.pem" --config="$work/config.yaml" --threads="$threads" 2>>"$work/invar.log" &
  pids+=($!)
}
start_invar "$INVAR" 18443
# nginx
mkdir -p "$work/nginx/tmp"
sed 's/127.0.0.1:8443/127.0.0.1:18444/' "$shared/nginx-ceiling.conf" >"$work/nginx/nginx.conf"
cp "$work/cert.pem" "$work/key.pem" "$work/nginx/"
(cd "$work/nginx" && nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e stderr 2>"$work/nginx.log")
# Go
cp -r "$shared/go-webhook" "$work/go-src"
(cd "$work/go-src" && GOFLAGS=-mod=mod go build -o "$work/go-webhook" . 2>"$work/go-build.log")
GOMAXPROCS=$threads "$work/go-webhook" -addr 127.0.0.1:18445 -cert "$work/cert.pem" -key "$work/key.pem" \
  -procs "$threads" 2>"$work/go.log" &
pids+=($!)

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

# run NAME URL [extra wrk args...] -> "rps p50 p99"
run() {
  local name=$1 url=$2
  shift 2
  local out
  out=$(cd "$(dirname "$review")" && REVIEW=$review wrk -t1 -c32 -d"${duration}s" --latency "$@" "$url")
  echo "$out" >"$work/wrk-$name.txt"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  [ -n "$errors" ] && echo "webhook.sh: $name: $errors" >&2
  echo "$rps $p50 $p99"
}

# Latency strings from wrk ("512.00us", "1.20ms", "2.01s") to milliseconds.
ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.2f", n }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r i_rps i_p50 i_p99 < <(run invar https://127.0.0.1:18443/validate -s "$shared/post.lua")
read -r n_rps n_p50 n_p99 < <(run nginx https://127.0.0.1:18444/validate -s "$shared/post.lua")
read -r g_rps g_p50 g_p99 < <(run go https://127.0.0.1:18445/validate -s "$shared/post.lua")
rate=${RATE:-10000}
read -r r_rps r_p50 r_p99 < <(RATE=$rate run invar-rate https://127.0.0.1:18443/validate \
  -s "$repo/scripts/bench/webhook-rate.lua")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

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
echo "wrk -t1 -c32 -d${duration}s --latency, HTTPS keep-alive, POST $(basename "$review") ($(wc -c <"$review") bytes), $(nproc) cores, invar --threads=$threads"
echo
echo "| server | reviews/s | p50 ms | p99 ms | vs nginx | vs Go |"
echo "|---|---|---|---|---|---|"
printf "| invar webhook (evaluates immutable, denies) | %.0f | %s | %s | %s | %s |\n" "$i_rps" "$(ms "$i_p50")" "$(ms "$i_p99")" "$(ratio "$i_rps" "$n_rps")" "$(ratio "$i_rps" "$g_rps")"
printf "| nginx static reply (ceiling) | %.0f | %s | %s | 1.00 | %s |\n" "$n_rps" "$(ms "$n_p50")" "$(ms "$n_p99")" "$(ratio "$n_rps" "$g_rps")"
printf "| Go minimal webhook (floor of the Go stack) | %.0f | %s | %s | %s | 1.00 |\n" "$g_rps" "$(ms "$g_p50")" "$(ms "$g_p99")" "$(ratio "$g_rps" "$n_rps")"
printf "| invar at a fixed rate (%s/s offered, 32 conns) | %.0f | %s | %s | | |\n" "$rate" "$r_rps" "$(ms "$r_p50")" "$(ms "$r_p99")"
echo
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
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
echo "targets: invar >= 0.70 x nginx ($(ratio "$i_rps" "$n_rps")), >= 2 x Go ($(ratio "$i_rps" "$g_rps")), p99 <= 2 ms at ~10k/s ($(ms "$r_p99") ms at $(printf %.0f "$r_rps")/s)"
