// SPDX-License-Identifier: Apache-2.0
// The webhook in cluster mode against the strict test API server: the
// namespace cache (kube::ListWatchCache through NewKubeNamespaceSource)
// syncs, readiness follows it, and a namespace label change arriving over
// the watch changes the next decision.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "invar/admission/kube_namespaces.h"
#include "invar/admission/server.h"
#include "invar/kube/client.h"
#include "invar/testing/api_server.h"
#include "invar/testing/pki.h"
#include "tls_client.h"

namespace invar::admission {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string PodReview(const std::string& ns) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web"}, {"namespace", ns}}},
              {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "nginx:1.25"}}})}}}};
  json req = {{"uid", "kube-uid"},
              {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
              {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
              {"name", "web"},
              {"namespace", ns},
              {"operation", "CREATE"},
              {"userInfo", {{"username", "alice"}}},
              {"object", pod}};
  return json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}}.dump();
}

TEST(WebhookKubeNamespaces, FollowsNamespaceLabelChangesFromTheWatch) {
  auto ca = testing::TestCa::Create();
  ASSERT_TRUE(ca.ok());
  auto serving = ca->IssueServer();
  ASSERT_TRUE(serving.ok());
  testing::ApiServerOptions api_opts;
  api_opts.server_cert_pem = serving->cert_pem;
  api_opts.server_key_pem = serving->key_pem;
  api_opts.client_ca_pem = ca->cert_pem();
  api_opts.tokens["webhook-token"] = "system:serviceaccount:invar-system:invar-webhook";
  testing::TestApiServer api(api_opts);
  ASSERT_TRUE(api.Start().ok());
  api.AddNamespace("team");

  kube::RestConfig rc;
  rc.server = api.url();
  rc.ca_data = ca->cert_pem();
  rc.bearer_token = "webhook-token";
  auto client = kube::NewKubeClient(rc);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto source = NewKubeNamespaceSource(**client);

  fs::path dir = fs::temp_directory_path() / ("invar-webhook-kube-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(testing::WriteFile((dir / "tls.crt").string(), serving->cert_pem).ok());
  ASSERT_TRUE(testing::WriteFile((dir / "tls.key").string(), serving->key_pem).ok());
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.tls_cert = (dir / "tls.crt").string();
  o.tls_key = (dir / "tls.key").string();
  auto server = Server::Create(o, source);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  (*server)->Start();

  auto status_of = [&](const std::string& path) {
    testing::TlsClient c((*server)->port(), ca->cert_pem());
    return c.Request("GET", path).status;
  };
  auto allowed = [&]() {
    testing::TlsClient c((*server)->port(), ca->cert_pem());
    auto r = c.Request("POST", "/validate", PodReview("team"));
    EXPECT_EQ(r.status, 200);
    return r.status == 200 && json::parse(r.body)["response"]["allowed"].get<bool>();
  };
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    ready = status_of("/readyz") == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(ready);
  EXPECT_TRUE(allowed());  // no mode label yet

  api.AddNamespace("team", {{"invar.dev/enforce", "immutable"}});
  bool denied = false;
  for (int i = 0; i < 200 && !denied; ++i) {
    denied = !allowed();
    if (!denied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(denied);

  api.AddNamespace("team", {{"invar.dev/warn", "immutable"}});
  bool allowed_again = false;
  for (int i = 0; i < 200 && !allowed_again; ++i) {
    allowed_again = allowed();
    if (!allowed_again) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(allowed_again);
  (*server)->Drain(std::chrono::seconds(2));
  server->reset();
  source.reset();
  api.Stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace invar::admission
