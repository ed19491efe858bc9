// SPDX-License-Identifier: Apache-2.0
// The check catalogue (ids, titles, levels, severities, rationale,
// remediation) and PSS version names. Read by Evaluate(), by `invar checks`
// and by the docs generator. Static constant data: thread-safe.
//
// Severity choices (one scale for every consumer: --fail-on, SARIF levels):
//   CRITICAL  the pod can take over its node outright: privileged containers,
//             hostPath volumes (write the host's filesystem), Windows
//             HostProcess containers.
//   HIGH      a direct path to the host or a large step towards it: host
//             namespaces, added capabilities beyond the baseline set, custom
//             SELinux types/users/roles (spc_t is unconfined), unmasked
//             /proc, unsafe sysctls; and a writable root filesystem, the one
//             thing invar exists to prevent.
//   MEDIUM    weakens a defence layer but needs a second flaw to matter:
//             AppArmor/seccomp unconfined, host ports, probe/lifecycle hosts
//             (kubelet SSRF), non-restricted volume types, privilege
//             escalation, running as root, keeping default capabilities,
//             images not pinned by digest.
//   LOW       hygiene: seccomp not set explicitly (the runtime may still
//             apply its default), mutable but non-latest tags.
#include "invar/policy/checks.h"

#include <array>
#include <charconv>
#include <cstdint>

#include "check_index.h"

