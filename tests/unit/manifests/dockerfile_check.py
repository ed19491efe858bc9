#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ctest `dockerfile_runtime_libs`: the Dockerfile cannot be built here (no
Docker engine), so check what can be checked offline:

- every shared library the built invar binary needs directly (ELF DT_NEEDED,
  via readelf) belongs to a Debian package (dpkg -S) that the runtime stage
  installs or that debian:bookworm-slim already has;
- packages the runtime stage installs that the binary does not need are
  listed as warnings;
- the build stage uses scripts/install-deps.sh and the `release` preset, and
  copies the binary from where that preset puts it.

usage: dockerfile_check.py <source-dir> <invar-binary>
Exit 0 pass, 1 fail, 77 skip (no binary, no readelf/dpkg).
"""
import os
import re
import shutil
import subprocess
import sys

IN_SLIM = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
ALWAYS = {"ca-certificates"}


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    if len(sys.argv) < 3 or not os.access(sys.argv[2], os.X_OK):
        print("SKIP: no invar binary given")
        return 77
    for tool in ("readelf", "dpkg", "ldconfig"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not found")
            return 77
    src, binary = sys.argv[1], sys.argv[2]
    text = open(os.path.join(src, "Dockerfile"), encoding="utf-8").read()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    errors = []
    if len(stages) != 2:
        print(f"FAIL: expected 2 stages, found {len(stages)}")
        return 1
    build, runtime = stages
    for needle in ("bash scripts/install-deps.sh", "cmake --preset release",
                   "cmake --build --preset release --target invar"):
        if needle not in build:
            errors.append(f"build stage lacks `{needle}`")
    if not build.startswith("debian:bookworm ") or not runtime.startswith("debian:bookworm-slim"):
        errors.append("stages must be debian:bookworm and debian:bookworm-slim")
    if "COPY --from=build /src/build/release/enforcer/cli/invar /usr/local/bin/invar" not in runtime:
        errors.append("runtime stage does not copy build/release/enforcer/cli/invar")
    if 'ENTRYPOINT ["/usr/local/bin/invar"]' not in runtime or "USER 65532:65532" not in runtime:
        errors.append("runtime stage needs USER 65532:65532 and ENTRYPOINT [\"/usr/local/bin/invar\"]")
    m = re.search(r"apt-get install -y --no-install-recommends((?:\s+\\\s*\n\s*[a-z0-9.+-]+)+)", runtime)
    if not m:
        print("FAIL: no apt-get install list in the runtime stage")
        return 1
    listed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", m.group(1)))

    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", binary))
    cache = {}
    for line in run("ldconfig", "-p").splitlines():
        mm = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if mm and "," in mm.group(2):  # "libc6,x86-64": the 64-bit entry
            cache.setdefault(mm.group(1), mm.group(3))
    required = {}
    for so in needed:
        path = cache.get(so)
        if not path:
            errors.append(f"{so}: not in the ldconfig cache")
            continue
        real = os.path.realpath(path)
        owner = None
        for p in (path, real, real.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)):
            try:
                owner = run("dpkg", "-S", p).split(":")[0].strip()
                break
            except subprocess.CalledProcessError:
                continue
        if not owner:
            errors.append(f"{so} ({path}): no Debian package owns it")
            continue
        required[so] = owner
    for so, pkg in sorted(required.items()):
        ok = pkg in listed or pkg in IN_SLIM
        print(f"{'ok  ' if ok else 'MISS'} {so:40s} {pkg}")
        if not ok:
            errors.append(f"{so} comes from {pkg}, which the runtime stage does not install")
    # Not an error: a library the binary does not link today may be linked by
    # a subcommand tomorrow; but say so, so the list is kept tight.
    extra = listed - set(required.values()) - ALWAYS
    for pkg in sorted(extra):
        print(f"warning: runtime stage installs {pkg}, which this invar binary does not link")
    for e in errors:
        print("FAIL:", e)
    print("dockerfile_runtime_libs:", "FAILED" if errors else f"{len(required)} libraries covered")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
