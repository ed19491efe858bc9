// SPDX-License-Identifier: Apache-2.0
// The webhook server over real TLS (in-process, standalone mode with a
// config file): decisions in every mode, exemptions, every workload kind,
// ephemeral containers, exec CONNECT, v1beta1, bad input, TLS versions,
// certificate rotation under keep-alive, slowloris, drain, connection cap.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "invar/admission/server.h"
#include "invar/testing/pki.h"
#include "tls_client.h"

namespace invar::admission {
namespace {

using nlohmann::json;
using testing::HttpResponse;
using testing::TlsClient;
namespace fs = std::filesystem;

constexpr const char* kDigest = "registry.example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

json GoodPodSpec() {
  return json{{"securityContext", {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
              {"containers",
               json::array({{{"name", "app"},
                             {"image", kDigest},
                             {"securityContext",
                              {{"allowPrivilegeEscalation", false},
                               {"readOnlyRootFilesystem", true},
                               {"capabilities", {{"drop", json::array({"ALL"})}}}}}}})}};
}
json BadPodSpec() {
  return json{{"containers", json::array({{{"name", "app"}, {"image", "nginx:1.25"}}})}};
}
json Pod(const std::string& name, const std::string& ns, json spec) {
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "web"}}}}},
              {"spec", std::move(spec)}};
}

struct ReviewArgs {
  std::string api_version = "admission.k8s.io/v1";
  std::string uid = "0f5a7b52-1111-4e39-9b3c-7b1c0c8a1e01";
  std::string operation = "CREATE";
  std::string group;
  std::string version = "v1";
  std::string resource = "pods";
  std::string kind = "Pod";
  std::string sub_resource;
  std::string ns = "prod";
  std::string name = "web";
  std::string user = "alice";
  std::vector<std::string> groups = {"system:authenticated"};
  json object;
  json old_object;
};

std::string Review(const ReviewArgs& a) {
  json req = {{"uid", a.uid},
              {"kind", {{"group", a.group}, {"version", a.version}, {"kind", a.kind}}},
              {"resource", {{"group", a.group}, {"version", a.version}, {"resource", a.resource}}},
              {"name", a.name},
              {"namespace", a.ns},
              {"operation", a.operation},
              {"userInfo", {{"username", a.user}, {"groups", a.groups}}},
              {"object", a.object},
              {"oldObject", a.old_object},
              {"dryRun", false}};
  if (!a.sub_resource.empty()) req["subResource"] = a.sub_resource;
  return json{{"apiVersion", a.api_version}, {"kind", "AdmissionReview"}, {"request", req}}.dump();
}

class WebhookServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("invar-webhook-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto ca = testing::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = std::make_unique<testing::TestCa>(std::move(*ca));
    WriteCert();
    WriteConfig(R"(
exemptions:
  namespaces: [kube-system]
  usernames: [admin-bot]
  groups: [exempt-group]
  runtimeClassNames: [kata]
breakGlass:
  groups: ["invar:break-glass"]
namespaces:
  prod: {invar.dev/enforce: immutable}
  restricted-ns: {invar.dev/enforce: restricted}
  warnonly: {invar.dev/warn: restricted}
  auditonly: {invar.dev/audit: immutable}
  mixed: {invar.dev/enforce: baseline, invar.dev/warn: immutable}
  open: {}
  kube-system: {invar.dev/enforce: immutable}
)");
  }
  void TearDown() override {
    if (server_) server_->Drain(std::chrono::milliseconds(2000));
    server_.reset();
    fs::remove_all(dir_);
  }

  void WriteCert() {
    auto kp = ca_->IssueServer();
    ASSERT_TRUE(kp.ok());
    // Write beside and rename over, as cert-manager's atomic writer does.
    ASSERT_TRUE(testing::WriteFile((dir_ / "tls.crt.new").string(), kp->cert_pem).ok());
    ASSERT_TRUE(testing::WriteFile((dir_ / "tls.key.new").string(), kp->key_pem).ok());
    fs::rename(dir_ / "tls.key.new", dir_ / "tls.key");
    fs::rename(dir_ / "tls.crt.new", dir_ / "tls.crt");
  }
  void WriteConfig(const std::string& text) {
    std::ofstream(dir_ / "config.yaml.new") << text;
    fs::rename(dir_ / "config.yaml.new", dir_ / "config.yaml");
  }

  ServerOptions Options() {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    o.tls_cert = (dir_ / "tls.crt").string();
    o.tls_key = (dir_ / "tls.key").string();
    o.config_path = (dir_ / "config.yaml").string();
    o.standalone = true;
    o.reload_interval = std::chrono::milliseconds(100);
    return o;
  }
  void StartServer(ServerOptions o, std::shared_ptr<NamespaceSource> ns = nullptr) {
    auto s = Server::Create(std::move(o), std::move(ns));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    server_->Start();
  }
  void StartServer() { StartServer(Options()); }

  std::unique_ptr<TlsClient> Connect() {
    auto c = std::make_unique<TlsClient>(server_->port(), ca_->cert_pem());
    EXPECT_TRUE(c->connected()) << c->error();
    return c;
  }
  json Validate(const ReviewArgs& a) {
    auto c = Connect();
    HttpResponse r = c->Request("POST", "/validate", Review(a));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return json::object();
    json j = json::parse(r.body);
    EXPECT_EQ(j["apiVersion"], a.api_version);
    EXPECT_EQ(j["kind"], "AdmissionReview");
    EXPECT_EQ(j["response"]["uid"], a.uid);
    return j["response"];
  }

  fs::path dir_;
  std::unique_ptr<testing::TestCa> ca_;
  std::unique_ptr<Server> server_;
};

TEST_F(WebhookServerTest, AllowsCompliantPodInEnforcedNamespace) {
  StartServer();
  ReviewArgs a;
  a.object = Pod("web", "prod", GoodPodSpec());
  json r = Validate(a);
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_FALSE(r.contains("warnings"));
}

