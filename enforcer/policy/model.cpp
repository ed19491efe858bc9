// SPDX-License-Identifier: Apache-2.0
// Where each kind keeps its pod spec.
#include "invar/policy/model.h"

namespace invar::policy {

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
