#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ctest demo_end_to_end / demo_cleanup_on_interrupt: runs scripts/demo.sh with
# INVAR_SKIP_INSTALL=1 and INVAR_BIN=<this build's invar>.
#   end_to_end            the demo exits 0 and its output shows each result
#                         (allowed, denied with the findings, the drift alert,
#                         the blocked exec, the report)
#   cleanup_on_interrupt  SIGTERM once the agent watches the container: the
#                         demo exits 143
#   cleanup_when_containerd_dies
#                         SIGKILL of the demo's containerd, then SIGTERM: the
#                         fallback cleanup (runc delete --force, shims, init
#                         pids) must still kill the container
# Each then checks that the demo's work directory, its mounts, every process
# that names it, the container's init process and its cgroup are gone.
#   demo_test.sh <mode> <source-dir> <invar-binary>
# Exit: 0 pass, 1 fail, 77 skipped (not root, or containerd/runc/busybox missing).
set -uo pipefail
mode=${1:?usage: demo_test.sh <end_to_end|cleanup_on_interrupt|cleanup_when_containerd_dies> <source-dir> <invar-binary>}
src=${2:?source dir}
bin=${3:-}
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root (containerd, fanotify)"
  exit 77
fi
for tool in containerd ctr runc curl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -x /bin/busybox ] || { echo "SKIP: /bin/busybox (busybox-static) is not installed"; exit 77; }
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "FAIL: the invar binary '${bin:-(none)}' is not built"
  exit 1
fi

out=$(mktemp "${TMPDIR:-/tmp}/invar-demo-test.XXXXXX")
trap 'rm -f "$out"' EXIT
failed=0
check() {  # check <description> <extended regex>: the demo's output matches
  if ! grep -Eq -- "$2" "$out"; then
    echo "FAIL: $1 (no line matching /$2/)"
    failed=1
  fi
}

case "$mode" in
  end_to_end)
    rc=0
    INVAR_SKIP_INSTALL=1 INVAR_BIN="$bin" "$src/scripts/demo.sh" > "$out" 2>&1 < /dev/null || rc=$?
    cat "$out"
    echo "--- demo exit code: $rc"
    [ "$rc" = 0 ] || { echo "FAIL: the demo exited $rc"; failed=1; }
    check "the compliant pod is allowed" '"allowed": true'
    check "the non-compliant pod is denied" '"allowed": false'
    check "the denial names the missing read-only root" 'denied the request: .*hello-writable'
    check "the denial lists readOnlyRootFilesystem with its path" 'spec\.containers\[0\]\.securityContext\.readOnlyRootFilesystem'
    check "the denial lists imageDigest" 'not pinned by @sha256 digest'
    check "the dropped binary ran in detect mode" '^pwned$'
    check "a Falco-format drop-and-execute alert with pod and namespace" \
      'Critical Executing binary not part of base image .*/tmp/busybox-evil.*k8s\.ns=demo k8s\.pod=web-7d9f'
    check "the exec is blocked in prevent mode" 'busybox-evil: Operation not permitted'
    check "the blocked exec's alert says prevent" 'Critical .*busybox-evil.*action=prevent'
    check "the report's table" '^NAMESPACE +KIND/NAME'
    check "the report's summary" '^Compliance: '
    if grep -q SKIPPED "$out"; then echo "FAIL: a step was skipped"; failed=1; fi
    ;;
  cleanup_on_interrupt | cleanup_when_containerd_dies)
    INVAR_SKIP_INSTALL=1 INVAR_BIN="$bin" "$src/scripts/demo.sh" > "$out" 2>&1 < /dev/null &
    pid=$!
    # Wait (up to 5 min on a loaded machine) until the agent watches the
    # container: containerd, a shim, the container, the agent and its
    # fanotify marks all exist then.
    for _ in $(seq 3000); do
      grep -q 'agent log: .*watching container web' "$out" && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if ! grep -q 'agent log: .*watching container web' "$out"; then
      cat "$out"
      echo "FAIL: the demo never got to a watched container"
      kill -TERM "$pid" 2>/dev/null
      wait "$pid"
      exit 1
    fi
    work=$(grep -Eo '/[^ ]*/invar-demo\.[A-Za-z0-9]+' "$out" | head -n 1)
    init_pid=$(cat "$work/state/io.containerd.runtime.v2.task/k8s.io/web/init.pid" 2>/dev/null || true)
    if [ -z "$init_pid" ]; then
      echo "FAIL: no init.pid for the demo's container"
      failed=1
    fi
    if [ "$mode" = cleanup_when_containerd_dies ]; then
      containerd_pid=$(pgrep -f -- "containerd --config $work/containerd.toml" | head -n 1)
      if [ -z "$containerd_pid" ]; then
        echo "FAIL: the demo's containerd is not running"
        failed=1
      else
        kill -KILL "$containerd_pid"
      fi
    fi
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    cat "$out"
    echo "--- demo exit code after SIGTERM: $rc"
    [ "$rc" = 143 ] || { echo "FAIL: expected exit 143 after SIGTERM, got $rc"; failed=1; }
    ;;
  *)
    echo "unknown mode $mode"
    exit 2
    ;;
esac

# Nothing left behind: the work directory (named in the demo's output), its
# mounts, and processes naming it (containerd, shims, agent, webhook).
work=$(grep -Eo '/[^ ]*/invar-demo\.[A-Za-z0-9]+' "$out" | head -n 1)
if [ -z "$work" ]; then
  echo "FAIL: the demo's work directory does not appear in its output"
  failed=1
else
  [ -e "$work" ] && { echo "FAIL: $work was not removed"; failed=1; }
  if grep -qF " $work/" /proc/self/mountinfo; then
    echo "FAIL: mounts left below $work:"
    grep -F " $work/" /proc/self/mountinfo
    failed=1
  fi
  left=$(pgrep -af -- "$work" || true)
  if [ -n "$left" ]; then
    echo "FAIL: processes left that name $work:"
    echo "$left"
    failed=1
  fi
  if [ -n "${init_pid:-}" ] && kill -0 "$init_pid" 2>/dev/null &&
     ! grep -q '^State:.*Z' "/proc/$init_pid/status" 2>/dev/null; then
    echo "FAIL: the container's init process $init_pid is still running"
    failed=1
  fi
  cgroups=$(find /sys/fs/cgroup -maxdepth 2 -type d -name "invar-demo-${work##*.}" 2>/dev/null)
  if [ -n "$cgroups" ]; then
    echo "FAIL: the container's cgroup is left: $cgroups"
    failed=1
  fi
fi

[ "$failed" = 0 ] && echo "demo_$mode: passed"
exit "$failed"
