// SPDX-License-Identifier: Apache-2.0
// CheckAppliesTo (see applicability.h): the Windows and user-namespace
// relaxations of the Pod Security Standards, as PSA's check_*.go files apply
// them. evaluate.cpp skips the same checks under the same conditions; the
// report tests hold the two together (Applicability.* in tests/unit/report).
#include "invar/policy/applicability.h"

#include "check_index.h"
#include "profile_internal.h"

#include <span>
#include <string_view>

namespace invar::policy {
namespace {

constexpr int kWindowsRelaxedSince = 25;   // check_allowPrivilegeEscalation.go & co. (1.25)
constexpr int kUserNsRelaxedSince = 35;    // check_runAsNonRoot.go & co. (1.35)

constexpr std::string_view kWindowsRelaxed[] = {"allowPrivilegeEscalation", "seccompProfile_restricted",
                                                "capabilities_restricted"};
constexpr std::string_view kUserNsRelaxed[] = {"procMount", "runAsNonRoot", "runAsUser"};

bool In(std::string_view id, std::span<const std::string_view> ids) {
  for (auto x : ids) {
    if (x == id) return true;
  }
  return false;
}

}  // namespace

bool CheckAppliesTo(const CheckInfo& check, const Workload& workload, int minor) {
  if (!check.pss) return true;
  if (minor >= kWindowsRelaxedSince && workload.spec.os_name == "windows" && In(check.id, kWindowsRelaxed)) {
    return false;
  }
  const bool user_ns = workload.spec.host_users.has_value() && !*workload.spec.host_users;
  if (minor >= kUserNsRelaxedSince && user_ns && In(check.id, kUserNsRelaxed)) return false;
  return true;
}

std::vector<const CheckInfo*> ApplicableChecks(const Workload& workload, const Profile& profile) {
  const int minor = profile.version.Effective();
  const CheckMask mask = GateByVersion(ProfileMask(profile), minor);
  std::vector<const CheckInfo*> out;
  auto catalogue = Catalogue();
  for (size_t i = 0; i < catalogue.size(); ++i) {
    if ((mask & Bit(static_cast<CheckIndex>(i))) == 0) continue;
    if (CheckAppliesTo(catalogue[i], workload, minor)) out.push_back(&catalogue[i]);
  }
  return out;
}

}  // namespace invar::policy
