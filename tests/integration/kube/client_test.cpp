// SPDX-License-Identifier: Apache-2.0
// KubeClient against the strict TestApiServer over real TLS: auth, CRUD,
// paging, selectors, patches, deletes, typed errors, retries, timeouts and
// TLS failures.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fixture.h"

namespace invar::kube {
namespace {

using testing_support::kAliceToken;
using invar::testing::Fault;

class ClientTest : public testing_support::KubeFixture {};

TEST_F(ClientTest, GetSendsBearerTokenAcceptAndUserAgent) {
  server_->Put("v1", "pods", Pod("default", "web-1"));
  auto client = Client(TokenConfig());
  auto pod = client->Get(Resource::Pods(), "default", "web-1");
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ((*pod)["metadata"]["name"], "web-1");
  EXPECT_EQ((*pod)["kind"], "Pod");
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/default/pods/web-1");
  EXPECT_EQ(reqs[0].headers["authorization"], std::string("Bearer ") + kAliceToken);
  EXPECT_EQ(reqs[0].headers["accept"], "application/json");
  EXPECT_EQ(reqs[0].headers["user-agent"].rfind("invar/", 0), 0u);
  EXPECT_EQ(reqs[0].user, "alice");
}

TEST_F(ClientTest, AuthenticatesWithClientCertificateFilesAndData) {
  auto cert = ca_->IssueClient("bob", {"system:masters"});
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(invar::testing::WriteFile(Path("bob.crt"), cert->cert_pem).ok());
  ASSERT_TRUE(invar::testing::WriteFile(Path("bob.key"), cert->key_pem).ok());
  RestConfig files = TokenConfig("");
  files.client_cert_file = Path("bob.crt");
  files.client_key_file = Path("bob.key");
  auto c1 = Client(files);
  ASSERT_TRUE(c1->Get(Resource::Namespaces(), "", "default").ok());
  RestConfig data = TokenConfig("");
  data.client_cert_data = cert->cert_pem;
  data.client_key_data = cert->key_pem;
  auto c2 = Client(data);
  ASSERT_TRUE(c2->Get(Resource::Namespaces(), "", "prod").ok());
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].user, "bob");
  EXPECT_EQ(reqs[1].user, "bob");
  EXPECT_EQ(reqs[0].headers.count("authorization"), 0u);
}

TEST_F(ClientTest, MismatchedClientKeyIsRejectedAtConstruction) {
  auto a = ca_->IssueClient("a");
  auto b = ca_->IssueClient("b");
  RestConfig c = TokenConfig("");
  c.client_cert_data = a->cert_pem;
  c.client_key_data = b->key_pem;
  auto client = NewKubeClient(c);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("client-certificate/client-key"), std::string::npos);
  EXPECT_EQ(client.status().message().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(ClientTest, UnknownTokenIsUnauthorized401) {
  auto client = Client(TokenConfig("not-a-real-token"));
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.http_code(), 401);
  EXPECT_EQ(ns.reason(), "Unauthorized");
  EXPECT_EQ(ns.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(ns.status().ToString().find("not-a-real-token"), std::string::npos);
  EXPECT_EQ(server_->Requests().size(), 1u);  // a static token is not retried
}

TEST_F(ClientTest, NoCredentialsIsUnauthorized401) {
  auto client = Client(TokenConfig(""));
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  EXPECT_EQ(ns.http_code(), 401);
}

TEST_F(ClientTest, ForbiddenUserGets403WithKubernetesMessage) {
  auto opts = Options();
  opts.authorize = [](const std::string& user, const std::string& verb, const std::string&, const std::string&) {
    return !(user == "alice" && verb == "delete");
  };
  StartServer(opts);
  server_->Put("v1", "pods", Pod("default", "web-1"));
  auto client = Client(TokenConfig());
  auto del = client->Delete(Resource::Pods(), "default", "web-1", {});
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.http_code(), 403);
  EXPECT_EQ(del.reason(), "Forbidden");
  EXPECT_NE(del.api_error()->message.find("cannot delete resource \"pods\""), std::string::npos);
  EXPECT_TRUE(client->Get(Resource::Pods(), "default", "web-1").ok());
}

