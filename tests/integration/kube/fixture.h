// SPDX-License-Identifier: Apache-2.0
// Shared fixture for the kube client integration tests: a test CA, a strict
// TestApiServer on 127.0.0.1 with one bearer token ("alice") and client
// certificates, a scratch directory, and helpers to build RestConfigs and to
// send raw HTTPS requests (for asserting the server's own strictness).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "invar/kube/client.h"
#include "invar/testing/api_server.h"
#include "invar/testing/pki.h"

namespace invar::kube::testing_support {

inline constexpr const char* kAliceToken = "alice-token-5f1c0b7e9a";

class KubeFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = invar::testing::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = std::make_unique<invar::testing::TestCa>(std::move(*ca));
    auto server_cert = ca_->IssueServer();
    ASSERT_TRUE(server_cert.ok());
    server_cert_ = *server_cert;
    char tmpl[] = "/tmp/invar-kube-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    StartServer(Options());
  }

  void TearDown() override {
    if (server_) server_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  invar::testing::ApiServerOptions Options() {
    invar::testing::ApiServerOptions opts;
    opts.server_cert_pem = server_cert_.cert_pem;
    opts.server_key_pem = server_cert_.key_pem;
    opts.client_ca_pem = ca_->cert_pem();
    opts.tokens[kAliceToken] = "alice";
    return opts;
  }

  void StartServer(invar::testing::ApiServerOptions opts) {
    if (server_) server_->Stop();
    server_ = std::make_unique<invar::testing::TestApiServer>(std::move(opts));
    ASSERT_TRUE(server_->Start().ok());
    server_->AddNamespace("default");
    server_->AddNamespace("prod", {{"invar.dev/enforce", "immutable"}});
  }

  RestConfig TokenConfig(const std::string& token = kAliceToken) {
    RestConfig c;
    c.server = server_->url();
    c.ca_data = ca_->cert_pem();
    c.bearer_token = token;
    c.request_timeout = std::chrono::seconds(10);
    return c;
  }

  std::unique_ptr<KubeClient> Client(RestConfig config, RetryPolicy retry = FastRetry()) {
    auto client = NewKubeClient(std::move(config), retry);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  static RetryPolicy FastRetry() {
    RetryPolicy r;
    r.max_attempts = 4;
    r.initial_backoff = std::chrono::milliseconds(10);
    r.max_backoff = std::chrono::milliseconds(50);
    return r;
  }

  Json Pod(const std::string& ns, const std::string& name, const std::string& node = "node-1",
           const std::map<std::string, std::string>& labels = {}) {
    Json labels_json = Json::object();
    for (const auto& [k, v] : labels) labels_json[k] = v;
    return Json{{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels_json}}},
                {"spec",
                 {{"nodeName", node},
                  {"containers", Json::array({{{"name", "app"}, {"image", "registry.example/app@sha256:abc"}}})}}},
                {"status", {{"phase", "Running"}}}};
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::unique_ptr<invar::testing::TestCa> ca_;
  invar::testing::CertKey server_cert_;
  std::unique_ptr<invar::testing::TestApiServer> server_;
  std::string dir_;
};

}  // namespace invar::kube::testing_support
