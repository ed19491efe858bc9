// SPDX-License-Identifier: Apache-2.0
// The test API server itself must answer wrong paths, verbs, content types
// and bodies the way kube-apiserver does, or client bugs would pass the
// tests. Raw HTTPS requests, no KubeClient.
#include <gtest/gtest.h>

#include "invar/testing/api_server.h"
#include "invar/testing/pki.h"

namespace invar::testing {
namespace {

constexpr const char* kToken = "strict-token";

class StrictServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = TestCa::Create();
    ASSERT_TRUE(ca.ok());
    ca_pem_ = ca->cert_pem();
    auto cert = ca->IssueServer();
    ApiServerOptions opts;
    opts.server_cert_pem = cert->cert_pem;
    opts.server_key_pem = cert->key_pem;
    opts.tokens[kToken] = "tester";
    server_ = std::make_unique<TestApiServer>(opts);
    ASSERT_TRUE(server_->Start().ok());
    server_->AddNamespace("default");
    server_->Put("v1", "pods", {{"metadata", {{"name", "p"}, {"namespace", "default"}}}, {"spec", Json::object()}});
  }

  RawHttpResponse Send(const std::string& method, const std::string& target, const std::string& body = "",
                       std::map<std::string, std::string> headers = {}) {
    if (!headers.count("Authorization")) headers["Authorization"] = std::string("Bearer ") + kToken;
    auto res = SendRawRequest(server_->port(), ca_pem_, method, target, headers, body);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : RawHttpResponse{};
  }

  static Json StatusOf(const RawHttpResponse& r) { return Json::parse(r.body); }

  std::string ca_pem_;
  std::unique_ptr<TestApiServer> server_;
};

TEST_F(StrictServerTest, UnauthenticatedIs401Status) {
  auto r = Send("GET", "/api/v1/namespaces/default/pods", "", {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r.status, 401);
  auto s = StatusOf(r);
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["status"], "Failure");
  EXPECT_EQ(s["reason"], "Unauthorized");
  EXPECT_EQ(s["code"], 401);
}

