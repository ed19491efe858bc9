// SPDX-License-Identifier: Apache-2.0
// PSA parity: the pass/fail fixtures of k8s.io/pod-security-admission
// (test/fixtures_*.go), translated to Workloads, run at every policy version
// v1.0 ... v1.37 and at both levels, the way PSA's own test/run.go runs them:
// for each (level, version) and each check that applies there, every pass pod
// derived from the minimal valid pod must be allowed, and every fail pod must
// be forbidden by exactly that check. A fixture registered at v1.N is used for
// later versions until a newer one is registered, as in fixtures.go.
//
// The expected applicability table below is written out by hand from PSA's
// check files (MinimumVersion / OverrideCheckIDs), independently of the
// engine's own tables, so a mistake in either shows up here.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "invar/policy/evaluate.h"
#include "invar/policy/profile.h"
#include "workload_builder.h"

namespace invar::policy {
namespace {

using testing::Caps;
using testing::MinimalValidPod;
using testing::PodSc;
using testing::Sc;

using Pods = std::vector<Workload>;
using Gen = std::function<Pods(const Workload&)>;

template <typename F>
Workload Tweak(const Workload& base, F f) {
  Workload w = base;
  f(w);
  return w;
}
Container& C0(Workload& w) { return w.spec.containers.at(0); }
Container& I0(Workload& w) { return w.spec.init_containers.at(0); }

struct Fixture {
  std::string check;
  Level level;  // baseline fixtures also run at restricted (registerFixtureGenerator)
  int since;
  Gen pass;
  Gen fail;
  // Other checks a fail pod may trip as well (PSA's fixtures sometimes need
  // them to pass API validation, e.g. hostProcess requires hostNetwork).
  std::vector<std::string_view> also = {};
};

// When does a check apply? {id, level, first minor, minor from which a
// restricted check overrides it at restricted (or -1)}.
struct Applicability {
  std::string_view id;
  Level level;
  int since;
  int overridden_from;
};
constexpr Applicability kApplicability[] = {
    {"hostNamespaces", Level::kBaseline, 0, -1},
    {"privileged", Level::kBaseline, 0, -1},
    {"capabilities_baseline", Level::kBaseline, 0, 22},
    {"hostPathVolumes", Level::kBaseline, 0, 0},
    {"hostPorts", Level::kBaseline, 0, -1},
    {"appArmorProfile", Level::kBaseline, 0, -1},
    {"seLinuxOptions", Level::kBaseline, 0, -1},
    {"procMount", Level::kBaseline, 0, 35},
    {"seccompProfile_baseline", Level::kBaseline, 0, 19},
    {"sysctls", Level::kBaseline, 0, -1},
    {"windowsHostProcess", Level::kBaseline, 0, -1},
    {"hostProbesAndHostLifecycle", Level::kBaseline, 34, -1},
    {"restrictedVolumes", Level::kRestricted, 0, -1},
    {"allowPrivilegeEscalation", Level::kRestricted, 8, -1},
    {"runAsNonRoot", Level::kRestricted, 0, -1},
    {"seccompProfile_restricted", Level::kRestricted, 19, -1},
    {"capabilities_restricted", Level::kRestricted, 22, -1},
    {"runAsUser", Level::kRestricted, 23, -1},
    {"procMount_restricted", Level::kRestricted, 35, -1},
};

bool Applies(std::string_view id, Level level, int minor) {
  for (const auto& a : kApplicability) {
    if (a.id != id) continue;
    if (a.level > level || a.since > minor) return false;
    if (level == Level::kRestricted && a.overridden_from >= 0 && minor >= a.overridden_from) return false;
    return true;
  }
  ADD_FAILURE() << "no applicability row for " << id;
  return false;
}

Pods One(Workload w) { return {std::move(w)}; }

std::vector<Fixture> Fixtures() {
  std::vector<Fixture> f;

  // fixtures_hostNamespaces.go
  f.push_back({"hostNamespaces", Level::kBaseline, 0,
               [](const Workload& p) {
                 return One(Tweak(p, [](Workload& w) {
                   w.spec.host_network = false;
                   w.spec.host_pid = false;
                   w.spec.host_ipc = false;
                 }));
               },
               [](const Workload& p) {
                 return Pods{Tweak(p, [](Workload& w) { w.spec.host_network = true; }),
                             Tweak(p, [](Workload& w) { w.spec.host_pid = true; }),
                             Tweak(p, [](Workload& w) { w.spec.host_ipc = true; })};
               }});

  // fixtures_privileged.go
  f.push_back({"privileged", Level::kBaseline, 0,
               [](const Workload& p) {
                 return One(Tweak(p, [](Workload& w) {
                   Sc(C0(w)).privileged = false;
                   Sc(I0(w)).privileged = false;
                 }));
               },
               [](const Workload& p) {
                 return Pods{Tweak(p, [](Workload& w) { Sc(C0(w)).privileged = true; }),
                             Tweak(p, [](Workload& w) { Sc(I0(w)).privileged = true; })};
               }});

  // fixtures_capabilities_baseline.go
  f.push_back({"capabilities_baseline", Level::kBaseline, 0,
               [](const Workload& p) {
                 std::vector<std::string> allowed = {
                     "AUDIT_WRITE",      "CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",      "MKNOD",
                     "NET_BIND_SERVICE", "SETFCAP", "SETGID",       "SETPCAP", "SETUID", "SYS_CHROOT"};
                 return One(Tweak(p, [&](Workload& w) {
                   Caps(C0(w)).add = allowed;
                   Caps(I0(w)).add = allowed;
                 }));
               },
               [](const Workload& p) {
                 return Pods{Tweak(p, [](Workload& w) { Caps(C0(w)).add = {"NET_RAW"}; }),
                             Tweak(p, [](Workload& w) { Caps(I0(w)).add = {"NET_RAW"}; }),
                             Tweak(p, [](Workload& w) { Caps(C0(w)).add = {"SYS_ADMIN"}; }),
                             // PSA compares names literally: the CAP_ prefix is not the allowed spelling.
                             Tweak(p, [](Workload& w) { Caps(C0(w)).add = {"CAP_CHOWN"}; })};
               }});

  // fixtures_hostPathVolumes.go
  f.push_back(
      {"hostPathVolumes", Level::kBaseline, 0,
       [](const Workload& p) {
         return One(Tweak(p, [](Workload& w) { w.spec.volumes = {{"volume-emptydir", "emptyDir", ""}}; }));
       },
       [](const Workload& p) {
         return One(Tweak(p, [](Workload& w) { w.spec.volumes = {{"volume-hostpath", "hostPath", "/a"}}; }));
       }});

  // fixtures_hostPorts.go
  f.push_back({"hostPorts", Level::kBaseline, 0,
               [](const Workload& p) {
                 return One(Tweak(p, [](Workload& w) {
                   C0(w).ports = {{12345, std::nullopt}};
                   I0(w).ports = {{12346, 0}};
                 }));
               },
               [](const Workload& p) {
                 return Pods{Tweak(p,
                                   [](Workload& w) {
                                     C0(w).ports = {{12345, 12345}};
                                   }),
                             Tweak(p, [](Workload& w) {
                               I0(w).ports = {{12346, 12346}};
                             })};
               }});

  // fixtures_appArmorProfile.go (annotation and field forms)
  const std::string aa = "container.apparmor.security.beta.kubernetes.io/";
  f.push_back({"appArmorProfile", Level::kBaseline, 0,
               [aa](const Workload& p) {
                 return Pods{Tweak(p,
                                   [&](Workload& w) {
                                     w.pod_annotations.Set(aa + C0(w).name, "runtime/default");
                                     w.pod_annotations.Set(aa + I0(w).name, "localhost/foo");
                                   }),
                             Tweak(p, [](Workload& w) {
                               PodSc(w).app_armor_profile = AppArmorProfile{"RuntimeDefault", ""};
                               Sc(C0(w)).app_armor_profile = AppArmorProfile{"Localhost", "foo"};
                             })};
               },
               [aa](const Workload& p) {
                 return Pods{
                     Tweak(p, [&](Workload& w) { w.pod_annotations.Set(aa + C0(w).name, "unconfined"); }),
                     Tweak(p, [&](Workload& w) { w.pod_annotations.Set(aa + I0(w).name, "unconfined"); }),
                     Tweak(p,
                           [](Workload& w) {
                             PodSc(w).app_armor_profile = AppArmorProfile{"Unconfined", ""};
                           }),
                     Tweak(p,
                           [](Workload& w) {
                             Sc(C0(w)).app_armor_profile = AppArmorProfile{"Unconfined", ""};
                           }),
                     Tweak(p, [](Workload& w) {
                       Sc(I0(w)).app_armor_profile = AppArmorProfile{"Unconfined", ""};
                     })};
               }});

  // fixtures_seLinuxOptions.go (1.0 and 1.31)
  auto selinux_fail = [](const Workload& p) {
    Pods pods;
    for (std::string field : {"type", "user", "role"}) {
      auto set = [field](SELinuxOptions& o) {
        (field == "type" ? o.type : field == "user" ? o.user : o.role) = "somevalue";
      };
      pods.push_back(Tweak(p, [&](Workload& w) { set(PodSc(w).se_linux_options.emplace()); }));
      pods.push_back(Tweak(p, [&](Workload& w) { set(Sc(C0(w)).se_linux_options.emplace()); }));
      pods.push_back(Tweak(p, [&](Workload& w) { set(Sc(I0(w)).se_linux_options.emplace()); }));
    }
    return pods;
  };
  auto selinux_pass = [](const Workload& p, bool engine) {
    Pods pods{Tweak(p,
                    [](Workload& w) {
                      PodSc(w).se_linux_options = SELinuxOptions{"", "", "", "somevalue"};
                    }),
              Tweak(p, [](Workload& w) {
                PodSc(w).se_linux_options = SELinuxOptions{"", "", "container_t", ""};
                Sc(C0(w)).se_linux_options = SELinuxOptions{"", "", "container_init_t", ""};
                Sc(I0(w)).se_linux_options = SELinuxOptions{"", "", "container_kvm_t", ""};
              })};
    if (engine) {
      pods.push_back(Tweak(p, [](Workload& w) {
        Sc(C0(w)).se_linux_options = SELinuxOptions{"", "", "container_engine_t", ""};
      }));
    }
    return pods;
  };
  f.push_back({"seLinuxOptions", Level::kBaseline, 0,
               [=](const Workload& p) { return selinux_pass(p, false); }, selinux_fail});
  f.push_back({"seLinuxOptions", Level::kBaseline, 31,
               [=](const Workload& p) { return selinux_pass(p, true); }, selinux_fail});

  // fixtures_procMount.go: baseline 1.0 and 1.35, restricted 1.35.
  auto unmasked = [](Container& c) { Sc(c).proc_mount = "Unmasked"; };
  auto default_both_userns = [](const Workload& p) {
    return One(Tweak(p, [](Workload& w) {
      Sc(C0(w)).proc_mount = "Default";
      Sc(I0(w)).proc_mount = "Default";
      w.spec.host_users = false;
    }));
  };
  auto unmasked_each = [=](const Workload& p, bool host_users) {
    return Pods{Tweak(p,
                      [&](Workload& w) {
                        unmasked(C0(w));
                        w.spec.host_users = host_users;
                      }),
                Tweak(p, [&](Workload& w) {
                  unmasked(I0(w));
                  w.spec.host_users = host_users;
                })};
  };
  f.push_back({"procMount", Level::kBaseline, 0, default_both_userns,
               [=](const Workload& p) { return unmasked_each(p, false); }});
  f.push_back({"procMount", Level::kBaseline, 35,
               [=](const Workload& p) {
                 Pods pods = default_both_userns(p);
                 pods.push_back(Tweak(p, [&](Workload& w) {
                   unmasked(C0(w));
                   unmasked(I0(w));
                   w.spec.host_users = false;
                 }));
                 return pods;
               },
               [=](const Workload& p) { return unmasked_each(p, true); }});
  f.push_back({"procMount_restricted", Level::kRestricted, 35, default_both_userns,
               [=](const Workload& p) { return unmasked_each(p, false); }});

  // fixtures_seccompProfile_baseline.go: annotations (1.0), fields (1.19).
  f.push_back(
      {"seccompProfile_baseline", Level::kBaseline, 0,
       [](const Workload& p) {
         return One(Tweak(p, [](Workload& w) {
           w.pod_annotations.Set("seccomp.security.alpha.kubernetes.io/pod", "runtime/default");
           w.pod_annotations.Set("container.seccomp.security.alpha.kubernetes.io/" + C0(w).name,
                                 "localhost/testing");
         }));
       },
       [](const Workload& p) {
         const std::string prefix = "container.seccomp.security.alpha.kubernetes.io/";
         return Pods{
             Tweak(p,
                   [](Workload& w) {
                     w.pod_annotations.Set("seccomp.security.alpha.kubernetes.io/pod", "unconfined");
                   }),
             Tweak(p, [&](Workload& w) { w.pod_annotations.Set(prefix + C0(w).name, "unconfined"); }),
             Tweak(p, [&](Workload& w) { w.pod_annotations.Set(prefix + I0(w).name, "unconfined"); })};
       }});
  f.push_back({"seccompProfile_baseline", Level::kBaseline, 19,
               [](const Workload& p) {
                 return One(Tweak(p, [](Workload& w) {
                   PodSc(w).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                   Sc(C0(w)).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                 }));
               },
               [](const Workload& p) {
                 SeccompProfile unconfined{"Unconfined", ""};
                 return Pods{Tweak(p, [&](Workload& w) { PodSc(w).seccomp_profile = unconfined; }),
                             Tweak(p, [&](Workload& w) { Sc(C0(w)).seccomp_profile = unconfined; }),
                             Tweak(p, [&](Workload& w) { Sc(I0(w)).seccomp_profile = unconfined; })};
               }});

  // fixtures_sysctls.go: 1.0, 1.27, 1.29, 1.32 and (from FACTS.md) 1.37.
  auto sysctls_fixture = [](std::vector<std::string> names) {
    return [names](const Workload& p) {
      return Pods{Tweak(p, [](Workload& w) { PodSc(w).sysctls.clear(); }),
                  Tweak(p, [&](Workload& w) { PodSc(w).sysctls = names; })};
    };
  };
  auto sysctls_fail = [](const Workload& p) {
    return One(Tweak(p, [](Workload& w) { PodSc(w).sysctls = {"othersysctl"}; }));
  };
  std::vector<std::string> names = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                                    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
                                    "net.ipv4.ip_unprivileged_port_start"};
  f.push_back({"sysctls", Level::kBaseline, 0, sysctls_fixture(names), sysctls_fail});
  names.push_back("net.ipv4.ip_local_reserved_ports");
  f.push_back({"sysctls", Level::kBaseline, 27, sysctls_fixture(names), sysctls_fail});
  for (auto n : {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                 "net.ipv4.tcp_keepalive_probes"}) {
    names.push_back(n);
  }
  f.push_back({"sysctls", Level::kBaseline, 29, sysctls_fixture(names), sysctls_fail});
  names.push_back("net.ipv4.tcp_rmem");
  names.push_back("net.ipv4.tcp_wmem");
  f.push_back({"sysctls", Level::kBaseline, 32, sysctls_fixture(names), sysctls_fail});
  names.push_back("net.ipv4.tcp_slow_start_after_idle");
  names.push_back("net.ipv4.tcp_notsent_lowat");
  f.push_back({"sysctls", Level::kBaseline, 37, sysctls_fixture(names), sysctls_fail});

