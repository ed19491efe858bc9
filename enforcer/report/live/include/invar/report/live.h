// SPDX-License-Identifier: Apache-2.0
// The live-cluster report: lists Pods and workload controllers through
// invar::kube, evaluates each against its namespace's invar mode (labels
// invar.dev/enforce, else warn, else audit, with -version) or --profile,
// folds pods into their controllers when they match the template, and
// attaches the drift the agent recorded (pod annotation invar.dev/drifted,
// events.k8s.io/v1 Events with reason ContainerDrift). Fills the same Report
// the offline report fills; the renderers never see the client.
// Called from the CLI's main thread; the client may be shared (it is
// thread-safe), the functions keep no state.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "invar/kube/client.h"
#include "invar/policy/profile.h"
#include "invar/report/report.h"

namespace invar::report {

inline constexpr std::string_view kEnforceLabel = "invar.dev/enforce";
inline constexpr std::string_view kWarnLabel = "invar.dev/warn";
inline constexpr std::string_view kAuditLabel = "invar.dev/audit";
inline constexpr std::string_view kDriftAnnotation = "invar.dev/drifted";
inline constexpr std::string_view kDriftEventReason = "ContainerDrift";

struct LiveOptions {
  std::string namespace_;       // -n (or the kubeconfig context's namespace)
  bool all_namespaces = false;  // -A
  std::string label_selector;   // -l, applied to pods and controllers
  // --profile / --pss-version when given; otherwise each namespace's labels.
  std::optional<std::string> profile;
  std::optional<policy::PssVersion> version;
  // Used when a namespace has no invar label (and no --profile).
  std::string default_profile = "immutable";
  const policy::ProfileSet* profiles = nullptr;  // required
  int64_t page_size = 500;
};

// A namespace's invar mode, as read from its labels.
struct NamespaceMode {
  std::string profile;  // "" when unlabelled
  std::string label;    // which label set it: "invar.dev/enforce"
  std::optional<policy::PssVersion> version;
  bool immutable = false;  // any mode label names an immutable-based profile
  std::string immutable_label;
};
NamespaceMode ParseNamespaceMode(const kube::Json& ns_object, const policy::ProfileSet& profiles);

// Parses the agent's drift annotation; tolerant of missing fields and of a
// bare count ("3"). False when the value is unusable.
bool ParseDriftAnnotation(std::string_view value, DriftState* out);

// Lists and evaluates; appends resources (sorted by namespace, kind, name)
// and errors to `report`. Fails only when nothing could be listed at all.
Status CollectLive(kube::KubeClient& client, const LiveOptions& options, Report* report);

// Namespaces in immutable mode -> the label that says so, for the audit-log
// reader. Errors when namespaces cannot be listed.
Result<std::map<std::string, std::string, std::less<>>> ImmutableNamespaces(
    kube::KubeClient& client, const policy::ProfileSet& profiles);

}  // namespace invar::report
