// SPDX-License-Identifier: Apache-2.0
// Which checks apply to a workload under a profile: the ones the profile
// runs, that exist at its policy version, that no restricted revision
// overrides there (PSA's OverrideCheckIDs), and that PSA does not relax for
// this pod. PSA exempts
// Windows pods (spec.os.name: windows) from allowPrivilegeEscalation,
// seccompProfile_restricted and capabilities_restricted from v1.25, and
// user-namespaced pods (spec.hostUsers: false) from procMount, runAsNonRoot
// and runAsUser from v1.35: such a check neither passes nor fails there, so
// Evaluate() reports nothing for it and a compliance score leaves it out of
// the denominator. Pure; thread-safe.
#pragma once

#include <vector>

#include "invar/policy/checks.h"
#include "invar/policy/model.h"
#include "invar/policy/profile.h"

namespace invar::policy {

// The relaxations alone. `minor`: the effective policy version
// (PssVersion::Effective()); whether the check exists there is not asked.
bool CheckAppliesTo(const CheckInfo& check, const Workload& workload, int minor);

// Every check that applies to `workload` under `profile`, in catalogue
// order: the denominator of a compliance score. Evaluate() can report
// findings only for these.
std::vector<const CheckInfo*> ApplicableChecks(const Workload& workload, const Profile& profile);

}  // namespace invar::policy
