// SPDX-License-Identifier: Apache-2.0
// ListWatchCache (see cache.h): one std::jthread runs list -> watch -> (resume
// | relist) until stopped. The store is a map of shared_ptr<const Json> under
// one mutex; readers get shared snapshots, so a long handler never blocks a
// webhook request. Events are applied in stream order; handlers run after the
// store is updated, outside the lock.
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "invar/kube/cache.h"
#include "invar/platform/log.h"

namespace invar::kube {
namespace {

std::string KeyOf(const Json& obj) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return "";
  const Json& meta = obj["metadata"];
  std::string ns = meta.value("namespace", "");
  std::string name = meta.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

std::string VersionOf(const Json& obj) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return "";
  return obj["metadata"].value("resourceVersion", "");
}

// A queued handler call, made after the store lock is released.
struct Delta {
  enum class Kind { kAdd, kUpdate, kDelete } kind;
  std::shared_ptr<const Json> old_object;
  std::shared_ptr<const Json> new_object;
};

}  // namespace

struct ListWatchCache::State {
  State(KubeClient& c, CacheOptions o) : client(c), options(std::move(o)) {}

  KubeClient& client;
  const CacheOptions options;
  std::vector<CacheHandlers> handlers;  // written before Start() only

  mutable std::mutex mu;
  mutable std::condition_variable synced_cv;
  std::map<std::string, std::shared_ptr<const Json>> store;  // guarded by mu
  std::string resource_version;                              // guarded by mu
  bool synced = false;                                       // guarded by mu
  CacheStats stats;                                          // guarded by mu

  std::mutex lifecycle_mu;
  std::jthread thread;

  void Dispatch(const std::vector<Delta>& deltas) {
    for (const auto& d : deltas) {
      for (const auto& h : handlers) {
        try {
          if (d.kind == Delta::Kind::kAdd && h.on_add) h.on_add(*d.new_object);
          if (d.kind == Delta::Kind::kUpdate && h.on_update) h.on_update(*d.old_object, *d.new_object);
          if (d.kind == Delta::Kind::kDelete && h.on_delete) h.on_delete(*d.old_object);
        } catch (const std::exception& e) {
          log::Error("kube cache {}: handler threw: {}", options.resource.resource, e.what());
        }
      }
    }
  }

  // Replaces the store with a fresh list, producing the deltas the missed
  // events would have produced.
  void Replace(std::vector<Json>&& items, const std::string& version) {
    std::map<std::string, std::shared_ptr<const Json>> fresh;
    for (auto& item : items) {
      std::string key = KeyOf(item);
      if (key.empty()) continue;
      fresh[key] = std::make_shared<const Json>(std::move(item));
    }
    std::vector<Delta> deltas;
    {
      std::lock_guard lock(mu);
      for (const auto& [key, obj] : fresh) {
        auto it = store.find(key);
        if (it == store.end()) {
          deltas.push_back({Delta::Kind::kAdd, nullptr, obj});
        } else if (VersionOf(*it->second) != VersionOf(*obj)) {
          deltas.push_back({Delta::Kind::kUpdate, it->second, obj});
        }
      }
      for (const auto& [key, obj] : store) {
        if (!fresh.count(key)) deltas.push_back({Delta::Kind::kDelete, obj, nullptr});
      }
      store = std::move(fresh);
      resource_version = version;
      ++stats.lists;
      synced = true;
    }
    synced_cv.notify_all();
    Dispatch(deltas);
  }

  void Apply(WatchEvent&& ev) {
    std::vector<Delta> deltas;
    {
      std::lock_guard lock(mu);
      std::string version = VersionOf(ev.object);
      if (ev.type == WatchEventType::kBookmark) {
        if (!version.empty()) resource_version = version;
        ++stats.bookmarks;
        return;
      }
      std::string key = KeyOf(ev.object);
      if (key.empty()) return;
      auto obj = std::make_shared<const Json>(std::move(ev.object));
      auto it = store.find(key);
      if (ev.type == WatchEventType::kDeleted) {
        if (it != store.end()) {
          deltas.push_back({Delta::Kind::kDelete, it->second, nullptr});
          store.erase(it);
        }
      } else if (it == store.end()) {
        store[key] = obj;
        deltas.push_back({Delta::Kind::kAdd, nullptr, obj});
      } else {
        deltas.push_back({Delta::Kind::kUpdate, it->second, obj});
        it->second = obj;
      }
      if (!version.empty()) resource_version = version;
      ++stats.events;
    }
    Dispatch(deltas);
  }

