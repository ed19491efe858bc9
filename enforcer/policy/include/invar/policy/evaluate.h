// SPDX-License-Identifier: Apache-2.0
// Evaluate(): a Workload and a Profile in, every finding out. The one function
// the webhook, the report and the agent share, so that they never disagree.
// Pure and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "invar/policy/checks.h"
#include "invar/policy/model.h"
#include "invar/policy/profile.h"

namespace invar::policy {

// Annotations for per-object opt-out (on the object or its pod template).
inline constexpr std::string_view kExemptAnnotation = "invar.dev/exempt";
inline constexpr std::string_view kExemptReasonAnnotation = "invar.dev/exempt-reason";

struct Finding {
  const CheckInfo* check = nullptr;
  // Full JSON path from the object root of the offending field, or of where
  // the missing field belongs: "spec.template.spec.initContainers[1].
  // securityContext.readOnlyRootFilesystem".
  std::string path;
  std::string container;  // container name; empty for pod-level findings
  std::string message;    // what is wrong, naming the container and value
  bool exempted = false;
  std::string exemption;  // why it is exempted: "annotation invar.dev/exempt: <reason>" or "profile <name>: image glob ..."
};

struct Verdict {
  std::vector<Finding> findings;  // in catalogue order, then container order
  // True when no finding is left after exemptions.
  bool Allowed() const;
  // Ids of the failing (non-exempted) checks, in catalogue order, unique.
  std::vector<std::string_view> FailedChecks() const;
};

Verdict Evaluate(const Workload& workload, const Profile& profile);
// The same into a Verdict the caller keeps across calls (a webhook worker):
// `out`'s earlier findings are overwritten in place, their strings keeping
// their capacity, and the surplus is dropped; afterwards `out` equals what
// Evaluate() returns.
void EvaluateInto(const Workload& workload, const Profile& profile, Verdict* out);

// Ids named in the workload's invar.dev/exempt annotations (object and pod
// template) that are not in the catalogue, in order, unique. Evaluate()
// ignores them; the report and the webhook warn about them.
std::vector<std::string> UnknownExemptIds(const Workload& workload);

}  // namespace invar::policy
