# syntax=docker/dockerfile:1
# SPDX-License-Identifier: Apache-2.0
#
# The invar container image: one binary, `invar`, for the webhook Deployment
# and the agent DaemonSet (manifests/base) and for `invar report` in CI.
#
#   docker build -t ghcr.io/invar-dev/invar:dev .
#
# NOTE: this file cannot be built on the project's development and CI machines:
# they have no Docker engine (nor BuildKit, nor a registry to push to). What is
# checked there instead (tests/unit/manifests, ctest `dockerfile_runtime_libs`):
# the runtime stage's package list covers every shared library the locally
# built invar binary needs (readelf + dpkg -S), and the build stage runs the
# same commands as scripts/test.sh.
#
# Build stage: the very install script and CMake preset the tests use, so the
# image is built exactly as CI builds (warnings are errors).
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release \
 && cmake --build --preset release --target invar \
 && strip --strip-unneeded build/release/enforcer/cli/invar \
 && build/release/enforcer/cli/invar --version

# Runtime stage: Debian 12 slim plus only the shared libraries invar links
# (Debian 12 package names; apt pulls their own dependencies, e.g. libfmt9,
# libcivetweb1, libbrotli1). libc6, libstdc++6, libgcc-s1 and zlib1g are
# already in bookworm-slim.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libbpf1 \
      libcap2 \
      libcpprest2.10 \
      libfmt9 \
      libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 \
      libre2-9 \
      libseccomp2 \
      libsimdjson14 \
      libspdlog1.10 \
      libssl3 \
      libyaml-cpp0.7 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/enforcer/cli/invar /usr/local/bin/invar
# The built-in drift rules, for reference and for `invar rules validate
# /usr/share/invar/rules/rules.yaml <your rules.local.yaml>`.
COPY drift/rules/defaults/rules.yaml /usr/share/invar/rules/rules.yaml
# Fail the build, not the pod, if a shared library is missing.
RUN if ldd /usr/local/bin/invar | grep 'not found'; then exit 1; fi \
 && ln -s invar /usr/local/bin/kubectl-invar
# 65532: the conventional "nonroot" uid; the webhook Deployment runs as it.
# The agent DaemonSet overrides it with runAsUser: 0 (see its manifest).
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/invar"]
CMD ["--help"]
