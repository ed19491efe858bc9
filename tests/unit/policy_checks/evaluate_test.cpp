// SPDX-License-Identifier: Apache-2.0
// Evaluate(): per-object opt-out annotations, profile exemptions by container
// name and image glob, the Verdict helpers, and paths under every kind.
#include "invar/policy/evaluate.h"

#include <gtest/gtest.h>

#include <string>

#include "invar/policy/profile.h"
#include "workload_builder.h"

namespace invar::policy {
namespace {

using testing::PodSc;
using testing::Sc;
using testing::WorkloadBuilder;

// Restricted-clean except for readOnlyRootFilesystem and the image digest.
void Restricted(Container& c) {
  auto& sc = Sc(c);
  sc.run_as_non_root = true;
  sc.allow_privilege_escalation = false;
  sc.seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
  testing::Caps(c).drop = {"ALL"};
}

Workload App(std::string_view kind = "Deployment") {
  return WorkloadBuilder(kind)
      .Regular("app", "registry.example.com/app:1.0")
      .With(Restricted)
      .Regular("istio-proxy", "docker.io/istio/proxyv2:1.20")
      .With(Restricted);
}

Profile Immutable() { return *BuiltinProfile("immutable"); }

TEST(ExemptAnnotation, ExemptsListedChecksWithTheReasonAndKeepsThem) {
  Workload w = App();
  w.metadata.annotations.Set("invar.dev/exempt", "readOnlyRootFilesystem, imageDigest");
  w.metadata.annotations.Set("invar.dev/exempt-reason", "legacy app, SEC-99");
  Verdict v = Evaluate(w, Immutable());
  ASSERT_EQ(v.findings.size(), 4u);
  for (const auto& f : v.findings) {
    EXPECT_TRUE(f.exempted) << f.path;
    EXPECT_EQ(f.exemption, "annotation invar.dev/exempt: legacy app, SEC-99");
  }
  EXPECT_TRUE(v.Allowed());
  EXPECT_TRUE(v.FailedChecks().empty());
}

TEST(ExemptAnnotation, OnlyListedChecksAreExempted) {
  Workload w = App();
  w.pod_annotations.Set("invar.dev/exempt", "imageDigest");
  Verdict v = Evaluate(w, Immutable());
  EXPECT_EQ(v.FailedChecks(), std::vector<std::string_view>{"readOnlyRootFilesystem"});
  EXPECT_FALSE(v.Allowed());
  int exempted = 0;
  for (const auto& f : v.findings) {
    if (f.exempted) {
      ++exempted;
      EXPECT_EQ(f.check->id, "imageDigest");
      EXPECT_EQ(f.exemption, "annotation invar.dev/exempt: no reason given");
    }
  }
  EXPECT_EQ(exempted, 2);
}

TEST(ExemptAnnotation, StarExemptsEverythingAndUnknownIdsAreIgnored) {
  Workload w = App();
  w.pod_annotations.Set("invar.dev/exempt", "bogus,,*, alsoBogus");
  w.pod_annotations.Set("invar.dev/exempt-reason", "break-glass INC-7");
  Verdict v = Evaluate(w, Immutable());
  EXPECT_FALSE(v.findings.empty());
  EXPECT_TRUE(v.Allowed());
  EXPECT_EQ(UnknownExemptIds(w), (std::vector<std::string>{"bogus", "alsoBogus"}));

  Workload only_unknown = App();
  only_unknown.metadata.annotations.Set("invar.dev/exempt", "readOnlyRootFilesytem");  // typo
  EXPECT_FALSE(Evaluate(only_unknown, Immutable()).Allowed());
  EXPECT_EQ(UnknownExemptIds(only_unknown), std::vector<std::string>{"readOnlyRootFilesytem"});
  EXPECT_TRUE(UnknownExemptIds(App()).empty());
}

TEST(ProfileExemptions, ByImageGlobKeepsTheFindingMarked) {
  Profile p = Immutable();
  p.name = "web";
  p.exemptions.push_back(
      {{"readOnlyRootFilesystem"}, "", "docker.io/istio/*", "mesh sidecar writes /etc/istio"});
  Verdict v = Evaluate(App(), p);
  int exempted = 0;
  for (const auto& f : v.findings) {
    if (!f.exempted) continue;
    ++exempted;
    EXPECT_EQ(f.container, "istio-proxy");
    EXPECT_EQ(f.check->id, "readOnlyRootFilesystem");
    EXPECT_EQ(f.exemption,
              "profile \"web\" exemption (image \"docker.io/istio/*\"): mesh sidecar writes /etc/istio");
  }
  EXPECT_EQ(exempted, 1);
  EXPECT_EQ(v.FailedChecks(), (std::vector<std::string_view>{"readOnlyRootFilesystem", "imageDigest"}));
}

TEST(ProfileExemptions, ByContainerNameForEveryCheck) {
  Profile p = Immutable();
  p.name = "mesh";
  p.exemptions.push_back({{}, "istio-*", "", "sidecar"});
  Verdict v = Evaluate(App(), p);
  for (const auto& f : v.findings) EXPECT_EQ(f.exempted, f.container == "istio-proxy") << f.path;
}

TEST(ProfileExemptions, ContainerScopedExemptionDoesNotCoverPodLevelFindings) {
  Workload w = App();
  w.spec.host_network = true;
  Profile p = Immutable();
  p.exemptions.push_back({{"hostNamespaces"}, "*", "", "any container"});
  Verdict v = Evaluate(w, p);
  ASSERT_EQ(v.findings[0].check->id, "hostNamespaces");
  EXPECT_FALSE(v.findings[0].exempted);
  // A checks-only exemption does cover pod-level findings.
  p.exemptions = {{{"hostNamespaces"}, "", "", "CNI daemon"}};
  EXPECT_TRUE(Evaluate(w, p).findings[0].exempted);
}

TEST(ProfileExemptions, ApplyToAnnotationFindingsThroughTheNamedContainer) {
  Workload w = WorkloadBuilder("Pod")
                   .Regular("app", "registry.example.com/app:1.0")
                   .With(Restricted)
                   .PodAnnotation("container.apparmor.security.beta.kubernetes.io/app", "unconfined");
  Profile p = *BuiltinProfile("baseline");
  p.exemptions.push_back({{"appArmorProfile"}, "", "registry.example.com/*", "needs ptrace"});
  Verdict v = Evaluate(w, p);
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_TRUE(v.findings[0].exempted);
}

TEST(Paths, FollowTheKindsPodSpecLocation) {
  struct Case {
    std::string_view kind, prefix, meta;
  };
  for (const auto& c :
       {Case{"Pod", "spec", "metadata"}, Case{"PodTemplate", "template.spec", "template.metadata"},
        Case{"StatefulSet", "spec.template.spec", "spec.template.metadata"},
        Case{"CronJob", "spec.jobTemplate.spec.template.spec", "spec.jobTemplate.spec.template.metadata"}}) {
    Workload w = WorkloadBuilder(c.kind)
                     .Init("init", "x:1")
                     .With(Restricted)
                     .Init("init2", "x:1")
                     .With([](Container& k) {
                       Restricted(k);
                       Sc(k).read_only_root_filesystem = true;
                       Sc(k).privileged = true;
                     })
                     .PodAnnotation("container.apparmor.security.beta.kubernetes.io/init", "unconfined");
    PodSc(w).sysctls = {"kernel.msgmax"};
    w.spec.volumes.push_back({"v0", "emptyDir", ""});
    w.spec.volumes.push_back({"host", "hostPath", "/"});
    Verdict v = Evaluate(w, *BuiltinProfile("baseline"));
    std::vector<std::string> paths;
    for (const auto& f : v.findings) paths.push_back(f.path);
    const std::string p(c.prefix), m(c.meta);
    EXPECT_EQ(paths, (std::vector<std::string>{
                         p + ".initContainers[1].securityContext.privileged",
                         p + ".volumes[1].hostPath",
                         m + ".annotations[\"container.apparmor.security.beta.kubernetes.io/init\"]",
                         p + ".securityContext.sysctls[0].name",
                     }))
        << c.kind;
    Verdict imm = Evaluate(w, Immutable());
    bool found = false;
    for (const auto& f : imm.findings) {
      if (f.check->id == "readOnlyRootFilesystem") {
        EXPECT_EQ(f.path, p + ".initContainers[0].securityContext.readOnlyRootFilesystem");
        found = true;
      }
    }
    EXPECT_TRUE(found) << c.kind;
  }
}

TEST(Verdicts, EnabledAndDisabledChecksApplyInEvaluate) {
  Workload w = App();
  w.spec.containers[0].ports = {{80, 80}};
  Profile p = *BuiltinProfile("baseline");
  EXPECT_EQ(Evaluate(w, p).FailedChecks(), std::vector<std::string_view>{"hostPorts"});
  p.enabled = {"readOnlyRootFilesystem", "hostPorts"};
  p.disabled = {"hostPorts"};  // disable wins over enable
  EXPECT_EQ(Evaluate(w, p).FailedChecks(), std::vector<std::string_view>{"readOnlyRootFilesystem"});
  p.enabled.push_back("imageTag");
  EXPECT_TRUE(Evaluate(w, p).FailedChecks().size() == 1u) << "both images carry a version tag";
  p.enabled.push_back("imageDigest");
  EXPECT_EQ(Evaluate(w, p).FailedChecks(),
            (std::vector<std::string_view>{"readOnlyRootFilesystem", "imageDigest"}));
}

TEST(Verdicts, PrivilegedProfileAllowsAnything) {
  Workload w = App();
  w.spec.host_pid = true;
  Sc(w.spec.containers[0]).privileged = true;
  Verdict v = Evaluate(w, *BuiltinProfile("privileged"));
  EXPECT_TRUE(v.findings.empty());
  EXPECT_TRUE(v.Allowed());
}

TEST(Verdicts, EmptyPodIsHandled) {
  Workload w = WorkloadBuilder("Pod");
  Verdict v = Evaluate(w, Immutable());
  EXPECT_TRUE(v.findings.empty());
  Workload no_paths;  // no kind, no spec_path: paths start at the pod spec fields
  no_paths.spec.host_ipc = true;
  Verdict u = Evaluate(no_paths, Immutable());
  ASSERT_EQ(u.findings.size(), 1u);
  EXPECT_EQ(u.findings[0].path, "hostIPC");
}

}  // namespace
}  // namespace invar::policy