  // fixtures_windowsHostProcess.go
  f.push_back({"windowsHostProcess",
               Level::kBaseline,
               0,
               [](const Workload& p) {
                 return One(Tweak(p, [](Workload& w) {
                   PodSc(w).windows_options = WindowsOptions{false};
                   Sc(C0(w)).windows_options = WindowsOptions{false};
                 }));
               },
               [](const Workload& p) {
                 return Pods{Tweak(p, [](Workload& w) { PodSc(w).windows_options = WindowsOptions{true}; }),
                             Tweak(p, [](Workload& w) { Sc(C0(w)).windows_options = WindowsOptions{true}; }),
                             Tweak(p, [](Workload& w) { Sc(I0(w)).windows_options = WindowsOptions{true}; }),
                             // PSA's own cases set hostNetwork, as API validation requires for HostProcess.
                             Tweak(p,
                                   [](Workload& w) {
                                     w.spec.host_network = true;
                                     PodSc(w).windows_options = WindowsOptions{true};
                                   }),
                             Tweak(p, [](Workload& w) {
                               w.spec.host_network = true;
                               Sc(C0(w)).windows_options = WindowsOptions{true};
                               Sc(I0(w)).windows_options = WindowsOptions{true};
                             })};
               },
               {"hostNamespaces"}});