TEST_F(ClientTest, MissingObjectIsNotFoundWithDetails) {
  auto client = Client(TokenConfig());
  auto pod = client->Get(Resource::Pods(), "default", "nope");
  ASSERT_FALSE(pod.ok());
  EXPECT_TRUE(pod.IsNotFound());
  EXPECT_EQ(pod.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(pod.api_error()->message, "pods \"nope\" not found");
  EXPECT_EQ(pod.api_error()->details["name"], "nope");
}

TEST_F(ClientTest, CreateAssignsServerFieldsAndDuplicateIsAlreadyExists) {
  auto client = Client(TokenConfig());
  auto created = client->Create(Resource::Pods(), "default", Pod("default", "new-pod"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE((*created)["metadata"].value("uid", "").empty());
  EXPECT_FALSE((*created)["metadata"].value("resourceVersion", "").empty());
  EXPECT_FALSE((*created)["metadata"].value("creationTimestamp", "").empty());
  auto reqs = server_->Requests();
  EXPECT_EQ(reqs.back().status, 201);
  EXPECT_EQ(reqs.back().headers["content-type"], "application/json");
  auto again = client->Create(Resource::Pods(), "default", Pod("default", "new-pod"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.http_code(), 409);
  EXPECT_EQ(again.reason(), "AlreadyExists");
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(server_->Requests().size(), 2u);  // POST is not retried on 409
}

// The body goes to cpprest as a byte stream (see BuildRequest): every byte,
// UTF-8 included, and a Content-Length that matches, also for a body larger
// than one socket write.
TEST_F(ClientTest, RequestBodyIsSentByteForByteWithItsLength) {
  auto client = Client(TokenConfig());
  Json pod = Pod("default", "big-pod");
  const std::string note = "caf\xc3\xa9 \xe2\x9c\x93 " + std::string(200 * 1024, 'x');
  pod["metadata"]["annotations"] = {{"invar.dev/note", note}};
  auto created = client->Create(Resource::Pods(), "default", pod);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["metadata"]["annotations"]["invar.dev/note"], note);
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].headers["content-length"], std::to_string(reqs[0].body.size()));
  EXPECT_EQ(reqs[0].headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(Json::parse(reqs[0].body), pod);

  auto patched = client->Patch(Resource::Pods(), "default", "big-pod", PatchType::kMerge,
                               {{"metadata", {{"annotations", {{"invar.dev/note", "\xc3\xa9t\xc3\xa9"}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["metadata"]["annotations"]["invar.dev/note"], "\xc3\xa9t\xc3\xa9");
  reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].body, R"({"metadata":{"annotations":{"invar.dev/note":"été"}}})");
  EXPECT_EQ(reqs[1].headers["content-length"], std::to_string(reqs[1].body.size()));
}

TEST_F(ClientTest, CreateInMissingNamespaceIsNotFound) {
  auto client = Client(TokenConfig());
  auto created = client->Create(Resource::Pods(), "ghost", Pod("ghost", "p"));
  EXPECT_TRUE(created.IsNotFound());
  EXPECT_EQ(created.api_error()->message, "namespaces \"ghost\" not found");
}

TEST_F(ClientTest, CreatesEventsK8sIoEventAndInvalidEventIs422) {
  auto client = Client(TokenConfig());
  Json event = {{"apiVersion", "events.k8s.io/v1"},
                {"kind", "Event"},
                {"metadata", {{"generateName", "web-1."}}},
                {"eventTime", "2026-11-27T03:00:00.000000Z"},
                {"reportingController", "invar.dev/agent"},
                {"reportingInstance", "invar-agent-node-1"},
                {"action", "Drift"},
                {"reason", "ContainerDrift"},
                {"type", "Warning"},
                {"note", "file /etc/passwd written in container app"},
                {"regarding", {{"kind", "Pod"}, {"namespace", "prod"}, {"name", "web-1"}, {"apiVersion", "v1"}}}};
  auto created = client->Create(Resource::Events(), "prod", event);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(server_->Requests().back().path, "/apis/events.k8s.io/v1/namespaces/prod/events");
  EXPECT_EQ((*created)["metadata"]["name"].get<std::string>().rfind("web-1.", 0), 0u);
  Json bad = event;
  bad.erase("reportingController");
  bad["type"] = "Critical";
  auto rejected = client->Create(Resource::Events(), "prod", bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.http_code(), 422);
  EXPECT_EQ(rejected.reason(), "Invalid");
  EXPECT_EQ(rejected.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(rejected.api_error()->details["causes"].size(), 2u);
}

TEST_F(ClientTest, ListPaginatesWithLimitAndContinue) {
  for (int i = 0; i < 25; ++i) server_->Put("v1", "pods", Pod("default", "p" + std::to_string(100 + i)));
  auto client = Client(TokenConfig());
  ListOptions opts;
  opts.namespace_ = "default";
  opts.limit = 10;
  auto page = client->List(Resource::Pods(), opts);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->kind, "PodList");
  EXPECT_EQ(page->items.size(), 10u);
  EXPECT_FALSE(page->continue_token.empty());
  EXPECT_EQ(page->remaining_item_count, 15);
  EXPECT_EQ(page->items[0]["kind"], "Pod");  // filled in by the client
  EXPECT_EQ(page->items[0]["apiVersion"], "v1");
  server_->ClearRequests();
  auto all = client->ListAll(Resource::Pods(), opts);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 25u);
  EXPECT_EQ(all->items[24]["metadata"]["name"], "p124");
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].query["limit"], "10");
  EXPECT_EQ(reqs[0].query.count("continue"), 0u);
  EXPECT_EQ(reqs[1].query.count("continue"), 1u);
  EXPECT_EQ(reqs[2].query.count("resourceVersion"), 0u);  // never sent with continue
}

TEST_F(ClientTest, ListAcrossNamespacesAndClusterScoped) {
  server_->Put("v1", "pods", Pod("default", "a"));
  server_->Put("v1", "pods", Pod("prod", "b"));
  auto client = Client(TokenConfig());
  auto all = client->ListAll(Resource::Pods(), {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 2u);
  EXPECT_EQ(server_->Requests().back().path, "/api/v1/pods");
  auto namespaces = client->ListAll(Resource::Namespaces(), {});
  ASSERT_TRUE(namespaces.ok());
  EXPECT_EQ(namespaces->items.size(), 2u);
  EXPECT_EQ(server_->Requests().back().path, "/api/v1/namespaces");
}

TEST_F(ClientTest, ListFiltersByLabelAndFieldSelectors) {
  server_->Put("v1", "pods", Pod("default", "a", "node-1", {{"app", "web"}, {"tier", "front"}}));
  server_->Put("v1", "pods", Pod("default", "b", "node-2", {{"app", "web"}}));
  server_->Put("v1", "pods", Pod("default", "c", "node-1", {{"app", "db"}}));
  auto client = Client(TokenConfig());
  ListOptions opts;
  opts.field_selector = "spec.nodeName=node-1";
  auto on_node = client->ListAll(Resource::Pods(), opts);
  ASSERT_TRUE(on_node.ok());
  ASSERT_EQ(on_node->items.size(), 2u);
  opts.label_selector = "app in (web, api),tier";
  auto web = client->ListAll(Resource::Pods(), opts);
  ASSERT_TRUE(web.ok());
  ASSERT_EQ(web->items.size(), 1u);
  EXPECT_EQ(web->items[0]["metadata"]["name"], "a");
  opts = {};
  opts.label_selector = "app!=web";
  auto not_web = client->ListAll(Resource::Pods(), opts);
  ASSERT_EQ(not_web->items.size(), 1u);
  opts.field_selector = "spec.bogus=1";
  auto bad = client->ListAll(Resource::Pods(), opts);
  EXPECT_EQ(bad.http_code(), 400);
  EXPECT_EQ(bad.api_error()->message, "field label not supported: spec.bogus");
}

TEST_F(ClientTest, ExpiredContinueTokenRestartsTheListOnce) {
  for (int i = 0; i < 12; ++i) server_->Put("v1", "pods", Pod("default", "p" + std::to_string(10 + i)));
  auto client = Client(TokenConfig());
  ListOptions opts;
  opts.limit = 5;
  int pages = 0, restarts = 0;
  size_t items = 0;
  auto rv = client->ListPages(Resource::Pods(), opts, [&](std::string_view page) {
    if (page.empty()) {
      ++restarts;
      items = 0;
      return Status::Ok();
    }
    if (++pages == 1) {
      server_->Put("v1", "pods", Pod("default", "late"));
      server_->Compact();  // the next continue is now too old
    }
    items += Json::parse(page)["items"].size();
    return Status::Ok();
  });
  ASSERT_TRUE(rv.ok()) << rv.status().ToString();
  EXPECT_EQ(restarts, 1);
  EXPECT_EQ(items, 13u);
  bool saw_410 = false;
  for (const auto& r : server_->Requests()) saw_410 = saw_410 || r.status == 410;
  EXPECT_TRUE(saw_410);
}

TEST_F(ClientTest, MergePatchAddsAnnotationsAndBumpsResourceVersion) {
  auto before = server_->Put("v1", "pods", Pod("prod", "web-1"));
  auto client = Client(TokenConfig());
  auto patched = client->Patch(Resource::Pods(), "prod", "web-1", PatchType::kMerge,
                               {{"metadata", {{"annotations", {{"invar.dev/drift", "true"}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["metadata"]["annotations"]["invar.dev/drift"], "true");
  EXPECT_NE((*patched)["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
  EXPECT_EQ(server_->Requests().back().headers["content-type"], "application/merge-patch+json");
}

TEST_F(ClientTest, StrategicMergePatchMergesContainersByName) {
  Json pod = Pod("prod", "web-1");
  pod["spec"]["containers"].push_back({{"name", "sidecar"}, {"image", "sidecar:1"}});
  server_->Put("v1", "pods", pod);
  auto client = Client(TokenConfig());
  auto patched = client->Patch(Resource::Pods(), "prod", "web-1", PatchType::kStrategicMerge,
                               {{"spec", {{"containers", {{{"name", "sidecar"}, {"image", "sidecar:2"}}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  ASSERT_EQ((*patched)["spec"]["containers"].size(), 2u);
  EXPECT_EQ((*patched)["spec"]["containers"][1]["image"], "sidecar:2");
  EXPECT_EQ((*patched)["spec"]["containers"][0]["name"], "app");
}

TEST_F(ClientTest, JsonPatchAppliesAndFailingTestOpIs422) {
  server_->Put("v1", "pods", Pod("prod", "web-1"));
  auto client = Client(TokenConfig());
  Json ops = Json::array({{{"op", "add"}, {"path", "/metadata/annotations"}, {"value", {{"a", "b"}}}}});
  auto ok = client->Patch(Resource::Pods(), "prod", "web-1", PatchType::kJson, ops);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["metadata"]["annotations"]["a"], "b");
  EXPECT_EQ(server_->Requests().back().headers["content-type"], "application/json-patch+json");
  Json failing = Json::array({{{"op", "test"}, {"path", "/metadata/name"}, {"value", "other"}}});
  auto bad = client->Patch(Resource::Pods(), "prod", "web-1", PatchType::kJson, failing);
  EXPECT_EQ(bad.http_code(), 422);
  EXPECT_EQ(bad.reason(), "Invalid");
}

TEST_F(ClientTest, PatchWithNonStringAnnotationIs422) {
  server_->Put("v1", "pods", Pod("prod", "web-1"));
  auto client = Client(TokenConfig());
  auto bad = client->Patch(Resource::Pods(), "prod", "web-1", PatchType::kMerge,
                           {{"metadata", {{"annotations", {{"invar.dev/drift-count", 3}}}}}});
  EXPECT_EQ(bad.http_code(), 422);
  EXPECT_EQ(server_->Requests().size(), 1u);  // PATCH is not retried on 4xx
}

TEST_F(ClientTest, DeleteHonoursUidPreconditionAndGracePeriod) {
  auto pod = server_->Put("v1", "pods", Pod("prod", "web-1"));
  std::string uid = pod["metadata"]["uid"];
  auto client = Client(TokenConfig());
  DeleteOptions wrong;
  wrong.uid_precondition = "00000000-0000-0000-0000-000000000000";
  auto conflict = client->Delete(Resource::Pods(), "prod", "web-1", wrong);
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(conflict.IsConflict());
  EXPECT_EQ(conflict.reason(), "Conflict");
  EXPECT_NE(conflict.api_error()->message.find("Precondition failed: UID in precondition"), std::string::npos);
  DeleteOptions right;
  right.uid_precondition = uid;
  right.grace_period_seconds = 5;
  auto graceful = client->Delete(Resource::Pods(), "prod", "web-1", right);
  ASSERT_TRUE(graceful.ok()) << graceful.status().ToString();
  EXPECT_EQ((*graceful)["metadata"]["deletionGracePeriodSeconds"], 5);
  auto body = Json::parse(server_->Requests().back().body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["preconditions"]["uid"], uid);
  EXPECT_EQ(body["gracePeriodSeconds"], 5);
  server_->FinalizeDeletions();
  EXPECT_FALSE(server_->Object("v1", "pods", "prod", "web-1").has_value());

  server_->Put("v1", "pods", Pod("prod", "web-2"));
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(client->Delete(Resource::Pods(), "prod", "web-2", now).ok());
  EXPECT_FALSE(server_->Object("v1", "pods", "prod", "web-2").has_value());
}

TEST_F(ClientTest, TooManyRequestsHonoursRetryAfter) {
  server_->Put("v1", "pods", Pod("default", "a"));
  Fault f;
  f.code = 429;
  f.retry_after_seconds = 1;
  server_->InjectFault(f, 1);
  auto client = Client(TokenConfig());
  auto start = std::chrono::steady_clock::now();
  auto pod = client->Get(Resource::Pods(), "default", "a");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].status, 429);
  EXPECT_EQ(reqs[1].status, 200);
  // The client waited the server's Retry-After, not its own 10 ms backoff.
  EXPECT_GE(elapsed, std::chrono::milliseconds(950));
}

TEST_F(ClientTest, PersistentTooManyRequestsEndsAsResourceExhausted) {
  Fault f;
  f.code = 429;
  f.retry_after_seconds = 0;
  server_->InjectFault(f, 100);
  auto client = Client(TokenConfig());
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.http_code(), 429);
  EXPECT_EQ(ns.status().code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(server_->Requests().size(), 4u);  // max_attempts
}

TEST_F(ClientTest, ServerErrorIsRetriedForGetButNotForCreate) {
  Fault f;
  f.code = 500;
  server_->InjectFault(f, 2);
  auto client = Client(TokenConfig());
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  EXPECT_EQ(server_->Requests().size(), 3u);
  server_->ClearRequests();
  f.method = "POST";
  server_->InjectFault(f, 1);
  auto created = client->Create(Resource::Pods(), "default", Pod("default", "x"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.http_code(), 500);
  EXPECT_EQ(created.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(server_->Requests().size(), 1u);
}

TEST_F(ClientTest, DroppedConnectionIsRetriedForIdempotentCalls) {
  Fault f;
  f.code = 0;  // close without answering
  server_->InjectFault(f, 1);
  auto client = Client(TokenConfig());
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(server_->Requests().size(), 2u);
}

TEST_F(ClientTest, ConnectionRefusedRetriesThenFailsUnavailable) {
  RestConfig c = TokenConfig();
  server_->Stop();
  auto client = Client(c);
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(ns.status().message().find(c.server), std::string::npos);
  EXPECT_FALSE(ns.api_error().has_value());
}

TEST_F(ClientTest, RequestTimeoutIsDeadlineExceeded) {
  Fault f;
  f.code = -1;  // serve normally, but late
  f.delay = std::chrono::milliseconds(3000);
  server_->InjectFault(f, 1);
  RestConfig c = TokenConfig();
  c.request_timeout = std::chrono::milliseconds(500);
  auto client = Client(c);
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.status().code(), Status::Code::kDeadlineExceeded) << ns.status().ToString();
}

TEST_F(ClientTest, ExpiredServerCertificateIsAClearTlsError) {
  auto expired = ca_->IssueServer(std::chrono::seconds(-3600));
  ASSERT_TRUE(expired.ok());
  auto opts = Options();
  opts.server_cert_pem = expired->cert_pem;
  opts.server_key_pem = expired->key_pem;
  StartServer(opts);
  auto client = Client(TokenConfig());
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(ns.status().message().find("certificate has expired"), std::string::npos) << ns.status().ToString();
  EXPECT_TRUE(server_->Requests().empty());
}

TEST_F(ClientTest, WrongCaFailsAndInsecureSkipVerifyConnects) {
  auto other = invar::testing::TestCa::Create("other-ca");
  ASSERT_TRUE(other.ok());
  RestConfig c = TokenConfig();
  c.ca_data = other->cert_pem();
  auto client = Client(c);
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_NE(ns.status().message().find("TLS"), std::string::npos) << ns.status().ToString();
  EXPECT_NE(ns.status().message().find("server certificate: "), std::string::npos) << ns.status().ToString();

  RestConfig insecure = TokenConfig();
  insecure.ca_data.clear();
  insecure.insecure_skip_tls_verify = true;
  auto client2 = Client(insecure);
  EXPECT_TRUE(client2->Get(Resource::Namespaces(), "", "default").ok());
}

TEST_F(ClientTest, SystemRootsDoNotTrustTheTestCa) {
  RestConfig c = TokenConfig();
  c.ca_data.clear();
  auto client = Client(c);
  EXPECT_FALSE(client->Get(Resource::Namespaces(), "", "default").ok());
}

TEST_F(ClientTest, TlsServerNameIsVerifiedInsteadOfTheUrlHost) {
  RestConfig good = TokenConfig();
  good.tls_server_name = "kubernetes.default.svc";
  auto c1 = Client(good);
  EXPECT_TRUE(c1->Get(Resource::Namespaces(), "", "default").ok());
  RestConfig bad = TokenConfig();
  bad.tls_server_name = "wrong.example.com";
  auto c2 = Client(bad);
  auto ns = c2->Get(Resource::Namespaces(), "", "default");
  ASSERT_FALSE(ns.ok());
  EXPECT_NE(ns.status().message().find("hostname mismatch"), std::string::npos) << ns.status().ToString();
  RestConfig by_name = TokenConfig();
  by_name.server = "https://localhost:" + std::to_string(server_->port());
  auto c3 = Client(by_name);
  EXPECT_TRUE(c3->Get(Resource::Namespaces(), "", "default").ok());
}

TEST_F(ClientTest, TokenFileIsReReadWhenItRotates) {
  auto opts = Options();
  opts.tokens["rotated-token-2"] = "alice";
  StartServer(opts);
  ASSERT_TRUE(invar::testing::WriteFile(Path("token"), std::string(kAliceToken) + "\n").ok());
  RestConfig c = TokenConfig("");
  c.bearer_token_file = Path("token");
  auto client = Client(c);
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  ASSERT_TRUE(invar::testing::WriteFile(Path("token.new"), "rotated-token-2").ok());
  ASSERT_EQ(::rename(Path("token.new").c_str(), Path("token").c_str()), 0);  // as the kubelet rotates
  ASSERT_TRUE(client->Get(Resource::Namespaces(), "", "default").ok());
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].headers["authorization"], std::string("Bearer ") + kAliceToken);
  EXPECT_EQ(reqs[1].headers["authorization"], "Bearer rotated-token-2");
}

TEST_F(ClientTest, ServerBasePathIsKept) {
  RestConfig c = TokenConfig();
  c.server += "/prefix";
  auto client = Client(c);
  auto ns = client->Get(Resource::Namespaces(), "", "default");
  EXPECT_TRUE(ns.IsNotFound());  // the test server has no prefix: the path must have been sent
  EXPECT_EQ(server_->Requests().back().path, "/prefix/api/v1/namespaces/default");
}

TEST_F(ClientTest, NamesAreEscapedInPaths) {
  auto client = Client(TokenConfig());
  auto pod = client->Get(Resource::Pods(), "default", "a/../../b");
  EXPECT_FALSE(pod.ok());
  EXPECT_EQ(server_->Requests().back().target, "/api/v1/namespaces/default/pods/a%2F..%2F..%2Fb");
}

}  // namespace
}  // namespace invar::kube
