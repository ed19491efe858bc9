// SPDX-License-Identifier: Apache-2.0
// StringMap's copy-on-write storage, and where each kind keeps its pod spec.
#include "invar/policy/model.h"

namespace invar::policy {

void StringMap::Set(std::string key, std::string value) {
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].first == key) {
      if (entries_.use_count() > 1) Reallocate(capacity_);
      entries_[i].second = std::move(value);
      return;
    }
  }
  // Labels and annotations come in handfuls: room for four entries first.
  if (size_ == capacity_) {
    Reallocate(capacity_ == 0 ? 4 : 2 * capacity_);
  } else if (entries_.use_count() > 1) {
    Reallocate(capacity_);
  }
  entries_[size_].first = std::move(key);
  entries_[size_].second = std::move(value);
  ++size_;
}

void StringMap::Reallocate(size_t capacity) {
  // One block for the control data and every entry (C++20 array make_shared).
  std::shared_ptr<Entry[]> fresh = std::make_shared<Entry[]>(capacity);
  const bool shared = entries_.use_count() > 1;
  for (size_t i = 0; i < size_; ++i) {
    if (shared) {
      fresh[i] = entries_[i];
    } else {
      fresh[i] = std::move(entries_[i]);
    }
  }
  entries_ = std::move(fresh);
  capacity_ = capacity;
}

std::string_view ContainerListField(ContainerKind kind) {
  switch (kind) {
    case ContainerKind::kInit: return "initContainers";
    case ContainerKind::kRegular: return "containers";
    case ContainerKind::kEphemeral: return "ephemeralContainers";
  }
  return "containers";
}

const std::vector<PodSpecLocation>& PodSpecKinds() {
  static const std::vector<PodSpecLocation> kKinds = {
      {"Pod", "spec", "metadata"},
      {"PodTemplate", "template.spec", "template.metadata"},
      {"ReplicationController", "spec.template.spec", "spec.template.metadata"},
      {"ReplicaSet", "spec.template.spec", "spec.template.metadata"},
      {"Deployment", "spec.template.spec", "spec.template.metadata"},
      {"StatefulSet", "spec.template.spec", "spec.template.metadata"},
      {"DaemonSet", "spec.template.spec", "spec.template.metadata"},
      {"Job", "spec.template.spec", "spec.template.metadata"},
      {"CronJob", "spec.jobTemplate.spec.template.spec", "spec.jobTemplate.spec.template.metadata"},
  };
  return kKinds;
}

const PodSpecLocation* FindPodSpecLocation(std::string_view kind) {
  for (const auto& k : PodSpecKinds()) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

}  // namespace invar::policy