  // fixtures_hostProbesAndHostLifecycle.go (1.34)
  f.push_back(
      {"hostProbesAndHostLifecycle", Level::kBaseline, 34,
       [](const Workload& p) {
         return One(Tweak(p, [](Workload& w) {
           C0(w).handler_hosts = {{"livenessProbe.httpGet.host", ""}};
           I0(w).handler_hosts = {{"lifecycle.postStart.tcpSocket.host", ""}};
         }));
       },
       [](const Workload& p) {
         Pods pods;
         for (std::string probe : {"livenessProbe", "readinessProbe", "startupProbe", "lifecycle.postStart",
                                   "lifecycle.preStop"}) {
           for (std::string handler : {"httpGet", "tcpSocket"}) {
             std::string path = probe + "." + handler + ".host";
             pods.push_back(Tweak(p, [&](Workload& w) { C0(w).handler_hosts = {{path, "bad.host"}}; }));
             pods.push_back(Tweak(p, [&](Workload& w) { I0(w).handler_hosts = {{path, "bad.host"}}; }));
           }
         }
         return pods;
       }});

  // fixtures_restrictedVolumes.go
  f.push_back(
      {"restrictedVolumes", Level::kRestricted, 0,
       [](const Workload& p) {
         Pods pods;
         for (std::string type : {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                                  "persistentVolumeClaim", "projected", "secret", ""}) {
           pods.push_back(Tweak(p, [&](Workload& w) { w.spec.volumes = {{"volume-" + type, type, ""}}; }));
         }
         return pods;
       },
       [](const Workload& p) {
         Pods pods;
         for (std::string type : {"gcePersistentDisk",
                                  "awsElasticBlockStore",
                                  "gitRepo",
                                  "nfs",
                                  "iscsi",
                                  "glusterfs",
                                  "rbd",
                                  "flexVolume",
                                  "cinder",
                                  "cephfs",
                                  "flocker",
                                  "fc",
                                  "azureFile",
                                  "vsphereVolume",
                                  "quobyte",
                                  "azureDisk",
                                  "portworxVolume",
                                  "photonPersistentDisk",
                                  "scaleIO",
                                  "storageos",
                                  "hostPath"}) {
           pods.push_back(Tweak(p, [&](Workload& w) { w.spec.volumes = {{"volume-" + type, type, "/a"}}; }));
         }
         return pods;
       }});

