// SPDX-License-Identifier: Apache-2.0
// Upper-layer semantics: mount stubs, whiteouts, copy-ups, attribute changes, globs.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "invar/drift/actions.h"
#include "invar/drift/upper.h"

namespace invar::drift {
namespace {

struct stat Stat(mode_t mode, uid_t uid = 0, nlink_t nlink = 1, dev_t rdev = 0) {
  struct stat st {};
  st.st_mode = mode;
  st.st_uid = uid;
  st.st_nlink = nlink;
  st.st_rdev = rdev;
  return st;
}

TEST(MountStubs, IncludeDestinationsTheirParentsAndCriFiles) {
  auto s = MountStubs({"/run/secrets/kubernetes.io/serviceaccount", "/data/", "/proc"});
  for (const char* p : {"/run", "/run/secrets", "/run/secrets/kubernetes.io", "/run/secrets/kubernetes.io/serviceaccount",
                        "/data", "/proc", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/etc",
                        "/dev/termination-log", "/dev"}) {
    EXPECT_TRUE(s.count(p)) << p;
  }
  EXPECT_FALSE(s.count("/"));
  EXPECT_FALSE(s.count("/etc/passwd"));
  EXPECT_FALSE(s.count("/run/other"));
}

TEST(Classify, WhiteoutOfImageFileIsDelete) {
  EXPECT_TRUE(IsWhiteout(Stat(S_IFCHR, 0, 1, makedev(0, 0))));
  EXPECT_FALSE(IsWhiteout(Stat(S_IFCHR, 0, 1, makedev(1, 3))));
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFCHR), Stat(S_IFREG | 0644)), Operation::kDelete);
  // A whiteout over nothing is overlay bookkeeping.
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFCHR), std::nullopt), std::nullopt);
}

TEST(Classify, CopyUpIsNotDriftByItselfButTypeChangeIs) {
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFREG | 0644), Stat(S_IFREG | 0644)), std::nullopt);
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFDIR | 0755), Stat(S_IFDIR | 0755)), std::nullopt);
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFLNK | 0777), Stat(S_IFREG | 0755)), Operation::kCreate);
  EXPECT_EQ(ClassifyAppeared(std::nullopt, std::nullopt), std::nullopt);
}

TEST(Classify, NewEntriesByType) {
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFREG | 0644), std::nullopt), Operation::kCreate);
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFDIR | 0755), std::nullopt), Operation::kCreate);
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFLNK | 0777), std::nullopt), Operation::kSymlink);
  EXPECT_EQ(ClassifyAppeared(Stat(S_IFREG | 0644, 0, 2), std::nullopt), Operation::kLink);
}

TEST(Classify, AttribChangesByWhatChanged) {
  EXPECT_EQ(ClassifyAttrib(Stat(S_IFREG | 0644), Stat(S_IFREG | 0600)), Operation::kChmod);
  EXPECT_EQ(ClassifyAttrib(Stat(S_IFREG | 0644), Stat(S_IFREG | 0644, 1000)), Operation::kChown);
  EXPECT_EQ(ClassifyAttrib(Stat(S_IFREG | 0644), Stat(S_IFREG | 0644)), Operation::kXattr);
}

TEST(Glob, StarStaysInComponentDoubleStarCrosses) {
  EXPECT_TRUE(PathGlobMatch("/tmp/*", "/tmp/x"));
  EXPECT_FALSE(PathGlobMatch("/tmp/*", "/tmp/a/b"));
  EXPECT_TRUE(PathGlobMatch("/tmp/**", "/tmp/a/b"));
  EXPECT_TRUE(PathGlobMatch("/var/**/cache", "/var/cache"));
  EXPECT_TRUE(PathGlobMatch("/var/**/cache", "/var/lib/x/cache"));
  EXPECT_TRUE(PathGlobMatch("/tmp/ok-?", "/tmp/ok-1"));
  EXPECT_FALSE(PathGlobMatch("/tmp/ok-?", "/tmp/ok-12"));
  EXPECT_FALSE(PathGlobMatch("/tmp", "/tmpx"));
  EXPECT_FALSE(PathGlobMatch("", "/x"));
}

TEST(Policy, AnnotationsOverrideDefaultsAndBadValuesAreIgnored) {
  auto p = ResolvePolicy(Action::kFlag, {"/var/log/**"},
                         {{kActionAnnotation, "prevent"}, {kAllowAnnotation, " /tmp/*, ,/cache/** "}});
  EXPECT_EQ(p.action, Action::kPrevent);
  EXPECT_EQ(p.allow_globs, (std::vector<std::string>{"/var/log/**", "/tmp/*", "/cache/**"}));
  EXPECT_TRUE(PathAllowed(p, "/cache/a/b"));
  EXPECT_FALSE(PathAllowed(p, "/etc/passwd"));
  EXPECT_EQ(ResolvePolicy(Action::kKill, {}, {{kActionAnnotation, "explode"}}).action, Action::kKill);
  EXPECT_FALSE(ParseAction("Flag").ok());
}

}  // namespace
}  // namespace invar::drift
