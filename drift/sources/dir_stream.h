// SPDX-License-Identifier: Apache-2.0
// DirStream: reads the entries of a directory given by an fd the caller keeps
// (the upperdir scan, the FID source's coalescing sweep, the image-layer
// inode index). readdir() needs a DIR*, and fdopendir() takes ownership of
// its fd, so the stream works on a private F_DUPFD_CLOEXEC duplicate and
// closes it (closedir) when destroyed; the caller's fd stays open and usable
// for fstatat/openat relative to it. Private to drift/sources. Move-only, not
// thread-safe (like any owning handle).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <utility>

namespace invar::drift {

class DirStream {
 public:
  // Opens a stream over `dirfd`'s directory; !valid() when the dup or
  // fdopendir failed (errno is set).
  explicit DirStream(int dirfd) {
    const int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return;
    dir_ = ::fdopendir(dup);
    if (dir_ == nullptr) ::close(dup);
  }
  ~DirStream() {
    if (dir_ != nullptr) ::closedir(dir_);
  }
  DirStream(const DirStream&) = delete;
  DirStream& operator=(const DirStream&) = delete;
  DirStream(DirStream&& o) noexcept : dir_(std::exchange(o.dir_, nullptr)) {}
  DirStream& operator=(DirStream&& o) noexcept {
    if (this != &o) {
      if (dir_ != nullptr) ::closedir(dir_);
      dir_ = std::exchange(o.dir_, nullptr);
    }
    return *this;
  }

  bool valid() const { return dir_ != nullptr; }
  // The next entry, "." and ".." skipped; nullptr at the end or on error.
  const dirent* Next() {
    if (dir_ == nullptr) return nullptr;
    while (const dirent* e = ::readdir(dir_)) {
      const char* n = e->d_name;
      if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
      return e;
    }
    return nullptr;
  }

 private:
  DIR* dir_ = nullptr;
};

}  // namespace invar::drift