namespace invar::policy {
namespace {

constexpr std::array<CheckInfo, kCheckCount> kCatalogue = {{
    // ---- Pod Security Standards: baseline ----
    {"hostNamespaces", "Host Namespaces", Level::kBaseline, Severity::kHigh, 0, true,
     "Sharing the host's network, PID or IPC namespace lets a container see and talk to every process "
     "and socket on the node, which removes most of the isolation a container has.",
     "Remove spec.hostNetwork, spec.hostPID and spec.hostIPC, or set them to false."},
    {"privileged", "Privileged Containers", Level::kBaseline, Severity::kCritical, 0, true,
     "A privileged container has every capability and every device of the node; escaping to the host is "
     "trivial.",
     "Remove securityContext.privileged from the container, or set it to false."},
    {"capabilities_baseline", "Capabilities", Level::kBaseline, Severity::kHigh, 0, true,
     "Capabilities beyond the container runtime's default set (NET_RAW, SYS_ADMIN, ...) grant kernel "
     "privileges that are routinely used to escape containers.",
     "Remove from securityContext.capabilities.add every capability not in: AUDIT_WRITE, CHOWN, "
     "DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, "
     "SYS_CHROOT."},
    {"hostPathVolumes", "HostPath Volumes", Level::kBaseline, Severity::kCritical, 0, true,
     "A hostPath volume exposes the node's filesystem to the container: the container runtime socket, "
     "kubelet credentials and host binaries are one mount away.",
     "Replace the hostPath volume with a configMap, secret, emptyDir, persistentVolumeClaim or CSI "
     "volume."},
    {"hostPorts", "Host Ports", Level::kBaseline, Severity::kMedium, 0, true,
     "A host port binds directly on the node's network interfaces, bypassing network policies and "
     "Services, and limits scheduling.",
     "Remove ports[].hostPort (or set it to 0) and expose the port through a Service."},
    {"appArmorProfile", "AppArmor", Level::kBaseline, Severity::kMedium, 0, true,
     "Running unconfined removes the AppArmor profile the runtime would apply by default.",
     "Set securityContext.appArmorProfile.type to RuntimeDefault or Localhost (or remove it), and remove "
     "container.apparmor.security.beta.kubernetes.io/* annotations other than runtime/default and "
     "localhost/*."},
    {"seLinuxOptions", "SELinux", Level::kBaseline, Severity::kHigh, 0, true,
     "Custom SELinux types (spc_t is unconfined), users and roles can lift the confinement SELinux puts "
     "on containers.",
     "Remove seLinuxOptions.user and seLinuxOptions.role, and use a type of container_t, "
     "container_init_t, container_kvm_t or container_engine_t (or none)."},
    {"procMount", "/proc Mount Type", Level::kBaseline, Severity::kHigh, 0, true,
     "An Unmasked /proc exposes kernel interfaces that the default masks hide from containers.",
     "Remove securityContext.procMount or set it to Default (from v1.35 baseline allows other values "
     "for pods with spec.hostUsers: false)."},
    {"seccompProfile_baseline", "Seccomp", Level::kBaseline, Severity::kMedium, 0, true,
     "An Unconfined seccomp profile lets the container make every system call, including the rarely "
     "used ones most kernel exploits need.",
     "Set securityContext.seccompProfile.type to RuntimeDefault or Localhost, or leave it unset (before "
     "v1.19: seccomp annotations must be runtime/default, docker/default or localhost/*)."},
    {"sysctls", "Sysctls", Level::kBaseline, Severity::kHigh, 0, true,
     "Sysctls outside the namespaced safe set change kernel settings for the whole node.",
     "Remove from spec.securityContext.sysctls every name not in the safe set of the policy version."},
    {"windowsHostProcess", "HostProcess", Level::kBaseline, Severity::kCritical, 0, true,
     "A Windows HostProcess container runs directly on the node with host access.",
     "Remove securityContext.windowsOptions.hostProcess or set it to false (pod and containers)."},
    {"hostProbesAndHostLifecycle", "Host Probes / Lifecycle Hooks", Level::kBaseline, Severity::kMedium, 34,
     true,
     "A probe or lifecycle handler with a host makes the kubelet connect to an arbitrary address on "
     "the pod's behalf (server-side request forgery from the node).",
     "Remove the host field from httpGet and tcpSocket probes and lifecycle handlers."},
    // ---- Pod Security Standards: restricted ----
    {"restrictedVolumes", "Volume Types", Level::kRestricted, Severity::kMedium, 0, true,
     "Volume types other than the projected and claim-based ones give pods direct access to storage "
     "backends (nfs, iscsi, ...) without the cluster's storage controls.",
     "Use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected "
     "or secret volumes."},
    {"allowPrivilegeEscalation", "Privilege Escalation", Level::kRestricted, Severity::kMedium, 8, true,
     "Unless privilege escalation is disabled, setuid binaries and file capabilities inside the "
     "container can raise a process's privileges (no_new_privs is off).",
     "Set securityContext.allowPrivilegeEscalation: false on every container."},
    {"runAsNonRoot", "Running as Non-root", Level::kRestricted, Severity::kMedium, 0, true,
     "A container running as root needs only one more flaw to act as root on the node.",
     "Set securityContext.runAsNonRoot: true at pod level or on every container, and never set it to "
     "false."},
    {"seccompProfile_restricted", "Seccomp (restricted)", Level::kRestricted, Severity::kLow, 19, true,
     "Without an explicit seccomp profile a container may run unconfined, depending on the node's "
     "kubelet settings.",
     "Set securityContext.seccompProfile.type: RuntimeDefault (or Localhost) at pod level or on every "
     "container."},
    {"capabilities_restricted", "Capabilities (restricted)", Level::kRestricted, Severity::kMedium, 22, true,
     "The runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, ...) are more than most "
     "workloads need.",
     "Set securityContext.capabilities.drop: [\"ALL\"] on every container; add back only "
     "NET_BIND_SERVICE if needed."},
    {"runAsUser", "Running as Non-root user", Level::kRestricted, Severity::kMedium, 23, true,
     "runAsUser: 0 runs the container as root whatever runAsNonRoot says.",
     "Remove runAsUser: 0 (pod and containers) or use a non-zero UID."},
    {"procMount_restricted", "/proc Mount Type (restricted)", Level::kRestricted, Severity::kHigh, 35, true,
     "An Unmasked /proc exposes kernel interfaces, even inside a user namespace.",
     "Remove securityContext.procMount or set it to Default."},
    // ---- invar: immutability ----
    {"readOnlyRootFilesystem", "Read-only Root Filesystem", Level::kImmutable, Severity::kHigh, 0, false,
     "A writable root filesystem lets an attacker drop and run new binaries or alter the image's files; "
     "a read-only root makes the running container match its image.",
     "Set securityContext.readOnlyRootFilesystem: true on every init, regular and ephemeral container, "
     "and mount an emptyDir where the application must write."},
    {"imageDigest", "Image Pinned by Digest", Level::kImmutable, Severity::kMedium, 0, false,
     "A tag can be moved to a different image at any time; only a digest names exactly the bytes that "
     "were reviewed.",
     "Reference the image by digest: registry/name@sha256:<64 hex digits> (tag@digest is fine)."},
    {"imageTag", "Image Tag Not latest", Level::kImmutable, Severity::kLow, 0, false,
     "An image with no tag or the latest tag changes under the workload at every pull.",
     "Reference the image by an explicit version tag (not latest), or better by digest."},
}};

static_assert(kCatalogue.size() == kCheckCount);

}  // namespace

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kPrivileged:
      return "privileged";
    case Level::kBaseline:
      return "baseline";
    case Level::kRestricted:
      return "restricted";
    case Level::kImmutable:
      return "immutable";
  }
  return "unknown";
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "INFO";
    case Severity::kLow:
      return "LOW";
    case Severity::kMedium:
      return "MEDIUM";
    case Severity::kHigh:
      return "HIGH";
    case Severity::kCritical:
      return "CRITICAL";
  }
  return "UNKNOWN";
}

namespace {
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace

bool ParseSeverity(std::string_view name, Severity* out) {
  for (Severity s :
       {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (EqualsIgnoreCase(name, SeverityName(s))) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string PssVersion::ToString() const {
  if (latest) return "latest";
  return "v1." + std::to_string(minor);
}

bool ParsePssVersion(std::string_view text, PssVersion* out) {
  if (text == "latest") {
    *out = PssVersion::Latest();
    return true;
  }
  if (text.size() < 4 || text.substr(0, 3) != "v1.") return false;
  std::string_view digits = text.substr(3);
  // PSA's parser takes decimal digits only; reject "+1", "01x", " 1".
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  if (digits.size() > 1 && digits[0] == '0') return false;
  // PSA parses the minor as a Go int (64-bit): accept what it accepts.
  int64_t minor = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), minor);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return false;
  // Newer than any policy invar knows: kept as written (saturated to int),
  // Effective() clamps it to the newest version as PSA does.
  *out = PssVersion::V1(minor > INT32_MAX ? INT32_MAX : static_cast<int>(minor));
  return true;
}

std::span<const CheckInfo> Catalogue() { return kCatalogue; }

const CheckInfo* FindCheck(std::string_view id) {
  for (const auto& c : kCatalogue) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

}  // namespace invar::policy