  bool Sleep(std::chrono::milliseconds d, const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
  }

  void Run(const std::stop_token& stop) {
    const std::string& what = options.resource.resource;
    std::chrono::milliseconds backoff = options.min_backoff;
    auto grow = [&] { backoff = std::min(backoff * 2, options.max_backoff); };
    bool need_list = true;
    while (!stop.stop_requested()) {
      if (need_list) {
        ListOptions lo;
        lo.namespace_ = options.namespace_;
        lo.label_selector = options.label_selector;
        lo.field_selector = options.field_selector;
        lo.limit = options.page_size;
        auto list = client.ListAll(options.resource, lo);
        if (!list.ok()) {
          {
            std::lock_guard lock(mu);
            ++stats.errors;
          }
          log::Warn("kube cache {}: list failed: {}; retrying in {} ms", what, list.status().ToString(),
                    backoff.count());
          if (!Sleep(backoff, stop)) return;
          grow();
          continue;
        }
        Replace(std::move(list->items), list->resource_version);
        need_list = false;
        backoff = options.min_backoff;
      }
      WatchOptions wo;
      wo.namespace_ = options.namespace_;
      wo.label_selector = options.label_selector;
      wo.field_selector = options.field_selector;
      wo.allow_bookmarks = true;
      wo.timeout_seconds = options.watch_timeout_seconds;
      {
        std::lock_guard lock(mu);
        wo.resource_version = resource_version;
        ++stats.watches;
      }
      uint64_t seen = 0;
      auto started = std::chrono::steady_clock::now();
      auto res = client.Watch(
          options.resource, wo,
          [&](WatchEvent&& ev) {
            ++seen;
            Apply(std::move(ev));
            return true;
          },
          stop);
      if (stop.stop_requested()) return;
      if (!res.ok()) {
        if (res.IsGone()) {
          // Our version fell out of the server's window: relist at once.
          std::lock_guard lock(mu);
          ++stats.gone;
          need_list = true;
          log::Info("kube cache {}: resourceVersion expired (410); relisting", what);
          continue;
        }
        {
          std::lock_guard lock(mu);
          ++stats.errors;
        }
        log::Warn("kube cache {}: watch failed: {}; retrying in {} ms", what, res.status().ToString(), backoff.count());
        if (!Sleep(backoff, stop)) return;
        grow();
        continue;
      }
      // The stream ended (timeout, restart, dropped connection): resume from
      // the last version. Back off only if it ended at once with nothing.
      if (seen == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
        if (!Sleep(backoff, stop)) return;
        grow();
      } else {
        backoff = options.min_backoff;
      }
    }
  }
};

ListWatchCache::ListWatchCache(KubeClient& client, CacheOptions options)
    : state_(std::make_unique<State>(client, std::move(options))) {}

ListWatchCache::~ListWatchCache() { Stop(); }

void ListWatchCache::AddHandlers(CacheHandlers handlers) {
  std::lock_guard lock(state_->lifecycle_mu);
  state_->handlers.push_back(std::move(handlers));
}

void ListWatchCache::Start() {
  std::lock_guard lock(state_->lifecycle_mu);
  if (state_->thread.joinable()) return;
  State* s = state_.get();
  state_->thread = std::jthread([s](std::stop_token stop) {
    try {
      s->Run(stop);
    } catch (const std::exception& e) {
      log::Error("kube cache {}: stopped by an exception: {}", s->options.resource.resource, e.what());
    }
  });
}

void ListWatchCache::Stop() {
  std::lock_guard lock(state_->lifecycle_mu);
  if (!state_->thread.joinable()) return;
  state_->thread.request_stop();
  state_->thread.join();
}

bool ListWatchCache::HasSynced() const {
  std::lock_guard lock(state_->mu);
  return state_->synced;
}

bool ListWatchCache::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->synced_cv.wait_for(lock, timeout, [&] { return state_->synced; });
}

std::shared_ptr<const Json> ListWatchCache::Get(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->store.find(ns.empty() ? name : ns + "/" + name);
  return it == state_->store.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Json>> ListWatchCache::List() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::shared_ptr<const Json>> out;
  out.reserve(state_->store.size());
  for (const auto& [key, obj] : state_->store) out.push_back(obj);
  return out;
}

std::string ListWatchCache::ResourceVersion() const {
  std::lock_guard lock(state_->mu);
  return state_->resource_version;
}

CacheStats ListWatchCache::Stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

}  // namespace invar::kube
