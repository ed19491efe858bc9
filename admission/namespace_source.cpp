// SPDX-License-Identifier: Apache-2.0
// FixedNamespaceSource: namespace labels held in memory (standalone mode and
// tests). Thread-safe behind one mutex; the change callback runs on the
// updating thread, outside the lock.
#include "invar/admission/namespace_source.h"

namespace invar::admission {

std::optional<policy::StringMap> FixedNamespaceSource::Labels(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = labels_.find(name);
  if (it == labels_.end()) return std::nullopt;
  return it->second;
}

void FixedNamespaceSource::SetOnChange(std::function<void(const std::string&)> on_change) {
  on_change_ = std::move(on_change);
}

void FixedNamespaceSource::Replace(std::map<std::string, policy::StringMap, std::less<>> labels) {
  std::vector<std::string> changed;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, l] : labels) {
      auto it = labels_.find(name);
      if (it == labels_.end() || !(it->second == l)) changed.push_back(name);
    }
    for (const auto& [name, l] : labels_) {
      if (!labels.count(name)) changed.push_back(name);
    }
    labels_ = std::move(labels);
  }
  if (on_change_) {
    for (const auto& n : changed) on_change_(n);
  }
}

void FixedNamespaceSource::Set(const std::string& name, policy::StringMap labels) {
  {
    std::lock_guard lock(mu_);
    labels_[name] = std::move(labels);
  }
  if (on_change_) on_change_(name);
}

}  // namespace invar::admission
