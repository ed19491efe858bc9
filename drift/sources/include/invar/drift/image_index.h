// SPDX-License-Identifier: Apache-2.0
// ImageExecIndex: the executable regular files of a container's image layers
// (its overlay lowerdirs), by inode number and ctime, so the exec source can
// tell "an unchanged image file" from one fstat() of the exec permission
// event's fd, with no path lookup (drift/sources/exec_source.cpp).
//
// Why it holds (Documentation/filesystems/overlayfs.rst, "Inode
// properties"): when every layer (lowerdirs and upperdir) is on one
// filesystem, stat(2) of an overlay non-directory reports the st_ino of the
// underlying inode. Lower layers are immutable and pinned while the container
// exists, so their inode numbers are not reused by upper files. But a file
// copied up from the image (an image binary modified, chmod'ed, or hard-linked
// inside the container) keeps reporting its lower *origin's* st_ino
// (kernel commit 72b608f "ovl: constant st_ino/st_dev across copy up"): the
// inode number alone would let a modified image binary pass as the image's.
// Its other attributes are the upper file's, and the upper file was created
// at copy-up, after the layer was unpacked: its ctime differs (userspace
// cannot set ctime). So a match needs the inode number AND the ctime; anything
// else (upper, copied up, unknown) is decided by the exec source's path
// lookup, as before.
//
// Built once per distinct lowerdir list and shared by every container of that
// image (ImageExecIndexCache); memory is bounded by a budget of indexed files
// across live indexes (16 bytes per file). Immutable once built: Find() is
// thread-safe. The cache is thread-safe.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "invar/drift/container.h"
#include "invar/platform/status.h"

namespace invar::drift {

class ImageExecIndex {
 public:
  enum class Match {
    kUnknown,     // not an unchanged executable of the image: take the path lookup
    kImage,       // an unchanged image executable
    kImageShell,  // ... whose name (any of its hard links) is a shell or busybox
  };

  struct Entry {
    std::uint64_t ino;
    std::uint64_t ctime_ns;
    bool operator<(const Entry& o) const { return ino < o.ino || (ino == o.ino && ctime_ns < o.ctime_ns); }
  };

  // `shells`: inode numbers of files named like a shell or busybox.
  ImageExecIndex(std::vector<Entry> entries, std::vector<std::uint64_t> shells);

  // `st`: fstat() of the overlay file the container executes.
  Match Find(const struct stat& st) const;

  std::size_t files() const { return entries_.size(); }
  std::size_t bytes() const {
    return entries_.capacity() * sizeof(Entry) + shells_.capacity() * sizeof(std::uint64_t);
  }

 private:
  std::vector<Entry> entries_;        // sorted
  std::vector<std::uint64_t> shells_; // sorted inode numbers with a shell/busybox name
};

struct ImageIndexOptions {
  std::size_t max_files = 1u << 18;  // per index; beyond it the index is not built
  int max_depth = 128;
  // Set (by another thread) to abandon a walk: the build fails with Unavailable.
  const std::atomic<bool>* cancel = nullptr;
};

// Walks c.lowerdirs (never the overlay: no permission events): one fstatat
// per file, ~1.7 s for 160,000 files on the 2-core VM, so callers build off
// any latency-sensitive path. Errors:
// FailedPrecondition when the lowerdirs and the upperdir are not all on one
// filesystem (overlay then maps inode numbers: the index would not hold),
// ResourceExhausted beyond max_files, or the open error of a layer.
Result<std::shared_ptr<const ImageExecIndex>> BuildImageExecIndex(const Container& c,
                                                                  const ImageIndexOptions& options = {});

// Shares one index between containers with the same lowerdirs while any of
// them holds it. `budget_files`: most files indexed across live indexes (16
// bytes each); a new image beyond it gets no index (ResourceExhausted) and
// its containers keep the path lookup.
class ImageExecIndexCache {
 public:
  explicit ImageExecIndexCache(std::size_t budget_files = 1u << 20, ImageIndexOptions options = {})
      : budget_files_(budget_files), options_(options) {}

  // The live index of c's image, building it (the walk runs outside the
  // lock) with `options` (default: the cache's).
  Result<std::shared_ptr<const ImageExecIndex>> Get(const Container& c);
  Result<std::shared_ptr<const ImageExecIndex>> Get(const Container& c, const ImageIndexOptions& options);
  // The live index of c's image if one is built; never walks.
  std::shared_ptr<const ImageExecIndex> Find(const Container& c) const;

  struct Stats {
    std::size_t indexes = 0;
    std::size_t files = 0;
    std::size_t bytes = 0;
  };
  Stats stats() const;

 private:
  static std::string Key(const Container& c);

  std::size_t budget_files_;
  ImageIndexOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::weak_ptr<const ImageExecIndex>> by_layers_;  // guarded by mu_
};

}  // namespace invar::drift
