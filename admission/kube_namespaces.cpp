// SPDX-License-Identifier: Apache-2.0
// NamespaceSource over kube::ListWatchCache (see kube_namespaces.h). Labels
// are read from the cache's stored Namespace objects on every call (a small
// copy of a handful of labels); change callbacks run on the cache thread.
#include "invar/admission/kube_namespaces.h"

#include "invar/kube/cache.h"
#include "invar/platform/log.h"

namespace invar::admission {
namespace {

policy::StringMap LabelsOf(const kube::Json& ns) {
  policy::StringMap out;
  auto md = ns.find("metadata");
  if (md == ns.end() || !md->is_object()) return out;
  auto labels = md->find("labels");
  if (labels == md->end() || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it.value().is_string()) out.Set(it.key(), it.value().get<std::string>());
  }
  return out;
}

std::string NameOf(const kube::Json& ns) {
  auto md = ns.find("metadata");
  if (md == ns.end() || !md->is_object()) return "";
  auto n = md->find("name");
  return n != md->end() && n->is_string() ? n->get<std::string>() : "";
}

class KubeNamespaceSource final : public NamespaceSource {
 public:
  static kube::CacheOptions Options() {
    kube::CacheOptions o;
    o.resource = kube::Resource::Namespaces();
    return o;
  }

  explicit KubeNamespaceSource(kube::KubeClient& client)
      : cache_(client, Options()) {
    kube::CacheHandlers h;
    h.on_add = [this](const kube::Json& o) { Changed(NameOf(o)); };
    h.on_update = [this](const kube::Json&, const kube::Json& o) { Changed(NameOf(o)); };
    h.on_delete = [this](const kube::Json& o) { Changed(NameOf(o)); };
    cache_.AddHandlers(std::move(h));
    cache_.Start();
  }
  ~KubeNamespaceSource() override { cache_.Stop(); }

  std::optional<policy::StringMap> Labels(std::string_view name) const override {
    auto obj = cache_.Get("", std::string(name));
    if (!obj) return std::nullopt;
    return LabelsOf(*obj);
  }
  bool HasSynced() const override { return cache_.HasSynced(); }
  std::string State() const override { return cache_.HasSynced() ? "synced" : "syncing"; }
  void SetOnChange(std::function<void(const std::string&)> on_change) override {
    std::lock_guard lock(mu_);
    on_change_ = std::move(on_change);
  }

 private:
  void Changed(const std::string& name) {
    log::Debug("webhook: namespace {} changed", name);
    std::function<void(const std::string&)> f;
    {
      std::lock_guard lock(mu_);
      f = on_change_;
    }
    if (f) f(name);
  }

  mutable kube::ListWatchCache cache_;
  std::mutex mu_;
  std::function<void(const std::string&)> on_change_;
};

}  // namespace

std::shared_ptr<NamespaceSource> NewKubeNamespaceSource(kube::KubeClient& client) {
  return std::make_shared<KubeNamespaceSource>(client);
}

}  // namespace invar::admission
