#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ctest `manifests_render`: renders manifests/base and every overlay with
# `kubectl kustomize` (offline), converts each rendering to JSON with
# `kubectl label --local` (offline, no cluster) and checks it with
# check_manifests.py. With an invar binary that has `report`, each rendering
# must also pass `invar report -k <dir> --profile immutable` (exit 0).
#
# The self-signed overlay needs certificate files that are never committed: the
# test works on a temporary copy of manifests/ and generates a throwaway CA and
# serving certificate there with openssl.
#
#   render_test.sh <source-dir> [<invar-binary>]
# Exit: 0 pass, 1 fail, 77 skipped (kubectl, python3 or openssl missing).
set -euo pipefail

src=${1:?usage: render_test.sh <source-dir> [<invar-binary>]}
invar_bin=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

for tool in kubectl python3 openssl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed; cannot render the manifests"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/invar-manifests.XXXXXX")
webhook_pid=""
trap '[ -n "$webhook_pid" ] && kill "$webhook_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -r "$src/manifests" "$tmp/manifests"

# Throwaway certificates for the self-signed overlay (what `invar certs` writes).
certs="$tmp/manifests/overlays/self-signed/certs"
rm -rf "$certs" && mkdir -p "$certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=invar-test-ca -keyout "$tmp/ca.key" -out "$certs/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=invar-webhook.invar-system.svc -keyout "$certs/tls.key" -out "$tmp/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:invar-webhook.invar-system.svc\n' > "$tmp/san.ext"
openssl x509 -req -in "$tmp/tls.csr" -CA "$certs/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
  -days 1 -extfile "$tmp/san.ext" -out "$certs/tls.crt" 2>/dev/null
chmod 600 "$certs/tls.key"

# components/monitoring cannot render alone: check it on top of cert-manager.
mkdir -p "$tmp/manifests/overlays/test-monitoring"
cat > "$tmp/manifests/overlays/test-monitoring/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../cert-manager]
components: [../../components/monitoring]
YAML

dirs=(base)
for d in "$tmp"/manifests/overlays/*/; do
  dirs+=("overlays/$(basename "$d")")
done

failed=0
args=()
for d in "${dirs[@]}"; do
  name=${d//\//_}
  if ! kubectl kustomize "$tmp/manifests/$d" > "$tmp/$name.yaml" 2> "$tmp/$name.err"; then
    echo "FAIL: kubectl kustomize manifests/$d"
    cat "$tmp/$name.err"
    failed=1
    continue
  fi
  # `kubectl label --local` parses the YAML stream and prints JSON without
  # contacting a cluster; the label it adds is removed again by the checker.
  if ! kubectl label --local -f "$tmp/$name.yaml" invar.dev/render-test=1 -o json \
      > "$tmp/$name.json" 2> "$tmp/$name.err"; then
    echo "FAIL: rendering of manifests/$d is not valid YAML for kubectl"
    cat "$tmp/$name.err"
    failed=1
    continue
  fi
  echo "rendered manifests/$d: $(grep -c '^kind: ' "$tmp/$name.yaml") objects"
  args+=("$d=$tmp/$name.json")
done

python3 "$here/check_manifests.py" \
  --source-dir "$src" \
  --ca "$certs/ca.crt" \
  --base-config "$src/manifests/base/config/config.yaml" \
  --audit-only-config "$src/manifests/components/audit-only/config.yaml" \
  "${args[@]}" || failed=1

# invar's own verdict on its manifests.
if [ -n "$invar_bin" ] && [ -x "$invar_bin" ]; then
  if "$invar_bin" report --help >/dev/null 2>&1; then
    for d in "${dirs[@]}"; do
      echo "\$ invar report -k manifests/$d --profile immutable"
      rc=0
      "$invar_bin" report -k "$tmp/manifests/$d" --profile immutable > "$tmp/report.out" 2>&1 || rc=$?
      if [ "$rc" != 0 ]; then
        echo "FAIL: invar report -k manifests/$d --profile immutable exited $rc"
        cat "$tmp/report.out"
        failed=1
      else
        echo "ok: invar report passes manifests/$d"
      fi
    done
  else
    echo "note: $invar_bin has no working 'report' subcommand yet; self-check not run"
  fi
else
  echo "note: invar binary '${invar_bin:-(none)}' not built; self-check (invar report -k) not run"
fi

# The shipped webhook configs must load in the real webhook: start it
# standalone on loopback with each config and wait until /readyz answers (a
# config error makes it exit instead). Needs curl.
check_webhook_config() {  # <config file>
  local cfg=$1 port pid ok=0 i
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$invar_bin" webhook --standalone --config "$cfg" --tls-cert "$certs/tls.crt" --tls-key "$certs/tls.key" \
    --listen 127.0.0.1:0 --metrics-listen "127.0.0.1:$port" < /dev/null > "$tmp/webhook.log" 2>&1 &
  pid=$!
  webhook_pid=$pid
  for i in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if curl -sf "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  webhook_pid=""
  if [ "$ok" = 1 ]; then
    echo "ok: invar webhook loads ${cfg#"$src"/}"
  else
    echo "FAIL: invar webhook did not become ready with ${cfg#"$src"/}"
    cat "$tmp/webhook.log"
    failed=1
  fi
}
if [ -n "$invar_bin" ] && [ -x "$invar_bin" ] && "$invar_bin" webhook --help >/dev/null 2>&1 \
    && command -v curl >/dev/null 2>&1; then
  for cfg in "$src/manifests/base/config/config.yaml" "$src/manifests/components/audit-only/config.yaml" \
             "$src/examples/config.yaml"; do
    check_webhook_config "$cfg"
  done
fi

# The shipped rules.local.yaml must load on top of the built-in rules.
if [ -n "$invar_bin" ] && [ -x "$invar_bin" ] && "$invar_bin" rules validate --help >/dev/null 2>&1; then
  if "$invar_bin" rules validate "$src/drift/rules/defaults/rules.yaml" \
      "$src/manifests/base/config/rules.local.yaml" > "$tmp/rules.out" 2>&1; then
    echo "ok: invar rules validate accepts manifests/base/config/rules.local.yaml"
  else
    echo "FAIL: invar rules validate rejects manifests/base/config/rules.local.yaml"
    cat "$tmp/rules.out"
    failed=1
  fi
fi

if [ "$failed" != 0 ]; then
  echo "manifests_render: FAILED"
  exit 1
fi
echo "manifests_render: all renderings pass"
