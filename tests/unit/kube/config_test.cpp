// SPDX-License-Identifier: Apache-2.0
// Kubeconfig resolution, following kubectl's documented rules
// (kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig):
// --kubeconfig alone; $KUBECONFIG merged with "first file to set a value or
// map key wins" (whole named entries), current-context from the first file
// that sets it; ~/.kube/config; --context/--cluster/--user/-n overrides;
// relative paths against the defining file; in-cluster fallback.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "invar/kube/config.h"

namespace invar::kube {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/invar-kubeconfig-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << content;
    return path;
  }

  ClientOptions Options() {
    ClientOptions opts;
    opts.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    opts.service_account_dir = dir_ + "/sa";
    return opts;
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

constexpr const char* kFileA = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443
    certificate-authority: certs/ca.crt
- name: shared
  cluster:
    server: https://shared-from-a.example
users:
- name: red-user
  user:
    token: token-from-a
contexts:
- name: dev
  context:
    cluster: dev-cluster
    user: red-user
    namespace: frontend
- name: shared-ctx
  context:
    cluster: shared
    user: red-user
)";

constexpr const char* kFileB = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: shared
  cluster:
    server: https://shared-from-b.example
    insecure-skip-tls-verify: true
- name: prod-cluster
  cluster:
    server: https://prod.example
users:
- name: red-user
  user:
    client-certificate: b.crt
    client-key: b.key
- name: blue-user
  user:
    tokenFile: blue.token
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: blue-user
)";

TEST_F(ConfigTest, ExplicitKubeconfigIsUsedAloneWithoutMerging) {
  std::string a = Write("a/config", kFileA);
  std::string b = Write("b/config", kFileB);
  env_["KUBECONFIG"] = b;
  ClientOptions opts = Options();
  opts.kubeconfig = a;
  auto c = LoadConfig(opts);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://dev.example:6443");
  opts.context = "prod";  // only in b: not visible
  EXPECT_EQ(LoadConfig(opts).status().code(), Status::Code::kNotFound);
}

TEST_F(ConfigTest, MissingExplicitKubeconfigIsAnError) {
  ClientOptions opts = Options();
  opts.kubeconfig = dir_ + "/nope";
  auto c = LoadConfig(opts);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_ + "/nope"), std::string::npos);
}

TEST_F(ConfigTest, KubeconfigListFirstFileToSetAnEntryWinsWholly) {
  env_["KUBECONFIG"] = Write("a/config", kFileA) + ":" + Write("b/config", kFileB);
  ClientOptions opts = Options();
  opts.context = "shared-ctx";
  auto c = LoadConfig(opts);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // Cluster "shared" and user "red-user" come from a only: b's non-conflicting
  // fields (insecure-skip-tls-verify, the client certificate) are discarded.
  EXPECT_EQ(c->server, "https://shared-from-a.example");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->bearer_token, "token-from-a");
  EXPECT_TRUE(c->client_cert_file.empty());
}

TEST_F(ConfigTest, KubeconfigListMergesEntriesOnlyInLaterFiles) {
  env_["KUBECONFIG"] = Write("a/config", kFileA) + ":" + Write("b/config", kFileB);
  ClientOptions opts = Options();
  opts.context = "prod";
  auto c = LoadConfig(opts);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://prod.example");
  EXPECT_EQ(c->bearer_token_file, dir_ + "/b/blue.token");  // relative to b's directory
  EXPECT_EQ(c->namespace_, "default");
}

TEST_F(ConfigTest, CurrentContextComesFromTheFirstFileThatSetsIt) {
  std::string none = Write("none/config", "apiVersion: v1\nkind: Config\n");
  env_["KUBECONFIG"] = none + ":" + Write("b/config", kFileB) + ":" + Write("a/config", kFileA);
  auto c = LoadConfig(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context_name, "prod");
}

TEST_F(ConfigTest, MissingAndEmptyEntriesInTheListAreSkipped) {
  env_["KUBECONFIG"] = "::" + dir_ + "/missing:" + Write("a/config", kFileA) + ":";
  auto c = LoadConfig(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context_name, "dev");
}

TEST_F(ConfigTest, UnparsableFileInTheListIsAnError) {
  env_["KUBECONFIG"] = Write("a/config", kFileA) + ":" + Write("bad/config", "clusters: [unclosed\n");
  auto c = LoadConfig(Options());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bad/config"), std::string::npos);
}

TEST_F(ConfigTest, DefaultsToHomeKubeConfig) {
  Write("home/.kube/config", kFileA);
  env_["HOME"] = dir_ + "/home";
  auto c = LoadConfig(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context_name, "dev");
  EXPECT_EQ(c->ca_file, dir_ + "/home/.kube/certs/ca.crt");
}

TEST_F(ConfigTest, ContextClusterUserAndNamespaceFlagsOverride) {
  env_["KUBECONFIG"] = Write("a/config", kFileA) + ":" + Write("b/config", kFileB);
  ClientOptions opts = Options();
  auto c = LoadConfig(opts);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->context_name, "dev");
  EXPECT_EQ(c->namespace_, "frontend");
  opts.namespace_ = "ops";
  opts.cluster = "prod-cluster";
  opts.user = "blue-user";
  c = LoadConfig(opts);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->namespace_, "ops");
  EXPECT_EQ(c->server, "https://prod.example");
  EXPECT_TRUE(c->bearer_token.empty());
  opts.context = "nope";
  c = LoadConfig(opts);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("context \"nope\" does not exist"), std::string::npos);
}

