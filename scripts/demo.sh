#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job on a built-in example, no cluster needed: installs the Debian
# packages, builds invar, and runs `invar report` over the example manifests.
#   scripts/demo.sh            (INVAR_SKIP_INSTALL=1 to skip apt)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INVAR_SKIP_INSTALL:-0}" != 1 ]; then
  bash scripts/install-deps.sh
fi
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target invar
bin=build/release/enforcer/cli/invar

echo
echo "\$ invar report -R -f examples/ --profile immutable"
rc=0
"$bin" report -R -f examples/ --profile immutable || rc=$?
echo
echo "(exit code $rc: 0 = compliant, 1 = findings, 2 = input errors)"
