// SPDX-License-Identifier: Apache-2.0
// See image_index.h. The walk uses openat/fstatat relative to directory fds
// on the host's view of the image layers (symlinks never followed, never the
// container's overlay).
#include "invar/drift/image_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "dir_stream.h"
#include "invar/drift/procinfo.h"
#include "invar/platform/fd.h"

namespace invar::drift {
namespace {

std::uint64_t CtimeNs(const struct stat& st) {
  return static_cast<std::uint64_t>(st.st_ctim.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(st.st_ctim.tv_nsec);
}

struct Walker {
  const ImageIndexOptions& opts;
  dev_t dev;
  std::vector<ImageExecIndex::Entry> entries;
  std::vector<std::uint64_t> shells;
  bool too_many = false;

  bool Cancelled() const { return opts.cancel != nullptr && opts.cancel->load(std::memory_order_relaxed); }

  void Walk(int dirfd, int depth) {
    if (depth > opts.max_depth || too_many || Cancelled()) return;
    DirStream ds(dirfd);
    while (const dirent* e = ds.Next()) {
      if (e->d_type != DT_DIR && e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
      struct stat st {};
      if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
      if (S_ISDIR(st.st_mode)) {
        UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) Walk(sub.get(), depth + 1);
        continue;
      }
      // Only what can be executed: exec needs an x bit, and adding one
      // (chmod) copies the file up, which changes its ctime anyway.
      if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) continue;
      if (entries.size() >= opts.max_files) {
        too_many = true;
        return;
      }
      entries.push_back({static_cast<std::uint64_t>(st.st_ino), CtimeNs(st)});
      const std::string_view name = e->d_name;
      if (IsShellName(name) || name == "busybox") shells.push_back(st.st_ino);
    }
  }
};

}  // namespace

ImageExecIndex::ImageExecIndex(std::vector<Entry> entries, std::vector<std::uint64_t> shells)
    : entries_(std::move(entries)), shells_(std::move(shells)) {
  std::sort(entries_.begin(), entries_.end());
  entries_.erase(std::unique(entries_.begin(), entries_.end(),
                             [](const Entry& a, const Entry& b) { return a.ino == b.ino && a.ctime_ns == b.ctime_ns; }),
                 entries_.end());
  entries_.shrink_to_fit();
  std::sort(shells_.begin(), shells_.end());
  shells_.erase(std::unique(shells_.begin(), shells_.end()), shells_.end());
  shells_.shrink_to_fit();
}

ImageExecIndex::Match ImageExecIndex::Find(const struct stat& st) const {
  if (!S_ISREG(st.st_mode)) return Match::kUnknown;
  const Entry key{static_cast<std::uint64_t>(st.st_ino), CtimeNs(st)};
  if (!std::binary_search(entries_.begin(), entries_.end(), key)) return Match::kUnknown;
  return std::binary_search(shells_.begin(), shells_.end(), key.ino) ? Match::kImageShell : Match::kImage;
}

Result<std::shared_ptr<const ImageExecIndex>> BuildImageExecIndex(const Container& c,
                                                                  const ImageIndexOptions& options) {
  if (c.lowerdirs.empty() || c.upperdir.empty()) return Status::FailedPrecondition("no image layers");
  struct stat up {};
  if (::stat(c.upperdir.c_str(), &up) != 0) return ErrnoStatus("stat upperdir " + c.upperdir);
  Walker w{options, up.st_dev, {}, {}, false};
  for (const auto& l : c.lowerdirs) {
    UniqueFd root(::open(l.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return ErrnoStatus("open image layer " + l);
    struct stat st {};
    if (::fstat(root.get(), &st) != 0) return ErrnoStatus("stat image layer " + l);
    if (st.st_dev != up.st_dev) {
      return Status::FailedPrecondition("image layer " + l + " is not on the upperdir's filesystem");
    }
    w.Walk(root.get(), 0);
    if (w.Cancelled()) return Status::Unavailable("image index build cancelled");
    if (w.too_many) {
      return Status::ResourceExhausted("more than " + std::to_string(options.max_files) + " executables in the image");
    }
  }
  return std::make_shared<const ImageExecIndex>(std::move(w.entries), std::move(w.shells));
}

std::string ImageExecIndexCache::Key(const Container& c) {
  std::string key;
  for (const auto& l : c.lowerdirs) key += l + '\n';
  return key;
}

std::shared_ptr<const ImageExecIndex> ImageExecIndexCache::Find(const Container& c) const {
  const std::string key = Key(c);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_layers_.find(key);
  return it == by_layers_.end() ? nullptr : it->second.lock();
}

Result<std::shared_ptr<const ImageExecIndex>> ImageExecIndexCache::Get(const Container& c) {
  return Get(c, options_);
}

Result<std::shared_ptr<const ImageExecIndex>> ImageExecIndexCache::Get(const Container& c,
                                                                       const ImageIndexOptions& options) {
  const std::string key = Key(c);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_layers_.find(key);
    if (it != by_layers_.end()) {
      if (auto live = it->second.lock()) return live;
    }
  }
  // Built outside the lock: a walk of a large image takes a while, and two
  // containers of one new image at once at worst build it twice.
  auto built = BuildImageExecIndex(c, options);
  if (!built.ok()) return built.status();
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t live_files = 0;
  for (auto it = by_layers_.begin(); it != by_layers_.end();) {
    if (auto live = it->second.lock()) {
      if (it->first == key) return live;  // the other builder won
      live_files += live->files();
      ++it;
    } else {
      it = by_layers_.erase(it);
    }
  }
  if (live_files + (*built)->files() > budget_files_) {
    return Status::ResourceExhausted("image index budget of " + std::to_string(budget_files_) + " files is used");
  }
  by_layers_[key] = *built;
  return *built;
}

ImageExecIndexCache::Stats ImageExecIndexCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  for (const auto& [key, weak] : by_layers_) {
    if (auto live = weak.lock()) {
      ++s.indexes;
      s.files += live->files();
      s.bytes += live->bytes();
    }
  }
  return s;
}

}  // namespace invar::drift
