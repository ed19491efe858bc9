// SPDX-License-Identifier: Apache-2.0
// Private to invar_policy: a Profile reduced to what Evaluate() needs on the
// hot path — a bit per check that runs, after PSS version gating and PSA's
// restricted-over-baseline overrides. Pure functions: thread-safe.
#pragma once

#include "check_index.h"
#include "invar/policy/profile.h"

namespace invar::policy {

// Bits of the checks `profile` switches on (base level, enable/disable,
// requireDigest), before version gating.
CheckMask ProfileMask(const Profile& profile);

// Drops the PSS checks that do not exist at policy version 1.`minor`, then the
// baseline checks that an active restricted check overrides at that version
// (PSA's OverrideCheckIDs): restrictedVolumes > hostPathVolumes (1.0+),
// seccompProfile_restricted > seccompProfile_baseline (1.19+),
// capabilities_restricted > capabilities_baseline (1.22+),
// procMount_restricted > procMount (1.35+).
CheckMask GateByVersion(CheckMask mask, int minor);

}  // namespace invar::policy
