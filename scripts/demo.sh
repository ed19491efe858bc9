#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: what invar does, on this machine, with no cluster.
#   0. installs the Debian packages (scripts/install-deps.sh) and builds `invar`
#   1. admission: `invar certs`, `invar webhook --standalone` on 127.0.0.1 with
#      namespace `demo` enforcing the `immutable` profile; a compliant and a
#      non-compliant pod (examples/pods/) are sent as AdmissionReviews over HTTPS
#   2. drift (root only): a private containerd on tmpfs, a busybox image built
#      offline, `invar agent`; a binary is dropped into a running container and
#      run (alert), then the agent in prevent mode blocks the same exec (EPERM)
#   3. report: `invar report -R -f examples/`
# Everything it starts is stopped and everything it creates is removed on every
# exit path (trap). Exits non-zero when a step that must work did not.
#
#   scripts/demo.sh
# Environment:
#   INVAR_SKIP_INSTALL=1   skip apt (packages already installed)
#   INVAR_BIN=<path>       use this invar binary, do not build (the ctest does)
#   INVAR_DEMO_KEEP=1      keep the work directory (logs) for debugging
# Exit: 0 every step worked (or was skipped: drift needs root), 1 a step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
started=$SECONDS

# ---- presentation -------------------------------------------------------
if [ -t 1 ]; then B=$'\e[1m' R=$'\e[31m' G=$'\e[32m' D=$'\e[2m' N=$'\e[0m'; else B='' R='' G='' D='' N=''; fi
# section "N/3 name ...": a header; also times each section for the summary.
section_name=""
section_start=$SECONDS
timings=""
section() {
  [ -n "$section_name" ] && timings+="${timings:+, }$section_name $((SECONDS - section_start)) s"
  section_name=$(cut -d' ' -f2 <<< "$1")
  section_start=$SECONDS
  printf '\n%s== %s%s\n' "$B" "$*" "$N"
}
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }
ok() { printf '%s✔ %s%s\n' "$G" "$*" "$N"; }
# show ARGS...: prints the command as a person would type it, with the work
# directory written as $WORK.
# Long commands are wrapped before their options.
show() {
  local words=() a line="\$" long=0
  for a in "$@"; do
    [ -n "$work" ] && a=${a//"$work"/\$WORK}
    if [[ "$a" =~ [^A-Za-z0-9_./:=@,+\$-] && "$a" != '&' ]]; then a="'${a//\'/\'\\\'\'}'"; fi
    words+=("$a")
  done
  [ "$(( $(printf '%s ' "${words[@]}" | wc -c) ))" -gt 110 ] && long=1
  for a in "${words[@]}"; do
    if [ "$long" = 1 ] && [[ "$a" == --* ]]; then line+=$' \\\n   '; fi
    line+=" $a"
  done
  printf '%s\n' "$line"
}
# run ARGS...: shows and runs the command.
run() { show "$@"; "$@"; }
fail() {
  printf '%s✘ %s%s\n' "$R" "$*" "$N" >&2
  exit 1
}
# log_tail FILE: the end of a log, for failure messages.
log_tail() { [ -f "$1" ] && { echo "--- last lines of $1:" >&2; tail -n 25 "$1" >&2; } || true; }
# wait_for SECONDS CMD...: polls CMD (every 0.1 s) until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# ---- cleanup (every exit path) -------------------------------------------
work=""
webhook_pid=""
agent_pid=""
containerd_pid=""
# stop_pid PID [SECONDS]: SIGTERM, wait, then SIGKILL. Only our own children.
stop_pid() {
  local pid=$1 limit=$((SECONDS + ${2:-10}))
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && [ "$SECONDS" -lt "$limit" ]; do sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_pid "$webhook_pid" 5
  stop_pid "$agent_pid" 5
  if [ -n "$containerd_pid" ]; then
    if alive "$containerd_pid"; then
      local id
      # Bounded: a wedged containerd must not hang the cleanup.
      for id in $(timeout 20 ctr containers ls -q 2>/dev/null); do
        timeout 20 ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1
        for _ in $(seq 50); do
          timeout 20 ctr tasks delete "$id" >/dev/null 2>&1 && break
          timeout 20 ctr tasks ls -q 2>/dev/null | grep -qx "$id" || break
          sleep 0.1
        done
        timeout 20 ctr containers delete "$id" >/dev/null 2>&1
      done
    fi
    stop_pid "$containerd_pid" 10
    # Anything containerd left behind (containerd was killed, or did not
    # answer): the containers (runc state in $work/runc: `runc delete --force`
    # kills them and removes their cgroups), the shims (their command line
    # names our socket), container processes (init.pid), the cgroups.
    local p f
    for f in "$work"/runc/*/*/state.json; do
      [ -f "$f" ] || continue
      f=$(dirname "$f")
      timeout 20 runc --root "$(dirname "$f")" delete --force "$(basename "$f")" >/dev/null 2>&1
    done
    for f in "$work"/state/io.containerd.runtime.v2.task/*/*/init.pid; do
      [ -f "$f" ] && p=$(cat "$f") && [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
    done
    for p in $(pgrep -f -- "$work/containerd.sock" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    for _ in $(seq 20); do
      f=$(find /sys/fs/cgroup -maxdepth 2 -type d -name "$cgroup_name" 2>/dev/null)
      [ -z "$f" ] && break
      rmdir $f 2>/dev/null
      sleep 0.1
    done
  fi
  if [ -n "$work" ] && [ -d "$work" ]; then
    # Overlay and other mounts below the work directory, deepest first.
    local m
    for _ in 1 2 3; do
      m=$(awk -v p="$work/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
      [ -z "$m" ] && break
      for p in $m; do umount -l "$p" 2>/dev/null; done
    done
    if [ "${INVAR_DEMO_KEEP:-0}" = 1 ]; then
      echo "work directory kept: $work"
    else
      rm -rf "$work"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 0. install and build -------------------------------------------------
if [ -n "${INVAR_BIN:-}" ]; then
  bin=$(realpath "$INVAR_BIN")
  [ -x "$bin" ] || fail "INVAR_BIN=$INVAR_BIN is not an executable"
else
  section "0/3 install and build"
  if [ "${INVAR_SKIP_INSTALL:-0}" != 1 ]; then
    run bash scripts/install-deps.sh
  fi
  show cmake --preset release
  cmake --preset release >/dev/null
  run cmake --build --preset release --target invar
  bin=$src/build/release/enforcer/cli/invar
fi
# The commands below read as a user would type them: `invar ...`.
export PATH="$(dirname "$bin"):$PATH"
command -v invar >/dev/null || fail "no invar binary at $bin"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
# Debian's python3 first (python3-yaml); a python3 earlier on PATH otherwise.
py=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import yaml' 2>/dev/null; then py=$candidate; break; fi
done
[ -n "$py" ] || fail "python3 with PyYAML is needed (scripts/install-deps.sh installs python3-yaml)"

if [ "$(id -u)" = 0 ] && [ -d /dev/shm ]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
work=$(mktemp -d "$base/invar-demo.XXXXXX")
chmod 700 "$work"
cgroup_name=invar-demo-${work##*.}
note "WORK=$work (certificates, configs, logs, containerd; removed at exit)"

# ---- 1. admission webhook -------------------------------------------------
section "1/3 admission webhook: a compliant and a non-compliant pod (no cluster)"
note "A CA and a serving certificate for the webhook Service, as for a cluster without cert-manager:"
show invar certs --service invar-webhook --namespace invar-system --out "$work/certs"
invar certs --service invar-webhook --namespace invar-system --out "$work/certs" \
  > "$work/cabundle.txt" 2> "$work/certs.log" || { log_tail "$work/certs.log"; fail "invar certs failed"; }
ls "$work/certs"

cat > "$work/webhook.yaml" <<'EOF'
# --standalone: namespace labels come from here instead of the cluster.
namespaces:
  demo: {invar.dev/enforce: immutable}
EOF
note "The webhook's config: namespace demo is labelled invar.dev/enforce=immutable."
host=invar-webhook.invar-system.svc
# Port 0: the kernel picks a free port; the webhook logs it.
webhook_cmd=(invar webhook --standalone --listen 127.0.0.1:0 --config "$work/webhook.yaml"
             --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key")
show "${webhook_cmd[@]}" '&'
"${webhook_cmd[@]}" > "$work/webhook.log" 2>&1 &
webhook_pid=$!
port=""
serving() {
  alive "$webhook_pid" || return 1
  port=$(sed -n 's/.*webhook: serving on port \([0-9][0-9]*\).*/\1/p' "$work/webhook.log" | head -n 1)
  [ -n "$port" ]
}
wait_for 60 serving || { log_tail "$work/webhook.log"; fail "the webhook did not start serving within 60 s"; }
serving
curl_args=(--silent --show-error --cacert "$work/certs/ca.crt" --resolve "$host:$port:127.0.0.1")
readyz() { alive "$webhook_pid" && curl "${curl_args[@]}" --fail --max-time 2 "https://$host:$port/readyz"; }
if ! wait_for 60 readyz; then
  log_tail "$work/webhook.log"
  fail "the webhook did not answer /readyz within 60 s"
fi
grep -h 'listening on' "$work/webhook.log" | sed 's/^/  webhook log: /'
note "curl reaches 127.0.0.1 under the Service's name (--resolve): the certificate is checked as the kube-apiserver checks it."
show curl --cacert "$work/certs/ca.crt" --resolve "$host:$port:127.0.0.1" "https://$host:$port/readyz"
curl "${curl_args[@]}" "https://$host:$port/readyz"
echo

# send NAME EXPECT: posts the AdmissionReview for examples/pods/NAME.yaml.
send() {
  local name=$1 expect=$2 rc=0
  "$py" scripts/demo/review.py build "examples/pods/$name.yaml" "demo-$name" > "$work/$name.review.json"
  echo
  note "kubectl apply -f examples/pods/$name.yaml, as the kube-apiserver asks the webhook:"
  show curl --cacert "$work/certs/ca.crt" --resolve "$host:$port:127.0.0.1" \
    -H 'Content-Type: application/json' --data-binary "@$work/$name.review.json" "https://$host:$port/validate"
  curl "${curl_args[@]}" --max-time 10 -H 'Content-Type: application/json' \
    --data-binary "@$work/$name.review.json" "https://$host:$port/validate" > "$work/$name.response.json" ||
    { log_tail "$work/webhook.log"; fail "no answer from the webhook for $name"; }
  "$py" scripts/demo/review.py show "$work/$name.response.json" || rc=$?
  case "$expect:$rc" in
    allowed:0) ok "$name: allowed" ;;
    denied:1) ok "$name: denied" ;;
    *:2) cat "$work/$name.response.json" >&2; fail "$name: the reply is not an AdmissionReview" ;;
    *) fail "$name: expected $expect, the webhook answered the opposite" ;;
  esac
}
send compliant-pod allowed
send noncompliant-pod denied

echo
show kill -TERM "$webhook_pid"
kill -TERM "$webhook_pid"
wait_for 30 eval '! alive "$webhook_pid"' || fail "the webhook did not stop within 30 s of SIGTERM"
webhook_rc=0
wait "$webhook_pid" || webhook_rc=$?
webhook_pid=""
[ "$webhook_rc" = 0 ] || { log_tail "$work/webhook.log"; fail "the webhook exited $webhook_rc on SIGTERM"; }
grep -E 'allowed|denied' "$work/webhook.log" | sed 's/^/  webhook log: /' || true
ok "webhook drained and stopped"

# ---- 2. drift agent ---------------------------------------------------------
section "2/3 drift agent: a dropped binary in a running container (containerd, fanotify)"
drift_skip=""
if [ "$(id -u)" != 0 ]; then
  drift_skip="needs root (containerd and fanotify)"
else
  for tool in containerd ctr runc; do
    command -v "$tool" >/dev/null || drift_skip="$tool is not installed (scripts/install-deps.sh)"
  done
  [ -x /bin/busybox ] || drift_skip="/bin/busybox (busybox-static) is not installed"
fi
if [ -n "$drift_skip" ]; then
  note "SKIPPED: $drift_skip. Run as root to see the drift agent."
else
  # A private containerd: root, state and socket in the work directory on
  # tmpfs; CRI off. The machine's own containerd (if any) is never touched.
  mkdir -p "$work/root" "$work/state"
  cat > "$work/containerd.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
  export CONTAINERD_ADDRESS="$work/containerd.sock" CONTAINERD_NAMESPACE=k8s.io
  note "A private containerd on tmpfs; ctr below talks to it (CONTAINERD_ADDRESS=\$WORK/containerd.sock,"
  note "CONTAINERD_NAMESPACE=k8s.io as on a Kubernetes node). The machine's containerd is not touched:"
  show containerd --config "$work/containerd.toml" '&'
  containerd --config "$work/containerd.toml" > "$work/containerd.log" 2>&1 &
  containerd_pid=$!
  ctr_up() { alive "$containerd_pid" && ctr version; }
  wait_for 60 ctr_up || { log_tail "$work/containerd.log"; fail "containerd did not come up within 60 s"; }

  # A busybox image, built offline: busybox-static as one layer in a
  # docker-archive.
  image=docker.io/invar/demo-busybox:1
  rootfs=$work/image/rootfs
  mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root} "$work/image/archive"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\n' > "$rootfs/etc/group"
  tar --numeric-owner -C "$rootfs" -cf "$work/image/archive/layer.tar" .
  layer=$(sha256sum "$work/image/archive/layer.tar" | cut -c1-64)
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" > "$work/image/config.json"
  cfg=$(sha256sum "$work/image/config.json" | cut -c1-64)
  cp "$work/image/config.json" "$work/image/archive/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$image" \
    > "$work/image/archive/manifest.json"
  tar -C "$work/image/archive" -cf "$work/image/busybox.tar" .
  note "A busybox image built offline from busybox-static (one layer, docker-archive):"
  show ctr images import "$work/image/busybox.tar"
  ctr images import "$work/image/busybox.tar" > "$work/import.log" 2>&1 ||
    { cat "$work/import.log" >&2; fail "ctr images import failed"; }

  mkdir -p "$work/agent-state"
  agent_common=(invar agent --containerd-state "$work/state/io.containerd.runtime.v2.task"
                --state-dir "$work/agent-state" --node-name demo-node --poll-ms 100)
  # start_agent ACTION: starts the agent, Falco-format text alerts on stdout
  # (to a file shown below), its own log on stderr; waits until it watches.
  start_agent() {
    local action=$1
    rm -f "$work/agent.ready"
    : > "$work/alerts-$action.txt"
    show "${agent_common[@]}" --action "$action" '&'
    "${agent_common[@]}" --action "$action" --ready-file "$work/agent.ready" \
      > "$work/alerts-$action.txt" 2> "$work/agent-$action.log" &
    agent_pid=$!
    agent_ready() { alive "$agent_pid" && [ -f "$work/agent.ready" ]; }
    wait_for 60 agent_ready || { log_tail "$work/agent-$action.log"; fail "the agent ($action) did not start within 60 s"; }
  }
  stop_agent() {
    local rc=0
    kill -TERM "$agent_pid"
    wait_for 30 eval '! alive "$agent_pid"' || fail "the agent did not stop within 30 s of SIGTERM"
    wait "$agent_pid" || rc=$?
    agent_pid=""
    [ "$rc" = 0 ] || { log_tail "$work/agent-$1.log"; fail "the agent exited $rc on SIGTERM"; }
  }
  # watching ACTION ID: the agent logged that it watches container ID.
  watching() { grep -q "watching container $2" "$work/agent-$1.log"; }

  echo
  note "The agent in detect mode (action flag: alert, annotate the pod, emit an Event):"
  start_agent flag
  echo
  note "A pod's container, with the annotations the CRI puts on it (pod demo/web-7d9f, container web):"
  cri=(--annotation io.kubernetes.cri.container-type=container
       --annotation io.kubernetes.cri.sandbox-name=web-7d9f
       --annotation io.kubernetes.cri.sandbox-namespace=demo
       --annotation io.kubernetes.cri.sandbox-uid=0d5c3f4e-demo
       --annotation io.kubernetes.cri.container-name=web
       --annotation "io.kubernetes.cri.image-name=$image")
  # runc's state and the container's cgroup are private to this run too (by
  # default they would be /run/containerd/runc/k8s.io/web and /k8s.io/web).
  run_cmd=(ctr run -d "${cri[@]}" --runc-root "$work/runc" --cgroup "/$cgroup_name" "$image" web sleep 100000)
  show "${run_cmd[@]}"
  "${run_cmd[@]}" > "$work/run.log" 2>&1 ||
    { cat "$work/run.log" >&2; fail "ctr run failed"; }
  wait_for 60 watching flag web || { log_tail "$work/agent-flag.log"; fail "the agent did not pick up container web"; }
  grep -h "watching container web" "$work/agent-flag.log" | sed 's/^/  agent log: /'

  echo
  note "An attacker drops a binary into the running container and runs it:"
  # busybox picks its applet from argv[0]; a name starting with "busybox"
  # makes the copy run its first argument.
  drop='cp /bin/busybox /tmp/busybox-evil && /tmp/busybox-evil echo pwned'
  show ctr tasks exec --exec-id drop1 web sh -c "$drop"
  exec_out=$(timeout 60 ctr tasks exec --exec-id drop1 web sh -c "$drop" 2>&1) || true
  printf '%s\n' "$exec_out"
  grep -qx pwned <<< "$exec_out" || fail "the dropped binary did not run in detect mode: $exec_out"
  # The alerts the agent wrote (Falco text format): the new file, the exec.
  has_exec_alert() { grep -q 'Executing binary not part of base image.*/tmp/busybox-evil' "$1"; }
  if ! wait_for 30 has_exec_alert "$work/alerts-flag.txt"; then
    cat "$work/alerts-flag.txt" >&2
    log_tail "$work/agent-flag.log"
    fail "the agent reported no drop-and-execute alert for /tmp/busybox-evil"
  fi
  echo
  note "The agent's alerts (Falco output format):"
  grep -v '^$' "$work/alerts-flag.txt"
  note "The flag action also annotates the pod and emits an Event (no cluster here, so the agent logs them):"
  grep -h -m 2 -E 'would (annotate|emit Event)' "$work/agent-flag.log" | cut -c1-160 | sed 's/^/  agent log: /' || true
  ok "drift detected: a binary that is not in the image was written and executed"
  stop_agent flag

  echo
  note "The agent restarted in prevent mode (fanotify exec permission: FAN_DENY):"
  start_agent prevent
  wait_for 60 watching prevent web || { log_tail "$work/agent-prevent.log"; fail "the agent did not pick up container web"; }
  blocked=(sh -c '/tmp/busybox-evil echo pwned; echo "exit code $?"')
  show ctr tasks exec --exec-id drop2 web "${blocked[@]}"
  blocked_out=$(timeout 60 ctr tasks exec --exec-id drop2 web "${blocked[@]}" 2>&1) || true
  printf '%s\n' "$blocked_out"
  grep -q 'Operation not permitted' <<< "$blocked_out" ||
    { log_tail "$work/agent-prevent.log"; fail "the exec of the dropped binary was not blocked"; }
  grep -qx pwned <<< "$blocked_out" && fail "the dropped binary ran in prevent mode"
  note "Binaries from the image still run:"
  show ctr tasks exec --exec-id image1 web sh -c 'echo still fine'
  image_out=$(timeout 60 ctr tasks exec --exec-id image1 web sh -c 'echo still fine' 2>&1) || true
  printf '%s\n' "$image_out"
  grep -qx 'still fine' <<< "$image_out" || fail "an image binary did not run in prevent mode: $image_out"
  has_prevent_alert() { grep -q 'Executing binary not part of base image.*/tmp/busybox-evil.*action=prevent' "$1"; }
  wait_for 30 has_prevent_alert "$work/alerts-prevent.txt" ||
    { log_tail "$work/agent-prevent.log"; fail "no alert for the blocked exec"; }
  echo
  note "The agent's alerts:"
  grep -v '^$' "$work/alerts-prevent.txt"
  ok "the exec of the dropped binary was blocked: Operation not permitted"
  stop_agent prevent
fi

# ---- 3. report ---------------------------------------------------------------
section "3/3 compliance report over the example manifests"
report_rc=0
run invar report -R -f examples/ --profile immutable || report_rc=$?
case $report_rc in
  0) ok "report: every example is compliant (exit 0)" ;;
  1) ok "report: findings listed above (exit 1: findings; 0 would be compliant, 2 input errors)" ;;
  *) fail "invar report exited $report_rc (input errors)" ;;
esac

section "done in $((SECONDS - started)) s"
echo "($timings)${drift_skip:+ drift skipped: $drift_skip}"
