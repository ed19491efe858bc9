#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds every libFuzzer target (invar_add_fuzzer, anywhere under tests/) with
# clang and runs each for a fixed time, from a copy of its seed corpus:
# tests/fuzz/corpus/<name without fuzz_>/ wherever the target is declared
# (fuzz_admission_review, declared in tests/unit/admission/, starts from
# tests/fuzz/corpus/admission_review/). A target without seeds is run from
# an empty corpus, with a warning.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
# Environment:
#   INVAR_FUZZ_BUILD_DIR  build directory (default build/fuzz, the `fuzz`
#                         preset); another directory is configured with the
#                         preset's settings
#   INVAR_FUZZ_JOBS       parallel compile jobs (default: nproc)
#   INVAR_FUZZ_TARGETS    space-separated fuzzer names to build and run
#                         (default: every target of invar_fuzzers)
# Exit status: 0 when every target ran its time without a finding; 1 if any
# crashed, leaked, timed out or hit a sanitizer (its artifact is copied to
# <build>/fuzz-artifacts/); 2 if the build failed or no target was found.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=${INVAR_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${INVAR_FUZZ_JOBS:-$(nproc)}
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

if [ "$build" = build/fuzz ]; then
  cmake --preset fuzz >/dev/null || exit 2
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINVAR_FUZZ=ON -DINVAR_BENCH=OFF \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang >/dev/null || exit 2
fi
targets=${INVAR_FUZZ_TARGETS:-invar_fuzzers}
# shellcheck disable=SC2086  # a list of target names
cmake --build "$build" -j"$jobs" --target $targets || exit 2

# Fuzzers live next to the tests that declare them (tests/fuzz/, tests/unit/admission/, ...).
mapfile -t fuzzers < <(find "$build/tests" -type f -perm -u+x -name 'fuzz_*' ! -name '*_replay' | sort)
if [ -n "${INVAR_FUZZ_TARGETS:-}" ]; then
  selected=()
  for f in "${fuzzers[@]}"; do
    case " $INVAR_FUZZ_TARGETS " in *" $(basename "$f") "*) selected+=("$f") ;; esac
  done
  fuzzers=("${selected[@]+"${selected[@]}"}")
fi
if [ "${#fuzzers[@]}" -eq 0 ]; then
  echo "no fuzz targets found under $build/tests" >&2
  exit 2
fi
artifacts="$build/fuzz-artifacts"
status=0
for f in "${fuzzers[@]}"; do
  name=$(basename "$f")
  corpus="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  mkdir -p "$work/.artifacts"
  if [ -d "$corpus" ]; then
    echo "== $name for ${secs}s (seeds: $corpus, $(find "$corpus" -type f | wc -l) files)"
  else
    echo "== $name for ${secs}s (warning: no seed corpus at $corpus)"
  fi
  if ! "$f" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/.artifacts/" "$work" >"$work/.log" 2>&1; then
    status=1
    mkdir -p "$artifacts"
    cp -r "$work/.artifacts/." "$artifacts/" 2>/dev/null || true
    grep -E "ERROR|SUMMARY|==[0-9]+==" "$work/.log" | head -n 20 || true
    echo "!! $name failed; artifacts in $artifacts"
  fi
  tail -n 12 "$work/.log"
  rm -rf "$work"
done
exit $status
