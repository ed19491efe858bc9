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
#include "invar/testing/pki.h"

namespace invar::drift {
namespace {

using invar::testing::Json;

class KubeActions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = invar::testing::TestCa::Create();
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_unique<invar::testing::TestCa>(std::move(*ca));
    auto cert = ca_->IssueServer();
    ASSERT_TRUE(cert.ok());
    invar::testing::ApiServerOptions o;
    o.server_cert_pem = cert->cert_pem;
    o.server_key_pem = cert->key_pem;
    o.client_ca_pem = ca_->cert_pem();
    o.tokens["agent-token"] = "system:serviceaccount:invar:agent";
    server_ = std::make_unique<invar::testing::TestApiServer>(o);
    ASSERT_TRUE(server_->Start().ok());
    server_->AddNamespace("prod");
    server_->Put("v1", "pods",
                 Json{{"apiVersion", "v1"},
                      {"kind", "Pod"},
                      {"metadata", {{"name", "api-1"}, {"namespace", "prod"},
                                    {"annotations", {{"invar.dev/drift-action", "kill"}}}}},
                      {"spec", {{"nodeName", "node-1"}, {"containers", Json::array({{{"name", "c"}, {"image", "x"}}})}}}});
    kube::RestConfig rc;
    rc.server = server_->url();
    rc.ca_data = ca_->cert_pem();
    rc.bearer_token = "agent-token";
    rc.request_timeout = std::chrono::seconds(10);
    auto client = kube::NewKubeClient(rc);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    actions_ = NewKubePodActions(std::move(*client), "node-1");
  }
  void TearDown() override {
    actions_.reset();
    server_->Stop();
  }
  template <typename Pred>
  bool Eventually(Pred p) {
    for (int i = 0; i < 200; ++i) {
      if (p()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  std::unique_ptr<invar::testing::TestCa> ca_;
  std::unique_ptr<invar::testing::TestApiServer> server_;
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