TEST_F(WebhookServerTest, DeniesNonCompliantPodWithPathsAndFixes) {
  StartServer();
  ReviewArgs a;
  a.object = Pod("web", "prod", BadPodSpec());
  json r = Validate(a);
  ASSERT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(r["status"]["code"], 403);
  EXPECT_EQ(r["status"]["reason"], "Forbidden");
  std::string msg = r["status"]["message"];
  EXPECT_NE(msg.find("Pod \"web\" violates invar profile \"immutable:latest\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("readOnlyRootFilesystem"), std::string::npos) << msg;
  EXPECT_NE(msg.find("spec.containers[0].securityContext.readOnlyRootFilesystem"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allowPrivilegeEscalation"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fix: "), std::string::npos) << msg;
}

TEST_F(WebhookServerTest, WarnModeAllowsWithShortWarnings) {
  StartServer();
  ReviewArgs a;
  a.ns = "warnonly";
  a.object = Pod("web", "warnonly", BadPodSpec());
  json r = Validate(a);
  EXPECT_EQ(r["allowed"], true);
  ASSERT_TRUE(r.contains("warnings")) << r.dump();
  ASSERT_FALSE(r["warnings"].empty());
  for (const auto& w : r["warnings"]) {
    EXPECT_LE(w.get<std::string>().size(), 120u) << w;
    EXPECT_EQ(w.get<std::string>().rfind("invar restricted:latest: ", 0), 0u) << w;
  }
  EXPECT_FALSE(r.contains("auditAnnotations"));
}

TEST_F(WebhookServerTest, AuditModeAnnotatesViolations) {
  StartServer();
  ReviewArgs a;
  a.ns = "auditonly";
  a.object = Pod("web", "auditonly", BadPodSpec());
  json r = Validate(a);
  EXPECT_EQ(r["allowed"], true);
  ASSERT_TRUE(r["auditAnnotations"].contains("audit-violations")) << r.dump();
  std::string v = r["auditAnnotations"]["audit-violations"];
  EXPECT_NE(v.find("readOnlyRootFilesystem (spec.containers[0].securityContext.readOnlyRootFilesystem)"),
            std::string::npos) << v;
  EXPECT_FALSE(r.contains("warnings"));
}

TEST_F(WebhookServerTest, EnforceAndWarnApplyTogether) {
  StartServer();
  ReviewArgs a;
  a.ns = "mixed";
  a.object = Pod("web", "mixed", BadPodSpec());  // passes baseline, fails immutable
  json r = Validate(a);
  EXPECT_EQ(r["allowed"], true) << r.dump();
  ASSERT_TRUE(r.contains("warnings"));
  EXPECT_NE(r["warnings"][0].get<std::string>().find("immutable"), std::string::npos);
  // Privileged fails baseline: denied by enforce.
  json spec = BadPodSpec();
  spec["containers"][0]["securityContext"] = {{"privileged", true}};
  a.object = Pod("web", "mixed", spec);
  r = Validate(a);
  EXPECT_EQ(r["allowed"], false);
  EXPECT_NE(r["status"]["message"].get<std::string>().find("privileged"), std::string::npos);
}

TEST_F(WebhookServerTest, ExemptionsAllowWithAuditReason) {
  StartServer();
  struct Case {
    std::string ns, user, group, runtime_class, expect;
  } cases[] = {
      {"kube-system", "alice", "g", "", "namespace \"kube-system\" is exempt"},
      {"prod", "admin-bot", "g", "", "user \"admin-bot\" is exempt"},
      {"prod", "alice", "exempt-group", "", "group \"exempt-group\" is exempt"},
      {"prod", "alice", "g", "kata", "runtimeClassName \"kata\" is exempt"},
  };
  for (const auto& c : cases) {
    ReviewArgs a;
    a.ns = c.ns;
    a.user = c.user;
    a.groups = {c.group};
    json spec = BadPodSpec();
    if (!c.runtime_class.empty()) spec["runtimeClassName"] = c.runtime_class;
    a.object = Pod("web", c.ns, spec);
    json r = Validate(a);
    EXPECT_EQ(r["allowed"], true) << c.expect;
    EXPECT_NE(r["auditAnnotations"]["exempt"].get<std::string>().find(c.expect), std::string::npos) << r.dump();
  }
  // Not exempt: a runtime class that is not listed.
  ReviewArgs a;
  json spec = BadPodSpec();
  spec["runtimeClassName"] = "gvisor";
  a.object = Pod("web", "prod", spec);
  EXPECT_EQ(Validate(a)["allowed"], false);
}

TEST_F(WebhookServerTest, JudgesThePodTemplateOfEveryWorkloadKind) {
  StartServer();
  struct Kind {
    std::string group, version, resource, kind, spec_path;
  } kinds[] = {
      {"", "v1", "replicationcontrollers", "ReplicationController", "spec.template.spec"},
      {"apps", "v1", "replicasets", "ReplicaSet", "spec.template.spec"},
      {"apps", "v1", "deployments", "Deployment", "spec.template.spec"},
      {"apps", "v1", "statefulsets", "StatefulSet", "spec.template.spec"},
      {"apps", "v1", "daemonsets", "DaemonSet", "spec.template.spec"},
      {"batch", "v1", "jobs", "Job", "spec.template.spec"},
      {"batch", "v1", "cronjobs", "CronJob", "spec.jobTemplate.spec.template.spec"},
      {"", "v1", "podtemplates", "PodTemplate", "template.spec"},
  };
  for (const auto& k : kinds) {
    for (bool good : {true, false}) {
      json tmpl = {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", good ? GoodPodSpec() : BadPodSpec()}};
      json obj = {{"apiVersion", k.group.empty() ? "v1" : k.group + "/v1"},
                  {"kind", k.kind},
                  {"metadata", {{"name", "web"}, {"namespace", "prod"}}}};
      if (k.kind == "CronJob") {
        obj["spec"] = {{"schedule", "* * * * *"}, {"jobTemplate", {{"spec", {{"template", tmpl}}}}}};
      } else if (k.kind == "PodTemplate") {
        obj["template"] = tmpl;
      } else {
        obj["spec"] = {{"template", tmpl}};
      }
      ReviewArgs a;
      a.group = k.group;
      a.resource = k.resource;
      a.kind = k.kind;
      a.object = obj;
      json r = Validate(a);
      EXPECT_EQ(r["allowed"], good) << k.kind << " " << r.dump();
      if (!good) {
        std::string msg = r["status"]["message"];
        EXPECT_NE(msg.find(k.kind + " \"web\" violates"), std::string::npos) << msg;
        EXPECT_NE(msg.find(k.spec_path + ".containers[0].securityContext.readOnlyRootFilesystem"), std::string::npos)
            << msg;
      }
    }
  }
}

TEST_F(WebhookServerTest, OtherKindsAndSubresourcesAreAllowed) {
  StartServer();
  ReviewArgs a;
  a.resource = "configmaps";
  a.kind = "ConfigMap";
  a.object = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "x"}}}};
  EXPECT_EQ(Validate(a)["allowed"], true);
  ReviewArgs s;
  s.operation = "UPDATE";
  s.sub_resource = "status";
  s.object = Pod("web", "prod", BadPodSpec());
  s.old_object = s.object;
  EXPECT_EQ(Validate(s)["allowed"], true);
}

