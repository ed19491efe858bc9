#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ctest `manifests_agent_config` (labels root, kernel): the agent.yaml shipped
# in manifests/base/config must load in the real agent. A bad key or value
# makes `invar agent` exit 2 at once; a good file lets it start. The agent is
# started on an empty host root (it watches nothing), with the shipped
# agent.yaml and rules directory, until it touches its --ready-file, then
# stopped with SIGTERM.
#
#   agent_config_test.sh <source-dir> [<invar-binary>]
# Exit: 0 pass, 1 fail, 77 skipped (not root, or no invar binary).
set -euo pipefail

src=${1:?usage: agent_config_test.sh <source-dir> [<invar-binary>]}
invar_bin=${2:-}
if [ -z "$invar_bin" ] || [ ! -x "$invar_bin" ]; then
  echo "SKIP: invar binary '${invar_bin:-(none)}' not built"
  exit 77
fi
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the agent needs root (fanotify)"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/invar-agent-config.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/host/run/containerd/io.containerd.runtime.v2.task" "$tmp/host/proc" "$tmp/state" "$tmp/rules"
cp "$src/manifests/base/config/rules.local.yaml" "$tmp/rules/"

# The DaemonSet's flags, with the host paths moved into the temporary root.
"$invar_bin" agent --config "$src/manifests/base/config/agent.yaml" --host-root "$tmp/host" \
  --rules "$tmp/rules" --state-dir "$tmp/state" --ready-file "$tmp/ready" --no-stdout --no-kube \
  < /dev/null > "$tmp/agent.log" 2>&1 &
pid=$!
ready=0
for _ in $(seq 1 300); do
  if [ -e "$tmp/ready" ]; then ready=1; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
rc=0
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  wait "$pid" || rc=$?
else
  wait "$pid" || rc=$?
fi
pid=""
if [ "$ready" != 1 ]; then
  echo "FAIL: invar agent did not start with manifests/base/config/agent.yaml (exit $rc)"
  cat "$tmp/agent.log"
  exit 1
fi
if [ "$rc" != 0 ]; then
  echo "FAIL: invar agent exited $rc on SIGTERM"
  cat "$tmp/agent.log"
  exit 1
fi
echo "ok: invar agent starts with manifests/base/config/agent.yaml and stops cleanly"
