// SPDX-License-Identifier: Apache-2.0
// Private to invar_policy: the position of every check in Catalogue(), so that
// Evaluate() and Profile address checks by index (a bit in a 32-bit mask)
// instead of by string. Static data: thread-safe.
#pragma once

#include <cstdint>

namespace invar::policy {

// Must match the order of the table in checks.cpp (a static_assert there
// checks the count; a unit test checks every id).
enum CheckIndex : uint8_t {
  kHostNamespaces,
  kPrivileged,
  kCapabilitiesBaseline,
  kHostPathVolumes,
  kHostPorts,
  kAppArmorProfile,
  kSeLinuxOptions,
  kProcMount,
  kSeccompProfileBaseline,
  kSysctls,
  kWindowsHostProcess,
  kHostProbesAndHostLifecycle,
  kRestrictedVolumes,
  kAllowPrivilegeEscalation,
  kRunAsNonRoot,
  kSeccompProfileRestricted,
  kCapabilitiesRestricted,
  kRunAsUser,
  kProcMountRestricted,
  kReadOnlyRootFilesystem,
  kImageDigest,
  kImageTag,
  kCheckCount,
};

static_assert(kCheckCount <= 32, "the run mask is a uint32_t");

using CheckMask = uint32_t;
constexpr CheckMask Bit(CheckIndex i) { return CheckMask{1} << i; }

}  // namespace invar::policy
