// SPDX-License-Identifier: Apache-2.0
// TestCluster: the strict TestApiServer started over real TLS with its own
// test CA and one bearer token, plus the client side to match: a RestConfig
// for the kube client and a kubeconfig on disk for the CLI. For tests that
// need "a cluster" without caring how it is wired (drift's kube actions, the
// live report); the client's own tests use tests/integration/kube/fixture.h,
// which varies the server options per test.
//
// Header-only so that any test already linking invar_testapiserver,
// invar_testpki and invar_kube can use it without another library.
//
// Thread-safety: Start() and WriteKubeconfig() from the test thread only;
// server() is thread-safe (see api_server.h). The destructor stops the
// server and removes the scratch directory.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "invar/kube/config.h"
#include "invar/platform/status.h"
#include "invar/testing/api_server.h"
#include "invar/testing/pki.h"

namespace invar::testing {

struct TestClusterOptions {
  std::string token;  // the one bearer token the server accepts
  std::string user;   // the user it authenticates as (also the kubeconfig user's name)
};

class TestCluster {
 public:
  // Creates a CA, issues the server certificate, starts the server (it also
  // accepts client certificates from the CA) and makes a scratch directory.
  static Result<std::unique_ptr<TestCluster>> Start(const TestClusterOptions& options) {
    if (options.token.empty() || options.user.empty()) {
      return Status::InvalidArgument("TestCluster: a token and its user are required");
    }
    auto ca = TestCa::Create();
    if (!ca.ok()) return ca.status();
    auto server_cert = ca->IssueServer();
    if (!server_cert.ok()) return server_cert.status();
    std::unique_ptr<TestCluster> cluster(new TestCluster(std::move(*ca), options));

    char tmpl[] = "/tmp/invar-test-cluster-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return ErrnoStatus("mkdtemp /tmp/invar-test-cluster-XXXXXX");
    cluster->dir_ = tmpl;

    ApiServerOptions server_options;
    server_options.server_cert_pem = server_cert->cert_pem;
    server_options.server_key_pem = server_cert->key_pem;
    server_options.client_ca_pem = cluster->ca_.cert_pem();
    server_options.tokens[options.token] = options.user;
    cluster->server_ = std::make_unique<TestApiServer>(std::move(server_options));
    INVAR_RETURN_IF_ERROR(cluster->server_->Start());
    return cluster;
  }

  ~TestCluster() {
    if (server_) server_->Stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  TestApiServer& server() { return *server_; }
  const TestCa& ca() const { return ca_; }
  const std::string& dir() const { return dir_; }
  const std::string& token() const { return options_.token; }

  // Server URL, CA data and the bearer token; a 10 s request timeout.
  kube::RestConfig TokenConfig() const {
    kube::RestConfig config;
    config.server = server_->url();
    config.ca_data = ca_.cert_pem();
    config.bearer_token = options_.token;
    config.request_timeout = std::chrono::seconds(10);
    return config;
  }

  // Writes <dir>/ca.crt and <dir>/kubeconfig: one cluster, user and
  // (current) context, the context namespace when not empty, the CA by file
  // path as most kubeconfigs have it. Returns the kubeconfig's path.
  Result<std::string> WriteKubeconfig(const std::string& context_namespace = "") const {
    std::string ca_path = dir_ + "/ca.crt";
    INVAR_RETURN_IF_ERROR(WriteFile(ca_path, ca_.cert_pem()));
    std::string doc = "apiVersion: v1\nkind: Config\ncurrent-context: test\n";
    doc += "clusters:\n- name: test\n  cluster:\n    server: " + server_->url() + "\n";
    doc += "    certificate-authority: " + ca_path + "\n";
    doc += "users:\n- name: " + options_.user + "\n  user:\n    token: " + options_.token + "\n";
    doc += "contexts:\n- name: test\n  context:\n    cluster: test\n    user: " + options_.user + "\n";
    if (!context_namespace.empty()) doc += "    namespace: " + context_namespace + "\n";
    std::string path = dir_ + "/kubeconfig";
    INVAR_RETURN_IF_ERROR(WriteFile(path, doc));
    return path;
  }

 private:
  TestCluster(TestCa ca, TestClusterOptions options) : ca_(std::move(ca)), options_(std::move(options)) {}

  TestCa ca_;
  TestClusterOptions options_;
  std::unique_ptr<TestApiServer> server_;
  std::string dir_;
};

}  // namespace invar::testing
