// SPDX-License-Identifier: Apache-2.0
// RefreshPodMetadata (actions.h): pod labels and owner re-read through the
// real kube PodActions against the strict test API server (real TLS,
// tests/lib TestCluster) once their TTL has passed, oldest first, a bounded
// number per call; a failed read keeps what was known.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 false positive (PR 105329)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "invar/drift/actions.h"
#include "invar/drift/kube_pod_actions.h"
#include "invar/kube/client.h"
#include "invar/testing/api_server.h"
#include "invar/testing/test_cluster.h"

namespace invar::drift {
namespace {

using invar::testing::Json;
constexpr std::uint64_t kSec = 1000000000ull;

Json Pod(const std::string& name, const std::string& app, const std::string& owner) {
  Json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"namespace", "prod"}, {"labels", {{"app", app}}}}},
      {"spec", {{"nodeName", "node-1"}, {"containers", Json::array({{{"name", "c"}, {"image", "x"}}})}}}};
  if (!owner.empty()) {
    pod["metadata"]["ownerReferences"] = Json::array({{{"apiVersion", "apps/v1"},
                                                       {"kind", "ReplicaSet"},
                                                       {"name", owner},
                                                       {"uid", "u-" + owner},
                                                       {"controller", true}}});
  }
  return pod;
}

class PodRefresh : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = invar::testing::TestCluster::Start({"agent-token", "system:serviceaccount:invar:agent"});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster);
    server_ = &cluster_->server();
    server_->AddNamespace("prod");
    server_->Put("v1", "pods", Pod("web-1", "web", ""));
    server_->Put("v1", "pods", Pod("web-2", "web", ""));
    auto client = kube::NewKubeClient(cluster_->TokenConfig());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    pods_ = NewKubePodActions(std::move(*client), "node-1");
  }
  void TearDown() override {
    pods_.reset();
    cluster_.reset();
  }
  int PodGets() const {
    int n = 0;
    for (const auto& r : server_->Requests())
      n += r.method == "GET" && r.path.find("/pods/") != std::string::npos;
    return n;
  }
  // As the agent does at discovery: one read, at time `at`.
  PodMetadataEntry Discovered(const std::string& pod, std::uint64_t at) {
    PodMetadataEntry e{"prod", pod, pods_->GetPodMetadata("prod", pod), at, false};
    EXPECT_TRUE(e.meta.has_value());
    return e;
  }

  std::unique_ptr<invar::testing::TestCluster> cluster_;
  invar::testing::TestApiServer* server_ = nullptr;  // owned by cluster_
  std::unique_ptr<PodActions> pods_;
};

TEST_F(PodRefresh, RereadsLabelsAndOwnerOnceTheTtlHasPassed) {
  std::vector<PodMetadataEntry> entries = {Discovered("web-1", 100 * kSec)};
  ASSERT_EQ(entries[0].meta->labels.at("app"), "web");
  // Relabelled and adopted by a ReplicaSet after the container started.
  server_->Put("v1", "pods", Pod("web-1", "shop", "web-7d9f"));
  server_->ClearRequests();
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 159 * kSec, 60 * kSec, 8), 0u);  // not due yet
  EXPECT_EQ(PodGets(), 0);
  EXPECT_EQ(entries[0].meta->labels.at("app"), "web");
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 160 * kSec, 60 * kSec, 8), 1u);
  EXPECT_EQ(PodGets(), 1);
  EXPECT_TRUE(entries[0].changed);
  EXPECT_EQ(entries[0].meta->labels.at("app"), "shop");
  EXPECT_EQ(entries[0].meta->owner_kind, "ReplicaSet");
  EXPECT_EQ(entries[0].meta->owner_name, "web-7d9f");
  EXPECT_EQ(entries[0].read_ns, 160 * kSec);
  // Unchanged on the next read: read, not reported as changed.
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 230 * kSec, 60 * kSec, 8), 0u);
  EXPECT_EQ(PodGets(), 2);
  EXPECT_FALSE(entries[0].changed);
}

TEST_F(PodRefresh, ReadsTheOldestFirstAndAtMostMaxReadsPerCall) {
  std::vector<PodMetadataEntry> entries = {Discovered("web-2", 20 * kSec), Discovered("web-1", 10 * kSec)};
  server_->Put("v1", "pods", Pod("web-1", "one", ""));
  server_->Put("v1", "pods", Pod("web-2", "two", ""));
  server_->ClearRequests();
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 100 * kSec, 60 * kSec, 1), 1u);
  EXPECT_EQ(PodGets(), 1);
  EXPECT_EQ(entries[1].meta->labels.at("app"), "one");  // web-1 was read longest ago
  EXPECT_EQ(entries[0].meta->labels.at("app"), "web");
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 101 * kSec, 60 * kSec, 1), 1u);
  EXPECT_EQ(entries[0].meta->labels.at("app"), "two");
  EXPECT_EQ(PodGets(), 2);
}

TEST_F(PodRefresh, AFailedReadKeepsTheLastMetadataAndWaitsAnotherTtl) {
  std::vector<PodMetadataEntry> entries = {Discovered("web-1", 0)};
  ASSERT_TRUE(server_->Remove("v1", "pods", "prod", "web-1"));
  server_->ClearRequests();
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 60 * kSec, 60 * kSec, 8), 0u);
  EXPECT_EQ(PodGets(), 1);
  ASSERT_TRUE(entries[0].meta.has_value());
  EXPECT_EQ(entries[0].meta->labels.at("app"), "web");
  EXPECT_EQ(entries[0].read_ns, 60 * kSec);
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 61 * kSec, 60 * kSec, 8), 0u);  // no retry storm
  EXPECT_EQ(PodGets(), 1);
  // An entry never read successfully (API down at discovery) is read when due.
  server_->Put("v1", "pods", Pod("web-1", "back", ""));
  entries[0].meta.reset();
  EXPECT_EQ(RefreshPodMetadata(*pods_, entries, 121 * kSec, 60 * kSec, 8), 1u);
  EXPECT_EQ(entries[0].meta->labels.at("app"), "back");
}

}  // namespace
}  // namespace invar::drift
