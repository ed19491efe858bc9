// SPDX-License-Identifier: Apache-2.0
// The `invar` binary as a process: `invar webhook` serving under its seccomp
// filter (kill on a missing syscall, so a gap fails the test), draining on
// SIGTERM (readiness 503, in-flight request finished, idle connection
// closed, exit 0 within the grace period), refusing a readable private key;
// `invar certs` writing a usable CA + serving certificate.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "invar/testing/pki.h"
#include "tls_client.h"

extern char** environ;

namespace invar::admission {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TlsClient;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Process {
 public:
  Process(std::vector<std::string> args, const fs::path& log) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    if (posix_spawn(&pid_, INVAR_BINARY, &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Exit status, or -1 if still running after `timeout`.
  int Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

class WebhookProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("invar-webhook-proc-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto ca = testing::TestCa::Create();
    ASSERT_TRUE(ca.ok());
    ca_pem_ = ca->cert_pem();
    auto kp = ca->IssueServer();
    ASSERT_TRUE(kp.ok());
    ASSERT_TRUE(testing::WriteFile((dir_ / "tls.crt").string(), kp->cert_pem).ok());
    ASSERT_TRUE(testing::WriteFile((dir_ / "tls.key").string(), kp->key_pem).ok());
    std::ofstream(dir_ / "config.yaml") << "namespaces:\n  prod: {invar.dev/enforce: immutable}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> WebhookArgs(uint16_t port) {
    return {"invar",
            "--log-level=debug",
            "webhook",
            "--standalone",
            "--listen=127.0.0.1:" + std::to_string(port),
            "--tls-cert=" + (dir_ / "tls.crt").string(),
            "--tls-key=" + (dir_ / "tls.key").string(),
            "--config=" + (dir_ / "config.yaml").string(),
            "--threads=2",
            "--seccomp=kill",
            "--shutdown-grace=10"};
  }

  bool WaitHealthy(uint16_t port) {
    for (int i = 0; i < 200; ++i) {
      TlsClient c(port, ca_pem_);
      if (c.connected() && c.Request("GET", "/healthz").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  fs::path dir_;
  std::string ca_pem_;
};

std::string ReviewBody() {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web"}, {"namespace", "prod"}}},
              {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "nginx:1.25"}}})}}}};
  json req = {{"uid", "proc-uid"},
              {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
              {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
              {"name", "web"},
              {"namespace", "prod"},
              {"operation", "CREATE"},
              {"userInfo", {{"username", "alice"}}},
              {"object", pod}};
  return json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}}.dump();
}

TEST_F(WebhookProcessTest, SigtermDrainsInFlightRequestsUnderSeccomp) {
  uint16_t port = FreePort();
  Process p(WebhookArgs(port), dir_ / "log");
  ASSERT_GT(p.pid(), 0);
  ASSERT_TRUE(WaitHealthy(port)) << ReadAll(dir_ / "log");
  // Served under the seccomp filter (kill mode): a denial round trip.
  {
    TlsClient c(port, ca_pem_);
    auto r = c.Request("POST", "/validate", ReviewBody());
    ASSERT_EQ(r.status, 200) << ReadAll(dir_ / "log");
    EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
  }
  TlsClient idle(port, ca_pem_);
  ASSERT_EQ(idle.Request("GET", "/healthz").status, 200);
  TlsClient busy(port, ca_pem_);
  std::string body = ReviewBody();
  ASSERT_TRUE(busy.SendRaw("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n" + body.substr(0, 50)));
  TlsClient probe(port, ca_pem_);
  ASSERT_TRUE(probe.SendRaw("GET /readyz HTTP/1.1\r\nHost: x\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  ASSERT_EQ(::kill(p.pid(), SIGTERM), 0);
  EXPECT_TRUE(idle.WaitForClose(5));
  ASSERT_TRUE(probe.SendRaw("\r\n"));
  auto ready = probe.ReadResponse();
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("draining"), std::string::npos);
  ASSERT_TRUE(busy.SendRaw(body.substr(50)));
  auto r = busy.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "proc-uid");
  EXPECT_EQ(p.Wait(std::chrono::seconds(10)), 0) << ReadAll(dir_ / "log");
  TlsClient late(port, ca_pem_);
  EXPECT_FALSE(late.connected());
  EXPECT_NE(ReadAll(dir_ / "log").find("draining"), std::string::npos);
}