  // fixtures_allowPrivilegeEscalation.go (1.8, 1.25 adds the Windows pass case)
  auto ape_fail = [](const Workload& p) {
    return Pods{Tweak(p, [](Workload& w) { Sc(C0(w)).allow_privilege_escalation.reset(); }),
                Tweak(p, [](Workload& w) { Sc(I0(w)).allow_privilege_escalation.reset(); }),
                Tweak(p, [](Workload& w) { Sc(C0(w)).allow_privilege_escalation = true; }),
                Tweak(p, [](Workload& w) { Sc(I0(w)).allow_privilege_escalation = true; }),
                // From PSA's fixture: no securityContext at all (from v1.22 that
                // also misses drop ALL, hence `also` below).
                Tweak(p, [](Workload& w) { C0(w).security_context.reset(); })};
  };
  f.push_back({"allowPrivilegeEscalation",
               Level::kRestricted,
               8,
               [](const Workload& p) {
                 return One(Tweak(p, [](Workload& w) {
                   Sc(C0(w)).allow_privilege_escalation = false;
                   Sc(I0(w)).allow_privilege_escalation = false;
                 }));
               },
               ape_fail,
               {"capabilities_restricted"}});
  f.push_back({"allowPrivilegeEscalation",
               Level::kRestricted,
               25,
               [](const Workload& p) {
                 return Pods{Tweak(p, [](Workload& w) {
                   w.spec.os_name = "windows";
                   Sc(C0(w)).allow_privilege_escalation.reset();
                   Sc(I0(w)).allow_privilege_escalation.reset();
                 })};
               },
               ape_fail,
               {"capabilities_restricted"}});

