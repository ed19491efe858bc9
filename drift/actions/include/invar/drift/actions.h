// SPDX-License-Identifier: Apache-2.0
// What the agent does about drift: the per-container policy (flag, kill,
// prevent; allow globs) resolved from the agent config and the pod's
// annotations, the kill action (SIGKILL every process of the container's
// cgroup), and the PodActions seam to the Kubernetes API (annotate the pod,
// emit an Event, delete the pod).
//
// PodActions implementations must be callable from the agent's dispatcher
// thread; they should not block for long (the kube adapter queues).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/drift/container.h"
#include "invar/platform/status.h"

namespace invar::drift {

enum class Action { kFlag, kKill, kPrevent };
std::string_view ActionName(Action a);
Result<Action> ParseAction(std::string_view s);  // "flag" | "kill" | "prevent"

inline constexpr const char* kActionAnnotation = "invar.dev/drift-action";
inline constexpr const char* kAllowAnnotation = "invar.dev/drift-allow";
inline constexpr const char* kDriftedAnnotation = "invar.dev/drifted";

struct ContainerPolicy {
  Action action = Action::kFlag;
  std::vector<std::string> allow_globs;  // container paths that are not drift
};

// Comma-separated globs, trimmed, empties dropped.
std::vector<std::string> SplitGlobs(std::string_view s);

// Defaults, overridden by `annotations` (the pod's, or the container's OCI
// annotations when no API server is reachable): an unknown action value is
// ignored with a warning; allow globs are added to the defaults.
ContainerPolicy ResolvePolicy(Action default_action, const std::vector<std::string>& default_allow,
                              const std::map<std::string, std::string>& annotations);

// True when `path` matches any glob.
bool PathAllowed(const ContainerPolicy& policy, const std::string& path);

// Rule-requested actions. A rule names the action it wants with a tag
// invar.action.flag|kill|prevent; the agent's `rule_actions` setting says how
// that request combines with the container's action (config or
// invar.dev/drift-action):
//   kEscalate  the stronger of the two (flag < prevent < kill): a rule can
//              raise the container's action, never lower it (default);
//   kOverride  the rule's action, when it names one, replaces the container's
//              (a rule tagged flag only alerts in a kill container);
//   kIgnore    the container's action; the request is only reported.
enum class RuleActionMode { kEscalate, kOverride, kIgnore };
std::string_view RuleActionModeName(RuleActionMode mode);
Result<RuleActionMode> ParseRuleActionMode(std::string_view s);  // "escalate" | "override" | "ignore"

// flag 0 < prevent 1 < kill 2.
int ActionStrength(Action a);

// What the agent does about one event, and why it is not what the rule asked.
struct EventAction {
  Action action = Action::kFlag;
  std::string reason;  // "" when the rule's request (if any) is what is done
};

// The effective action for one event. `container`: the container's action;
// `rule`: the strongest action the matching rules ask for (nullopt: none, or
// no rule matched); `denied`: the exec source denied this exec (only in a
// prevent container, before any rule ran).
//
// prevent means "deny the exec": the decision is made in the exec permission
// path, before rules run, and only in containers whose action is prevent
// (they alone have permission marks). So a target of prevent is `prevent`
// only for an exec that was denied and `flag` for everything else; and a
// denied exec stays `prevent` even when a rule asks for flag (it cannot be
// undone). kill kills the container (once).
EventAction ResolveEventAction(RuleActionMode mode, Action container, std::optional<Action> rule, bool denied);

// SIGKILLs every process of the container: cgroup v2 cgroup.kill when the
// cgroup is unified, else each pid of the v1 pids cgroup's cgroup.procs until
// it is empty. `cgroup_root` is host /sys/fs/cgroup (with --host-root).
Status KillContainer(const Container& c, const std::string& cgroup_root);

// What the agent reads about a pod from the API: annotations (policy),
// labels and the controller owner (alert enrichment: k8s.pod.labels,
// k8s.pod.owner.kind/name).
struct PodMetadata {
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  std::string owner_kind;  // the ownerReference with controller: true ("" when none)
  std::string owner_name;
};

class PodActions {
 public:
  PodActions() = default;
  virtual ~PodActions() = default;
  PodActions(const PodActions&) = delete;
  PodActions& operator=(const PodActions&) = delete;

  // Merges annotations into the pod's metadata.
  virtual Status Annotate(const std::string& ns, const std::string& pod,
                          const std::map<std::string, std::string>& annotations) = 0;
  // A core/v1 Event on the pod (type "Warning").
  virtual Status EmitEvent(const std::string& ns, const std::string& pod, const std::string& reason,
                           const std::string& message) = 0;
  virtual Status DeletePod(const std::string& ns, const std::string& pod) = 0;
  // The pod's annotations from the API (cache), nullopt when unknown.
  virtual std::optional<std::map<std::string, std::string>> PodAnnotations(const std::string& ns,
                                                                           const std::string& pod) = 0;
  // Annotations, labels and owner in one read; nullopt when unknown. The
  // default knows only the annotations.
  virtual std::optional<PodMetadata> GetPodMetadata(const std::string& ns, const std::string& pod) {
    auto a = PodAnnotations(ns, pod);
    if (!a) return std::nullopt;
    PodMetadata m;
    m.annotations = std::move(*a);
    return m;
  }
};

// No cluster: logs what it would have done; PodAnnotations is always nullopt.
std::unique_ptr<PodActions> NewLoggingPodActions();

// Pod labels and owner for alert enrichment change after a container starts
// (relabelling, a rollout adopting the pod). The agent reads them at
// discovery and re-reads them with a TTL on its main loop, off the event path.
struct PodMetadataEntry {
  std::string ns;
  std::string pod;
  std::optional<PodMetadata> meta;  // the last successful read
  std::uint64_t read_ns = 0;        // when it was last read (or tried)
  bool changed = false;             // set by RefreshPodMetadata when labels or owner changed
};

// Re-reads through pods.GetPodMetadata() the entries last read at least
// ttl_ns before now_ns, oldest first, at most max_reads of them (a node with
// many pods spreads its GETs over several calls). A failed read keeps the
// last metadata and counts as a read (no retry storm against a down API
// server). Only labels and owner are compared: policy annotations are read
// once, at discovery (a changed action would need new fanotify marks).
// Returns how many entries changed. Blocking (one synchronous GET per read):
// call it from the agent's main loop, never from the event threads.
std::size_t RefreshPodMetadata(PodActions& pods, std::vector<PodMetadataEntry>& entries, std::uint64_t now_ns,
                               std::uint64_t ttl_ns, std::size_t max_reads);

}  // namespace invar::drift
