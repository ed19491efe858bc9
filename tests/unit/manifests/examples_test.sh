#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ctest `examples_parse`: every example manifest under examples/ parses (as
# kubectl parses it, offline) and states its expected verdict:
#   YAML: a comment line   # expect: compliant | findings <check-id>...
#         optionally        # expect[<profile>]: ...   (verdict at another profile)
#   JSON: the annotation example.invar.dev/expect with the same value.
# With an invar binary that has `report`, each claim is checked: `compliant`
# must exit 0; `findings` must exit 1, and the failing (not exempted) check ids
# in the JSON report must be exactly the listed ones. `invar report -R -f examples/` (the README's main job) must exit
# 1 (findings), never 2 (input errors).
#
#   examples_test.sh <source-dir> [<invar-binary>]
# Exit: 0 pass, 1 fail, 77 skipped (kubectl or python3 missing).
set -euo pipefail

src=${1:?usage: examples_test.sh <source-dir> [<invar-binary>]}
invar_bin=${2:-}
for tool in kubectl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed"
    exit 77
  fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/invar-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

have_report=0
if [ -n "$invar_bin" ] && [ -x "$invar_bin" ] && "$invar_bin" report --help >/dev/null 2>&1; then
  have_report=1
else
  echo "note: invar binary '${invar_bin:-(none)}' not built or has no 'report'; verdicts not checked, only parsing and claims"
fi

failed=0
count=0
while IFS= read -r f; do
  rel=${f#"$src"/}
  case "$rel" in
    examples/config.yaml) continue ;;  # invar configuration, not a manifest
  esac
  count=$((count + 1))
  if ! kubectl label --local -f "$f" invar.dev/parse-test=1 -o json < /dev/null > "$tmp/out.json" 2> "$tmp/err"; then
    echo "FAIL: $rel does not parse: $(cat "$tmp/err")"
    failed=1
    continue
  fi
  # One "<profile>|<claim>" line per expectation (profile "-" = default).
  if ! python3 - "$f" > "$tmp/claims" <<'PY'
import json, re, sys
KNOWN = {"hostNamespaces", "privileged", "capabilities_baseline", "hostPathVolumes", "hostPorts",
         "appArmorProfile", "seLinuxOptions", "procMount", "seccompProfile_baseline", "sysctls",
         "windowsHostProcess", "hostProbesAndHostLifecycle", "restrictedVolumes",
         "allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile_restricted",
         "capabilities_restricted", "runAsUser", "procMount_restricted",
         "readOnlyRootFilesystem", "imageDigest", "imageTag"}
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
claims = []
if path.endswith(".json"):
    ann = json.loads(text).get("metadata", {}).get("annotations", {})
    if "example.invar.dev/expect" in ann:
        claims.append(("", ann["example.invar.dev/expect"]))
    if not ann.get("example.invar.dev/demonstrates"):
        sys.exit(f"{path}: no example.invar.dev/demonstrates annotation")
else:
    if not text.startswith("# "):
        sys.exit(f"{path}: must open with a comment saying what it demonstrates")
    for m in re.finditer(r"^# expect(?:\[([a-z-]+)\])?: (.+)$", text, re.M):
        claims.append((m.group(1) or "", m.group(2).strip()))
if not claims:
    sys.exit(f"{path}: states no expected verdict")
for profile, claim in claims:
    words = claim.split()
    if words == ["compliant"]:
        pass
    elif words[:1] == ["findings"] and len(words) > 1:
        unknown = set(words[1:]) - KNOWN
        if unknown:
            sys.exit(f"{path}: unknown check ids {sorted(unknown)}")
    else:
        sys.exit(f"{path}: bad expectation {claim!r}")
    print(f"{profile or '-'}|{claim}")
PY
  then
    failed=1
    continue
  fi
  if [ "$have_report" = 1 ]; then
    while IFS='|' read -r profile claim; do
      prof=$profile
      [ "$prof" = - ] && prof=immutable
      rc=0
      "$invar_bin" report -f "$f" --profile "$prof" -o json < /dev/null > "$tmp/report.json" 2> "$tmp/report.err" || rc=$?
      case "$claim" in
        compliant)
          if [ "$rc" != 0 ]; then
            echo "FAIL: $rel at $prof: expected compliant (exit 0), got exit $rc"
            cat "$tmp/report.json" "$tmp/report.err" | head -40
            failed=1
          fi ;;
        findings*)
          if [ "$rc" != 1 ]; then
            echo "FAIL: $rel at $prof: expected findings (exit 1), got exit $rc"
            cat "$tmp/report.err" | head -20
            failed=1
          fi ;;
        *)
          echo "FAIL: $rel: bad claim '$claim'"
          failed=1 ;;
      esac
      # The failing (not exempted) check ids must be exactly the claimed ones.
      want=$(echo "${claim#findings}" | tr ' ' '\n' | { grep -v -e '^$' -e '^compliant$' || true; } | sort -u | tr '\n' ' ')
      got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ids = {f["check"] for r in d["resources"] for f in r["findings"] if not f["exempted"]}
print(" ".join(sorted(ids)) + (" " if ids else ""))' "$tmp/report.json" 2>&1) || got="(unreadable report: $got)"
      if [ "$got" != "$want" ]; then
        echo "FAIL: $rel at $prof: failing checks are [${got% }], the file claims [${want% }]"
        failed=1
      fi
    done < "$tmp/claims"
  fi
done < <(find "$src/examples" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | sort)

if [ "$count" -lt 10 ]; then
  echo "FAIL: expected at least 10 example manifests, found $count"
  failed=1
fi

if [ "$have_report" = 1 ]; then
  rc=0
  (cd "$src" && "$invar_bin" report -R -f examples/ --profile immutable) > "$tmp/all.out" 2>&1 || rc=$?
  if [ "$rc" != 1 ]; then
    echo "FAIL: invar report -R -f examples/ exited $rc (expected 1: findings, no input errors)"
    head -40 "$tmp/all.out"
    failed=1
  fi
fi

# examples/config.yaml: its custom profiles load (exit 2 would be a config
# error) and behave as documented.
if [ "$have_report" = 1 ]; then
  for case in "web hardened-deployment.yaml 0" "web insecure-deployment.yaml 1" \
              "batch backup-cronjob.yaml 0" "node-tools hostpath-job.yaml 1"; do
    set -- $case
    rc=0
    "$invar_bin" report --config "$src/examples/config.yaml" --profile "$1" -f "$src/examples/$2" \
      < /dev/null > "$tmp/cfg.out" 2>&1 || rc=$?
    if [ "$rc" != "$3" ]; then
      echo "FAIL: invar report --config examples/config.yaml --profile $1 -f examples/$2 exited $rc, expected $3"
      head -20 "$tmp/cfg.out"
      failed=1
    fi
  done
fi

if [ "$failed" != 0 ]; then
  echo "examples_parse: FAILED"
  exit 1
fi
echo "examples_parse: $count example manifests parse and state their verdicts"
