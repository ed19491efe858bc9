// SPDX-License-Identifier: Apache-2.0
// Overlay upper-layer semantics shared by the fanotify source and the
// reconciliation scan: which upper-layer entries are runtime-created mount
// point stubs, what a whiteout is, whether a path exists in the image layers,
// how a live observation becomes a drift operation. Pure functions plus
// lstat() on host paths (never on the container's overlay). Thread-safe.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "invar/drift/container.h"
#include "invar/drift/event.h"

namespace invar::drift {

// Container paths the runtime creates in the upper layer before the workload
// starts: each OCI mount destination and its parent directories, plus the
// files the CRI bind-mounts (/etc/hosts, /etc/hostname, /etc/resolv.conf,
// /dev/termination-log) and their parents. Never reported as drift.
std::unordered_set<std::string> MountStubs(const std::vector<std::string>& mount_destinations);

// An overlay whiteout: a character device 0:0.
inline bool IsWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

// lstat of `container_path` in the first image layer holding it; a whiteout
// or a missing entry in a higher layer hides lower ones. nullopt: not in the image.
std::optional<struct stat> LowerStat(const Container& c, std::string_view container_path);

// Joins a container path onto a host directory ("/up" + "/etc/x").
std::string HostPath(std::string_view dir, std::string_view container_path);

// What a newly appeared upper-layer entry means. `upper` is its lstat now
// (nullopt: already gone), `lower` the image's entry at the same path.
// nullopt: not drift by itself (a copy-up, which the change that caused it
// reports; or gone).
std::optional<Operation> ClassifyAppeared(const std::optional<struct stat>& upper,
                                          const std::optional<struct stat>& lower);

// What an attribute change means, from the entry's stat before and now.
Operation ClassifyAttrib(const struct stat& before, const struct stat& now);

// Glob match for allow lists: '*' within a component, '**' across '/', '?'.
bool PathGlobMatch(std::string_view glob, std::string_view path);

}  // namespace invar::drift
