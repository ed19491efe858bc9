// SPDX-License-Identifier: Apache-2.0
// Which checks count in a compliance score: policy::ApplicableChecks must
// list exactly the checks Evaluate() can fail (version gating, PSA's
// restricted-over-baseline overrides, the Windows and user-namespace
// relaxations), and a resource's score must leave the others out.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "invar/policy/applicability.h"
#include "invar/policy/decode.h"
#include "invar/policy/evaluate.h"
#include "invar/policy/profile.h"
#include "invar/report/report.h"

namespace invar::report {
namespace {

// A pod that fails every check of the immutable profile (hostProcess too,
// which the API server allows only on Windows; the checks do not care).
std::string FailingPod(std::string_view pod_extra) {
  return std::string(R"(apiVersion: v1
kind: Pod
metadata:
  name: everything-wrong
  namespace: default
  annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}
spec:
)") + std::string(pod_extra) +
         R"(  hostNetwork: true
  hostPID: true
  securityContext:
    sysctls: [{name: kernel.msgmax, value: "1"}]
    seLinuxOptions: {type: spc_t}
    windowsOptions: {hostProcess: true}
  volumes: [{name: h, hostPath: {path: /}}]
  containers:
  - name: app
    image: busybox:latest
    ports: [{containerPort: 80, hostPort: 80}]
    securityContext:
      privileged: true
      allowPrivilegeEscalation: true
      runAsNonRoot: false
      runAsUser: 0
      procMount: Unmasked
      capabilities: {add: [SYS_ADMIN]}
      seccompProfile: {type: Unconfined}
      appArmorProfile: {type: Unconfined}
      readOnlyRootFilesystem: false
    livenessProbe: {httpGet: {host: example.com, port: 80}}
)";
}

policy::Workload Decode(const std::string& yaml) {
  auto r = policy::DecodeYaml(yaml, "pod.yaml");
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].message);
  EXPECT_EQ(r.workloads.size(), 1u);
  return r.workloads.empty() ? policy::Workload{} : r.workloads[0];
}

std::set<std::string_view> FailedIds(const policy::Workload& w, const policy::Profile& p) {
  std::set<std::string_view> ids;
  for (auto id : policy::Evaluate(w, p).FailedChecks()) ids.insert(id);
  return ids;
}

// For a pod failing everything, the checks that apply under a profile are
// exactly the ones Evaluate() reports, at every version and built-in profile.
void ExpectApplicabilityMatchesEvaluate(const policy::Workload& w) {
  for (int minor = 0; minor <= policy::PssVersion::kLatestMinor; ++minor) {
    for (const char* name : {"baseline", "restricted", "immutable"}) {
      auto profile = policy::BuiltinProfile(name, policy::PssVersion::V1(minor));
      ASSERT_TRUE(profile.ok());
      std::set<std::string_view> applicable;
      for (const auto* c : policy::ApplicableChecks(w, *profile)) applicable.insert(c->id);
      EXPECT_EQ(applicable, FailedIds(w, *profile)) << name << " at v1." << minor;
    }
  }
}

TEST(Applicability, LinuxPodFailsEveryCheckThatExists) {
  ExpectApplicabilityMatchesEvaluate(Decode(FailingPod("")));
}

TEST(Applicability, WindowsRelaxationsMatchEvaluateAtEveryVersion) {
  ExpectApplicabilityMatchesEvaluate(Decode(FailingPod("  os: {name: windows}\n")));
}

TEST(Applicability, UserNamespaceRelaxationsMatchEvaluateAtEveryVersion) {
  ExpectApplicabilityMatchesEvaluate(Decode(FailingPod("  hostUsers: false\n")));
}

TEST(Applicability, WindowsPodFromV125DropsThreeChecksFromItsScore) {
  const auto w = Decode(FailingPod("  os: {name: windows}\n"));
  auto v124 = policy::BuiltinProfile("restricted", policy::PssVersion::V1(24));
  auto v125 = policy::BuiltinProfile("restricted", policy::PssVersion::V1(25));
  ASSERT_TRUE(v124.ok() && v125.ok());
  const ResourceResult before = EvaluateWorkload(w, *v124, "test");
  const ResourceResult after = EvaluateWorkload(w, *v125, "test");
  std::set<std::string_view> gone;
  for (const auto* c : before.applicable) gone.insert(c->id);
  for (const auto* c : after.applicable) gone.erase(c->id);
  EXPECT_EQ(gone, (std::set<std::string_view>{"allowPrivilegeEscalation", "capabilities_restricted",
                                               "seccompProfile_restricted"}));
  // Every remaining check fails: the score is 0 of what applies, not 3 "passes".
  EXPECT_EQ(after.PassedChecks(), 0);
  EXPECT_EQ(after.Score(), 0.0);
}

TEST(Applicability, UserNamespacedPodFromV135DropsThreeChecksFromItsScore) {
  const auto w = Decode(FailingPod("  hostUsers: false\n"));
  auto v135 = policy::BuiltinProfile("restricted", policy::PssVersion::V1(35));
  ASSERT_TRUE(v135.ok());
  const ResourceResult r = EvaluateWorkload(w, *v135, "test");
  for (const auto* c : r.applicable) {
    EXPECT_NE(c->id, "runAsNonRoot");
    EXPECT_NE(c->id, "runAsUser");
    EXPECT_NE(c->id, "procMount");
  }
  EXPECT_EQ(r.PassedChecks(), 0);
  EXPECT_EQ(r.Score(), 0.0);
}

}  // namespace
}  // namespace invar::report