TEST_F(ConfigTest, DataFieldsAreBase64DecodedAndBadBase64IsAnError) {
  std::string yaml = R"(current-context: c
clusters:
- name: k
  cluster:
    server: https://k.example/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    tls-server-name: api.internal
users:
- name: u
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
contexts:
- name: c
  context: {cluster: k, user: u}
)";
  auto c = LoadConfigFromString(yaml, Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://k.example");
  EXPECT_EQ(c->ca_data, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(c->client_cert_data, "cert");
  EXPECT_EQ(c->client_key_data, "key");
  EXPECT_EQ(c->tls_server_name, "api.internal");
  std::string bad = yaml;
  bad.replace(bad.find("a2V5"), 4, "a2V5!!");
  EXPECT_FALSE(LoadConfigFromString(bad, Options()).ok());
}

TEST_F(ConfigTest, InsecureWithACertificateAuthorityIsRejected) {
  std::string yaml = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k", insecure-skip-tls-verify: true, certificate-authority: ca.crt}}]
contexts: [{name: c, context: {cluster: k}}]
)";
  EXPECT_EQ(LoadConfigFromString(yaml, Options()).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(ConfigTest, ExecPluginIsParsedAndV1RequiresInteractiveMode) {
  std::string yaml = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [get-token, --cluster, k]
      env: [{name: FOO, value: bar}]
      interactiveMode: Never
      provideClusterInfo: true
      installHint: get it from example.com
contexts: [{name: c, context: {cluster: k, user: u}}]
)";
  auto c = LoadConfigFromString(yaml, Options(), "/etc/kube");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->exec.has_value());
  EXPECT_EQ(c->exec->command, "/etc/kube/./bin/plugin");
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"get-token", "--cluster", "k"}));
  EXPECT_EQ(c->exec->env[0], std::make_pair(std::string("FOO"), std::string("bar")));
  EXPECT_EQ(c->exec->interactive_mode, "Never");
  EXPECT_TRUE(c->exec->provide_cluster_info);
  std::string no_mode = yaml;
  no_mode.erase(no_mode.find("      interactiveMode: Never\n"), std::string("      interactiveMode: Never\n").size());
  EXPECT_FALSE(LoadConfigFromString(no_mode, Options()).ok());
  std::string beta = no_mode;
  beta.replace(beta.find("/v1\n"), 4, "/v1beta1\n");
  auto b = LoadConfigFromString(beta, Options());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->exec->interactive_mode, "IfAvailable");
}

TEST_F(ConfigTest, AuthProviderAndBasicAuthAreRejectedClearly) {
  std::string yaml = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {auth-provider: {name: gcp}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)";
  auto c = LoadConfigFromString(yaml, Options());
  EXPECT_EQ(c.status().code(), Status::Code::kUnimplemented);
  EXPECT_NE(c.status().message().find("exec credential plugin"), std::string::npos);
}

TEST_F(ConfigTest, InClusterWhenNoKubeconfigExists) {
  std::filesystem::create_directories(dir_ + "/sa");
  Write("sa/token", "sa-token");
  Write("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
  Write("sa/namespace", "kube-system\n");
  env_["HOME"] = dir_ + "/emptyhome";
  env_["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
  env_["KUBERNETES_SERVICE_PORT"] = "443";
  auto c = LoadConfig(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->in_cluster);
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->bearer_token_file, dir_ + "/sa/token");
  EXPECT_TRUE(c->bearer_token.empty());  // read per request, so rotation is seen
  EXPECT_EQ(c->ca_file, dir_ + "/sa/ca.crt");
  EXPECT_EQ(c->namespace_, "kube-system");
  env_["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  c = LoadConfig(Options());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  ClientOptions no_ic = Options();
  no_ic.allow_in_cluster = false;
  EXPECT_FALSE(LoadConfig(no_ic).ok());
}

TEST_F(ConfigTest, NothingConfiguredIsAClearError) {
  env_["HOME"] = dir_ + "/emptyhome";
  auto c = LoadConfig(Options());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no configuration"), std::string::npos);
  env_["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";  // port missing
  c = LoadConfig(Options());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("KUBERNETES_SERVICE_PORT"), std::string::npos);
}

TEST_F(ConfigTest, DescribeNamesAuthKindsButNoSecrets) {
  RestConfig c;
  c.server = "https://k";
  c.bearer_token = "very-secret";
  c.client_cert_data = "-----BEGIN CERTIFICATE-----";
  c.client_key_data = "-----BEGIN PRIVATE KEY-----";
  std::string d = c.Describe();
  EXPECT_NE(d.find("client-certificate+token"), std::string::npos) << d;
  EXPECT_EQ(d.find("very-secret"), std::string::npos);
  EXPECT_EQ(d.find("BEGIN"), std::string::npos);
}

TEST_F(ConfigTest, MalformedDocumentsAreErrorsNotCrashes) {
  for (const char* doc : {"[1, 2]", "clusters: 5", "clusters: [{cluster: {}}]", "users: [{name: u, user: [1]}]",
                          "{{{{", "current-context: c\ncontexts: [{name: c, context: {cluster: x}}]"}) {
    auto c = LoadConfigFromString(doc, Options());
    EXPECT_FALSE(c.ok()) << doc;
  }
}

}  // namespace
}  // namespace invar::kube
