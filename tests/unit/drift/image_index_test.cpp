// SPDX-License-Identifier: Apache-2.0
// ImageExecIndex against a real overlay mount on /dev/shm (tmpfs): image
// layers, an upperdir and the merged view, changed through the overlay as a
// container would. Checks what the exec source's fast path relies on: an
// unchanged image executable matches from fstat of the overlay file, and no
// upper file does, including a copied-up or hard-linked image file that
// overlayfs reports with the image file's inode number. Needs root (mount).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "invar/drift/image_index.h"

namespace invar::drift {
namespace {
namespace fs = std::filesystem;
using Match = ImageExecIndex::Match;

void WriteExec(const std::string& path, const std::string& text, fs::perms perms = fs::perms::owner_all) {
  std::ofstream(path) << text;
  fs::permissions(path, perms);
}

class ImageIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlay mount)";
    char tmpl[] = "/dev/shm/invar-imgidx-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* d : {"/l1/bin", "/l1/etc", "/l2/bin", "/upper/tmp", "/work", "/merged", "/other"}) {
      fs::create_directories(root_ + d);
    }
    WriteExec(root_ + "/l1/bin/tool", "tool v1\n");
    WriteExec(root_ + "/l1/bin/tool2", "tool2\n");
    WriteExec(root_ + "/l1/bin/busybox", "busybox\n");
    WriteExec(root_ + "/l1/etc/conf", "x=1\n", fs::perms::owner_read | fs::perms::owner_write);
    WriteExec(root_ + "/l2/bin/sh", "a shell\n");
    fs::create_hard_link(root_ + "/l2/bin/sh", root_ + "/l2/bin/other-name");
    c_.id = "imgidx";
    c_.lowerdirs = {root_ + "/l2", root_ + "/l1"};  // top first
    c_.upperdir = root_ + "/upper";
  }
  void TearDown() override {
    if (mounted_) ::umount2(Merged().c_str(), MNT_DETACH);
    if (other_mounted_) ::umount2((root_ + "/other").c_str(), MNT_DETACH);
    if (!root_.empty()) fs::remove_all(root_);
  }

  std::string Merged() const { return root_ + "/merged"; }
  void Mount() {
    const std::string opts = "lowerdir=" + c_.lowerdirs[0] + ":" + c_.lowerdirs[1] + ",upperdir=" + c_.upperdir +
                             ",workdir=" + root_ + "/work";
    ASSERT_EQ(::mount("overlay", Merged().c_str(), "overlay", 0, opts.c_str()), 0) << std::strerror(errno);
    mounted_ = true;
  }
  // fstat of the overlay file, as the exec source does on the event's fd.
  static struct stat Fstat(const std::string& path) {
    struct stat st {};
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    if (fd >= 0) {
      EXPECT_EQ(::fstat(fd, &st), 0);
      ::close(fd);
    }
    return st;
  }

  std::string root_;
  Container c_;
  bool mounted_ = false;
  bool other_mounted_ = false;
};

TEST_F(ImageIndexTest, UnchangedImageExecutablesMatchThroughTheOverlay) {
  auto index = BuildImageExecIndex(c_);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->files(), 4u);  // tool, tool2, busybox, sh (= other-name); not the non-executable conf
  Mount();
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/tool")), Match::kImage);
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/busybox")), Match::kImageShell);
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/sh")), Match::kImageShell);
  // A hard link's other name in the image is the same inode: named like a shell once is enough.
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/other-name")), Match::kImageShell);
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/etc/conf")), Match::kUnknown);
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin")), Match::kUnknown);
}

TEST_F(ImageIndexTest, NoUpperFileMatchesEvenWithTheImageFilesInodeNumber) {
  auto index = BuildImageExecIndex(c_);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  Mount();
  const struct stat before = Fstat(Merged() + "/bin/tool");
  ASSERT_EQ((*index)->Find(before), Match::kImage);
  // Modified in place: copied up. Overlayfs keeps the origin's st_ino (all
  // layers on one filesystem); only the ctime tells it apart.
  { std::ofstream(Merged() + "/bin/tool", std::ios::app) << "patched\n"; }
  const struct stat after = Fstat(Merged() + "/bin/tool");
  EXPECT_TRUE(fs::exists(c_.upperdir + "/bin/tool"));
  EXPECT_EQ(after.st_ino, before.st_ino) << "overlayfs no longer reports the origin inode after copy-up";
  EXPECT_EQ((*index)->Find(after), Match::kUnknown);
  // Mode change only (metadata copy-up).
  fs::permissions(Merged() + "/bin/busybox", fs::perms::owner_exec | fs::perms::owner_read);
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/busybox")), Match::kUnknown);
  // A hard link made through the overlay copies the image file up: neither name matches.
  fs::create_hard_link(Merged() + "/bin/tool2", Merged() + "/tmp/linked");
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/tmp/linked")), Match::kUnknown);
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/tool2")), Match::kUnknown);
  // A new file.
  WriteExec(Merged() + "/tmp/new", "new\n");
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/tmp/new")), Match::kUnknown);
  // The untouched image shell still matches.
  EXPECT_EQ((*index)->Find(Fstat(Merged() + "/bin/sh")), Match::kImageShell);
}

TEST_F(ImageIndexTest, LayersOnAnotherFilesystemThanTheUpperdirGiveNoIndex) {
  ASSERT_EQ(::mount("tmpfs", (root_ + "/other").c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  other_mounted_ = true;
  c_.upperdir = root_ + "/other";
  auto index = BuildImageExecIndex(c_);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), Status::Code::kFailedPrecondition) << index.status().ToString();
}

TEST_F(ImageIndexTest, TooManyExecutablesGiveNoIndex) {
  ImageIndexOptions o;
  o.max_files = 3;
  auto index = BuildImageExecIndex(c_, o);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), Status::Code::kResourceExhausted);
}

TEST_F(ImageIndexTest, ACancelledBuildGivesNoIndex) {
  std::atomic<bool> cancel{true};
  ImageIndexOptions o;
  o.cancel = &cancel;
  auto index = BuildImageExecIndex(c_, o);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), Status::Code::kUnavailable);
  cancel = false;
  EXPECT_TRUE(BuildImageExecIndex(c_, o).ok());
}

TEST_F(ImageIndexTest, CacheSharesOneIndexPerImageAndKeepsToItsBudget) {
  ImageExecIndexCache cache(/*budget_files=*/6);
  auto a = cache.Get(c_);
  Container same = c_;
  same.id = "other-container";
  same.upperdir = root_ + "/upper";
  auto b = cache.Get(same);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(cache.Find(same).get(), a->get());  // found without a walk
  EXPECT_EQ(cache.stats().indexes, 1u);
  EXPECT_EQ(cache.stats().files, 4u);
  // Another image (one layer, 3 executables) would exceed the budget of 6 while the first lives.
  Container one_layer = c_;
  one_layer.lowerdirs = {root_ + "/l1"};
  auto c = cache.Get(one_layer);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kResourceExhausted);
  // Released by every container: its budget is free again.
  a = Status::NotFound("released");
  b = Status::NotFound("released");
  EXPECT_EQ(cache.Find(c_), nullptr);
  auto d = cache.Get(one_layer);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)->files(), 3u);
  EXPECT_EQ(cache.stats().indexes, 1u);
}

}  // namespace
}  // namespace invar::drift
