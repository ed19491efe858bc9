// SPDX-License-Identifier: Apache-2.0
// Reconciliation scan of one container's overlay upperdir: the full inventory
// of what changed since the container started, independent of any event
// delivery (agent down, queue overflow, mmap writes). Reads only the host
// upperdir and lowerdirs (lstat, getdents, lgetxattr), never the container's
// overlay, so it raises no fanotify permission event. Thread-safe (no state).
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "invar/drift/container.h"
#include "invar/drift/event.h"
#include "invar/platform/status.h"

namespace invar::drift {

struct ScanEntry {
  std::string path;  // inside the container
  Operation op;      // create, write (modified image file), delete (whiteout), chmod, chown, symlink, link
};

struct ScanOptions {
  std::size_t max_entries = 1'000'000;  // stop (and say so) beyond this
  int max_depth = 256;
};

// Everything in c.upperdir that is drift: not a mount-point stub from
// `stubs`, not a directory merely copied up because something below it
// changed. Fails only if the upperdir cannot be opened.
Result<std::vector<ScanEntry>> ScanUpperdir(const Container& c, const std::unordered_set<std::string>& stubs,
                                            const ScanOptions& options = {});

}  // namespace invar::drift