TEST_F(WebhookProcessTest, RefusesAPrivateKeyReadableByOthers) {
  ASSERT_EQ(::chmod((dir_ / "tls.key").c_str(), 0644), 0);
  Process p(WebhookArgs(FreePort()), dir_ / "log");
  EXPECT_EQ(p.Wait(std::chrono::seconds(10)), 2);
  std::string log = ReadAll(dir_ / "log");
  EXPECT_NE(log.find("accessible by other users"), std::string::npos) << log;
  EXPECT_NE(log.find("chmod 0600"), std::string::npos) << log;
}

TEST_F(WebhookProcessTest, RefusesABadConfigAtStartup) {
  std::ofstream(dir_ / "config.yaml") << "defaults:\n  enforce: no-such-profile\nexemptions:\n  namespace: [x]\n";
  Process p(WebhookArgs(FreePort()), dir_ / "log");
  EXPECT_EQ(p.Wait(std::chrono::seconds(10)), 2);
  std::string log = ReadAll(dir_ / "log");
  EXPECT_NE(log.find("unknown profile \"no-such-profile\""), std::string::npos) << log;
  EXPECT_NE(log.find("unknown key \"namespace\""), std::string::npos) << log;
}

TEST_F(WebhookProcessTest, CertsCreatesACaAndAServingCertificateForTheService) {
  fs::path out = dir_ / "certs";
  Process p({"invar", "certs", "--service", "invar-webhook", "--namespace", "invar-system", "--out", out.string(),
             "--days", "30"},
            dir_ / "certs.log");
  ASSERT_EQ(p.Wait(std::chrono::seconds(20)), 0) << ReadAll(dir_ / "certs.log");
  for (const char* key : {"ca.key", "tls.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((out / key).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  // The printed caBundle is the base64 of ca.crt.
  std::string log = ReadAll(dir_ / "certs.log");
  std::string ca = ReadAll(out / "ca.crt");
  std::string b64(4 * ((ca.size() + 2) / 3) + 1, '\0');
  b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                 reinterpret_cast<const unsigned char*>(ca.data()),
                                                 static_cast<int>(ca.size()))));
  EXPECT_NE(log.find(b64), std::string::npos);
  // SANs and key type of the serving certificate; it verifies against the CA.
  FILE* f = std::fopen((out / "tls.crt").c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* leaf = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(leaf, nullptr);
  for (const char* name : {"invar-webhook", "invar-webhook.invar-system", "invar-webhook.invar-system.svc",
                           "invar-webhook.invar-system.svc.cluster.local"}) {
    EXPECT_EQ(X509_check_host(leaf, name, 0, 0, nullptr), 1) << name;
  }
  EXPECT_EQ(X509_check_host(leaf, "evil.example", 0, 0, nullptr), 0);
  EVP_PKEY* pub = X509_get0_pubkey(leaf);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  X509_free(leaf);
  // Refuses to overwrite.
  Process again({"invar", "certs", "--service", "invar-webhook", "--namespace", "invar-system", "--out", out.string()},
                dir_ / "certs2.log");
  EXPECT_EQ(again.Wait(std::chrono::seconds(20)), 1);
  EXPECT_NE(ReadAll(dir_ / "certs2.log").find("refusing to overwrite"), std::string::npos);
  // And the webhook serves with them (TLS verified against the new CA by a client trusting it).
  fs::copy_file(out / "tls.crt", dir_ / "tls.crt", fs::copy_options::overwrite_existing);
  fs::copy_file(out / "tls.key", dir_ / "tls.key", fs::copy_options::overwrite_existing);
  ::chmod((dir_ / "tls.key").c_str(), 0600);
  uint16_t port = FreePort();
  Process w(WebhookArgs(port), dir_ / "log");
  bool served = false;
  for (int i = 0; i < 200 && !served; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    TlsClient c(port, ca, TLS1_2_VERSION, TLS1_3_VERSION, false, "invar-webhook.invar-system.svc");
    served = c.connected() && c.Request("GET", "/healthz").status == 200;
  }
  EXPECT_TRUE(served) << ReadAll(dir_ / "log");
}

}  // namespace
}  // namespace invar::admission
