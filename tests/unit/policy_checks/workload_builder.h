// SPDX-License-Identifier: Apache-2.0
// A small fluent builder for Workloads, so the policy tests can state pods
// directly in C++ without going through the decoders (which are tested on
// their own). Also the PSA test-fixture baseline: MinimalValidPod() mirrors
// k8s.io/pod-security-admission/test/fixtures.go. Test-only; not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "invar/policy/checks.h"
#include "invar/policy/model.h"

namespace invar::policy::testing {

inline SecurityContext& Sc(Container& c) {
  if (!c.security_context) c.security_context.emplace();
  return *c.security_context;
}

inline PodSecurityContext& PodSc(Workload& w) {
  if (!w.spec.security_context) w.spec.security_context.emplace();
  return *w.spec.security_context;
}

inline Capabilities& Caps(Container& c) {
  auto& sc = Sc(c);
  if (!sc.capabilities) sc.capabilities.emplace();
  return *sc.capabilities;
}

class WorkloadBuilder {
 public:
  explicit WorkloadBuilder(std::string_view kind = "Pod") {
    const PodSpecLocation* loc = FindPodSpecLocation(kind);
    w_.api_version = kind == "Pod" ? "v1" : "apps/v1";
    w_.kind = std::string(kind);
    w_.metadata.name = "test";
    w_.metadata.namespace_ = "default";
    if (loc != nullptr) {
      w_.spec_path = std::string(loc->spec_path);
      w_.pod_metadata_path = std::string(loc->pod_metadata_path);
    }
  }

  WorkloadBuilder& Init(std::string name, std::string image = "registry.example/app:1.0") {
    return Add(ContainerKind::kInit, std::move(name), std::move(image));
  }
  WorkloadBuilder& Regular(std::string name, std::string image = "registry.example/app:1.0") {
    return Add(ContainerKind::kRegular, std::move(name), std::move(image));
  }
  WorkloadBuilder& Ephemeral(std::string name, std::string image = "registry.example/app:1.0") {
    return Add(ContainerKind::kEphemeral, std::move(name), std::move(image));
  }
  WorkloadBuilder& Volume(std::string name, std::string source, std::string host_path = "") {
    w_.spec.volumes.push_back({std::move(name), std::move(source), std::move(host_path)});
    return *this;
  }
  WorkloadBuilder& PodAnnotation(std::string key, std::string value) {
    w_.pod_annotations.Set(std::move(key), std::move(value));
    if (w_.kind == "Pod") w_.metadata.annotations = w_.pod_annotations;
    return *this;
  }
  WorkloadBuilder& ObjectAnnotation(std::string key, std::string value) {
    w_.metadata.annotations.Set(std::move(key), std::move(value));
    return *this;
  }
  // Applies f(Container&) to the last container added.
  template <typename F>
  WorkloadBuilder& With(F&& f) {
    f(*last_);
    return *this;
  }
  template <typename F>
  WorkloadBuilder& Pod(F&& f) {
    f(w_);
    return *this;
  }

  Workload Build() const { return w_; }
  operator Workload() const { return w_; }  // NOLINT(google-explicit-constructor)

 private:
  WorkloadBuilder& Add(ContainerKind kind, std::string name, std::string image) {
    auto& list = kind == ContainerKind::kInit      ? w_.spec.init_containers
                 : kind == ContainerKind::kRegular ? w_.spec.containers
                                                   : w_.spec.ephemeral_containers;
    Container c;
    c.kind = kind;
    c.index = static_cast<int>(list.size());
    c.name = std::move(name);
    c.image = std::move(image);
    list.push_back(std::move(c));
    last_ = &list.back();
    return *this;
  }

  Workload w_;
  Container* last_ = nullptr;
};

// The minimal pod PSA's fixtures start from at (level, 1.minor): baseline is
// one init and one regular container; restricted adds runAsNonRoot (1.0),
// allowPrivilegeEscalation: false (1.8), seccomp RuntimeDefault (1.19) and
// drop ALL (1.22). Mirrors test/fixtures.go.
inline Workload MinimalValidPod(Level level, int minor) {
  Workload w =
      WorkloadBuilder().Init("initcontainer1", "k8s.gcr.io/pause").Regular("container1", "k8s.gcr.io/pause");
  if (level == Level::kBaseline || level == Level::kPrivileged) return w;
  PodSc(w).run_as_non_root = true;
  if (minor >= 8) {
    Sc(w.spec.containers[0]).allow_privilege_escalation = false;
    Sc(w.spec.init_containers[0]).allow_privilege_escalation = false;
  }
  if (minor >= 19) PodSc(w).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
  if (minor >= 22) {
    Caps(w.spec.containers[0]).drop = {"ALL"};
    Caps(w.spec.init_containers[0]).drop = {"ALL"};
  }
  return w;
}

}  // namespace invar::policy::testing