TEST_F(WebhookServerTest, EvaluatesOnlyNewEphemeralContainers) {
  StartServer();
  // An existing pod whose regular container would fail (admitted before the
  // namespace was labelled): adding a compliant debug container is allowed.
  json old_pod = Pod("web", "prod", BadPodSpec());
  json good_debug = {{"name", "debugger"},
                     {"image", kDigest},
                     {"securityContext",
                      {{"allowPrivilegeEscalation", false},
                       {"readOnlyRootFilesystem", true},
                       {"runAsNonRoot", true},
                       {"seccompProfile", {{"type", "RuntimeDefault"}}},
                       {"capabilities", {{"drop", json::array({"ALL"})}}}}}};
  json new_pod = old_pod;
  new_pod["spec"]["ephemeralContainers"] = json::array({good_debug});
  ReviewArgs a;
  a.operation = "UPDATE";
  a.sub_resource = "ephemeralcontainers";
  a.object = new_pod;
  a.old_object = old_pod;
  json r = Validate(a);
  EXPECT_EQ(r["allowed"], true) << r.dump();
  // `kubectl debug` with a plain busybox: denied, naming the ephemeral container's path.
  json bad_debug = {{"name", "debugger-2"}, {"image", "busybox"}, {"stdin", true}, {"tty", true}};
  json newer = new_pod;
  newer["spec"]["ephemeralContainers"].push_back(bad_debug);
  a.object = newer;
  a.old_object = new_pod;
  r = Validate(a);
  ASSERT_EQ(r["allowed"], false) << r.dump();
  std::string msg = r["status"]["message"];
  EXPECT_NE(msg.find("spec.ephemeralContainers[1].securityContext.readOnlyRootFilesystem"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("spec.containers[0]"), std::string::npos) << msg;
}

TEST_F(WebhookServerTest, ExecIsDeniedInImmutableNamespacesExceptBreakGlass) {
  StartServer();
  ReviewArgs a;
  a.operation = "CONNECT";
  a.sub_resource = "exec";
  a.kind = "PodExecOptions";
  a.object = {{"apiVersion", "v1"},
              {"kind", "PodExecOptions"},
              {"container", "app"},
              {"command", json::array({"sh", "-c", "id"})},
              {"stdin", true},
              {"tty", true}};
  json r = Validate(a);
  ASSERT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(r["status"]["code"], 403);
  EXPECT_NE(r["status"]["message"].get<std::string>().find("invar:break-glass"), std::string::npos);
  json audit = json::parse(r["auditAnnotations"]["exec"].get<std::string>());
  EXPECT_EQ(audit["user"], "alice");
  EXPECT_EQ(audit["pod"], "prod/web");
  EXPECT_EQ(audit["container"], "app");
  EXPECT_EQ(audit["command"], json::array({"sh", "-c", "id"}));

  a.groups = {"system:authenticated", "invar:break-glass"};
  r = Validate(a);
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_NE(r["auditAnnotations"]["exec"].get<std::string>().find("break-glass"), std::string::npos);

  // attach in a namespace enforcing restricted: allowed, still audited.
  a.groups = {"system:authenticated"};
  a.sub_resource = "attach";
  a.kind = "PodAttachOptions";
  a.ns = "restricted-ns";
  r = Validate(a);
  EXPECT_EQ(r["allowed"], true);
  EXPECT_TRUE(r["auditAnnotations"].contains("exec"));
}

TEST_F(WebhookServerTest, AnswersV1beta1InV1beta1) {
  StartServer();
  ReviewArgs a;
  a.api_version = "admission.k8s.io/v1beta1";
  a.uid = "v1beta1-uid";
  a.object = Pod("web", "prod", BadPodSpec());
  json r = Validate(a);  // checks apiVersion and uid
  EXPECT_EQ(r["allowed"], false);
}

TEST_F(WebhookServerTest, UpdatesThatLeaveThePodSpecAloneAreAllowed) {
  StartServer();
  json old_pod = Pod("web", "prod", BadPodSpec());
  json new_pod = old_pod;
  new_pod["metadata"]["labels"]["tier"] = "frontend";
  new_pod["metadata"]["finalizers"] = json::array({"example.com/keep"});
  ReviewArgs a;
  a.operation = "UPDATE";
  a.object = new_pod;
  a.old_object = old_pod;
  EXPECT_EQ(Validate(a)["allowed"], true);
  new_pod["spec"]["containers"][0]["image"] = "nginx:1.26";
  a.object = new_pod;
  EXPECT_EQ(Validate(a)["allowed"], false);
}

TEST_F(WebhookServerTest, BadRequestsGetClearClientErrors) {
  StartServer();
  struct Case {
    std::string body;
    int status;
    std::string expect;
  } cases[] = {
      {"{not json", 400, "malformed JSON"},
      {R"({"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}})", 400, "apiVersion"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{}})", 400, "kind"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", 400, "request: missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})", 400,
       "request.uid: missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","resource":{"resource":"pods"}}})",
       400, "request.object: missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}})", 400,
       "request.uid: expected string"},
      {"[1,2,3]", 400, "not an object"},
      {"", 400, "empty body"},
  };
  for (const auto& c : cases) {
    auto client = Connect();
    HttpResponse r = client->Request("POST", "/validate", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(c.expect), std::string::npos) << c.body << " -> " << r.body;
  }
  // Deep nesting inside the object: rejected, not a crash.
  std::string deep(100000, '[');
  ReviewArgs a;
  std::string body = Review(a);
  body.replace(body.find("\"dryRun\""), 0, "\"x\":" + deep + std::string(100000, ']') + ",");
  auto client = Connect();
  HttpResponse r = client->Request("POST", "/validate", body);
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  // Over 3 MiB: 413.
  auto big = Connect();
  r = big->Request("POST", "/validate", std::string((3u << 20) + 10, ' '));
  EXPECT_EQ(r.status, 413) << r.body;
  // Wrong method and path.
  auto other = Connect();
  EXPECT_EQ(other->Request("GET", "/validate").status, 405);
  EXPECT_EQ(other->Request("GET", "/nope").status, 404);
}

