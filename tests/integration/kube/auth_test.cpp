// SPDX-License-Identifier: Apache-2.0
// Exec credential plugins (a real shell-script plugin that counts its runs),
// kubeconfig-driven clients end to end, and the rule that no token, key or
// certificate ever reaches a log line or an error message.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "fixture.h"
#include "invar/kube/config.h"
#include "invar/platform/log.h"

namespace invar::kube {
namespace {

using testing_support::kAliceToken;

class AuthTest : public testing_support::KubeFixture {
 protected:
  // A plugin that prints an ExecCredential and appends a line to a counter
  // file per run. It insists on KUBERNETES_EXEC_INFO and on its env/args,
  // so a client that does not pass them fails.
  void WritePlugin(const std::string& body_for_run) {
    std::string script = "#!/bin/sh\n"
                         "set -e\n"
                         "case \"$KUBERNETES_EXEC_INFO\" in *'\"kind\":\"ExecCredential\"'*) ;; *) exit 3 ;; esac\n"
                         "[ \"$PLUGIN_MODE\" = test ] || exit 4\n"
                         "[ \"$1\" = --cluster ] && [ \"$2\" = dev ] || exit 5\n"
                         "echo run >> '" + Path("runs") + "'\n"
                         "n=$(wc -l < '" + Path("runs") + "')\n" + body_for_run;
    ASSERT_TRUE(invar::testing::WriteFile(Path("plugin.sh"), script).ok());
    ASSERT_EQ(::chmod(Path("plugin.sh").c_str(), 0700), 0);
  }

  int Runs() {
    std::ifstream in(Path("runs"));
    int n = 0;
    std::string line;
    while (std::getline(in, line)) ++n;
    return n;
  }

  RestConfig ExecConfigFor() {
    RestConfig c = TokenConfig("");
    ExecConfig e;
    e.api_version = "client.authentication.k8s.io/v1";
    e.command = Path("plugin.sh");
    e.args = {"--cluster", "dev"};
    e.env = {{"PLUGIN_MODE", "test"}};
    e.interactive_mode = "Never";
    c.exec = e;
    return c;
  }

  static std::string Credential(const std::string& token, const std::string& expiry) {
    return "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
           "\"status\":{\"token\":\"" + token + "\",\"expirationTimestamp\":\"" + expiry + "\"}}'\n";
  }
};

TEST_F(AuthTest, ExecPluginTokenIsCachedUntilExpiry) {
  WritePlugin(Credential(kAliceToken, "2999-01-01T00:00:00Z"));
  auto client = Client(ExecConfigFor());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  EXPECT_EQ(Runs(), 1);
  EXPECT_EQ(server_->Requests().back().headers["authorization"], std::string("Bearer ") + kAliceToken);
}

TEST_F(AuthTest, ExpiredExecCredentialIsRefreshedBeforeUse) {
  WritePlugin(Credential(kAliceToken, "2001-01-01T00:00:00Z"));
  auto client = Client(ExecConfigFor());
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  EXPECT_EQ(Runs(), 2);
}

TEST_F(AuthTest, ExecPluginIsRerunAfter401) {
  // First run hands out a revoked token, later runs a good one.
  WritePlugin("if [ \"$n\" = 1 ]; then " + Credential("revoked", "2999-01-01T00:00:00Z") + "else " +
              Credential(kAliceToken, "2999-01-01T00:00:00Z") + "fi\n");
  auto client = Client(ExecConfigFor());
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(Runs(), 2);
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].status, 401);
  EXPECT_EQ(reqs[1].status, 200);
}

TEST_F(AuthTest, ExecPluginClientCertificateIsUsedForTls) {
  auto cert = ca_->IssueClient("carol");
  ASSERT_TRUE(cert.ok());
  Json status = {{"clientCertificateData", cert->cert_pem}, {"clientKeyData", cert->key_pem}};
  Json cred = {{"apiVersion", "client.authentication.k8s.io/v1"}, {"kind", "ExecCredential"}, {"status", status}};
  ASSERT_TRUE(invar::testing::WriteFile(Path("cred.json"), cred.dump()).ok());
  WritePlugin("cat '" + Path("cred.json") + "'\n");
  auto client = Client(ExecConfigFor());
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  EXPECT_EQ(server_->Requests().back().user, "carol");
}

TEST_F(AuthTest, FailingOrMalformedPluginIsAnErrorWithoutItsOutput) {
  WritePlugin("echo 'secret-looking-output-123'; exit 7\n");
  auto client = Client(ExecConfigFor());
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_NE(ns.status().message().find("exited with status 7"), std::string::npos) << ns.status().ToString();
  EXPECT_EQ(ns.status().message().find("secret-looking-output"), std::string::npos);
  EXPECT_TRUE(server_->Requests().empty());

  WritePlugin("echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\"}'\n");
  auto client2 = Client(ExecConfigFor());
  auto ns2 = client2->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns2.ok());
  EXPECT_NE(ns2.status().message().find("apiVersion"), std::string::npos);
}

