// SPDX-License-Identifier: Apache-2.0
// Parsers of the containerd backend: OCI config.json and mountinfo.
#include <gtest/gtest.h>

#include "invar/drift/runtime.h"

namespace invar::drift {
namespace {

TEST(OciConfig, ReadsAnnotationsMountsAndCgroup) {
  auto r = ParseOciConfig(R"({"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.sandbox-name":"p","n":1},
    "mounts":[{"destination":"/proc","type":"proc"},{"destination":"/etc/hosts"}],
    "linux":{"cgroupsPath":"/k8s.io/abc"}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->annotations.at("io.kubernetes.cri.sandbox-name"), "p");
  EXPECT_EQ(r->annotations.count("n"), 0u);  // non-string values are ignored
  EXPECT_EQ(r->mount_destinations, (std::vector<std::string>{"/proc", "/etc/hosts"}));
  EXPECT_EQ(r->cgroups_path, "/k8s.io/abc");
}

TEST(OciConfig, RejectsMalformedInputWithClearError) {
  EXPECT_EQ(ParseOciConfig("{").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseOciConfig("[]").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseOciConfig(R"({"annotations":[1]})").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseOciConfig(R"({"mounts":{}})").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseOciConfig(R"({"mounts":[3]})").status().code(), Status::Code::kInvalidArgument);
  std::string deep(100000, '[');
  EXPECT_FALSE(ParseOciConfig(deep).ok());
}

TEST(Mountinfo, FindsRootOverlayWithLayersInOrder) {
  const std::string mi =
      "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "745 700 0:52 / / rw,relatime - overlay overlay rw,lowerdir=/l/3/fs:/l/2/fs:/l/1/fs,"
      "upperdir=/s/9/fs,workdir=/s/9/work\n"
      "746 745 0:53 / /proc rw - proc proc rw\n";
  auto o = FindOverlay(mi, "/");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->upperdir, "/s/9/fs");
  EXPECT_EQ(o->workdir, "/s/9/work");
  EXPECT_EQ(o->lowerdirs, (std::vector<std::string>{"/l/3/fs", "/l/2/fs", "/l/1/fs"}));
  EXPECT_FALSE(FindOverlay(mi, "/proc").has_value());
}

TEST(Mountinfo, UnescapesOctalAndSkipsReadOnlyOverlayAndGarbage) {
  const std::string mi =
      "garbage line\n"
      "1 0 0:1 / /a\\040b rw - overlay overlay rw,lowerdir=/x\n"
      "2 0 0:1 / /c rw shared:5 - overlay overlay rw,lowerdir=/l\\040x,upperdir=/u\\040v,workdir=/w\n";
  EXPECT_FALSE(FindOverlay(mi, "/a b").has_value());  // no upperdir: nothing can drift
  auto o = FindOverlay(mi, "/c");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->upperdir, "/u v");
  EXPECT_EQ(o->lowerdirs.at(0), "/l x");
  EXPECT_EQ(UnescapeMountinfo("a\\134b\\"), "a\\b\\");
}

}  // namespace
}  // namespace invar::drift
