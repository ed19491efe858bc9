// SPDX-License-Identifier: Apache-2.0
// StringMap's copy-on-write storage, resetting a Workload for reuse, and
// where each kind keeps its pod spec.
#include "invar/policy/model.h"

#include "decode_extract.h"

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

std::string& StringMap::ValueFor(std::string_view key) {
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].first == key) {
      if (entries_.use_count() > 1) Reallocate(capacity_);
      return entries_[i].second;
    }
  }
  if (size_ == capacity_) {
    Reallocate(capacity_ == 0 ? 4 : 2 * capacity_);
  } else if (entries_.use_count() > 1) {
    Reallocate(capacity_);
  }
  Entry& e = entries_[size_++];
  e.first.assign(key.data(), key.size());
  e.second.clear();
  return e.second;
}

void StringMap::Clear() {
  if (entries_.use_count() > 1) {
    entries_.reset();
    capacity_ = 0;
  }
  size_ = 0;
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

namespace decode_internal {

void ResetAllButLists(Workload& w) {
  w.api_version.clear();
  w.kind.clear();
  ObjectMeta& m = w.metadata;
  // The pod's maps first: for a Pod they share the metadata's block, which
  // the metadata's Clear() then finds unshared and keeps.
  w.pod_annotations.Clear();
  w.pod_labels.Clear();
  m.name.clear();
  m.generate_name.clear();
  m.namespace_.clear();
  m.uid.clear();
  m.resource_version.clear();
  m.labels.Clear();
  m.annotations.Clear();
  m.owner_kind.clear();
  m.owner_name.clear();
  m.owner_uid.clear();
  PodSpec& s = w.spec;
  s.host_network.reset();
  s.host_pid.reset();
  s.host_ipc.reset();
  s.host_users.reset();
  s.os_name.clear();
  s.runtime_class_name.clear();
  s.automount_service_account_token.reset();
  s.security_context.reset();
  w.spec_path.clear();
  w.pod_metadata_path.clear();
  w.source.file.clear();
  w.source.line = 0;
  w.source.document = 0;
  w.source.item.clear();
}

}  // namespace decode_internal

void ResetForReuse(Workload& w) {
  decode_internal::ResetAllButLists(w);
  w.spec.volumes.clear();
  w.spec.init_containers.clear();
  w.spec.containers.clear();
  w.spec.ephemeral_containers.clear();
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
