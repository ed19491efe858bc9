// SPDX-License-Identifier: Apache-2.0
// See scan.h. Walks the upperdir with openat/fstatat relative to directory
// fds (no path re-resolution, symlinks never followed).
#include "invar/drift/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dir_stream.h"
#include "invar/drift/upper.h"
#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

struct Walker {
  const Container& c;
  const std::unordered_set<std::string>& stubs;
  const ScanOptions& opts;
  std::vector<ScanEntry> out;
  bool truncated = false;

  void Add(std::string path, Operation op) {
    if (out.size() >= opts.max_entries) {
      truncated = true;
      return;
    }
    out.push_back({std::move(path), op});
  }

  void Walk(int dirfd, const std::string& dir_path, int depth) {
    if (depth > opts.max_depth || truncated) return;
    DirStream ds(dirfd);
    while (const dirent* e = ds.Next()) {
      std::string name = e->d_name;
      std::string path = dir_path == "/" ? "/" + name : dir_path + "/" + name;
      struct stat st {};
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      auto lower = LowerStat(c, path);
      const bool stub = stubs.count(path) > 0;
      if (S_ISDIR(st.st_mode)) {
        bool opaque = false;
        char val[4] = {};
        UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) {
          ssize_t n = ::fgetxattr(sub.get(), "trusted.overlay.opaque", val, sizeof val);
          opaque = n > 0 && val[0] == 'y';
        }
        if (!stub) {
          if (!lower) {
            Add(path, Operation::kCreate);
          } else if (opaque) {
            Add(path, Operation::kDelete);  // the image's directory was removed (and maybe recreated)
          } else if ((st.st_mode & 07777) != (lower->st_mode & 07777)) {
            Add(path, Operation::kChmod);
          } else if (st.st_uid != lower->st_uid || st.st_gid != lower->st_gid) {
            Add(path, Operation::kChown);
          }
        }
        if (sub) Walk(sub.get(), path, depth + 1);
        continue;
      }
      if (stub) continue;
      if (IsWhiteout(st)) {
        if (lower) Add(path, Operation::kDelete);
        continue;
      }
      if (!lower) {
        auto op = ClassifyAppeared(st, std::nullopt);
        if (op) Add(path, *op);
        continue;
      }
      // An image file that was copied up: content, mode or owner changed.
      if ((st.st_mode & S_IFMT) != (lower->st_mode & S_IFMT)) {
        Add(path, Operation::kCreate);
      } else if (st.st_size != lower->st_size || st.st_mtim.tv_sec != lower->st_mtim.tv_sec ||
                 st.st_mtim.tv_nsec != lower->st_mtim.tv_nsec) {
        Add(path, st.st_size == 0 && lower->st_size > 0 ? Operation::kTruncate : Operation::kWrite);
      } else if ((st.st_mode & 07777) != (lower->st_mode & 07777)) {
        Add(path, Operation::kChmod);
      } else if (st.st_uid != lower->st_uid || st.st_gid != lower->st_gid) {
        Add(path, Operation::kChown);
      } else {
        Add(path, Operation::kXattr);
      }
    }
  }
};

}  // namespace

Result<std::vector<ScanEntry>> ScanUpperdir(const Container& c, const std::unordered_set<std::string>& stubs,
                                            const ScanOptions& options) {
  UniqueFd root(::open(c.upperdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus("open upperdir " + c.upperdir);
  Walker w{c, stubs, options, {}, false};
  w.Walk(root.get(), "/", 0);
  if (w.truncated) log::Warn("scan of {}: more than {} entries, rest skipped", c.ShortId(), options.max_entries);
  return std::move(w.out);
}

}  // namespace invar::drift
