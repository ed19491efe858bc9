// SPDX-License-Identifier: Apache-2.0
// Watch streams and the ListWatchCache against the strict TestApiServer:
// event order, bookmarks, 410 Gone, stop, resume after the server drops the
// stream (no loss, no duplicates), relist diffing.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fixture.h"
#include "invar/kube/cache.h"

namespace invar::kube {
namespace {

class WatchTest : public testing_support::KubeFixture {};

// Waits (without a time assertion) until `pred` holds; fails the test after a generous bound.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST_F(WatchTest, DeliversEventsInOrderFromTheListVersion) {
  server_->Put("v1", "pods", Pod("default", "a"));
  auto client = Client(TokenConfig());
  auto list = client->List(Resource::Pods(), {});
  ASSERT_TRUE(list.ok());
  std::thread writer([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->Put("v1", "pods", Pod("default", "b"));
    auto changed = Pod("default", "a");
    changed["metadata"]["labels"]["x"] = "y";
    server_->Put("v1", "pods", changed);
    server_->Remove("v1", "pods", "default", "b");
  });
  WatchOptions wo;
  wo.resource_version = list->resource_version;
  std::vector<std::string> seen;
  auto end = client->Watch(Resource::Pods(), wo, [&](WatchEvent&& ev) {
    seen.push_back(std::string(WatchEventTypeName(ev.type)) + " " + ev.object["metadata"]["name"].get<std::string>());
    EXPECT_EQ(ev.object["kind"], "Pod");
    return seen.size() < 3;
  });
  writer.join();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_TRUE(end->stopped);
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED b", "MODIFIED a", "DELETED b"}));
  auto req = server_->Requests().back();
  EXPECT_EQ(req.query["watch"], "1");
  EXPECT_EQ(req.query["allowWatchBookmarks"], "true");
  EXPECT_EQ(req.query["resourceVersion"], list->resource_version);
}

TEST_F(WatchTest, BookmarksAdvanceTheResourceVersion) {
  auto client = Client(TokenConfig());
  int64_t rv = server_->ResourceVersion();
  std::thread bump([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->Put("v1", "namespaces", {{"metadata", {{"name", "unrelated"}}}});  // other resource
    server_->BroadcastBookmark();
  });
  WatchOptions wo;
  wo.resource_version = std::to_string(rv);
  std::optional<WatchEvent> bookmark;
  auto end = client->Watch(Resource::Pods(), wo, [&](WatchEvent&& ev) {
    bookmark = std::move(ev);
    return false;
  });
  bump.join();
  ASSERT_TRUE(end.ok());
  ASSERT_TRUE(bookmark.has_value());
  EXPECT_EQ(bookmark->type, WatchEventType::kBookmark);
  EXPECT_EQ(end->resource_version, std::to_string(server_->ResourceVersion()));
}

TEST_F(WatchTest, ExpiredResourceVersionIsGone410) {
  auto client = Client(TokenConfig());
  int64_t old = server_->ResourceVersion();
  server_->Put("v1", "pods", Pod("default", "a"));
  server_->Compact();
  WatchOptions wo;
  wo.resource_version = std::to_string(old);
  int events = 0;
  auto end = client->Watch(Resource::Pods(), wo, [&](WatchEvent&&) { return ++events > 0; });
  ASSERT_FALSE(end.ok());
  EXPECT_TRUE(end.IsGone());
  EXPECT_EQ(end.reason(), "Expired");
  EXPECT_EQ(events, 0);
}

TEST_F(WatchTest, StopTokenEndsABlockedWatch) {
  auto client = Client(TokenConfig());
  std::stop_source stop;
  std::thread stopper([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop.request_stop();
  });
  WatchOptions wo;
  wo.resource_version = std::to_string(server_->ResourceVersion());
  auto end = client->Watch(Resource::Pods(), wo, [](WatchEvent&&) { return true; }, stop.get_token());
  stopper.join();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_TRUE(end->stopped);
}

TEST_F(WatchTest, ResumesAfterTheServerDropsTheStreamWithoutLossOrDuplicates) {
  auto client = Client(TokenConfig());
  std::string rv = std::to_string(server_->ResourceVersion());
  std::atomic<size_t> received{0};
  std::thread writer([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (int i = 0; i < 5; ++i) server_->Put("v1", "pods", Pod("default", "p" + std::to_string(i)));
    while (received < 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->CloseWatches();
    // Written while no watch is open: must arrive after the resume.
    for (int i = 5; i < 10; ++i) server_->Put("v1", "pods", Pod("default", "p" + std::to_string(i)));
  });
  std::vector<std::string> names;
  int streams = 0;
  while (names.size() < 10 && streams < 20) {
    ++streams;
    WatchOptions wo;
    wo.resource_version = rv;
    auto end = client->Watch(Resource::Pods(), wo, [&](WatchEvent&& ev) {
      names.push_back(ev.object["metadata"]["name"]);
      received = names.size();
      return names.size() < 10;
    });
    ASSERT_TRUE(end.ok()) << end.status().ToString();
    rv = end->resource_version;
  }
  writer.join();
  EXPECT_GE(streams, 2);
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back("p" + std::to_string(i));
  EXPECT_EQ(names, want);
}

TEST_F(WatchTest, WatchWithSelectorTurnsRelabelIntoDelete) {
  server_->Put("v1", "pods", Pod("default", "a", "node-1", {{"app", "web"}}));
  auto client = Client(TokenConfig());
  std::thread writer([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->Put("v1", "pods", Pod("default", "a", "node-1", {{"app", "db"}}));
  });
  WatchOptions wo;
  wo.label_selector = "app=web";
  wo.resource_version = "";  // current state first
  std::vector<WatchEventType> types;
  auto end = client->Watch(Resource::Pods(), wo, [&](WatchEvent&& ev) {
    types.push_back(ev.type);
    return types.size() < 2;
  });
  writer.join();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(types, (std::vector<WatchEventType>{WatchEventType::kAdded, WatchEventType::kDeleted}));
}

// Records handler calls.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> calls;
  CacheHandlers Handlers() {
    return {[this](const Json& o) { Add("add " + Name(o)); },
            [this](const Json&, const Json& n) { Add("update " + Name(n)); },
            [this](const Json& o) { Add("delete " + Name(o)); }};
  }
  static std::string Name(const Json& o) { return o["metadata"]["name"]; }
  void Add(std::string s) {
    std::lock_guard lock(mu);
    calls.push_back(std::move(s));
  }
  size_t Count(const std::string& s) {
    std::lock_guard lock(mu);
    return std::count(calls.begin(), calls.end(), s);
  }
  size_t Size() {
    std::lock_guard lock(mu);
    return calls.size();
  }
};

TEST_F(WatchTest, CacheSyncsAndFollowsNamespaces) {
  auto client = Client(TokenConfig());
  CacheOptions opts;
  opts.resource = Resource::Namespaces();
  opts.page_size = 1;  // forces paging in the initial list
  ListWatchCache cache(*client, opts);
  Recorder rec;
  cache.AddHandlers(rec.Handlers());
  cache.Start();
  ASSERT_TRUE(cache.WaitForSync(std::chrono::seconds(30)));
  EXPECT_TRUE(cache.HasSynced());
  ASSERT_NE(cache.Get("", "prod"), nullptr);
  EXPECT_EQ((*cache.Get("", "prod"))["metadata"]["labels"]["invar.dev/enforce"], "immutable");
  EXPECT_EQ(cache.List().size(), 2u);
  server_->AddNamespace("staging", {{"invar.dev/warn", "restricted"}});
  server_->AddNamespace("prod", {{"invar.dev/enforce", "baseline"}});
  server_->Remove("v1", "namespaces", "", "default");
  ASSERT_TRUE(Eventually([&] { return rec.Size() == 5; }));
  EXPECT_EQ(rec.Count("add default"), 1u);
  EXPECT_EQ(rec.Count("add staging"), 1u);
  EXPECT_EQ(rec.Count("update prod"), 1u);
  EXPECT_EQ(rec.Count("delete default"), 1u);
  EXPECT_EQ((*cache.Get("", "prod"))["metadata"]["labels"]["invar.dev/enforce"], "baseline");
  EXPECT_EQ(cache.Get("", "default"), nullptr);
  cache.Stop();
  EXPECT_TRUE(Eventually([&] { return server_->OpenWatches() == 0; }));
}

TEST_F(WatchTest, CacheResumesAfterDroppedStreamWithoutLossOrDuplicates) {
  auto client = Client(TokenConfig());
  CacheOptions opts;
  opts.resource = Resource::Pods();
  opts.field_selector = "spec.nodeName=node-1";
  opts.min_backoff = std::chrono::milliseconds(10);
  ListWatchCache cache(*client, opts);
  Recorder rec;
  cache.AddHandlers(rec.Handlers());
  cache.Start();
  ASSERT_TRUE(cache.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(Eventually([&] { return server_->OpenWatches() == 1; }));
  for (int i = 0; i < 20; ++i) {
    server_->Put("v1", "pods", Pod("default", "p" + std::to_string(i), i % 2 ? "node-2" : "node-1"));
    if (i == 9) server_->CloseWatches();
  }
  ASSERT_TRUE(Eventually([&] { return rec.Size() == 10; }));
  for (int i = 0; i < 20; i += 2) EXPECT_EQ(rec.Count("add p" + std::to_string(i)), 1u) << i;
  EXPECT_EQ(cache.List().size(), 10u);
  EXPECT_GE(cache.Stats().watches, 2u);
  EXPECT_EQ(cache.Stats().lists, 1u);  // resumed, not relisted
}

TEST_F(WatchTest, CacheRelistsOnGoneAndDiffsTheStore) {
  server_->Put("v1", "pods", Pod("default", "keep"));
  server_->Put("v1", "pods", Pod("default", "change"));
  server_->Put("v1", "pods", Pod("default", "vanish"));
  auto client = Client(TokenConfig());
  CacheOptions opts;
  opts.resource = Resource::Pods();
  opts.min_backoff = std::chrono::milliseconds(10);
  ListWatchCache cache(*client, opts);
  Recorder rec;
  cache.AddHandlers(rec.Handlers());
  cache.Start();
  ASSERT_TRUE(cache.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(Eventually([&] { return server_->OpenWatches() == 1; }));
  // Simulate a long disconnection: the watch drops, changes happen, and the
  // server's history no longer reaches back to the cache's version.
  server_->InjectFault({503, std::nullopt, "GET", "/api/v1/pods", {}}, 1000000);
  server_->CloseWatches();
  auto changed = Pod("default", "change");
  changed["metadata"]["labels"]["v"] = "2";
  server_->Put("v1", "pods", changed);
  server_->Remove("v1", "pods", "default", "vanish");
  server_->Put("v1", "pods", Pod("default", "fresh"));
  server_->Compact();
  server_->ClearFaults();
  ASSERT_TRUE(Eventually([&] { return rec.Size() == 6; })) << rec.Size();
  EXPECT_EQ(rec.Count("add keep"), 1u);
  EXPECT_EQ(rec.Count("update change"), 1u);
  EXPECT_EQ(rec.Count("delete vanish"), 1u);
  EXPECT_EQ(rec.Count("add fresh"), 1u);
  EXPECT_EQ(cache.Stats().lists, 2u);
  EXPECT_GE(cache.Stats().gone, 1u);
  EXPECT_EQ(cache.List().size(), 3u);
}

}  // namespace
}  // namespace invar::kube
