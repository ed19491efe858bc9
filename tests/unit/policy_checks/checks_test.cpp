// SPDX-License-Identifier: Apache-2.0
// Every check, pass and fail, on every container list (init, regular,
// ephemeral), at every policy version v1.0 ... v1.37, with the JSON path and
// the container of each finding; plus the version boundaries FACTS.md lists.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "invar/policy/evaluate.h"
#include "invar/policy/profile.h"
#include "workload_builder.h"

namespace invar::policy {
namespace {

using testing::Caps;
using testing::PodSc;
using testing::Sc;
using testing::WorkloadBuilder;

constexpr std::string_view kDigest =
    "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// A container that passes every check of the immutable profile.
void Harden(Container& c) {
  auto& sc = Sc(c);
  sc.run_as_non_root = true;
  sc.allow_privilege_escalation = false;
  sc.seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
  sc.read_only_root_filesystem = true;
  Caps(c).drop = {"ALL"};
  c.image = "registry.example/app" + std::string(kDigest);
}

// One hardened container of each kind, in a Deployment.
Workload HardenedDeployment() {
  return WorkloadBuilder("Deployment")
      .Init("setup")
      .With(Harden)
      .Regular("app")
      .With(Harden)
      .Ephemeral("debug")
      .With(Harden);
}

Verdict RunProfile(const Workload& w, std::string_view profile, int minor) {
  auto p = BuiltinProfile(profile, PssVersion::V1(minor));
  EXPECT_TRUE(p.ok()) << profile;
  return Evaluate(w, *p);
}

Container& Of(Workload& w, ContainerKind kind) {
  auto& list = kind == ContainerKind::kInit      ? w.spec.init_containers
               : kind == ContainerKind::kRegular ? w.spec.containers
                                                 : w.spec.ephemeral_containers;
  return list.at(0);
}

std::string Describe(const Verdict& v) {
  std::string s;
  for (const auto& f : v.findings) s += "\n  " + std::string(f.check->id) + " " + f.path + ": " + f.message;
  return s;
}

TEST(Workload, HardenedDeploymentPassesEveryProfileAtEveryVersion) {
  for (int minor = 0; minor <= PssVersion::kLatestMinor; ++minor) {
    for (auto profile : {"privileged", "baseline", "restricted", "immutable"}) {
      Verdict v = RunProfile(HardenedDeployment(), profile, minor);
      EXPECT_TRUE(v.findings.empty()) << profile << " v1." << minor << Describe(v);
      EXPECT_TRUE(v.Allowed());
    }
  }
}

// ---- container-level checks, table driven ----

struct ContainerCase {
  std::string name;          // test label
  std::string_view profile;  // the lowest built-in that runs the check
  std::string_view check;
  int from, to;  // fails at policy versions [from, to]; passes outside
  std::function<void(Container&)> breaks;
  std::string path;  // relative to the container
};

std::vector<ContainerCase> ContainerCases() {
  constexpr int kLast = PssVersion::kLatestMinor;
  return {
      {"Privileged", "baseline", "privileged", 0, kLast, [](Container& c) { Sc(c).privileged = true; },
       "securityContext.privileged"},
      {"AddNetRaw", "baseline", "capabilities_baseline", 0, kLast,
       [](Container& c) { Caps(c).add = {"NET_RAW"}; }, "securityContext.capabilities.add[0]"},
      {"HostPort", "baseline", "hostPorts", 0, kLast,
       [](Container& c) {
         c.ports = {{80, 8080}};
       },
       "ports[0].hostPort"},
      {"AppArmorUnconfined", "baseline", "appArmorProfile", 0, kLast,
       [](Container& c) {
         Sc(c).app_armor_profile = AppArmorProfile{"Unconfined", ""};
       },
       "securityContext.appArmorProfile.type"},
      {"SeLinuxSpcT", "baseline", "seLinuxOptions", 0, kLast,
       [](Container& c) {
         Sc(c).se_linux_options = SELinuxOptions{"", "", "spc_t", ""};
       },
       "securityContext.seLinuxOptions.type"},
      {"SeLinuxEngineTBefore131", "baseline", "seLinuxOptions", 0, 30,
       [](Container& c) {
         Sc(c).se_linux_options = SELinuxOptions{"", "", "container_engine_t", ""};
       },
       "securityContext.seLinuxOptions.type"},
      {"SeLinuxUser", "baseline", "seLinuxOptions", 0, kLast,
       [](Container& c) {
         Sc(c).se_linux_options = SELinuxOptions{"system_u", "", "", ""};
       },
       "securityContext.seLinuxOptions.user"},
      {"ProcMountUnmasked", "baseline", "procMount", 0, kLast,
       [](Container& c) { Sc(c).proc_mount = "Unmasked"; }, "securityContext.procMount"},
      {"SeccompUnconfinedField", "baseline", "seccompProfile_baseline", 19, kLast,
       [](Container& c) {
         Sc(c).seccomp_profile = SeccompProfile{"Unconfined", ""};
       },
       "securityContext.seccompProfile.type"},
      {"WindowsHostProcess", "baseline", "windowsHostProcess", 0, kLast,
       [](Container& c) { Sc(c).windows_options = WindowsOptions{true}; },
       "securityContext.windowsOptions.hostProcess"},
      {"ProbeHost", "baseline", "hostProbesAndHostLifecycle", 34, kLast,
       [](Container& c) {
         c.handler_hosts = {{"readinessProbe.httpGet.host", "169.254.169.254"}};
       },
       "readinessProbe.httpGet.host"},
      {"LifecycleHost", "baseline", "hostProbesAndHostLifecycle", 34, kLast,
       [](Container& c) {
         c.handler_hosts = {{"lifecycle.preStop.tcpSocket.host", "10.0.0.1"}};
       },
       "lifecycle.preStop.tcpSocket.host"},
      {"PrivilegeEscalationUnset", "restricted", "allowPrivilegeEscalation", 8, kLast,
       [](Container& c) { Sc(c).allow_privilege_escalation.reset(); },
       "securityContext.allowPrivilegeEscalation"},
      {"PrivilegeEscalationTrue", "restricted", "allowPrivilegeEscalation", 8, kLast,
       [](Container& c) { Sc(c).allow_privilege_escalation = true; },
       "securityContext.allowPrivilegeEscalation"},
      {"RunAsNonRootUnset", "restricted", "runAsNonRoot", 0, kLast,
       [](Container& c) { Sc(c).run_as_non_root.reset(); }, "securityContext.runAsNonRoot"},
      {"RunAsNonRootFalse", "restricted", "runAsNonRoot", 0, kLast,
       [](Container& c) { Sc(c).run_as_non_root = false; }, "securityContext.runAsNonRoot"},
      {"SeccompUnset", "restricted", "seccompProfile_restricted", 19, kLast,
       [](Container& c) { Sc(c).seccomp_profile.reset(); }, "securityContext.seccompProfile.type"},
      {"NoDropAll", "restricted", "capabilities_restricted", 22, kLast,
       [](Container& c) { Caps(c).drop = {"NET_RAW"}; }, "securityContext.capabilities.drop"},
      {"AddNetBindAndChown", "restricted", "capabilities_restricted", 22, kLast,
       [](Container& c) {
         Caps(c).add = {"NET_BIND_SERVICE", "CHOWN"};
       },
       "securityContext.capabilities.add[1]"},
      {"RunAsUserRoot", "restricted", "runAsUser", 23, kLast, [](Container& c) { Sc(c).run_as_user = 0; },
       "securityContext.runAsUser"},
      {"WritableRootUnset", "immutable", "readOnlyRootFilesystem", 0, kLast,
       [](Container& c) { Sc(c).read_only_root_filesystem.reset(); },
       "securityContext.readOnlyRootFilesystem"},
      {"WritableRootFalse", "immutable", "readOnlyRootFilesystem", 0, kLast,
       [](Container& c) { Sc(c).read_only_root_filesystem = false; },
       "securityContext.readOnlyRootFilesystem"},
      {"ImageByTag", "immutable", "imageDigest", 0, kLast, [](Container& c) { c.image = "nginx:1.25"; },
       "image"},
      {"ImageShortDigest", "immutable", "imageDigest", 0, kLast,
       [](Container& c) { c.image = "nginx@sha256:0123"; }, "image"},
  };
}

class ContainerChecks : public ::testing::TestWithParam<std::tuple<size_t, ContainerKind>> {};

TEST_P(ContainerChecks, FailExactlyInTheirVersionRangeWithFullPath) {
  const auto cases = ContainerCases();
  const auto& tc = cases.at(std::get<0>(GetParam()));
  const ContainerKind kind = std::get<1>(GetParam());
  Workload w = HardenedDeployment();
  Container& target = Of(w, kind);
  tc.breaks(target);
  const std::string expected_path =
      "spec.template.spec." + std::string(ContainerListField(kind)) + "[0]." + tc.path;
  for (int minor = 0; minor <= PssVersion::kLatestMinor; ++minor) {
    Verdict v = RunProfile(w, tc.profile, minor);
    if (minor < tc.from || minor > tc.to) {
      EXPECT_TRUE(v.findings.empty()) << tc.name << " at v1." << minor << Describe(v);
      continue;
    }
    ASSERT_EQ(v.FailedChecks(), std::vector<std::string_view>{tc.check})
        << tc.name << " at v1." << minor << Describe(v);
    ASSERT_EQ(v.findings.size(), 1u) << Describe(v);
    EXPECT_EQ(v.findings[0].path, expected_path);
    EXPECT_EQ(v.findings[0].container, target.name);
    EXPECT_NE(v.findings[0].message.find("\"" + target.name + "\""), std::string::npos)
        << v.findings[0].message;
    EXPECT_FALSE(v.findings[0].exempted);
    EXPECT_FALSE(v.Allowed());
  }
}

INSTANTIATE_TEST_SUITE_P(AllListsAllChecks, ContainerChecks,
                         ::testing::Combine(::testing::Range<size_t>(0, ContainerCases().size()),
                                            ::testing::Values(ContainerKind::kInit, ContainerKind::kRegular,
                                                              ContainerKind::kEphemeral)),
                         [](const ::testing::TestParamInfo<std::tuple<size_t, ContainerKind>>& param_info) {
                           std::string kind(ContainerListField(std::get<1>(param_info.param)));
                           return ContainerCases().at(std::get<0>(param_info.param)).name + "_" + kind;
                         });

// ---- pod-level checks ----

TEST(PodChecks, HostNamespacesNameEachField) {
  Workload w = HardenedDeployment();
  w.spec.host_network = true;
  w.spec.host_pid = false;
  w.spec.host_ipc = true;
  Verdict v = RunProfile(w, "baseline", 0);
  ASSERT_EQ(v.findings.size(), 2u);
  EXPECT_EQ(v.findings[0].path, "spec.template.spec.hostNetwork");
  EXPECT_EQ(v.findings[1].path, "spec.template.spec.hostIPC");
  EXPECT_TRUE(v.findings[0].container.empty());
}

TEST(PodChecks, HostPathVolumeIsBaselineAndRestrictedVolumesAtRestricted) {
  Workload w = WorkloadBuilder("Pod")
                   .Regular("app")
                   .With(Harden)
                   .Volume("cfg", "configMap")
                   .Volume("x", "emptyDir")
                   .Volume("docker", "hostPath", "/var/run/docker.sock");
  Verdict b = RunProfile(w, "baseline", 20);
  ASSERT_EQ(b.FailedChecks(), std::vector<std::string_view>{"hostPathVolumes"});
  EXPECT_EQ(b.findings[0].path, "spec.volumes[2].hostPath");
  EXPECT_NE(b.findings[0].message.find("/var/run/docker.sock"), std::string::npos);
  // restrictedVolumes overrides hostPathVolumes at restricted (PSA OverrideCheckIDs, 1.0+).
  Verdict r = RunProfile(w, "restricted", 20);
  ASSERT_EQ(r.FailedChecks(), std::vector<std::string_view>{"restrictedVolumes"});
  EXPECT_EQ(r.findings[0].path, "spec.volumes[2].hostPath");
}

TEST(PodChecks, VolumeWithoutSourceIsTreatedAsEmptyDir) {
  Workload w = WorkloadBuilder("Pod").Regular("app").With(Harden).Volume("scratch", "");
  EXPECT_TRUE(RunProfile(w, "restricted", 37).findings.empty());
}

TEST(PodChecks, RestrictedVolumesRejectsNfsWithPath) {
  Workload w = WorkloadBuilder("Pod").Regular("app").With(Harden).Volume("data", "nfs");
  Verdict v = RunProfile(w, "restricted", 0);
  ASSERT_EQ(v.FailedChecks(), std::vector<std::string_view>{"restrictedVolumes"});
  EXPECT_EQ(v.findings[0].path, "spec.volumes[0].nfs");
  EXPECT_TRUE(RunProfile(w, "baseline", 37).findings.empty());
}

struct SysctlCase {
  std::string_view name;
  int safe_from;
};

TEST(PodChecks, SysctlSafeListGrowsAt127And129And132And137) {
  const SysctlCase cases[] = {
      {"kernel.shm_rmid_forced", 0},
      {"net.ipv4.ip_local_port_range", 0},
      {"net.ipv4.tcp_syncookies", 0},
      {"net.ipv4.ping_group_range", 0},
      {"net.ipv4.ip_unprivileged_port_start", 0},
      {"net.ipv4.ip_local_reserved_ports", 27},
      {"net.ipv4.tcp_keepalive_time", 29},
      {"net.ipv4.tcp_fin_timeout", 29},
      {"net.ipv4.tcp_keepalive_intvl", 29},
      {"net.ipv4.tcp_keepalive_probes", 29},
      {"net.ipv4.tcp_rmem", 32},
      {"net.ipv4.tcp_wmem", 32},
      {"net.ipv4.tcp_slow_start_after_idle", 37},
      {"net.ipv4.tcp_notsent_lowat", 37},
      {"kernel.msgmax", 99},
      {"net.ipv4/tcp_syncookies", 99},
  };
  for (const auto& c : cases) {
    Workload w = HardenedDeployment();
    PodSc(w).sysctls = {"kernel.shm_rmid_forced", std::string(c.name)};
    for (int minor = 0; minor <= PssVersion::kLatestMinor; ++minor) {
      Verdict v = RunProfile(w, "baseline", minor);
      if (minor >= c.safe_from) {
        EXPECT_TRUE(v.findings.empty()) << c.name << " v1." << minor;
      } else {
        ASSERT_EQ(v.findings.size(), 1u) << c.name << " v1." << minor;
        EXPECT_EQ(v.findings[0].check->id, "sysctls");
        EXPECT_EQ(v.findings[0].path, "spec.template.spec.securityContext.sysctls[1].name");
        EXPECT_NE(v.findings[0].message.find(std::string(c.name)), std::string::npos);
      }
    }
  }
}

TEST(PodChecks, PodLevelSecurityContextFieldsHavePodPaths) {
  Workload w = HardenedDeployment();
  auto& psc = PodSc(w);
  psc.run_as_non_root = false;
  psc.run_as_user = 0;
  psc.seccomp_profile = SeccompProfile{"Unconfined", ""};
  psc.se_linux_options = SELinuxOptions{"", "sysadm_r", "", ""};
  psc.app_armor_profile = AppArmorProfile{"Unconfined", ""};
  psc.windows_options = WindowsOptions{true};
  Verdict v = RunProfile(w, "restricted", PssVersion::kLatestMinor);
  std::vector<std::string> paths;
  for (const auto& f : v.findings) paths.push_back(std::string(f.check->id) + " " + f.path);
  const std::vector<std::string> expected = {
      "appArmorProfile spec.template.spec.securityContext.appArmorProfile.type",
      "seLinuxOptions spec.template.spec.securityContext.seLinuxOptions.role",
      "windowsHostProcess spec.template.spec.securityContext.windowsOptions.hostProcess",
      "runAsNonRoot spec.template.spec.securityContext.runAsNonRoot",
      "seccompProfile_restricted spec.template.spec.securityContext.seccompProfile.type",
      "runAsUser spec.template.spec.securityContext.runAsUser",
  };
  EXPECT_EQ(paths, expected);
}

TEST(PodChecks, RunAsNonRootAtPodLevelCoversContainersThatDoNotSetIt) {
  Workload w = HardenedDeployment();
  for (auto* c : {&w.spec.init_containers[0], &w.spec.containers[0], &w.spec.ephemeral_containers[0]}) {
    Sc(*c).run_as_non_root.reset();
  }
  Verdict before = RunProfile(w, "restricted", 37);
  EXPECT_EQ(before.findings.size(), 3u) << Describe(before);
  PodSc(w).run_as_non_root = true;
  EXPECT_TRUE(RunProfile(w, "restricted", 37).findings.empty());
  // An explicit false on a container still fails under a pod-level true.
  Sc(w.spec.containers[0]).run_as_non_root = false;
  Verdict after = RunProfile(w, "restricted", 37);
  ASSERT_EQ(after.findings.size(), 1u);
  EXPECT_EQ(after.findings[0].path, "spec.template.spec.containers[0].securityContext.runAsNonRoot");
}

TEST(PodChecks, SeccompAtPodLevelCoversContainersThatDoNotSetIt) {
  Workload w = HardenedDeployment();
  for (auto* c : {&w.spec.init_containers[0], &w.spec.containers[0], &w.spec.ephemeral_containers[0]}) {
    Sc(*c).seccomp_profile.reset();
  }
  EXPECT_EQ(RunProfile(w, "restricted", 19).FailedChecks(),
            std::vector<std::string_view>{"seccompProfile_restricted"});
  EXPECT_TRUE(RunProfile(w, "restricted", 18).findings.empty());
  PodSc(w).seccomp_profile = SeccompProfile{"Localhost", "profiles/audit.json"};
  EXPECT_TRUE(RunProfile(w, "restricted", 19).findings.empty());
}

// ---- version boundaries ----

TEST(Boundaries, SeccompAnnotationsBefore119FieldsFrom119) {
  Workload w = HardenedDeployment();
  w.pod_annotations.Set("seccomp.security.alpha.kubernetes.io/pod", "unconfined");
  w.pod_annotations.Set("container.seccomp.security.alpha.kubernetes.io/app", "docker/default");
  w.pod_annotations.Set("container.seccomp.security.alpha.kubernetes.io/debug", "unconfined");
  w.pod_metadata_path = "spec.template.metadata";
  Verdict v18 = RunProfile(w, "baseline", 18);
  ASSERT_EQ(v18.findings.size(), 2u) << Describe(v18);
  EXPECT_EQ(v18.findings[0].path,
            "spec.template.metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]");
  EXPECT_EQ(v18.findings[1].path,
            "spec.template.metadata.annotations[\"container.seccomp.security.alpha.kubernetes.io/debug\"]");
  EXPECT_EQ(v18.findings[1].container, "debug");
  // At restricted before 1.19 the baseline seccomp check still runs (no override yet).
  EXPECT_EQ(RunProfile(w, "restricted", 18).FailedChecks(),
            std::vector<std::string_view>{"seccompProfile_baseline"});
  // From 1.19 only the field counts.
  EXPECT_TRUE(RunProfile(w, "baseline", 19).findings.empty());
  EXPECT_TRUE(RunProfile(w, "restricted", 19).findings.empty());
}

TEST(Boundaries, CapabilitiesBaselineRunsAtRestrictedUntil122) {
  Workload w = HardenedDeployment();
  Caps(w.spec.containers[0]).add = {"SYS_ADMIN"};
  EXPECT_EQ(RunProfile(w, "restricted", 21).FailedChecks(),
            std::vector<std::string_view>{"capabilities_baseline"});
  EXPECT_EQ(RunProfile(w, "restricted", 22).FailedChecks(),
            std::vector<std::string_view>{"capabilities_restricted"});
  EXPECT_EQ(RunProfile(w, "baseline", 22).FailedChecks(),
            std::vector<std::string_view>{"capabilities_baseline"});
}

TEST(Boundaries, WindowsPodsSkipTheChecksRevisedIn125) {
  Workload w = HardenedDeployment();
  w.spec.os_name = "windows";
  for (auto* c : {&w.spec.init_containers[0], &w.spec.containers[0], &w.spec.ephemeral_containers[0]}) {
    Sc(*c).allow_privilege_escalation.reset();
    Sc(*c).seccomp_profile.reset();
    Sc(*c).capabilities.reset();
  }
  const std::vector<std::string_view> revised = {"allowPrivilegeEscalation", "seccompProfile_restricted",
                                                 "capabilities_restricted"};
  EXPECT_EQ(RunProfile(w, "restricted", 24).FailedChecks(), revised);
  EXPECT_TRUE(RunProfile(w, "restricted", 25).findings.empty()) << Describe(RunProfile(w, "restricted", 25));
  // Only spec.os.name == windows is exempt; runAsNonRoot is not revised.
  Sc(w.spec.containers[0]).run_as_non_root = false;
  EXPECT_EQ(RunProfile(w, "restricted", 25).FailedChecks(), std::vector<std::string_view>{"runAsNonRoot"});
  w.spec.os_name = "linux";
  Sc(w.spec.containers[0]).run_as_non_root = true;
  EXPECT_EQ(RunProfile(w, "restricted", 25).FailedChecks(), revised);
}

TEST(Boundaries, HostUsersFalseRelaxesFrom135) {
  Workload w = HardenedDeployment();
  w.spec.host_users = false;
  PodSc(w).run_as_user = 0;
  Sc(w.spec.containers[0]).run_as_non_root = false;
  Sc(w.spec.init_containers[0]).proc_mount = "Unmasked";
  EXPECT_EQ(RunProfile(w, "baseline", 34).FailedChecks(), std::vector<std::string_view>{"procMount"});
  EXPECT_EQ(RunProfile(w, "restricted", 34).FailedChecks(),
            (std::vector<std::string_view>{"procMount", "runAsNonRoot", "runAsUser"}));
  EXPECT_TRUE(RunProfile(w, "baseline", 35).findings.empty());
  // procMount_restricted (1.35) replaces procMount at restricted and is not relaxed.
  EXPECT_EQ(RunProfile(w, "restricted", 35).FailedChecks(),
            std::vector<std::string_view>{"procMount_restricted"});
  // hostUsers: true (or unset) gets no relaxation.
  w.spec.host_users = true;
  EXPECT_EQ(RunProfile(w, "restricted", 35).FailedChecks(),
            (std::vector<std::string_view>{"runAsNonRoot", "runAsUser", "procMount_restricted"}));
  EXPECT_EQ(RunProfile(w, "baseline", 35).FailedChecks(), std::vector<std::string_view>{"procMount"});
}

TEST(Boundaries, ChecksAbsentBeforeTheirFirstVersion) {
  Workload w = HardenedDeployment();
  Sc(w.spec.containers[0]).allow_privilege_escalation = true;
  EXPECT_TRUE(RunProfile(w, "restricted", 7).findings.empty());
  EXPECT_FALSE(RunProfile(w, "restricted", 8).findings.empty());
}

TEST(Boundaries, AppArmorAnnotationIsCheckedAtEveryVersion) {
  Workload w = WorkloadBuilder("Pod")
                   .Regular("app")
                   .With(Harden)
                   .PodAnnotation("container.apparmor.security.beta.kubernetes.io/app", "unconfined")
                   .PodAnnotation("container.apparmor.security.beta.kubernetes.io/other", "localhost/custom")
                   .PodAnnotation("container.apparmor.security.beta.kubernetes.io/empty", "");
  for (int minor = 0; minor <= PssVersion::kLatestMinor; ++minor) {
    Verdict v = RunProfile(w, "baseline", minor);
    ASSERT_EQ(v.findings.size(), 1u) << minor;
    EXPECT_EQ(v.findings[0].path,
              "metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/app\"]");
    EXPECT_EQ(v.findings[0].container, "app");
    EXPECT_NE(v.findings[0].message.find("unconfined"), std::string::npos);
  }
}

// ---- immutability ----

TEST(Immutability, ImageTagRulesWhenDigestsAreNotRequired) {
  Profile p = *BuiltinProfile("immutable");
  p.params["requireDigest"] = "false";
  struct Case {
    std::string image;
    bool ok;
  };
  const Case cases[] = {
      {"nginx:1.25", true},
      {"registry.example:5000/team/app:v2", true},
      {"nginx", false},
      {"nginx:latest", false},
      {"registry.example:5000/team/app", false},
      {"registry.example:5000/team/app:latest", false},
      {"nginx" + std::string(kDigest), true},
      {"nginx:latest" + std::string(kDigest), true},
  };
  for (const auto& c : cases) {
    Workload w = HardenedDeployment();
    w.spec.containers[0].image = c.image;
    Verdict v = Evaluate(w, p);
    if (c.ok) {
      EXPECT_TRUE(v.findings.empty()) << c.image << Describe(v);
    } else {
      ASSERT_EQ(v.FailedChecks(), std::vector<std::string_view>{"imageTag"}) << c.image;
      EXPECT_EQ(v.findings[0].path, "spec.template.spec.containers[0].image");
      EXPECT_NE(v.findings[0].message.find(c.image), std::string::npos);
    }
  }
}

TEST(Immutability, DigestMustBeSha256With64LowercaseHex) {
  const std::string hex64(64, 'a');
  struct Case {
    std::string image;
    bool ok;
  };
  const Case cases[] = {
      {"app@sha256:" + hex64, true},
      {"app:1.0@sha256:" + hex64, true},
      {"app@sha256:" + std::string(63, 'a'), false},
      {"app@sha256:" + std::string(64, 'A'), false},
      {"app@sha512:" + hex64, false},
      {"app@sha256:" + hex64 + "0", false},
      {"@sha256:" + hex64, false},
      {"", false},
  };
  for (const auto& c : cases) {
    Workload w = HardenedDeployment();
    w.spec.init_containers[0].image = c.image;
    Verdict v = RunProfile(w, "immutable", 37);
    EXPECT_EQ(v.findings.empty(), c.ok) << c.image << Describe(v);
  }
}

TEST(Immutability, WritableRootReportedOnEveryListInContainerOrder) {
  Workload w = WorkloadBuilder("CronJob")
                   .Init("a")
                   .With(Harden)
                   .Init("b")
                   .With(Harden)
                   .Regular("c")
                   .With(Harden)
                   .Ephemeral("d")
                   .With(Harden);
  for (auto* list : {&w.spec.init_containers, &w.spec.containers, &w.spec.ephemeral_containers}) {
    for (auto& c : *list) c.security_context->read_only_root_filesystem.reset();
  }
  w.spec.init_containers[0].security_context->read_only_root_filesystem = true;
  Verdict v = RunProfile(w, "immutable", 37);
  std::vector<std::string> paths;
  for (const auto& f : v.findings) paths.push_back(f.path);
  EXPECT_EQ(
      paths,
      (std::vector<std::string>{
          "spec.jobTemplate.spec.template.spec.initContainers[1].securityContext.readOnlyRootFilesystem",
          "spec.jobTemplate.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem",
          "spec.jobTemplate.spec.template.spec.ephemeralContainers[0].securityContext."
          "readOnlyRootFilesystem",
      }));
  EXPECT_NE(v.findings[0].message.find("init container \"b\""), std::string::npos) << v.findings[0].message;
  EXPECT_NE(v.findings[2].message.find("ephemeral container \"d\""), std::string::npos);
}

TEST(Findings, CatalogueOrderThenContainerOrder) {
  Workload w = HardenedDeployment();
  Sc(w.spec.ephemeral_containers[0]).privileged = true;
  Sc(w.spec.init_containers[0]).privileged = true;
  w.spec.host_pid = true;
  Sc(w.spec.containers[0]).read_only_root_filesystem = false;
  Verdict v = RunProfile(w, "immutable", 37);
  std::vector<std::string> got;
  for (const auto& f : v.findings) got.push_back(std::string(f.check->id) + "/" + f.container);
  EXPECT_EQ(got, (std::vector<std::string>{"hostNamespaces/", "privileged/setup", "privileged/debug",
                                           "readOnlyRootFilesystem/app"}));
  EXPECT_EQ(v.FailedChecks(),
            (std::vector<std::string_view>{"hostNamespaces", "privileged", "readOnlyRootFilesystem"}));
}

}  // namespace
}  // namespace invar::policy
