#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package invar needs to build, test and benchmark.
# Idempotent and non-interactive; run as root (or with sudo available).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PKGS=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev clang-format
  # libraries
  libcpprest-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev
  prometheus-cpp-dev libspdlog-dev libfmt-dev libboost-dev libboost-system-dev libssl-dev
  libseccomp-dev libcap-dev libbpf-dev libgtest-dev libgmock-dev libbenchmark-dev libre2-dev zlib1g-dev
  # runtime / integration tests
  containerd runc busybox-static bash-static openssl iproute2 procps psmisc curl
  # scripts/demo.sh (AdmissionReview from examples/pods/*.yaml, JSON pretty-print)
  python3 python3-yaml
  # benchmarks (side-by-side baselines)
  wrk nginx-light golang-go inotify-tools auditd
)

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
