#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build tree into a temp prefix and checks the kubectl plugin.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/invar" || { echo "invar not installed"; exit 1; }
test -L "$prefix/bin/kubectl-invar" || { echo "kubectl-invar symlink not installed in $prefix/bin"; exit 1; }
[ "$(readlink "$prefix/bin/kubectl-invar")" = invar ] || { echo "kubectl-invar does not point at invar"; exit 1; }
test -f "$prefix/share/invar/rules/rules.yaml" || { echo "default rules not installed"; exit 1; }
"$prefix/bin/kubectl-invar" checks --help >/dev/null
if ! command -v kubectl >/dev/null; then echo "kubectl not installed: plugin discovery not checked"; exit 77; fi
PATH="$prefix/bin:$PATH" kubectl invar checks | grep -q readOnlyRootFilesystem || { echo "kubectl invar checks failed"; exit 1; }
# `kubectl plugin list` exits non-zero on unrelated warnings (other plugins on PATH).
plugins=$(PATH="$prefix/bin:$PATH" kubectl plugin list 2>/dev/null || true)
grep -q "$prefix/bin/kubectl-invar" <<<"$plugins" || { echo "kubectl plugin list does not show kubectl-invar"; exit 1; }
echo "ok: kubectl invar works from $prefix/bin"