TEST_F(StrictServerTest, WrongPathsAre404) {
  for (const char* target : {"/api/v1/namespaces/default/podz", "/api/v2/pods", "/apis/apps/v1/pods/x",
                             "/api/v1/pods/p", "/apis/events.k8s.io/v1beta9/events", "/api/v1/namespaces/default/pods/",
                             "/healthz/nope"}) {
    auto r = Send("GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(StatusOf(r)["reason"], "NotFound") << target;
  }
}

TEST_F(StrictServerTest, WrongVerbsAre405) {
  EXPECT_EQ(Send("POST", "/api/v1/namespaces/default/pods/p", "{}", {{"Content-Type", "application/json"}}).status,
            405);
  EXPECT_EQ(Send("PATCH", "/api/v1/namespaces/default/pods", "{}",
                 {{"Content-Type", "application/merge-patch+json"}})
                .status,
            405);
  EXPECT_EQ(Send("POST", "/api/v1/pods", "{}", {{"Content-Type", "application/json"}}).status, 405);
  auto r = Send("DELETE", "/api/v1/namespaces/default/pods");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(StatusOf(r)["reason"], "MethodNotAllowed");
}

TEST_F(StrictServerTest, WrongPatchContentTypeIs415) {
  auto r = Send("PATCH", "/api/v1/namespaces/default/pods/p", "{\"metadata\":{}}",
                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(StatusOf(r)["reason"], "UnsupportedMediaType");
  auto create = Send("POST", "/api/v1/namespaces/default/pods", "{}", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(create.status, 415);
}

TEST_F(StrictServerTest, InvalidPatchesAre400Or422) {
  EXPECT_EQ(Send("PATCH", "/api/v1/namespaces/default/pods/p", "{not json",
                 {{"Content-Type", "application/merge-patch+json"}})
                .status,
            400);
  EXPECT_EQ(Send("PATCH", "/api/v1/namespaces/default/pods/p", "{\"op\":\"add\"}",
                 {{"Content-Type", "application/json-patch+json"}})
                .status,
            400);
  auto rename = Send("PATCH", "/api/v1/namespaces/default/pods/p", "{\"metadata\":{\"name\":\"q\"}}",
                     {{"Content-Type", "application/merge-patch+json"}});
  EXPECT_EQ(rename.status, 422);
  EXPECT_EQ(StatusOf(rename)["reason"], "Invalid");
  auto bad_label = Send("PATCH", "/api/v1/namespaces/default/pods/p",
                        "{\"metadata\":{\"labels\":{\"a\":\"has space\"}}}",
                        {{"Content-Type", "application/strategic-merge-patch+json"}});
  EXPECT_EQ(bad_label.status, 422);
  auto stale = Send("PATCH", "/api/v1/namespaces/default/pods/p", "{\"metadata\":{\"resourceVersion\":\"1\"}}",
                    {{"Content-Type", "application/merge-patch+json"}});
  EXPECT_EQ(stale.status, 409);
}

TEST_F(StrictServerTest, UnacceptableAcceptIs406AndBadSelectorIs400) {
  EXPECT_EQ(Send("GET", "/api/v1/namespaces/default/pods", "", {{"Accept", "text/html"}}).status, 406);
  EXPECT_EQ(Send("GET", "/api/v1/pods?labelSelector=a%20in%20(b").status, 400);
  EXPECT_EQ(Send("GET", "/api/v1/pods?limit=abc").status, 400);
  EXPECT_EQ(Send("GET", "/api/v1/pods?watch=maybe").status, 400);
}

TEST_F(StrictServerTest, ListItemsHaveNoKindAndMetadataCarriesVersion) {
  auto r = Send("GET", "/api/v1/namespaces/default/pods");
  ASSERT_EQ(r.status, 200);
  auto list = Json::parse(r.body);
  EXPECT_EQ(list["kind"], "PodList");
  EXPECT_EQ(list["apiVersion"], "v1");
  EXPECT_FALSE(list["metadata"]["resourceVersion"].get<std::string>().empty());
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_FALSE(list["items"][0].contains("kind"));
  EXPECT_FALSE(list["items"][0].contains("apiVersion"));
  EXPECT_EQ(r.headers["content-type"], "application/json");
}

TEST_F(StrictServerTest, WatchIsAChunkedStreamOfTypeObjectLines) {
  auto r = Send("GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&allowWatchBookmarks=true");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
  auto line = r.body.substr(0, r.body.find('\n'));
  auto ev = Json::parse(line);
  EXPECT_EQ(ev["type"], "ADDED");
  EXPECT_EQ(ev["object"]["kind"], "Pod");
  EXPECT_EQ(ev["object"]["metadata"]["name"], "p");
}

TEST_F(StrictServerTest, ExpiredWatchVersionIsAnErrorEventWith410) {
  server_->Put("v1", "pods", {{"metadata", {{"name", "q"}, {"namespace", "default"}}}});
  server_->Compact();
  auto r = Send("GET", "/api/v1/pods?watch=1&resourceVersion=1&timeoutSeconds=1");
  ASSERT_EQ(r.status, 200);
  auto ev = Json::parse(r.body.substr(0, r.body.find('\n')));
  EXPECT_EQ(ev["type"], "ERROR");
  EXPECT_EQ(ev["object"]["code"], 410);
  EXPECT_EQ(ev["object"]["reason"], "Expired");
}

TEST_F(StrictServerTest, CreateRejectsMismatchedNamespaceKindAndMissingName) {
  auto ns = Send("POST", "/api/v1/namespaces/default/pods", R"({"metadata":{"name":"x","namespace":"other"}})",
                 {{"Content-Type", "application/json"}});
  EXPECT_EQ(ns.status, 400);
  auto kind = Send("POST", "/api/v1/namespaces/default/pods", R"({"kind":"Deployment","metadata":{"name":"x"}})",
                   {{"Content-Type", "application/json"}});
  EXPECT_EQ(kind.status, 400);
  auto noname = Send("POST", "/api/v1/namespaces/default/pods", R"({"metadata":{}})",
                     {{"Content-Type", "application/json"}});
  EXPECT_EQ(noname.status, 422);
  auto badname = Send("POST", "/api/v1/namespaces/default/pods", R"({"metadata":{"name":"Bad_Name"}})",
                      {{"Content-Type", "application/json"}});
  EXPECT_EQ(badname.status, 422);
}

TEST_F(StrictServerTest, InjectedTooManyRequestsCarriesRetryAfter) {
  Fault f;
  f.code = 429;
  f.retry_after_seconds = 7;
  server_->InjectFault(f, 1);
  auto r = Send("GET", "/api/v1/pods");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "7");
  EXPECT_EQ(StatusOf(r)["details"]["retryAfterSeconds"], 7);
  EXPECT_EQ(Send("GET", "/api/v1/pods").status, 200);
}

TEST(ServerPatchSemantics, MergeStrategicAndJsonPatch) {
  Json target = {{"a", {{"b", 1}, {"c", 2}}}, {"list", {1, 2}},
                 {"containers", {{{"name", "x"}, {"image", "1"}}, {{"name", "y"}, {"image", "1"}}}}};
  auto merged = ApplyMergePatch(target, {{"a", {{"b", nullptr}}}, {"list", {3}}});
  EXPECT_FALSE(merged["a"].contains("b"));
  EXPECT_EQ(merged["list"], Json::array({3}));
  auto smp = ApplyStrategicMergePatch(
      target, {{"containers", {{{"name", "y"}, {"$patch", "delete"}}, {{"name", "z"}, {"image", "2"}}}}});
  ASSERT_TRUE(smp.ok());
  ASSERT_EQ((*smp)["containers"].size(), 2u);
  EXPECT_EQ((*smp)["containers"][0]["name"], "x");
  EXPECT_EQ((*smp)["containers"][1]["name"], "z");
  auto jp = ApplyJsonPatch(target, Json::array({{{"op", "remove"}, {"path", "/nope"}}}));
  EXPECT_FALSE(jp.ok());
}

TEST(ServerSelectors, LabelSelectorGrammar) {
  Json labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(*MatchLabelSelector("app=web", labels));
  EXPECT_TRUE(*MatchLabelSelector("app==web,tier", labels));
  EXPECT_FALSE(*MatchLabelSelector("app!=web", labels));
  EXPECT_TRUE(*MatchLabelSelector("app in (web,api)", labels));
  EXPECT_FALSE(*MatchLabelSelector("app notin (web)", labels));
  EXPECT_TRUE(*MatchLabelSelector("!legacy", labels));
  EXPECT_FALSE(*MatchLabelSelector("legacy", labels));
  EXPECT_TRUE(*MatchLabelSelector("", labels));
  EXPECT_FALSE(MatchLabelSelector("app in (web", labels).ok());
  EXPECT_FALSE(MatchLabelSelector("app ~ web", labels).ok());
}

}  // namespace
}  // namespace invar::testing
