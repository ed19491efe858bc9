// SPDX-License-Identifier: Apache-2.0
// NamespaceSource: where the webhook learns a namespace's labels (and so its
// modes). In a cluster it is a list+watch cache of namespaces
// (NewKubeNamespaceSource, over invar::kube); with --standalone the labels
// come from the config file (FixedNamespaceSource). Tests use
// FixedNamespaceSource as the fake.
//
// Thread-safety: Labels/HasSynced/State may be called from any thread,
// concurrently with updates.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "invar/policy/model.h"

namespace invar::admission {

class NamespaceSource {
 public:
  NamespaceSource() = default;
  virtual ~NamespaceSource() = default;
  NamespaceSource(const NamespaceSource&) = delete;
  NamespaceSource& operator=(const NamespaceSource&) = delete;

  // Labels of namespace `name`; nullopt when the namespace is not known
  // (not created yet, or the cache has not synced).
  virtual std::optional<policy::StringMap> Labels(std::string_view name) const = 0;
  // True once the first full list has been seen (readiness depends on it).
  virtual bool HasSynced() const = 0;
  // "synced", "syncing", "standalone", "stale" (for logs and the metric).
  virtual std::string State() const = 0;
  // Called (on the source's own thread) after a namespace's labels changed.
  // Set once, before the source starts delivering.
  virtual void SetOnChange(std::function<void(const std::string& name)> on_change) = 0;
};

// Labels held in memory; Replace() swaps the whole set (config reload in
// standalone mode, or tests). Always synced.
class FixedNamespaceSource final : public NamespaceSource {
 public:
  explicit FixedNamespaceSource(std::string state = "standalone") : state_(std::move(state)) {}
  std::optional<policy::StringMap> Labels(std::string_view name) const override;
  bool HasSynced() const override { return true; }
  std::string State() const override { return state_; }
  void SetOnChange(std::function<void(const std::string&)> on_change) override;
  void Replace(std::map<std::string, policy::StringMap, std::less<>> labels);
  void Set(const std::string& name, policy::StringMap labels);

 private:
  mutable std::mutex mu_;
  std::map<std::string, policy::StringMap, std::less<>> labels_;  // guarded by mu_
  std::function<void(const std::string&)> on_change_;
  std::string state_;
};

}  // namespace invar::admission
