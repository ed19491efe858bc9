// SPDX-License-Identifier: Apache-2.0
// ListWatchCache: a shared informer. Lists a resource (paged), then watches
// from the list's resourceVersion with bookmarks; a 410 Gone relists; a
// broken stream resumes from the last seen version with backoff. The store is
// keyed by "namespace/name" ("name" for cluster-scoped objects) and is never
// left with lost or duplicated events: a relist is diffed against the store
// and produces the add/update/delete calls the missed events would have.
//
// Used by the webhook (namespaces, for mode labels) and the agent (pods on its
// node: field_selector "spec.nodeName=<node>").
//
// Thread-safety: Get/List/HasSynced/WaitForSync may be called from any thread
// at any time. Handlers run on the cache's own thread, one at a time, in event
// order, without the store lock held (they may call Get/List). Add handlers
// before Start(). The KubeClient must outlive the cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "invar/kube/client.h"

namespace invar::kube {

struct CacheOptions {
  Resource resource;
  std::string namespace_;       // empty: all namespaces
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  int64_t watch_timeout_seconds = 300;  // each watch request's server-side timeout; then it resumes
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
};

struct CacheHandlers {
  std::function<void(const Json& object)> on_add;
  std::function<void(const Json& old_object, const Json& new_object)> on_update;
  std::function<void(const Json& last_known)> on_delete;
};

struct CacheStats {
  uint64_t lists = 0;       // full lists done (1 + relists)
  uint64_t watches = 0;     // watch requests opened
  uint64_t gone = 0;        // 410 Gone seen
  uint64_t errors = 0;      // failed list/watch attempts
  uint64_t events = 0;      // watch events applied (bookmarks excluded)
  uint64_t bookmarks = 0;
};

class ListWatchCache {
 public:
  ListWatchCache(KubeClient& client, CacheOptions options);
  ~ListWatchCache();  // Stop()s
  ListWatchCache(const ListWatchCache&) = delete;
  ListWatchCache& operator=(const ListWatchCache&) = delete;

  // Registers handlers; call before Start(). Several sets may be added.
  void AddHandlers(CacheHandlers handlers);
  // Starts the list+watch thread. Idempotent.
  void Start();
  // Stops the thread (cancels an open watch) and waits for it. Idempotent.
  void Stop();

  // True once the first list has been applied to the store.
  bool HasSynced() const;
  // Waits up to `timeout` for HasSynced(); returns it.
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // The stored object, or nullptr. Key: ns/name ("" ns for cluster-scoped).
  std::shared_ptr<const Json> Get(const std::string& ns, const std::string& name) const;
  // A snapshot of every stored object, sorted by key.
  std::vector<std::shared_ptr<const Json>> List() const;
  // The resourceVersion the store reflects (last list, event or bookmark).
  std::string ResourceVersion() const;
  CacheStats Stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace invar::kube
