// SPDX-License-Identifier: Apache-2.0
// The upperdir scan over a synthetic lower/upper tree on the real filesystem
// (whiteouts are real 0:0 character devices when running as root).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "invar/drift/scan.h"
#include "invar/drift/upper.h"

namespace invar::drift {
namespace {
namespace fs = std::filesystem;

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/invar-scan-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    c_.upperdir = root_ + "/upper";
    c_.lowerdirs = {root_ + "/lower"};
    for (const char* d : {"/lower/etc", "/lower/bin", "/lower/data", "/upper"}) fs::create_directories(root_ + d);
    Write("/lower/etc/passwd", "root:x:0:0::/:/bin/sh\n");
    Write("/lower/etc/group", "root:x:0:\n");
    Write("/lower/bin/tool", "binary");
    Write("/lower/data/keep", "k");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(root_ + rel) << text; }
  std::vector<ScanEntry> Scan(const std::unordered_set<std::string>& stubs = {}) {
    auto r = ScanUpperdir(c_, stubs);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto v = r.ok() ? *r : std::vector<ScanEntry>{};
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return v;
  }
  static bool Has(const std::vector<ScanEntry>& v, const std::string& p, Operation op) {
    return std::any_of(v.begin(), v.end(), [&](const ScanEntry& e) { return e.path == p && e.op == op; });
  }

  std::string root_;
  Container c_;
};

TEST_F(ScanTest, EmptyUpperdirHasNoDrift) { EXPECT_TRUE(Scan().empty()); }

TEST_F(ScanTest, FindsNewModifiedDeletedAndRetypedEntries) {
  fs::create_directories(root_ + "/upper/etc");
  fs::create_directories(root_ + "/upper/tmp/sub");
  fs::create_directories(root_ + "/upper/bin");
  Write("/upper/tmp/sub/new", "n");
  Write("/upper/etc/passwd", "root:x:0:0::/:/bin/sh\nevil:x:0:0::/:/bin/sh\n");  // copied up and changed
  fs::copy_file(root_ + "/lower/etc/group", root_ + "/upper/etc/group");
  ::chmod((root_ + "/upper/etc/group").c_str(), 0600);  // same content, new mode
  struct stat lower {};
  ASSERT_EQ(::stat((root_ + "/lower/etc/group").c_str(), &lower), 0);
  const timespec times[2] = {lower.st_atim, lower.st_mtim};  // a copy-up keeps the times
  ASSERT_EQ(::utimensat(AT_FDCWD, (root_ + "/upper/etc/group").c_str(), times, 0), 0);
  ASSERT_EQ(::mknod((root_ + "/upper/bin/tool").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0) << "needs root";
  fs::create_symlink("/etc/passwd", root_ + "/upper/tmp/link");
  auto v = Scan();
  EXPECT_TRUE(Has(v, "/tmp", Operation::kCreate));
  EXPECT_TRUE(Has(v, "/tmp/sub", Operation::kCreate));
  EXPECT_TRUE(Has(v, "/tmp/sub/new", Operation::kCreate));
  EXPECT_TRUE(Has(v, "/tmp/link", Operation::kSymlink));
  EXPECT_TRUE(Has(v, "/etc/passwd", Operation::kWrite));
  EXPECT_TRUE(Has(v, "/etc/group", Operation::kChmod));
  EXPECT_TRUE(Has(v, "/bin/tool", Operation::kDelete));
  // Directories copied up only because something below changed are not drift.
  EXPECT_FALSE(std::any_of(v.begin(), v.end(), [](const ScanEntry& e) { return e.path == "/etc" || e.path == "/bin"; }));
  EXPECT_EQ(v.size(), 7u);
}

TEST_F(ScanTest, TruncatedImageFileIsTruncate) {
  fs::create_directories(root_ + "/upper/data");
  Write("/upper/data/keep", "");
  auto v = Scan();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(Has(v, "/data/keep", Operation::kTruncate));
}

TEST_F(ScanTest, MountPointStubsAreNotDrift) {
  fs::create_directories(root_ + "/upper/run/secrets/kubernetes.io/serviceaccount");
  fs::create_directories(root_ + "/upper/etc");
  Write("/upper/etc/resolv.conf", "");
  Write("/upper/etc/hosts", "");
  Write("/upper/run/evil", "x");
  auto v = Scan(MountStubs({"/run/secrets/kubernetes.io/serviceaccount", "/etc/hosts"}));
  ASSERT_EQ(v.size(), 1u) << v[0].path;
  EXPECT_TRUE(Has(v, "/run/evil", Operation::kCreate));
}

TEST_F(ScanTest, OpaqueDirectoryIsReportedAsReplaced) {
  fs::create_directories(root_ + "/upper/data");
  if (::setxattr((root_ + "/upper/data").c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
    GTEST_SKIP() << "trusted xattrs unsupported on /tmp here";
  }
  auto v = Scan();
  EXPECT_TRUE(Has(v, "/data", Operation::kDelete));
}

TEST_F(ScanTest, MissingUpperdirIsAnError) {
  c_.upperdir = root_ + "/nope";
  EXPECT_FALSE(ScanUpperdir(c_, {}).ok());
}

TEST_F(ScanTest, StopsAtEntryLimit) {
  fs::create_directories(root_ + "/upper/many");
  for (int i = 0; i < 50; ++i) Write("/upper/many/f" + std::to_string(i), "x");
  auto r = ScanUpperdir(c_, {}, ScanOptions{.max_entries = 10, .max_depth = 256});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 10u);
}

}  // namespace
}  // namespace invar::drift
