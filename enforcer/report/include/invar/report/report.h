// SPDX-License-Identifier: Apache-2.0
// The report's data model: what `invar report` found, independent of where
// the objects came from (manifest files, a live cluster, audit logs) and of
// how it is printed. Inputs fill a Report (inputs.h, audit.h, live.h); the
// renderers (render.h) only read it, so none of them depends on the
// Kubernetes client. Plain value types: thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "invar/policy/checks.h"
#include "invar/policy/decode.h"
#include "invar/policy/evaluate.h"
#include "invar/policy/model.h"
#include "invar/policy/profile.h"

namespace invar::report {

// The versioned schema of `-o json` / `-o yaml` (docs/report.md).
inline constexpr std::string_view kReportApiVersion = "invar.dev/report/v1";

// Exit codes of `invar report` (docs/report.md). Input errors win over
// findings: a report over partly unreadable input is never "compliant".
inline constexpr int kExitCompliant = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUsageOrInput = 2;

// Drift the agent recorded for a pod (annotation invar.dev/drifted) and the
// ContainerDrift Events about it, merged over every pod folded into one
// resource.
struct DriftState {
  int64_t count = 0;       // changes recorded in the annotations (sum over pods)
  std::string first_time;  // earliest first change over the pods
  std::string first_path;
  std::string first_op;
  int64_t events = 0;  // ContainerDrift Events (series counts included)
  std::string last_event_time;
  std::string last_event_message;
  std::vector<std::string> pods;  // names of the pods that drifted
  bool Any() const { return count > 0 || events > 0 || !pods.empty(); }
};

// One evaluated object: a manifest object, or a live controller with the
// pods that match its template folded in.
struct ResourceResult {
  std::string api_version;  // "apps/v1"
  std::string kind;         // "Deployment"
  std::string name;
  std::string namespace_;  // "" when a manifest does not set one
  std::string uid;         // live objects only
  policy::SourceLocation source;
  std::string profile;      // profile it was evaluated against
  std::string pss_version;  // "latest", "v1.30"
  // Why that profile: "--profile", "namespace label invar.dev/enforce",
  // "default (namespace has no invar label)".
  std::string profile_source;
  std::vector<policy::Finding> findings;  // exempted ones included, marked
  // Checks the profile ran on this object, catalogue order.
  std::vector<const policy::CheckInfo*> applicable;
  std::vector<std::string> pods;  // live: pods reported under this resource
  std::string note;               // live: "differs from its ReplicaSet's template", ...
  DriftState drift;

  // "deployment.apps/web", "pod/web-0": kubectl's `-o name` form.
  std::string DisplayName() const;
  // Distinct checks with at least one non-exempted finding.
  int FailedChecks() const;
  int PassedChecks() const { return static_cast<int>(applicable.size()) - FailedChecks(); }
  // Passed / applicable as a percentage, one decimal; 100 when nothing applies.
  double Score() const;
  bool Compliant() const { return FailedChecks() == 0; }
};

// A file that could not be read or a document that could not be decoded.
// `line` is 0 when unknown.
struct InputError {
  std::string file;
  int line = 0;
  std::string message;
  std::string ToString() const;  // "deploy/web.yaml:12: mapping values are not allowed here"
};

// A pods/exec, pods/attach, pods/portforward or pods/ephemeralcontainers
// request found in a Kubernetes audit log.
struct ExecEntry {
  std::string audit_id;
  std::string stage;       // the stage kept after de-duplication
  std::string time;        // requestReceivedTimestamp
  std::string stage_time;  // stageTimestamp
  std::string user;
  std::vector<std::string> groups;
  std::string verb;         // "create", "get"
  std::string subresource;  // "exec", "attach", "portforward", "ephemeralcontainers"
  std::string namespace_;
  std::string pod;
  std::string container;             // from the query (exec/attach); "" when not given
  std::vector<std::string> command;  // exec: every command= parameter, decoded
  std::vector<std::string> ports;    // portforward: ports= parameters
  bool allowed = false;
  int code = 0;                  // responseStatus.code (0 when the log has none)
  std::string decision;          // "allow" / "forbid" from authorization.k8s.io/decision
  std::string reason;            // responseStatus.message or invar's audit annotation
  std::string invar_annotation;  // value of invar.dev/exec, if the webhook wrote one
  bool flagged = false;          // the namespace is in immutable mode
  std::string flag_reason;       // "namespace prod is in immutable mode (--immutable-namespaces)"
  std::string source_file;
  int source_line = 0;

  // HIGH for a flagged request that was allowed, INFO for a flagged one
  // that was denied (the guard worked), none otherwise (IsFinding false).
  policy::Severity Severity() const;
  bool IsFinding() const { return flagged; }
  std::string Target() const;  // "prod/web-0" (+ "/container" when known)
};

struct Report {
  std::string tool_version;  // "0.1.0"
  std::string source;        // "manifests" | "cluster" | "audit"
  std::string profile;       // --profile, or "per-namespace" in cluster mode
  std::string pss_version;   // --pss-version
  std::vector<ResourceResult> resources;
  std::vector<policy::SkippedObject> skipped;
  std::vector<InputError> errors;
  // Things the reader could not see but that do not make the input invalid
  // ("cannot list cronjobs: forbidden"); printed, never affect the exit code.
  std::vector<std::string> warnings;
  bool audit = false;  // audit logs were read (execs may still be empty)
  std::vector<ExecEntry> execs;
};

// Counts over a whole report, shared by every renderer.
struct Summary {
  int resources = 0;
  int compliant_resources = 0;
  int applicable_checks = 0;  // sum over resources
  int passed_checks = 0;
  double score = 100.0;  // passed / applicable, one decimal
  int findings = 0;      // non-exempted findings
  int exempted = 0;
  std::map<policy::Severity, int> by_severity;  // non-exempted findings
  struct CheckCount {
    const policy::CheckInfo* check = nullptr;
    int findings = 0;  // non-exempted
    int exempted = 0;
    int resources = 0;  // resources failing it
  };
  std::vector<CheckCount> by_check;  // catalogue order, only checks with findings
  int skipped = 0;
  int errors = 0;
  int execs = 0;
  int flagged_execs = 0;
  int drifted_resources = 0;
};
Summary Summarize(const Report& report);

// Evaluates one workload and records it as a resource.
ResourceResult EvaluateWorkload(const policy::Workload& workload, const policy::Profile& profile,
                                std::string profile_source);

// kExitUsageOrInput when the report has input errors; else kExitFindings
// when a non-exempted finding or a flagged exec is at or above `fail_on`;
// else kExitCompliant.
int ExitCode(const Report& report, policy::Severity fail_on);

// "deployment.apps", "pod", "cronjob.batch": the kubectl resource for a kind
// and apiVersion (lower-case kind, plus the group when there is one).
std::string KubectlResourceName(std::string_view kind, std::string_view api_version);

}  // namespace invar::report