TEST_F(AuthTest, MissingPluginNamesTheInstallHint) {
  RestConfig c = ExecConfigFor();
  c.exec->command = "invar-no-such-plugin";
  c.exec->install_hint = "install it with: apt-get install invar-no-such-plugin";
  auto client = Client(c);
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_NE(ns.status().message().find("apt-get install"), std::string::npos);
}

TEST_F(AuthTest, KubeconfigFileDrivesAWorkingClient) {
  auto cert = ca_->IssueClient("dave");
  ASSERT_TRUE(invar::testing::WriteFile(Path("ca.crt"), ca_->cert_pem()).ok());
  ASSERT_TRUE(invar::testing::WriteFile(Path("dave.crt"), cert->cert_pem).ok());
  ASSERT_TRUE(invar::testing::WriteFile(Path("dave.key"), cert->key_pem).ok());
  std::string kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                           "clusters:\n- name: c\n  cluster:\n    server: " + server_->url() +
                           "\n    certificate-authority: ca.crt\n"
                           "users:\n- name: dave\n  user:\n    client-certificate: dave.crt\n    client-key: dave.key\n"
                           "contexts:\n- name: test\n  context:\n    cluster: c\n    user: dave\n    namespace: prod\n";
  ASSERT_TRUE(invar::testing::WriteFile(Path("config"), kubeconfig).ok());
  ClientOptions opts;
  opts.kubeconfig = Path("config");
  opts.getenv = [](const std::string&) { return std::nullopt; };
  auto config = LoadConfig(opts);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->namespace_, "prod");
  auto client = Client(*config);
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", config->namespace_).ok());
  EXPECT_EQ(server_->Requests().back().user, "dave");
}

TEST_F(AuthTest, InClusterConfigTalksToTheServer) {
  std::string sa = Path("sa");
  ASSERT_EQ(::mkdir(sa.c_str(), 0700), 0);
  ASSERT_TRUE(invar::testing::WriteFile(sa + "/token", kAliceToken).ok());
  ASSERT_TRUE(invar::testing::WriteFile(sa + "/ca.crt", ca_->cert_pem()).ok());
  ASSERT_TRUE(invar::testing::WriteFile(sa + "/namespace", "prod\n").ok());
  ClientOptions opts;
  opts.service_account_dir = sa;
  int port = server_->port();
  opts.getenv = [port](const std::string& name) -> std::optional<std::string> {
    if (name == "KUBERNETES_SERVICE_HOST") return "127.0.0.1";
    if (name == "KUBERNETES_SERVICE_PORT") return std::to_string(port);
    return std::nullopt;
  };
  auto config = LoadConfig(opts);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->in_cluster);
  EXPECT_EQ(config->namespace_, "prod");
  auto client = Client(*config);
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "prod").ok());
  EXPECT_EQ(server_->Requests().back().headers["authorization"], std::string("Bearer ") + kAliceToken);
}

TEST_F(AuthTest, NoSecretsInLogsOrErrors) {
  auto cert = ca_->IssueClient("erin");
  std::string key_body = cert->key_pem.substr(cert->key_pem.find('\n') + 1, 40);
  log::Init(log::Level::kTrace);
  ::testing::internal::CaptureStderr();
  std::vector<std::string> messages;
  {
    // A bad token with retries and 401s.
    auto c1 = Client(TokenConfig("super-secret-token-value"));
    messages.push_back(c1->Get(Resource::Namespaces(), "", "default").status().ToString());
    invar::testing::Fault f;
    f.code = 503;
    server_->InjectFault(f, 2);
    auto c2 = Client(TokenConfig());
    messages.push_back(c2->Get(Resource::Namespaces(), "", "default").status().ToString());
    // TLS failure with a client key configured.
    auto other = invar::testing::TestCa::Create("other");
    RestConfig c = TokenConfig("super-secret-token-value");
    c.ca_data = other->cert_pem();
    c.client_cert_data = cert->cert_pem;
    c.client_key_data = cert->key_pem;
    auto c3 = Client(c);
    messages.push_back(c3->Get(Resource::Namespaces(), "", "default").status().ToString());
    messages.push_back(c.Describe());
    // A kubeconfig with inline secrets that fails to resolve.
    ClientOptions opts;
    opts.getenv = [](const std::string&) { return std::nullopt; };
    opts.context = "missing";
    auto bad = LoadConfigFromString("users:\n- name: u\n  user:\n    token: super-secret-token-value\n", opts);
    messages.push_back(bad.status().ToString());
  }
  std::string logs = ::testing::internal::GetCapturedStderr();
  log::Init(log::Level::kInfo);
  EXPECT_NE(logs.find("retry"), std::string::npos) << "expected debug lines about retries; got: " << logs;
  for (const std::string& text : std::vector<std::string>{logs, messages[0], messages[1], messages[2], messages[3],
                                                          messages[4]}) {
    EXPECT_EQ(text.find("super-secret-token-value"), std::string::npos) << text;
    EXPECT_EQ(text.find(kAliceToken), std::string::npos) << text;
    EXPECT_EQ(text.find(key_body), std::string::npos) << text;
    EXPECT_EQ(text.find("BEGIN"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace invar::kube
