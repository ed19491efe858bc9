// SPDX-License-Identifier: Apache-2.0
// ContainerRuntime (containerd backend) against a real containerd: discovery
// of task directories, CRI identity, overlay dirs, sandbox skipping, release.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "containerd_fixture.h"
#include "invar/drift/runtime.h"

namespace invar::drift {
namespace {

using invar::testing::ContainerdFixture;
using invar::testing::PodSpec;

std::shared_ptr<const Container> Find(const std::vector<std::shared_ptr<const Container>>& list,
                                      const std::string& id) {
  for (const auto& c : list) {
    if (c->id == id) return c;
  }
  return nullptr;
}

TEST(ContainerdRuntime, DiscoversRunningContainerWithPodIdentityAndOverlay) {
  auto& f = ContainerdFixture::Instance();
  PodSpec pod{.pod = "web-7f9c", .ns = "shop", .name = "nginx", .pod_uid = "u-1", .extra_annotations = {}};
  ASSERT_TRUE(f.Run("rt-disc", {"sleep", "1000"}, pod));
  auto rt = NewContainerdRuntime({.host_root = "", .task_dir = f.TaskDir(), .proc_dir = "/proc"});
  auto list = rt->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  auto c = Find(*list, "rt-disc");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "nginx");
  EXPECT_EQ(c->pod, "web-7f9c");
  EXPECT_EQ(c->pod_namespace, "shop");
  EXPECT_EQ(c->pod_uid, "u-1");
  EXPECT_EQ(c->image, ContainerdFixture::kImage);
  EXPECT_EQ(c->runtime_ns, "k8s.io");
  EXPECT_EQ(c->init_pid, f.InitPid("rt-disc"));
  EXPECT_EQ(c->upperdir, f.Upperdir("rt-disc"));
  ASSERT_EQ(c->lowerdirs.size(), 1u);
  struct stat st {};
  EXPECT_EQ(::stat((c->lowerdirs[0] + "/bin/busybox").c_str(), &st), 0);
  EXPECT_NE(std::find(c->mount_destinations.begin(), c->mount_destinations.end(), "/proc"),
            c->mount_destinations.end());
  EXPECT_GT(c->started_at_ns, 0u);
  EXPECT_FALSE(c->cgroup.empty());

  // Unchanged between calls: the same object.
  auto again = rt->List();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Find(*again, "rt-disc"), c);

  f.Remove("rt-disc");
  auto after = rt->List();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Find(*after, "rt-disc"), nullptr);
}

TEST(ContainerdRuntime, SkipsSandboxContainers) {
  auto& f = ContainerdFixture::Instance();
  PodSpec pod;
  pod.extra_annotations["io.kubernetes.cri.container-type"] = "sandbox";
  ASSERT_TRUE(f.Run("rt-pause", {"sleep", "1000"}, pod));
  auto rt = NewContainerdRuntime({.host_root = "", .task_dir = f.TaskDir(), .proc_dir = "/proc"});
  auto list = rt->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Find(*list, "rt-pause"), nullptr);
  f.Remove("rt-pause");
}

TEST(ContainerdRuntime, MissingStateDirectoryIsEmptyNotAnError) {
  auto rt = NewContainerdRuntime({.host_root = "/nonexistent-host", .task_dir = "/run/x", .proc_dir = "/proc"});
  auto list = rt->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

}  // namespace
}  // namespace invar::drift
