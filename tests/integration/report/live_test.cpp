// SPDX-License-Identifier: Apache-2.0
// The live-cluster report against the strict test API server (real TLS,
// bearer token): namespace modes from labels, owner folding (Pod ->
// ReplicaSet -> Deployment, Pod -> Job -> CronJob), pods that differ from
// their template, drift from the agent's annotation and ContainerDrift
// Events, -n / -l / --profile, immutable namespaces for the audit log, and
// the CLI end to end through a kubeconfig.
#include "invar/report/live.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "invar/kube/client.h"
#include "invar/policy/profile.h"
#include "invar/testing/api_server.h"
#include "invar/testing/test_cluster.h"

namespace invar::report {
namespace {

using Json = nlohmann::json;
constexpr const char* kToken = "report-token-8c1e5a";

// A pod template that fails several immutable checks (no securityContext).
Json BadPodSpec(const std::string& image = "nginx:1.27") {
  return Json{{"containers", Json::array({{{"name", "web"}, {"image", image}}})}};
}
Json GoodPodSpec() {
  return Json{{"securityContext", {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
              {"containers", Json::array({{{"name", "app"},
                                           {"image", "registry.example/app@sha256:" + std::string(64, 'a')},
                                           {"securityContext",
                                            {{"allowPrivilegeEscalation", false},
                                             {"readOnlyRootFilesystem", true},
                                             {"capabilities", {{"drop", Json::array({"ALL"})}}}}}}})}};
}

Json Meta(const std::string& ns, const std::string& name, const std::string& uid,
          const Json& owner = nullptr) {
  Json m = {{"name", name}, {"namespace", ns}, {"uid", uid}, {"labels", {{"app", name}}}};
  if (!owner.is_null()) m["ownerReferences"] = Json::array({owner});
  return m;
}
Json Owner(const std::string& api, const std::string& kind, const std::string& name, const std::string& uid) {
  return {{"apiVersion", api}, {"kind", kind}, {"name", name}, {"uid", uid}, {"controller", true}};
}

class LiveReport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = invar::testing::TestCluster::Start({kToken, "reporter"});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster);
    server_ = &cluster_->server();
    Populate();
    auto client = kube::NewKubeClient(cluster_->TokenConfig());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }
  void TearDown() override {
    client_.reset();
    cluster_.reset();
  }