namespace invar::policy {
namespace {

// A pod that fails every check invar has (imageDigest and imageTag both fail
// on an untagged image), so a verdict's failed ids show exactly which checks
// ran.
Workload FailsEverything() {
  Workload w = WorkloadBuilder("Pod").Regular("app", "nginx").With([](Container& c) {
    auto& sc = Sc(c);
    sc.privileged = true;
    sc.allow_privilege_escalation = true;
    sc.run_as_non_root = false;
    sc.run_as_user = 0;
    sc.proc_mount = "Unmasked";
    sc.seccomp_profile = SeccompProfile{"Unconfined", ""};
    sc.app_armor_profile = AppArmorProfile{"Unconfined", ""};
    sc.se_linux_options = SELinuxOptions{"", "", "spc_t", ""};
    sc.windows_options = WindowsOptions{true};
    testing::Caps(c).add = {"SYS_ADMIN"};
    c.ports = {{80, 80}};
    c.handler_hosts = {{"livenessProbe.httpGet.host", "10.0.0.1"}};
  });
  w.spec.host_network = true;
  w.spec.volumes = {{"host", "hostPath", "/"}, {"data", "nfs", ""}};
  w.pod_annotations.Set("seccomp.security.alpha.kubernetes.io/pod", "unconfined");  // seccomp before v1.19
  PodSc(w).sysctls = {"kernel.msgmax"};
  return w;
}

// The ids Evaluate() must report for FailsEverything(): Runs() per check,
// minus checks absent at the version, minus overridden baseline checks.
std::vector<std::string_view> Expected(const Profile& p) {
  auto active = [&](std::string_view id) {
    const CheckInfo* c = FindCheck(id);
    return p.Runs(*c) && (!c->pss || c->since_minor <= p.version.Effective());
  };
  std::vector<std::string_view> ids;
  for (const auto& c : Catalogue()) {
    if (!active(c.id)) continue;
    if ((c.id == "hostPathVolumes" && active("restrictedVolumes")) ||
        (c.id == "seccompProfile_baseline" && active("seccompProfile_restricted")) ||
        (c.id == "capabilities_baseline" && active("capabilities_restricted")) ||
        (c.id == "procMount" && active("procMount_restricted"))) {
      continue;
    }
    ids.push_back(c.id);
  }
  return ids;
}

TEST(RunSet, EvaluateRunsExactlyWhatProfileRunsSays) {
  const Workload w = FailsEverything();
  int combos = 0;
  for (auto base : {"privileged", "baseline", "restricted", "immutable"}) {
    for (int minor : {0, 18, 19, 21, 22, 24, 25, 33, 34, 35, 37}) {
      Profile plain = *BuiltinProfile(base, PssVersion::V1(minor));
      EXPECT_EQ(Evaluate(w, plain).FailedChecks(), Expected(plain)) << base << " v1." << minor;
      for (const auto& c : Catalogue()) {
        Profile off = plain;
        off.disabled = {std::string(c.id)};
        EXPECT_EQ(Evaluate(w, off).FailedChecks(), Expected(off)) << base << " -" << c.id << " v1." << minor;
        Profile on = plain;
        on.enabled = {std::string(c.id)};
        EXPECT_EQ(Evaluate(w, on).FailedChecks(), Expected(on)) << base << " +" << c.id << " v1." << minor;
        combos += 3;
      }
      Profile tag = plain;
      tag.params["requireDigest"] = "false";
      EXPECT_EQ(Evaluate(w, tag).FailedChecks(), Expected(tag)) << base << " requireDigest=false";
    }
  }
  EXPECT_GT(combos, 2000);
}

}  // namespace
}  // namespace invar::policy