  // fixtures_runAsNonRoot.go (1.0; 1.35 adds the hostUsers: false pass cases)
  auto nonroot_pass = [](const Workload& p) {
    return Pods{Tweak(p,
                      [](Workload& w) {
                        PodSc(w).run_as_non_root = true;
                        Sc(C0(w)).run_as_non_root.reset();
                        Sc(I0(w)).run_as_non_root.reset();
                      }),
                Tweak(p, [](Workload& w) {
                  PodSc(w).run_as_non_root.reset();
                  Sc(C0(w)).run_as_non_root = true;
                  Sc(I0(w)).run_as_non_root = true;
                })};
  };
  auto nonroot_fail = [](const Workload& p) {
    return Pods{Tweak(p,
                      [](Workload& w) {
                        PodSc(w).run_as_non_root.reset();
                        Sc(C0(w)).run_as_non_root.reset();
                        Sc(I0(w)).run_as_non_root.reset();
                      }),
                Tweak(p, [](Workload& w) { PodSc(w).run_as_non_root = false; }),
                Tweak(p, [](Workload& w) { Sc(C0(w)).run_as_non_root = false; }),
                Tweak(p, [](Workload& w) { Sc(I0(w)).run_as_non_root = false; })};
  };
  f.push_back({"runAsNonRoot", Level::kRestricted, 0, nonroot_pass, nonroot_fail});
  f.push_back({"runAsNonRoot", Level::kRestricted, 35,
               [=](const Workload& p) {
                 Pods pods = nonroot_pass(p);
                 pods.push_back(Tweak(p, [](Workload& w) {
                   w.spec.host_users = false;
                   PodSc(w).run_as_non_root = false;
                   Sc(C0(w)).run_as_non_root.reset();
                 }));
                 return pods;
               },
               [=](const Workload& p) {
                 Pods pods = nonroot_fail(p);
                 for (auto& w : pods) w.spec.host_users = true;
                 return pods;
               }});