TEST_F(WebhookServerTest, RefusesTls11AndAcceptsTls12And13) {
  StartServer();
  TlsClient old(server_->port(), ca_->cert_pem(), TLS1_1_VERSION, TLS1_1_VERSION);
  EXPECT_FALSE(old.connected());
  TlsClient v12(server_->port(), ca_->cert_pem(), TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(v12.connected()) << v12.error();
  EXPECT_EQ(v12.NegotiatedVersion(), "TLSv1.2");
  EXPECT_EQ(v12.Request("GET", "/healthz").status, 200);
  TlsClient v13(server_->port(), ca_->cert_pem(), TLS1_3_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(v13.connected()) << v13.error();
  EXPECT_EQ(v13.NegotiatedVersion(), "TLSv1.3");
}

TEST_F(WebhookServerTest, RotatedCertificateServesNewConnectionsWithoutDroppingOld) {
  StartServer();
  auto kept = Connect();
  std::string old_serial = kept->PeerSerial();
  ReviewArgs a;
  a.object = Pod("web", "prod", GoodPodSpec());
  ASSERT_EQ(kept->Request("POST", "/validate", Review(a)).status, 200);
  WriteCert();
  std::string new_serial;
  for (int i = 0; i < 100 && (new_serial.empty() || new_serial == old_serial); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto fresh = Connect();
    new_serial = fresh->PeerSerial();
    // Traffic keeps flowing on the kept-alive connection during the swap.
    ASSERT_EQ(kept->Request("POST", "/validate", Review(a)).status, 200);
  }
  EXPECT_NE(new_serial, old_serial);
  EXPECT_EQ(kept->PeerSerial(), old_serial);
  EXPECT_EQ(kept->Request("POST", "/validate", Review(a)).status, 200);
  auto metrics = Connect()->Request("GET", "/metrics");
  EXPECT_NE(metrics.body.find("invar_admission_reloads_total{result=\"ok\",what=\"certificate\"} 1"),
            std::string::npos) << metrics.body;
}

TEST_F(WebhookServerTest, ClosesSlowlorisConnections) {
  ServerOptions o = Options();
  o.read_timeout = std::chrono::milliseconds(300);
  StartServer(o);
  auto slow = Connect();
  ASSERT_TRUE(slow->SendRaw("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Le"));
  EXPECT_TRUE(slow->WaitForClose(5));
  // A request that never finishes its body is cut too.
  auto slow_body = Connect();
  ASSERT_TRUE(slow_body->SendRaw("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  EXPECT_TRUE(slow_body->WaitForClose(5));
  EXPECT_EQ(Connect()->Request("GET", "/healthz").status, 200);
}

TEST_F(WebhookServerTest, HealthReadinessAndMetrics) {
  StartServer();
  auto c = Connect();
  EXPECT_EQ(c->Request("GET", "/healthz").status, 200);
  EXPECT_EQ(c->Request("GET", "/readyz").status, 200);
  ReviewArgs a;
  a.object = Pod("web", "prod", BadPodSpec());
  ASSERT_EQ(c->Request("POST", "/validate", Review(a)).status, 200);
  HttpResponse m = c->Request("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find(R"(invar_admission_reviews_total{decision="deny",kind="Pod",mode="enforce",operation="CREATE",profile="immutable"} 1)"),
            std::string::npos) << m.body;
  EXPECT_NE(m.body.find("invar_admission_review_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("invar_admission_in_flight_requests"), std::string::npos);
  EXPECT_NE(m.body.find("invar_admission_namespace_cache_synced 1"), std::string::npos);
  // The leaf's notAfter (TestCa issues for 24 h), in unix seconds.
  const std::string metric = "\ninvar_admission_certificate_expiry_timestamp_seconds ";
  auto pos = m.body.find(metric);
  ASSERT_NE(pos, std::string::npos) << m.body;
  double expiry = std::stod(m.body.substr(pos + metric.size()));
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(expiry, now + 23 * 3600);
  EXPECT_LT(expiry, now + 25 * 3600);
}

TEST_F(WebhookServerTest, KeepAliveConnectionAnswersReviewsOfChangingSizes) {
  // One connection reuses its body and response buffers: bodies that grow,
  // shrink and grow again must each get their own, complete answer.
  StartServer();
  auto c = Connect();
  const size_t pads[] = {0, 3000, 10, 40000, 0, 5000, 200000, 1, 64, 63, 65, 7000};
  for (size_t i = 0; i < std::size(pads); ++i) {
    ReviewArgs a;
    a.uid = "uid-" + std::to_string(i);
    bool good = i % 2 == 0;
    a.object = Pod("web", "prod", good ? GoodPodSpec() : BadPodSpec());
    a.object["metadata"]["annotations"]["pad"] = std::string(pads[i], 'p');
    HttpResponse r = c->Request("POST", "/validate", Review(a));
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.headers.count("connection"), 0u) << "HTTP/1.1 keep-alive is the default";
    json j = json::parse(r.body);
    EXPECT_EQ(j["response"]["uid"], a.uid);
    EXPECT_EQ(j["response"]["allowed"], good) << i;
  }
}

TEST_F(WebhookServerTest, HeadGetsHeadersOnlyAndConnectionCloseIsHonoured) {
  StartServer();
  auto c = Connect();
  // Pipelined: the bytes after HEAD's headers are the next response's start.
  ASSERT_TRUE(c->SendRaw("HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                         "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  HttpResponse head = c->ReadResponse();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "3");
  EXPECT_EQ(head.body, "HTT") << "HEAD must not carry a body";
  std::string rest = "HTT";
  for (int i = 0; i < 200 && rest.find("ok\n") == std::string::npos; ++i) {
    std::string more = c->ReadRawSome();
    if (more.empty()) break;
    rest += more;
  }
  EXPECT_NE(rest.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("Connection: close\r\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("\r\n\r\nok\n"), std::string::npos) << rest;
  EXPECT_TRUE(c->WaitForClose(5)) << "the server keeps a connection the client asked to close";
}

TEST_F(WebhookServerTest, ConfigReloadKeepsOldConfigOnError) {
  StartServer();
  ReviewArgs a;
  a.ns = "open";
  a.object = Pod("web", "open", BadPodSpec());
  EXPECT_EQ(Validate(a)["allowed"], true);
  WriteConfig("namespaces:\n  open: {invar.dev/enforce: immutable}\n");
  bool denied = false;
  for (int i = 0; i < 100 && !denied; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    denied = Validate(a)["allowed"] == false;
  }
  EXPECT_TRUE(denied);
  WriteConfig("namespaces: [this is: not valid\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Validate(a)["allowed"], false);  // old config still in force
  auto m = Connect()->Request("GET", "/metrics");
  EXPECT_NE(m.body.find(R"(invar_admission_reloads_total{result="error",what="config"} 1)"), std::string::npos);
}

TEST_F(WebhookServerTest, DrainClosesIdleConnectionsAndFinishesInFlightOnes) {
  StartServer();
  auto idle = Connect();
  ASSERT_EQ(idle->Request("GET", "/healthz").status, 200);
  auto busy = Connect();
  ReviewArgs a;
  a.object = Pod("web", "prod", GoodPodSpec());
  std::string body = Review(a);
  std::string head = "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_TRUE(busy->SendRaw(head + body.substr(0, 100)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  bool clean = false;
  std::thread drainer([&] { clean = server_->Drain(std::chrono::seconds(10)); });
  EXPECT_TRUE(idle->WaitForClose(5));
  EXPECT_FALSE(server_->Ready());
  ASSERT_TRUE(busy->SendRaw(body.substr(100)));
  HttpResponse r = busy->ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
  drainer.join();
  EXPECT_TRUE(clean);
  TlsClient late(server_->port(), ca_->cert_pem());
  EXPECT_FALSE(late.connected());
}

TEST_F(WebhookServerTest, ClosesConnectionsBeyondTheCap) {
  ServerOptions o = Options();
  o.max_connections = 2;
  StartServer(o);
  auto a = Connect();
  auto b = Connect();
  ASSERT_EQ(a->Request("GET", "/healthz").status, 200);
  ASSERT_EQ(b->Request("GET", "/healthz").status, 200);
  TlsClient c(server_->port(), ca_->cert_pem());
  EXPECT_FALSE(c.connected() && c.Request("GET", "/healthz").status == 200);
  a.reset();
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    TlsClient d(server_->port(), ca_->cert_pem());
    ok = d.connected() && d.Request("GET", "/healthz").status == 200;
  }
  EXPECT_TRUE(ok);
}

// A cluster-mode namespace source that has not synced yet.
class SlowSource final : public NamespaceSource {
 public:
  std::optional<policy::StringMap> Labels(std::string_view name) const override { return fixed.Labels(name); }
  bool HasSynced() const override { return synced.load(); }
  std::string State() const override { return synced ? "synced" : "syncing"; }
  void SetOnChange(std::function<void(const std::string&)>) override {}
  std::atomic<bool> synced{false};
  FixedNamespaceSource fixed{"synced"};
};

TEST_F(WebhookServerTest, NotReadyUntilNamespacesSyncedAndFollowsLabelChanges) {
  auto source = std::make_shared<SlowSource>();
  ServerOptions o = Options();
  o.standalone = false;
  StartServer(o, source);
  auto c = Connect();
  HttpResponse r = c->Request("GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("namespace cache not synced"), std::string::npos);
  source->synced = true;
  EXPECT_EQ(c->Request("GET", "/readyz").status, 200);
  ReviewArgs a;
  a.ns = "team";
  a.object = Pod("web", "team", BadPodSpec());
  EXPECT_EQ(Validate(a)["allowed"], true);
  policy::StringMap labels;
  labels.Set("invar.dev/enforce", "immutable");
  source->fixed.Set("team", labels);
  EXPECT_EQ(Validate(a)["allowed"], false);
  labels.Set("invar.dev/enforce", "baseline");
  source->fixed.Set("team", labels);
  EXPECT_EQ(Validate(a)["allowed"], true);
}


// ---- the transport: OpenSSL on the socket, Beast's parser fed in place ----

// Polls until the server has `n` open connections (it closes them on its
// worker threads, after the client's side went away).
ReviewArgs PodReview(std::string uid, json object) {
  ReviewArgs a;
  a.uid = std::move(uid);
  a.object = std::move(object);
  return a;
}

bool WaitForOpenConnections(const Server& server, size_t n) {
  for (int i = 0; i < 1000; ++i) {
    if (server.open_connections() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The value of a sample line of /metrics, or -1 when absent.
double MetricValue(const std::string& metrics, const std::string& sample) {
  size_t at = metrics.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + sample.size() + 2));
}

TEST_F(WebhookServerTest, ClientsClosingMidHandshakeOrMidRequestAreDroppedQuietly) {
  StartServer();
  const std::string body = Review(PodReview("uid-1", Pod("web", "prod", GoodPodSpec())));
  {
    TlsClient tcp(server_->port(), "", TLS1_2_VERSION, TLS1_3_VERSION, /*plain=*/true);
    ASSERT_TRUE(tcp.connected());  // connects and closes without a byte
  }
  {
    TlsClient tcp(server_->port(), "", TLS1_2_VERSION, TLS1_3_VERSION, /*plain=*/true);
    // A ClientHello's first bytes.
    ASSERT_TRUE(tcp.SendRaw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01", 8)));
  }
  {
    auto c = Connect();  // headers and part of the body, then close_notify
    ASSERT_TRUE(c->SendRaw("POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 100)));
    SSL_shutdown(c->ssl());
  }
  {
    auto c = Connect();  // headers only, then a TCP close without close_notify
    ASSERT_TRUE(c->SendRaw("POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n"));
  }
  EXPECT_TRUE(WaitForOpenConnections(*server_, 0))
      << server_->open_connections() << " connection(s) left open";
  EXPECT_EQ(Validate(PodReview("uid-1", Pod("web", "prod", GoodPodSpec())))["allowed"], true);
}

TEST_F(WebhookServerTest, TlsProtocolErrorsCloseTheConnectionAndAreCounted) {
  StartServer();
  {
    // Plain HTTP on the TLS port: the handshake fails.
    TlsClient tcp(server_->port(), "", TLS1_2_VERSION, TLS1_3_VERSION, /*plain=*/true);
    ASSERT_TRUE(tcp.SendRaw("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    EXPECT_TRUE(tcp.WaitForClose(10));
  }
  {
    // After the handshake, a record that does not decrypt (a forged
    // application-data record on the raw socket): a read error.
    auto c = Connect();
    std::string forged = {'\x17', '\x03', '\x03', '\x00', '\x20'};
    forged += std::string(32, '\x5a');
    ASSERT_EQ(::send(c->fd(), forged.data(), forged.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(forged.size()));
    EXPECT_TRUE(c->WaitForClose(10)) << "a record that fails authentication must end the connection";
  }
  EXPECT_TRUE(WaitForOpenConnections(*server_, 0));
  auto c = Connect();
  HttpResponse m = c->Request("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(MetricValue(m.body, "invar_admission_tls_errors_total{stage=\"handshake\"}"), 1) << m.body;
  EXPECT_EQ(MetricValue(m.body, "invar_admission_tls_errors_total{stage=\"read\"}"), 1) << m.body;
}

TEST_F(WebhookServerTest, RefusesTls12Renegotiation) {
  StartServer();
  TlsClient c(server_->port(), ca_->cert_pem(), TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(c.connected()) << c.error();
  ASSERT_EQ(c.NegotiatedVersion(), "TLSv1.2");
  ASSERT_EQ(SSL_renegotiate(c.ssl()), 1);
  // The server answers the new ClientHello with a no_renegotiation alert: the
  // second handshake never completes (OpenSSL's client fails it).
  int r = SSL_do_handshake(c.ssl());
  if (r == 1) {
    char buf[64];
    r = SSL_read(c.ssl(), buf, sizeof(buf));
  }
  EXPECT_LE(r, 0) << "renegotiation was not refused";
  EXPECT_EQ(SSL_renegotiate_pending(c.ssl()), 1) << "the client saw a second handshake complete";
  // The server still serves everyone else.
  EXPECT_EQ(Validate(PodReview("uid-1", Pod("web", "prod", GoodPodSpec())))["allowed"], true);
}

TEST_F(WebhookServerTest, BodiesSplitAcrossRecordsChunkedOrPipelinedAreDecoded) {
  StartServer();
  ReviewArgs bad = PodReview("uid-bad", Pod("web", "prod", BadPodSpec()));
  ReviewArgs good = PodReview("uid-good", Pod("web", "prod", GoodPodSpec()));
  const std::string bad_body = Review(bad), good_body = Review(good);
  auto c = Connect();
  // 1. Headers and half the body in one TLS record, the rest in a second.
  std::string head =
      "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(bad_body.size()) + "\r\n\r\n";
  size_t half = bad_body.size() / 2;
  ASSERT_TRUE(c->SendRaw(head + bad_body.substr(0, half)));
  ASSERT_TRUE(c->SendRaw(bad_body.substr(half)));
  HttpResponse r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-bad");
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
  // 2. Chunked transfer encoding: the body arrives in pieces with chunk
  //    headers between them and is copied out of the input buffer.
  std::string chunked = "POST /validate HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < good_body.size(); at += 700) {
    std::string piece = good_body.substr(at, 700);
    chunked += fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
  }
  chunked += "0\r\n\r\n";
  ASSERT_TRUE(c->SendRaw(chunked));
  r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-good");
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
  // 3. Two reviews in one write, one byte at a time afterwards for a third.
  std::string two = head + bad_body + "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
                    std::to_string(good_body.size()) + "\r\n\r\n" + good_body;
  ASSERT_TRUE(c->SendRaw(two));
  HttpResponse first = c->ReadResponse(), second = c->ReadResponse();
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(json::parse(first.body)["response"]["uid"], "uid-bad");
  EXPECT_EQ(json::parse(second.body)["response"]["uid"], "uid-good");
  std::string dribble = head + bad_body;
  for (char ch : dribble.substr(0, 300)) ASSERT_TRUE(c->SendRaw(std::string(1, ch)));
  ASSERT_TRUE(c->SendRaw(dribble.substr(300)));
  r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
}

TEST_F(WebhookServerTest, LargeBodiesUpToTheLimitAreAnsweredOnOneKeepAliveConnection) {
  StartServer();
  auto c = Connect();
  // 2.5 MiB (under the 3 MiB limit) in 16 KiB records, then a small review
  // on the same connection, then one over the limit: 413 and close.
  for (size_t pad : {size_t{2500} << 10, size_t{0}}) {
    ReviewArgs a = PodReview("uid-" + std::to_string(pad), Pod("web", "prod", BadPodSpec()));
    a.object["metadata"]["annotations"]["pad"] = std::string(pad, 'p');
    HttpResponse r = c->Request("POST", "/validate", Review(a));
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(json::parse(r.body)["response"]["uid"], a.uid);
    EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
  }
  ReviewArgs huge = PodReview("uid-huge", Pod("web", "prod", GoodPodSpec()));
  huge.object["metadata"]["annotations"]["pad"] = std::string(size_t{3} << 20, 'p');
  HttpResponse r = c->Request("POST", "/validate", Review(huge));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_TRUE(c->WaitForClose(10));
}

// ---- the request parser (RequestParser over Beast's basic_parser): what it
// keeps (method, target, version, body), Beast's limits at their exact
// boundaries, chunked bodies and pipelining across reads ----

// A POST with a Content-Length body.
std::string LengthPost(const std::string& target, const std::string& body, const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A POST whose body is sent chunked in `piece`-byte chunks (upper-case hex
// sizes, a chunk extension on each) and ends with a trailer field.
std::string ChunkedPost(const std::string& target, const std::string& body, size_t piece,
                        const std::string& extra = "") {
  std::string m = "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
                  extra + "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += piece) {
    std::string part = body.substr(at, piece);
    m += fmt::format("{:X};ext=1\r\n{}\r\n", part.size(), part);
  }
  return m + "0\r\nX-Trailer: t\r\n\r\n";
}

// The status line of a raw response.
std::string StatusLine(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

TEST_F(WebhookServerTest, RequestsSplitIntoTwoRecordsAtEveryByteAreDecoded) {
  // Each SendRaw is one TLS record and the server reads one record per
  // SSL_read, so the parser is fed the request in two reads split at every
  // byte: inside the method, the target (whose query makes it longer than a
  // short-string buffer), a header name or value, a chunk size, extension,
  // chunk data, the CRLF after it, the last chunk and the trailer.
  StartServer();
  const std::string bad = Review(PodReview("uid-split-bad", Pod("web", "prod", BadPodSpec())));
  const std::string good = Review(PodReview("uid-split-good", Pod("web", "prod", GoodPodSpec())));
  struct Case {
    std::string message, uid;
    bool allowed;
  } cases[] = {
      {LengthPost("/validate?timeout=10s", bad), "uid-split-bad", false},
      {ChunkedPost("/validate?timeout=10s", good, good.size() / 3 + 1), "uid-split-good", true},
  };
  auto c = Connect();
  for (const Case& k : cases) {
    for (size_t at = 1; at < k.message.size(); ++at) {
      ASSERT_TRUE(c->SendRaw(k.message.substr(0, at)));
      ASSERT_TRUE(c->SendRaw(k.message.substr(at)));
      HttpResponse r = c->ReadResponse();
      ASSERT_EQ(r.status, 200) << "split at " << at << ": " << k.message.substr(0, at) << "|" << r.body;
      json j = json::parse(r.body);
      ASSERT_EQ(j["response"]["uid"], k.uid) << "split at " << at;
      ASSERT_EQ(j["response"]["allowed"], k.allowed) << "split at " << at;
    }
  }
}

TEST_F(WebhookServerTest, ChunkedBodyWhoseFirstChunkSpansGrowingReadsIsDecoded) {
  // A 40 KiB first chunk arrives in 16 KiB records: its bytes stay in place
  // while the input buffer is compacted and grown, then the later chunks
  // (after chunk headers, so no longer contiguous) are copied out with it.
  StartServer();
  ReviewArgs a = PodReview("uid-big-chunk", Pod("web", "prod", BadPodSpec()));
  a.object["metadata"]["annotations"]["pad"] = std::string(60000, 'p');
  const std::string body = Review(a);
  const std::string message = ChunkedPost("/validate", body, 40000);
  auto c = Connect();
  for (int round = 0; round < 2; ++round) {  // twice: the second reuses the grown buffer and the spill
    for (size_t at = 0; at < message.size(); at += 16384) ASSERT_TRUE(c->SendRaw(message.substr(at, 16384)));
    HttpResponse r = c->ReadResponse();
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-big-chunk");
    EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
  }
}

TEST_F(WebhookServerTest, PipelinedRequestsOfEveryKindInOneWriteAreAnsweredInOrder) {
  // One write, one read on the server: each request starts where the last
  // one's body (in place or chunked) ended, and nothing of one request
  // (target, method, body, Connection) leaks into the next.
  StartServer();
  const std::string bad = Review(PodReview("uid-pipe-bad", Pod("web", "prod", BadPodSpec())));
  const std::string good = Review(PodReview("uid-pipe-good", Pod("web", "prod", GoodPodSpec())));
  const std::string all = "GET /healthz?probe=1 HTTP/1.1\r\nHost: localhost\r\n\r\n" +
                          ChunkedPost("/validate?timeout=10s", good, 100) + LengthPost("/validate", bad) +
                          "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}" +
                          "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n" +
                          LengthPost("/validate?timeout=10s", good) +
                          "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" +
                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";  // after close: never answered
  auto c = Connect();
  ASSERT_TRUE(c->SendRaw(all));
  HttpResponse r = c->ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-pipe-good");
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
  r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-pipe-bad");
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], false);
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 405) << r.body;
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("not found: /nope "), std::string::npos) << r.body;
  r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-pipe-good");
  EXPECT_EQ(r.headers.count("connection"), 0u);
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(c->WaitForClose(5)) << "a request after Connection: close was answered";
}

TEST_F(WebhookServerTest, HeaderLimitAnswers431OneByteOverAndHoldsOverManyReads) {
  // In one read, Beast (1.74) applies header_limit to the request line and,
  // separately, to the field section (after it, through the blank line).
  ServerOptions o = Options();
  o.max_header_bytes = 1024;
  StartServer(o);
  // A GET whose field section is exactly `size` bytes.
  auto request = [](size_t size) {
    std::string fields = "Host: localhost\r\nX-Pad: ";
    const std::string end = "\r\n\r\n";
    fields += std::string(size - fields.size() - end.size(), 'x');
    return "GET /healthz HTTP/1.1\r\n" + fields + end;
  };
  auto c = Connect();
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(c->SendRaw(request(1024)));
    HttpResponse r = c->ReadResponse();
    EXPECT_EQ(r.status, 200) << "a field section of exactly max_header_bytes is allowed: " << r.body;
  }
  // Many fields (none is stored) under the limit.
  std::string many = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n";
  for (int i = 0; i < 40; ++i) many += fmt::format("X-F{}: v\r\nAccept: *\r\n", i);
  ASSERT_LT(many.size() + 2, 1024u);
  ASSERT_TRUE(c->SendRaw(many + "\r\n"));
  EXPECT_EQ(c->ReadResponse().status, 200);
  // One byte over, in one record: 431 and close.
  ASSERT_TRUE(c->SendRaw(request(1025)));
  HttpResponse r = c->ReadResponse();
  EXPECT_EQ(r.status, 431) << r.body;
  EXPECT_NE(r.body.find("request headers exceed 1024 bytes"), std::string::npos) << r.body;
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(c->WaitForClose(5));
  // Fields sent one record at a time (paced, so that the server reads them
  // one by one): Beast consumes the request line and the fields of the first
  // read but the last, then keeps the rest unconsumed until the blank line
  // arrives and limits its size, so such a head is limited too.
  auto dribble = [&](int fields) {
    auto d = Connect();
    bool sent = d->SendRaw("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    for (int i = 0; i < fields && sent; ++i) {
      sent = d->SendRaw(fmt::format("X-Field-{:03}: value\r\n", i));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (sent) d->SendRaw("\r\n");  // the server may have answered 431 and closed already
    return d;
  };
  auto under = dribble(20);  // 20 x 20 bytes
  EXPECT_EQ(under->ReadResponse().status, 200);
  auto over = dribble(200);  // 200 x 20 bytes
  HttpResponse o431 = over->ReadResponse();
  EXPECT_EQ(o431.status, 431) << o431.body;
  EXPECT_TRUE(over->WaitForClose(5));
  // A request line over the limit (a long target), whole or in pieces.
  const std::string long_target =
      "GET /healthz?" + std::string(1100, 'q') + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (size_t piece : {long_target.size(), size_t{300}}) {
    auto t = Connect();
    for (size_t at = 0; at < long_target.size(); at += piece)
      ASSERT_TRUE(t->SendRaw(long_target.substr(at, piece)));
    EXPECT_EQ(t->ReadResponse().status, 431) << piece;
    EXPECT_TRUE(t->WaitForClose(5));
  }
}

TEST_F(WebhookServerTest, BodyLimitAnswers413OneByteOverForLengthAndChunkedBodies) {
  ServerOptions o = Options();
  o.max_body_bytes = 4096;
  StartServer(o);
  std::string body = Review(PodReview("uid-limit", Pod("web", "prod", GoodPodSpec())));
  ASSERT_LT(body.size(), 4096u);
  body.resize(4096, ' ');  // JSON may end in white space
  for (bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "Content-Length");
    auto c = Connect();
    ASSERT_TRUE(c->SendRaw(chunked ? ChunkedPost("/validate", body, 1000) : LengthPost("/validate", body)));
    HttpResponse r = c->ReadResponse();
    ASSERT_EQ(r.status, 200) << "a body of exactly max_body_bytes is allowed: " << r.body;
    EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-limit");
    const std::string over = body + " ";
    ASSERT_TRUE(c->SendRaw(chunked ? ChunkedPost("/validate", over, 1000) : LengthPost("/validate", over)));
    r = c->ReadResponse();
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_NE(r.body.find("request body exceeds 4096 bytes"), std::string::npos) << r.body;
    EXPECT_TRUE(c->WaitForClose(5));
  }
}

TEST_F(WebhookServerTest, Http10ClosesByDefaultAndKeepsAliveWhenAsked) {
  StartServer();
  const std::string body = Review(PodReview("uid-10", Pod("web", "prod", BadPodSpec())));
  auto post10 = [&](const std::string& connection) {
    return "POST /validate HTTP/1.0\r\nContent-Type: application/json\r\n" + connection +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  auto c = Connect();
  ASSERT_TRUE(c->SendRaw(post10("Connection: keep-alive\r\n")));
  HttpResponse r = c->ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["connection"], "keep-alive");
  EXPECT_EQ(json::parse(r.body)["response"]["uid"], "uid-10");
  // The same connection, HTTP/1.0 without keep-alive: answered in HTTP/1.0,
  // no Connection header (close is 1.0's default), then closed.
  ASSERT_TRUE(c->SendRaw(post10("")));
  std::string raw;
  for (std::string more; (more = c->ReadRawSome()).size() > 0;) raw += more;
  EXPECT_EQ(StatusLine(raw), "HTTP/1.0 200 OK") << raw.substr(0, 200);
  EXPECT_EQ(raw.find("Connection:"), std::string::npos) << raw.substr(0, 200);
  EXPECT_NE(raw.find("\"uid-10\""), std::string::npos) << raw.substr(0, 200);
  // HTTP/1.1 with `close` among the Connection tokens, in one field line or
  // a later one (the lines form one list): close wins.
  for (const char* fields :
       {"Connection: keep-alive, close\r\n", "Connection: keep-alive\r\nConnection: close\r\n"}) {
    auto d = Connect();
    ASSERT_TRUE(d->SendRaw(std::string("GET /healthz HTTP/1.1\r\nHost: localhost\r\n") + fields + "\r\n"));
    r = d->ReadResponse();
    EXPECT_EQ(r.status, 200) << fields;
    EXPECT_EQ(r.headers["connection"], "close") << fields;
    EXPECT_TRUE(d->WaitForClose(5)) << fields;
  }
}

TEST_F(WebhookServerTest, MethodsAreMatchedExactly) {
  // Beast's verb table: an unknown or lower-case method is no GET/POST.
  StartServer();
  auto c = Connect();
  const std::string body = Review(PodReview("uid-m", Pod("web", "prod", GoodPodSpec())));
  ASSERT_TRUE(c->SendRaw("get /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(c->ReadResponse().status, 405);
  ASSERT_TRUE(c->SendRaw("BREW /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(c->ReadResponse().status, 405);
  ASSERT_TRUE(c->SendRaw("PUT /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body));
  EXPECT_EQ(c->ReadResponse().status, 405);
  HttpResponse r = c->Request("POST", "/validate", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
}

}  // namespace
}  // namespace invar::admission