  void Populate() {
    server_->AddNamespace("shop", {{"invar.dev/enforce", "immutable"}});
    server_->AddNamespace("dev", {{"invar.dev/warn", "baseline"}, {"invar.dev/warn-version", "v1.25"}});
    server_->AddNamespace("plain");
    // Deployment web -> ReplicaSet web-5d4c -> pods web-5d4c-a (same), web-5d4c-b (+ ephemeral container).
    server_->Put("apps/v1", "deployments",
                 {{"metadata", Meta("shop", "web", "uid-dep-web")},
                  {"spec",
                   {{"selector", {{"matchLabels", {{"app", "web"}}}}},
                    {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", BadPodSpec()}}}}}});
    server_->Put("apps/v1", "replicasets",
                 {{"metadata", Meta("shop", "web-5d4c", "uid-rs-web",
                                    Owner("apps/v1", "Deployment", "web", "uid-dep-web"))},
                  {"spec",
                   {{"selector", {{"matchLabels", {{"app", "web"}}}}},
                    {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", BadPodSpec()}}}}}});
    Json same = {{"metadata", Meta("shop", "web-5d4c-a", "uid-pod-a",
                                   Owner("apps/v1", "ReplicaSet", "web-5d4c", "uid-rs-web"))},
                 {"spec", BadPodSpec()}};
    same["metadata"]["annotations"] = {
        {"invar.dev/drifted",
         R"({"count":2,"first":{"time":"2026-11-20T10:00:00Z","path":"/usr/bin/curl","op":"create"}})"}};
    same["spec"]["nodeName"] = "node-1";  // filled by the scheduler: must not make it "differ"
    server_->Put("v1", "pods", same);
    Json differs = {{"metadata", Meta("shop", "web-5d4c-b", "uid-pod-b",
                                      Owner("apps/v1", "ReplicaSet", "web-5d4c", "uid-rs-web"))},
                    {"spec", BadPodSpec()}};
    differs["spec"]["ephemeralContainers"] = Json::array(
        {{{"name", "debugger"}, {"image", "busybox:1.36"}, {"securityContext", {{"privileged", true}}}}});
    server_->Put("v1", "pods", differs);
    // CronJob nightly -> Job nightly-290 -> pod nightly-290-x.
    Json job_template = {{"template", {{"spec", GoodPodSpec()}}}};
    server_->Put("batch/v1", "cronjobs",
                 {{"metadata", Meta("shop", "nightly", "uid-cj")},
                  {"spec", {{"schedule", "0 2 * * *"}, {"jobTemplate", {{"spec", job_template}}}}}});
    server_->Put("batch/v1", "jobs",
                 {{"metadata",
                   Meta("shop", "nightly-290", "uid-job", Owner("batch/v1", "CronJob", "nightly", "uid-cj"))},
                  {"spec", job_template}});
    server_->Put("v1", "pods",
                 {{"metadata", Meta("shop", "nightly-290-x", "uid-pod-job",
                                    Owner("batch/v1", "Job", "nightly-290", "uid-job"))},
                  {"spec", GoodPodSpec()}});
    // A bare pod in an unlabelled namespace and one in a warn=baseline namespace.
    server_->Put("v1", "pods",
                 {{"metadata", Meta("plain", "lonely", "uid-lonely")}, {"spec", GoodPodSpec()}});
    server_->Put("v1", "pods", {{"metadata", Meta("dev", "toolbox", "uid-toolbox")}, {"spec", BadPodSpec()}});
    // The agent's ContainerDrift Event about web-5d4c-a (series of 3), and an unrelated event.
    server_->Put("events.k8s.io/v1", "events",
                 {{"metadata", {{"name", "web-5d4c-a.drift1"}, {"namespace", "shop"}}},
                  {"eventTime", "2026-11-20T10:00:01.000000Z"},
                  {"series", {{"count", 3}, {"lastObservedTime", "2026-11-20T10:04:00.000000Z"}}},
                  {"reportingController", "invar.dev/agent"},
                  {"reportingInstance", "invar-agent-node-1"},
                  {"action", "Flag"},
                  {"reason", "ContainerDrift"},
                  {"type", "Warning"},
                  {"note", "container web: /usr/bin/curl created"},
                  {"regarding",
                   {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"namespace", "shop"},
                    {"name", "web-5d4c-a"},
                    {"uid", "uid-pod-a"}}}});
    server_->Put("events.k8s.io/v1", "events",
                 {{"metadata", {{"name", "web-5d4c-a.pulled"}, {"namespace", "shop"}}},
                  {"eventTime", "2026-11-20T09:00:00.000000Z"},
                  {"reportingController", "kubelet"},
                  {"reportingInstance", "node-1"},
                  {"action", "Pull"},
                  {"reason", "Pulled"},
                  {"type", "Normal"},
                  {"note", "pulled"},
                  {"regarding",
                   {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"namespace", "shop"},
                    {"name", "web-5d4c-a"},
                    {"uid", "uid-pod-a"}}}});
  }

  Report Collect(LiveOptions o) {
    o.profiles = &profiles_;
    Report r;
    r.source = "cluster";
    Status st = CollectLive(*client_, o, &r);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return r;
  }

  static const ResourceResult* Find(const Report& r, const std::string& display) {
    for (const auto& res : r.resources) {
      if (res.DisplayName() == display) return &res;
    }
    return nullptr;
  }

  std::unique_ptr<invar::testing::TestCluster> cluster_;
  invar::testing::TestApiServer* server_ = nullptr;  // owned by cluster_
  std::unique_ptr<kube::KubeClient> client_;
  policy::ProfileSet profiles_;
};

TEST_F(LiveReport, FoldsPodsUnderTheirTopControllerUnlessTheyDiffer) {
  LiveOptions o;
  o.all_namespaces = true;
  Report r = Collect(o);
  std::vector<std::string> names;
  for (const auto& res : r.resources) names.push_back(res.namespace_ + " " + res.DisplayName());
  EXPECT_EQ(names,
            (std::vector<std::string>{"dev pod/toolbox", "plain pod/lonely", "shop cronjob.batch/nightly",
                                      "shop deployment.apps/web", "shop pod/web-5d4c-b"}));
  const auto* web = Find(r, "deployment.apps/web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->pods, std::vector<std::string>{"web-5d4c-a"});
  const auto* cj = Find(r, "cronjob.batch/nightly");
  ASSERT_NE(cj, nullptr);
  EXPECT_EQ(cj->pods, std::vector<std::string>{"nightly-290-x"});
  EXPECT_TRUE(cj->Compliant());
  const auto* b = Find(r, "pod/web-5d4c-b");
  ASSERT_NE(b, nullptr);
  EXPECT_NE(b->note.find("differs from replicaset.apps/web-5d4c template"), std::string::npos) << b->note;
  EXPECT_NE(b->note.find("privileged"), std::string::npos) << b->note;
}

TEST_F(LiveReport, EachNamespaceUsesItsLabelledMode) {
  LiveOptions o;
  o.all_namespaces = true;
  Report r = Collect(o);
  const auto* toolbox = Find(r, "pod/toolbox");
  ASSERT_NE(toolbox, nullptr);
  EXPECT_EQ(toolbox->profile, "baseline");
  EXPECT_EQ(toolbox->pss_version, "v1.25");
  EXPECT_EQ(toolbox->profile_source, "namespace label invar.dev/warn");
  EXPECT_TRUE(toolbox->Compliant());  // baseline allows a bare container
  const auto* lonely = Find(r, "pod/lonely");
  ASSERT_NE(lonely, nullptr);
  EXPECT_EQ(lonely->profile, "immutable");
  EXPECT_EQ(lonely->profile_source, "default (namespace has no invar label)");
  const auto* web = Find(r, "deployment.apps/web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->profile_source, "namespace label invar.dev/enforce");
  EXPECT_FALSE(web->Compliant());
}

TEST_F(LiveReport, DriftFromAnnotationAndEvents) {
  LiveOptions o;
  o.namespace_ = "shop";
  Report r = Collect(o);
  const auto* web = Find(r, "deployment.apps/web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->drift.count, 2);
  EXPECT_EQ(web->drift.first_path, "/usr/bin/curl");
  EXPECT_EQ(web->drift.first_op, "create");
  EXPECT_EQ(web->drift.events, 3);
  EXPECT_EQ(web->drift.last_event_message, "container web: /usr/bin/curl created");
  EXPECT_EQ(web->drift.pods, std::vector<std::string>{"web-5d4c-a"});
  EXPECT_FALSE(Find(r, "pod/web-5d4c-b")->drift.Any());
  // The events were asked for with the reason field selector.
  bool asked = false;
  for (const auto& req : server_->Requests()) {
    if (req.path == "/apis/events.k8s.io/v1/namespaces/shop/events") {
      asked = true;
      EXPECT_EQ(req.query.at("fieldSelector"), "reason=ContainerDrift");
    }
  }
  EXPECT_TRUE(asked);
}

TEST_F(LiveReport, NamespaceSelectorAndProfileOverride) {
  LiveOptions o;
  o.namespace_ = "shop";
  o.profile = "baseline";
  Report r = Collect(o);
  for (const auto& res : r.resources) {
    EXPECT_EQ(res.namespace_, "shop");
    EXPECT_EQ(res.profile, "baseline");
    EXPECT_EQ(res.profile_source, "--profile");
  }
  // Under baseline the ephemeral container's privileged still differs from the template.
  EXPECT_NE(Find(r, "pod/web-5d4c-b"), nullptr);
  for (const auto& req : server_->Requests()) {
    if (req.path.find("/namespaces/") != std::string::npos &&
        req.path.rfind("/api/v1/namespaces/shop", 0) != 0 && req.path.rfind("/apis/", 0) == 0) {
      EXPECT_NE(req.path.find("/namespaces/shop/"), std::string::npos) << req.path;
    }
  }
}

TEST_F(LiveReport, LabelSelectorLimitsWhatIsListed) {
  LiveOptions o;
  o.all_namespaces = true;
  o.label_selector = "app=lonely";
  Report r = Collect(o);
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].DisplayName(), "pod/lonely");
}

TEST_F(LiveReport, MissingNamespaceIsAnError) {
  LiveOptions o;
  o.namespace_ = "nope";
  o.profiles = &profiles_;
  Report r;
  Status st = CollectLive(*client_, o, &r);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("namespace \"nope\" not found"), std::string::npos) << st.ToString();
}

TEST_F(LiveReport, ImmutableNamespacesForTheAuditLog) {
  auto ns = ImmutableNamespaces(*client_, profiles_);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  ASSERT_EQ(ns->size(), 1u);
  EXPECT_EQ(ns->begin()->first, "shop");
  EXPECT_EQ(ns->begin()->second, "label invar.dev/enforce=immutable");
}

TEST(DriftAnnotation, TolerantParsing) {
  DriftState d;
  EXPECT_TRUE(ParseDriftAnnotation(R"({"count":4,"first":{"time":"t","path":"/x","op":"write"}})", &d));
  EXPECT_EQ(d.count, 4);
  EXPECT_EQ(d.first_path, "/x");
  DriftState bare;
  EXPECT_TRUE(ParseDriftAnnotation("7", &bare));
  EXPECT_EQ(bare.count, 7);
  DriftState empty_obj;
  EXPECT_TRUE(ParseDriftAnnotation("{}", &empty_obj));
  EXPECT_EQ(empty_obj.count, 1);  // the annotation exists: at least one change
  DriftState bad;
  EXPECT_FALSE(ParseDriftAnnotation("yes please", &bad));
  EXPECT_FALSE(ParseDriftAnnotation("[1,2]", &bad));
}

TEST_F(LiveReport, CliEndToEndThroughAKubeconfig) {
  auto kubeconfig_path = cluster_->WriteKubeconfig("shop");
  ASSERT_TRUE(kubeconfig_path.ok()) << kubeconfig_path.status().ToString();
  const std::string& kubeconfig = *kubeconfig_path;

  auto table = report::testing::RunCli({"report", "--kubeconfig", kubeconfig});
  EXPECT_EQ(table.exit_code, 1) << table.err;
  EXPECT_NE(table.out.find("DRIFT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2 changes, 3 events (first: create /usr/bin/curl)"), std::string::npos)
      << table.out;
  EXPECT_EQ(table.out.find("pod/lonely"), std::string::npos);  // context namespace is shop

  auto json = report::testing::RunCli({"report", "--kubeconfig", kubeconfig, "-A", "-o", "json"});
  EXPECT_EQ(json.exit_code, 1) << json.err;
  auto j = Json::parse(json.out);
  EXPECT_EQ(j["metadata"]["source"], "cluster");
  EXPECT_EQ(j["metadata"]["profile"], "per-namespace");
  EXPECT_EQ(j["resources"].size(), 5u);
  EXPECT_EQ(j["summary"]["driftedResources"], 1);

  // Audit log with the cluster telling which namespaces are immutable.
  auto audit = report::testing::RunCli(
      {"report", "--kubeconfig", kubeconfig, "--audit-log",
       std::string(INVAR_SOURCE_DIR) + "/tests/unit/report/fixtures/audit/audit.log", "-o", "json"});
  auto a = Json::parse(audit.out);
  int flagged = 0;
  for (const auto& e : a["execs"]) flagged += e["flagged"].get<bool>() ? 1 : 0;
  EXPECT_EQ(flagged, 3);  // shop only: payments is not immutable in this cluster

  auto bad = report::testing::RunCli({"report", "--kubeconfig", cluster_->dir() + "/missing"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("connecting to the cluster"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace invar::report