  // fixtures_seccompProfile_restricted.go (1.19; 1.25 adds the Windows pass case)
  auto seccomp_r_pass = [](const Workload& p) {
    return Pods{Tweak(p,
                      [](Workload& w) {
                        PodSc(w).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                      }),
                Tweak(p,
                      [](Workload& w) {
                        PodSc(w).seccomp_profile = SeccompProfile{"Localhost", "p.json"};
                      }),
                Tweak(p, [](Workload& w) {
                  PodSc(w).seccomp_profile.reset();
                  Sc(C0(w)).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                  Sc(I0(w)).seccomp_profile = SeccompProfile{"Localhost", "p.json"};
                })};
  };
  auto seccomp_r_fail = [](const Workload& p) {
    SeccompProfile unconfined{"Unconfined", ""};
    return Pods{Tweak(p, [](Workload& w) { PodSc(w).seccomp_profile.reset(); }),
                Tweak(p, [&](Workload& w) { PodSc(w).seccomp_profile = unconfined; }),
                Tweak(p, [&](Workload& w) { Sc(C0(w)).seccomp_profile = unconfined; }),
                Tweak(p, [&](Workload& w) { Sc(I0(w)).seccomp_profile = unconfined; }),
                Tweak(p,
                      [](Workload& w) {
                        PodSc(w).seccomp_profile.reset();
                        Sc(C0(w)).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                      }),
                Tweak(p,
                      [](Workload& w) {
                        PodSc(w).seccomp_profile.reset();
                        Sc(I0(w)).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                      }),
                Tweak(p, [&](Workload& w) {
                  PodSc(w).seccomp_profile.reset();
                  Sc(C0(w)).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
                  Sc(I0(w)).seccomp_profile = unconfined;
                })};
  };
  f.push_back({"seccompProfile_restricted", Level::kRestricted, 19, seccomp_r_pass, seccomp_r_fail});
  f.push_back({"seccompProfile_restricted", Level::kRestricted, 25,
               [=](const Workload& p) {
                 Pods pods = seccomp_r_pass(p);
                 pods.push_back(Tweak(p, [](Workload& w) {
                   w.spec.os_name = "windows";
                   PodSc(w).seccomp_profile.reset();
                 }));
                 return pods;
               },
               seccomp_r_fail});

