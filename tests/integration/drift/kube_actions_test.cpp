// SPDX-License-Identifier: Apache-2.0
// The PodActions adapter on the real kube client against the strict test API
// server (real TLS): annotate, Event, delete, read annotations.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 false positive (PR 105329)
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "invar/drift/kube_pod_actions.h"
#include "invar/kube/client.h"
#include "invar/testing/api_server.h"
#include "invar/testing/test_cluster.h"

namespace invar::drift {
namespace {

using invar::testing::Json;

class KubeActions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = invar::testing::TestCluster::Start({"agent-token", "system:serviceaccount:invar:agent"});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster);
    server_ = &cluster_->server();
    server_->AddNamespace("prod");
    server_->Put("v1", "pods",
                 Json{{"apiVersion", "v1"},
                      {"kind", "Pod"},
                      {"metadata", {{"name", "api-1"}, {"namespace", "prod"},
                                    {"annotations", {{"invar.dev/drift-action", "kill"}}}}},
                      {"spec", {{"nodeName", "node-1"}, {"containers", Json::array({{{"name", "c"}, {"image", "x"}}})}}}});
    auto client = kube::NewKubeClient(cluster_->TokenConfig());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    actions_ = NewKubePodActions(std::move(*client), "node-1");
  }
  void TearDown() override {
    actions_.reset();  // drains the action queue while the server still answers
    cluster_.reset();
  }
  template <typename Pred>
  bool Eventually(Pred p) {
    for (int i = 0; i < 200; ++i) {
      if (p()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  std::unique_ptr<invar::testing::TestCluster> cluster_;
  invar::testing::TestApiServer* server_ = nullptr;  // owned by cluster_
  std::unique_ptr<PodActions> actions_;
};

TEST_F(KubeActions, ReadsPodAnnotations) {
  auto a = actions_->PodAnnotations("prod", "api-1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->at("invar.dev/drift-action"), "kill");
  EXPECT_FALSE(actions_->PodAnnotations("prod", "missing").has_value());
}

TEST_F(KubeActions, AnnotatesPodKeepingOtherAnnotations) {
  ASSERT_TRUE(actions_->Annotate("prod", "api-1", {{"invar.dev/drifted", "count=1; first=create /tmp/x"}}).ok());
  EXPECT_TRUE(Eventually([&] {
    auto pod = server_->Object("v1", "pods", "prod", "api-1");
    return pod && (*pod)["metadata"]["annotations"].value("invar.dev/drifted", "") == "count=1; first=create /tmp/x";
  }));
  auto pod = server_->Object("v1", "pods", "prod", "api-1");
  EXPECT_EQ((*pod)["metadata"]["annotations"]["invar.dev/drift-action"], "kill");
}

TEST_F(KubeActions, EmitsValidEventsK8sIoEvent) {
  ASSERT_TRUE(actions_->EmitEvent("prod", "api-1", "ContainerDrift", std::string(3000, 'm')).ok());
  EXPECT_TRUE(Eventually([&] { return server_->Count("events.k8s.io/v1", "events") == 1; }));
  bool created = false;
  for (const auto& r : server_->Requests()) {
    if (r.method == "POST" && r.path == "/apis/events.k8s.io/v1/namespaces/prod/events") {
      created = r.status == 201;
      auto body = Json::parse(r.body);
      EXPECT_EQ(body["reason"], "ContainerDrift");
      EXPECT_EQ(body["regarding"]["name"], "api-1");
      EXPECT_EQ(body["note"].get<std::string>().size(), 1024u);  // the API's limit
    }
  }
  EXPECT_TRUE(created);
}

TEST_F(KubeActions, DeletesPod) {
  ASSERT_TRUE(actions_->DeletePod("prod", "api-1").ok());
  EXPECT_TRUE(Eventually([&] {
    server_->FinalizeDeletions();
    return !server_->Object("v1", "pods", "prod", "api-1").has_value();
  }));
}

}  // namespace
}  // namespace invar::drift