  // fixtures_capabilities_restricted.go (1.22; 1.25 adds the Windows pass case)
  auto caps_r_pass = [](const Workload& p) {
    return Pods{Tweak(p, [](Workload& w) { Caps(C0(w)).drop = {"ALL"}; }), Tweak(p, [](Workload& w) {
                  Caps(C0(w)).add = {"NET_BIND_SERVICE"};
                  Caps(I0(w)).add = {"NET_BIND_SERVICE"};
                })};
  };
  auto caps_r_fail = [](const Workload& p) {
    return Pods{Tweak(p, [](Workload& w) { Sc(C0(w)).capabilities.reset(); }),
                Tweak(p, [](Workload& w) { Sc(I0(w)).capabilities.reset(); }),
                Tweak(p, [](Workload& w) { Caps(C0(w)).drop = {"NET_RAW"}; }),
                Tweak(p, [](Workload& w) { Caps(C0(w)).add = {"NET_RAW"}; }),
                Tweak(p,
                      [](Workload& w) {
                        Caps(I0(w)).add = {"SYS_ADMIN", "NET_BIND_SERVICE"};
                      }),
                // From PSA's fixture: an empty drop list, on each list.
                Tweak(p, [](Workload& w) { Caps(C0(w)).drop.clear(); }),
                Tweak(p, [](Workload& w) { Caps(I0(w)).drop.clear(); }),
                // Dropping every capability by name is not dropping ALL.
                Tweak(p,
                      [](Workload& w) {
                        const std::vector<std::string> each = {"SYS_TIME",        "SYS_MODULE",
                                                               "SYS_RAWIO",       "SYS_PACCT",
                                                               "SYS_ADMIN",       "SYS_NICE",
                                                               "SYS_RESOURCE",    "SYS_TTY_CONFIG",
                                                               "MKNOD",           "AUDIT_WRITE",
                                                               "AUDIT_CONTROL",   "MAC_OVERRIDE",
                                                               "MAC_ADMIN",       "NET_ADMIN",
                                                               "SYSLOG",          "CHOWN",
                                                               "NET_RAW",         "DAC_OVERRIDE",
                                                               "FOWNER",          "DAC_READ_SEARCH",
                                                               "FSETID",          "KILL",
                                                               "SETGID",          "SETUID",
                                                               "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
                                                               "NET_BROADCAST",   "IPC_LOCK",
                                                               "IPC_OWNER",       "SYS_CHROOT",
                                                               "SYS_PTRACE",      "SYS_BOOT",
                                                               "LEASE",           "SETFCAP",
                                                               "WAKE_ALARM",      "BLOCK_SUSPEND"};
                        Caps(C0(w)).drop = each;
                        Caps(I0(w)).drop = each;
                      }),
                // Adding back any baseline capability but NET_BIND_SERVICE.
                Tweak(p, [](Workload& w) {
                  const std::vector<std::string> baseline = {
                      "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE",     "FOWNER",  "FSETID",
                      "KILL",        "MKNOD",  "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                      "SETPCAP",     "SETUID", "SYS_CHROOT"};
                  Caps(C0(w)).add = baseline;
                  Caps(I0(w)).add = baseline;
                })};
  };
  f.push_back({"capabilities_restricted", Level::kRestricted, 22, caps_r_pass, caps_r_fail});
  f.push_back({"capabilities_restricted", Level::kRestricted, 25,
               [=](const Workload& p) {
                 Pods pods = caps_r_pass(p);
                 pods.push_back(Tweak(p, [](Workload& w) {
                   w.spec.os_name = "windows";
                   Sc(C0(w)).capabilities.reset();
                   Sc(I0(w)).capabilities.reset();
                 }));
                 return pods;
               },
               caps_r_fail});

  // fixtures_runAsUser.go (1.23; 1.35 adds the hostUsers: false pass case)
  auto user_pass = [](const Workload& p) {
    return Pods{Tweak(p,
                      [](Workload& w) {
                        PodSc(w).run_as_user = 1000;
                        Sc(C0(w)).run_as_user = 1000;
                        Sc(I0(w)).run_as_user = 1000;
                      }),
                Tweak(p, [](Workload& w) { PodSc(w).run_as_user.reset(); })};
  };
  auto user_fail = [](const Workload& p) {
    return Pods{Tweak(p, [](Workload& w) { PodSc(w).run_as_user = 0; }),
                Tweak(p, [](Workload& w) { Sc(C0(w)).run_as_user = 0; }),
                Tweak(p, [](Workload& w) { Sc(I0(w)).run_as_user = 0; })};
  };
  f.push_back({"runAsUser", Level::kRestricted, 23, user_pass, user_fail});
  f.push_back({"runAsUser", Level::kRestricted, 35,
               [=](const Workload& p) {
                 Pods pods = user_pass(p);
                 pods.push_back(Tweak(p, [](Workload& w) {
                   w.spec.host_users = false;
                   PodSc(w).run_as_user = 0;
                   Sc(C0(w)).run_as_user = 0;
                 }));
                 return pods;
               },
               user_fail});
  return f;
}

// The newest fixture for (check, level) registered at or before `minor`.
const Fixture* FindFixture(const std::vector<Fixture>& all, std::string_view check, Level level, int minor) {
  const Fixture* best = nullptr;
  for (const auto& f : all) {
    if (f.check != check || f.level > level || f.since > minor) continue;
    if (best == nullptr || f.since > best->since) best = &f;
  }
  return best;
}

std::string Describe(const Verdict& v) {
  std::string s;
  for (const auto& f : v.findings) s += "\n  " + std::string(f.check->id) + " " + f.path + ": " + f.message;
  return s;
}

class PsaFixtures : public ::testing::TestWithParam<int> {};

TEST_P(PsaFixtures, PassAndFailCasesMatchPsaAtThisVersion) {
  const int minor = GetParam();
  const auto fixtures = Fixtures();
  int pass_cases = 0, fail_cases = 0;
  for (Level level : {Level::kBaseline, Level::kRestricted}) {
    auto profile = BuiltinProfile(LevelName(level), PssVersion::V1(minor));
    ASSERT_TRUE(profile.ok());
    const Workload minimal = MinimalValidPod(level, minor);
    ASSERT_TRUE(Evaluate(minimal, *profile).findings.empty())
        << LevelName(level) << " v1." << minor << Describe(Evaluate(minimal, *profile));
    for (const auto& a : kApplicability) {
      if (!Applies(a.id, level, minor)) continue;
      const Fixture* fx = FindFixture(fixtures, a.id, level, minor);
      ASSERT_NE(fx, nullptr) << "no fixture for " << a.id << " at " << LevelName(level) << " v1." << minor;
      const Pods pass = fx->pass(minimal);
      for (size_t i = 0; i < pass.size(); ++i, ++pass_cases) {
        Verdict v = Evaluate(pass[i], *profile);
        EXPECT_TRUE(v.Allowed()) << a.id << " pass[" << i << "] at " << LevelName(level) << " v1." << minor
                                 << Describe(v);
      }
      const Pods fail = fx->fail(minimal);
      ASSERT_FALSE(fail.empty());
      for (size_t i = 0; i < fail.size(); ++i, ++fail_cases) {
        Verdict v = Evaluate(fail[i], *profile);
        bool has_check = false, only_expected = true;
        for (auto id : v.FailedChecks()) {
          if (id == a.id) {
            has_check = true;
          } else if (std::find(fx->also.begin(), fx->also.end(), id) == fx->also.end()) {
            only_expected = false;
          }
        }
        EXPECT_TRUE(has_check && only_expected)
            << a.id << " fail[" << i << "] at " << LevelName(level) << " v1." << minor << Describe(v);
      }
    }
  }
  EXPECT_GT(pass_cases, 0);
  EXPECT_GT(fail_cases, 0);
}

INSTANTIATE_TEST_SUITE_P(EveryPolicyVersion, PsaFixtures, ::testing::Range(0, PssVersion::kLatestMinor + 1),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return "v1_" + std::to_string(param_info.param);
                         });

TEST(PsaFixtures, LatestEqualsNewestVersion) {
  const auto fixtures = Fixtures();
  for (Level level : {Level::kBaseline, Level::kRestricted}) {
    auto latest = BuiltinProfile(LevelName(level), PssVersion::Latest());
    auto newest = BuiltinProfile(LevelName(level), PssVersion::V1(PssVersion::kLatestMinor));
    auto future = BuiltinProfile(LevelName(level), PssVersion::V1(PssVersion::kLatestMinor + 5));
    const Workload minimal = MinimalValidPod(level, PssVersion::kLatestMinor);
    for (const auto& fx : fixtures) {
      for (const auto& pod : fx.fail(minimal)) {
        EXPECT_EQ(Evaluate(pod, *latest).FailedChecks(), Evaluate(pod, *newest).FailedChecks());
        EXPECT_EQ(Evaluate(pod, *future).FailedChecks(), Evaluate(pod, *newest).FailedChecks());
      }
    }
  }
}

}  // namespace
}  // namespace invar::policy
