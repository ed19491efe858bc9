// SPDX-License-Identifier: Apache-2.0
// Evaluate(): runs every check a profile switches on against one Workload and
// returns all findings, with the JSON path of each offending (or missing)
// field. The PSS checks follow k8s.io/pod-security-admission's policy package
// check by check and version by version (policy/check_*.go); comments name
// the PSA revision each branch mirrors. Called by the webhook (hot path), the
// report and the agent. Pure and thread-safe: no I/O, no globals written.
//
// Cost: the passing path allocates nothing; a finding allocates its path and
// message strings only when it is emitted, and not at all when EvaluateInto()
// reuses a Verdict whose findings' strings are already large enough.
#include "invar/policy/evaluate.h"

#include <array>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "check_index.h"
#include "profile_internal.h"

namespace invar::policy {
namespace {

using std::string_view_literals::operator""sv;

bool Contains(std::span<const std::string_view> set, std::string_view v) {
  for (auto s : set) {
    if (s == v) return true;
  }
  return false;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string Quote(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q += '"';
  q += s;
  q += '"';
  return q;
}

const SecurityContext* Sc(const Container& c) { return c.security_context ? &*c.security_context : nullptr; }
const PodSecurityContext* PodSc(const PodSpec& s) {
  return s.security_context ? &*s.security_context : nullptr;
}

// ---- exemptions ----

// The parsed invar.dev/exempt annotations of one workload: a bit per known
// check id, or all. Views into the workload's annotation strings.
struct AnnotationExemption {
  CheckMask mask = 0;
  bool all = false;
  std::string_view reason;
  bool has_reason = false;
};

void ParseExemptList(std::string_view list, AnnotationExemption* out) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    if (item == "*") {
      out->all = true;
      continue;
    }
    auto catalogue = Catalogue();
    for (size_t i = 0; i < catalogue.size(); ++i) {
      if (catalogue[i].id == item) out->mask |= Bit(static_cast<CheckIndex>(i));
    }
    // Unknown ids are ignored here; UnknownExemptIds() lists them for warnings.
  }
}

AnnotationExemption ReadAnnotationExemption(const Workload& w) {
  AnnotationExemption ex;
  for (const StringMap* m : {&w.metadata.annotations, &w.pod_annotations}) {
    if (const std::string* list = m->Find(kExemptAnnotation)) {
      ParseExemptList(*list, &ex);
      if (!ex.has_reason) {
        if (const std::string* reason = m->Find(kExemptReasonAnnotation); reason && !reason->empty()) {
          ex.reason = *reason;
          ex.has_reason = true;
        }
      }
    }
  }
  return ex;
}

// ---- the evaluation context and the finding emitter ----

struct Ctx {
  const Workload& w;
  const PodSpec& spec;
  const Profile& profile;
  int minor;     // effective PSS minor version
  bool windows;  // spec.os.name == windows
  bool user_ns;  // spec.hostUsers == false
  AnnotationExemption annotation;
  std::vector<Finding>* out;
  size_t used = 0;  // findings of this evaluation in *out; the rest are a reused Verdict's old ones
  const CheckInfo* check = nullptr;
  CheckIndex index = kCheckCount;
};

std::string Join(std::string_view prefix, std::string_view rel) {
  std::string s;
  s.reserve(prefix.size() + rel.size() + 1);
  s += prefix;
  if (!prefix.empty() && !rel.empty()) s += '.';
  s += rel;
  return s;
}

// Copies a piece of a finding's path or message. Most are a few bytes
// ("[", "].", a container name): fixed-size copies inline to a load and a
// store each, where a memcpy call cost ~12 instructions per piece.
inline void CopyPiece(char* dst, std::string_view p) {
  const size_t n = p.size();
  const char* src = p.data();
  if (n >= 16) {
    std::memcpy(dst, src, n);
  } else if (n >= 8) {  // two overlapping 8-byte copies
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// *out = the pieces joined, in place: sized once, then copied piece by piece
// (a reused string keeps its capacity; a new one allocates once).
void AssignConcat(std::string* out, std::initializer_list<std::string_view> head,
                  std::initializer_list<std::string_view> tail = {}) {
  size_t size = 0;
  for (auto p : head) size += p.size();
  for (auto p : tail) size += p.size();
  if (out->capacity() < size) {
    *out = std::string(size, '\0');  // one exact allocation (resize would grow from the old capacity)
  } else {
    out->resize(size);
  }
  char* dst = out->data();
  for (auto list : {head, tail}) {
    for (auto p : list) {
      CopyPiece(dst, p);
      dst += p.size();
    }
  }
}

void AssignContainerPath(std::string* out, const Ctx& ctx, const Container& c, std::string_view rel) {
  char index[16];
  auto [end, ec] = std::to_chars(index, index + sizeof(index), c.index);
  (void)ec;  // an int always fits in 16 chars
  const std::string_view spec = ctx.w.spec_path;
  AssignConcat(out, {spec, spec.empty() ? ""sv : "."sv, ContainerListField(c.kind), "["sv,
                     std::string_view(index, static_cast<size_t>(end - index)), "]"sv,
                     rel.empty() ? ""sv : "."sv, rel});
}

std::string ContainerPath(const Ctx& ctx, const Container& c, std::string_view rel) {
  std::string s;
  AssignContainerPath(&s, ctx, c, rel);
  return s;
}

std::string AnnotationPath(const Ctx& ctx, std::string_view key) {
  std::string s = Join(ctx.w.pod_metadata_path, "annotations");
  s += "[\"";
  s += key;
  s += "\"]";
  return s;
}

std::string ContainerLabel(const Container& c) {
  switch (c.kind) {
    case ContainerKind::kInit:
      return "init container " + Quote(c.name);
    case ContainerKind::kEphemeral:
      return "ephemeral container " + Quote(c.name);
    case ContainerKind::kRegular:
      break;
  }
  return "container " + Quote(c.name);
}

const Container* FindContainer(const PodSpec& spec, std::string_view name) {
  for (auto* list : {&spec.init_containers, &spec.containers, &spec.ephemeral_containers}) {
    for (const auto& c : *list) {
      if (c.name == name) return &c;
    }
  }
  return nullptr;
}

bool ProfileExemptionMatches(const ProfileExemption& ex, const CheckInfo& check, const Container* c) {
  if (!ex.checks.empty()) {
    bool listed = false;
    for (const auto& id : ex.checks) {
      if (id == check.id || id == "*") {
        listed = true;
        break;
      }
    }
    if (!listed) return false;
  }
  if (!ex.container_name.empty() || !ex.image.empty()) {
    // A container-scoped exemption never covers pod-level findings.
    if (c == nullptr) return false;
    if (!ex.container_name.empty() && !GlobMatch(ex.container_name, c->name)) return false;
    if (!ex.image.empty() && !GlobMatch(ex.image, c->image)) return false;
  }
  return true;
}

// The next finding of this evaluation, with everything but its path and
// message filled: a reused Verdict's finding at that position (its strings
// keep their capacity) or a new one.
Finding& NewFinding(Ctx& ctx, const Container* c) {
  Finding* slot;
  if (ctx.used < ctx.out->size()) {
    slot = &(*ctx.out)[ctx.used];
    slot->exempted = false;
    slot->exemption.clear();
  } else {
    // One allocation for the usual handful of findings instead of
    // regrowing; the finding is built in place (moving a Finding is five
    // strings). Seven Findings are 1008 bytes (x86-64): up to 1032 bytes
    // glibc serves from its per-thread cache, above that malloc and free take
    // the arena's slower bins (eight were ~240 instructions per review more
    // under callgrind).
    if (ctx.out->capacity() == 0) ctx.out->reserve(7);
    slot = &ctx.out->emplace_back();
  }
  ++ctx.used;
  Finding& f = *slot;
  f.check = ctx.check;
  if (c != nullptr) {
    f.container = c->name;
  } else {
    f.container.clear();
  }
  if (ctx.annotation.all || (ctx.annotation.mask & Bit(ctx.index)) != 0) {
    f.exempted = true;
    f.exemption = "annotation ";
    f.exemption += kExemptAnnotation;
    f.exemption += ": ";
    f.exemption += ctx.annotation.has_reason ? ctx.annotation.reason : "no reason given"sv;
  } else {
    for (const auto& ex : ctx.profile.exemptions) {
      if (!ProfileExemptionMatches(ex, *ctx.check, c)) continue;
      f.exempted = true;
      f.exemption = "profile " + Quote(ctx.profile.name) + " exemption";
      std::string scope;
      if (!ex.container_name.empty()) scope += "container " + Quote(ex.container_name);
      if (!ex.image.empty()) scope += (scope.empty() ? "" : ", ") + ("image " + Quote(ex.image));
      if (!scope.empty()) f.exemption += " (" + scope + ")";
      f.exemption += ": ";
      f.exemption += ex.reason.empty() ? "no reason given" : ex.reason;
      break;
    }
  }
  return f;
}

void Emit(Ctx& ctx, std::string_view path, const Container* c, std::string_view message) {
  Finding& f = NewFinding(ctx, c);
  f.path.assign(path);
  f.message.assign(message);
}

void EmitPod(Ctx& ctx, std::string_view rel, std::string_view message) {
  Finding& f = NewFinding(ctx, nullptr);
  const std::string_view spec = ctx.w.spec_path;
  AssignConcat(&f.path, {spec, !spec.empty() && !rel.empty() ? "."sv : ""sv, rel});
  f.message.assign(message);
}
// The message is `<kind> "<name>"` followed by `tail`; path and message are
// written straight into the finding (findings are the only allocating path
// of Evaluate(), and a reused Verdict's findings do not allocate).
void EmitContainer(Ctx& ctx, const Container& c, std::string_view rel,
                   std::initializer_list<std::string_view> tail) {
  std::string_view kind = c.kind == ContainerKind::kInit        ? "init container \""
                          : c.kind == ContainerKind::kEphemeral ? "ephemeral container \""
                                                                : "container \"";
  Finding& f = NewFinding(ctx, &c);
  AssignContainerPath(&f.path, ctx, c, rel);
  AssignConcat(&f.message, {kind, c.name, "\""sv}, tail);
}

template <typename F>
void ForEachContainer(const Ctx& ctx, F&& f) {
  ctx.spec.ForEachContainer(f);
}

// ---- PSS baseline ----

// check_hostNamespaces.go (1.0)
void CheckHostNamespaces(Ctx& ctx) {
  if (ctx.spec.host_network.value_or(false)) EmitPod(ctx, "hostNetwork", "pod sets hostNetwork: true");
  if (ctx.spec.host_pid.value_or(false)) EmitPod(ctx, "hostPID", "pod sets hostPID: true");
  if (ctx.spec.host_ipc.value_or(false)) EmitPod(ctx, "hostIPC", "pod sets hostIPC: true");
}

// check_privileged.go (1.0)
void CheckPrivileged(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->privileged.value_or(false)) {
      EmitContainer(ctx, c, "securityContext.privileged", {" sets securityContext.privileged: true"});
    }
  });
}

// check_capabilities_baseline.go (1.0): capabilities_allowed_1_0.
constexpr std::array kBaselineCapabilities = {
    "AUDIT_WRITE"sv,      "CHOWN"sv,   "DAC_OVERRIDE"sv, "FOWNER"sv,  "FSETID"sv, "KILL"sv,       "MKNOD"sv,
    "NET_BIND_SERVICE"sv, "SETFCAP"sv, "SETGID"sv,       "SETPCAP"sv, "SETUID"sv, "SYS_CHROOT"sv,
};

void CheckCapabilitiesBaseline(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (!sc || !sc->capabilities) return;
    const auto& add = sc->capabilities->add;
    for (size_t j = 0; j < add.size(); ++j) {
      if (Contains(kBaselineCapabilities, add[j])) continue;
      EmitContainer(ctx, c, "securityContext.capabilities.add[" + std::to_string(j) + "]",
                    {" adds capability ", "\"", add[j], "\"", ", which is not in the baseline set"});
    }
  });
}

// check_hostPathVolumes.go (1.0)
void CheckHostPathVolumes(Ctx& ctx) {
  const auto& vols = ctx.spec.volumes;
  for (size_t i = 0; i < vols.size(); ++i) {
    if (vols[i].source != "hostPath") continue;
    EmitPod(ctx, "volumes[" + std::to_string(i) + "].hostPath",
            "volume " + Quote(vols[i].name) + " mounts host path " + Quote(vols[i].host_path));
  }
}

// check_hostPorts.go (1.0)
void CheckHostPorts(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    for (size_t j = 0; j < c.ports.size(); ++j) {
      const auto& p = c.ports[j];
      if (!p.host_port || *p.host_port == 0) continue;
      EmitContainer(ctx, c, "ports[" + std::to_string(j) + "].hostPort",
                    {" uses hostPort ", std::to_string(*p.host_port)});
    }
  });
}

// check_appArmorProfile.go (one revision at 1.0, which checks both the field
// and the deprecated beta annotation).
constexpr std::string_view kAppArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/";

bool AllowedAppArmorType(std::string_view t) { return t == "RuntimeDefault" || t == "Localhost"; }
bool AllowedAppArmorAnnotation(std::string_view v) {
  return v.empty() || v == "runtime/default" || StartsWith(v, "localhost/");
}

void CheckAppArmor(Ctx& ctx) {
  if (const auto* psc = PodSc(ctx.spec);
      psc && psc->app_armor_profile && !AllowedAppArmorType(psc->app_armor_profile->type)) {
    EmitPod(ctx, "securityContext.appArmorProfile.type",
            "pod sets securityContext.appArmorProfile.type to " + Quote(psc->app_armor_profile->type));
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->app_armor_profile && !AllowedAppArmorType(sc->app_armor_profile->type)) {
      EmitContainer(
          ctx, c, "securityContext.appArmorProfile.type",
          {" sets securityContext.appArmorProfile.type to ", "\"", sc->app_armor_profile->type, "\""});
    }
  });
  for (const auto& [key, value] : ctx.w.pod_annotations.entries()) {
    if (!StartsWith(key, kAppArmorAnnotationPrefix) || AllowedAppArmorAnnotation(value)) continue;
    std::string_view name = std::string_view(key).substr(kAppArmorAnnotationPrefix.size());
    Emit(ctx, AnnotationPath(ctx, key), FindContainer(ctx.spec, name),
         "annotation " + key + "=" + Quote(value) +
             " sets an AppArmor profile other than runtime/default or "
             "localhost/*");
  }
}

// check_seLinuxOptions.go: selinuxAllowedTypes1_0, +container_engine_t at 1.31.
void CheckSeLinuxOptionsOf(Ctx& ctx, const SELinuxOptions& o, const Container* c) {
  static constexpr std::array kTypes = {""sv, "container_t"sv, "container_init_t"sv, "container_kvm_t"sv};
  bool type_ok = Contains(kTypes, o.type) || (ctx.minor >= 31 && o.type == "container_engine_t");
  std::string who = c ? ContainerLabel(*c) : std::string("pod");
  auto emit = [&](std::string_view field, std::string message) {
    std::string rel = "securityContext.seLinuxOptions.";
    rel += field;
    if (c) {
      Emit(ctx, ContainerPath(ctx, *c, rel), c, std::move(message));
    } else {
      EmitPod(ctx, rel, std::move(message));
    }
  };
  if (!type_ok) emit("type", who + " sets securityContext.seLinuxOptions.type to " + Quote(o.type));
  if (!o.user.empty()) emit("user", who + " sets securityContext.seLinuxOptions.user to " + Quote(o.user));
  if (!o.role.empty()) emit("role", who + " sets securityContext.seLinuxOptions.role to " + Quote(o.role));
}

void CheckSeLinuxOptions(Ctx& ctx) {
  if (const auto* psc = PodSc(ctx.spec); psc && psc->se_linux_options) {
    CheckSeLinuxOptionsOf(ctx, *psc->se_linux_options, nullptr);
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->se_linux_options) CheckSeLinuxOptionsOf(ctx, *sc->se_linux_options, &c);
  });
}

void ProcMountContainers(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (!sc || !sc->proc_mount || *sc->proc_mount == "Default") return;
    EmitContainer(ctx, c, "securityContext.procMount",
                  {" sets securityContext.procMount to ", "\"", *sc->proc_mount, "\""});
  });
}

// check_procMount_baseline.go: 1.0 always; 1.35 skips pods with hostUsers: false.
// (Before 1.35 the relaxation sat behind the alpha, default-off
// UserNamespacesPodSecurityStandards gate, since removed: not applied.)
void CheckProcMount(Ctx& ctx) {
  if (ctx.minor >= 35 && ctx.user_ns) return;
  ProcMountContainers(ctx);
}

// check_procMount_restricted.go (1.35): no user-namespace relaxation.
void CheckProcMountRestricted(Ctx& ctx) { ProcMountContainers(ctx); }

// check_seccompProfile_baseline.go: annotations before 1.19, fields from 1.19.
constexpr std::string_view kSeccompPodAnnotation = "seccomp.security.alpha.kubernetes.io/pod";
constexpr std::string_view kSeccompContainerAnnotationPrefix =
    "container.seccomp.security.alpha.kubernetes.io/";

bool ValidSeccompType(std::string_view t) { return t == "RuntimeDefault" || t == "Localhost"; }
bool ValidSeccompAnnotation(std::string_view v) {
  return v == "runtime/default" || v == "docker/default" || StartsWith(v, "localhost/");
}

void CheckSeccompBaseline(Ctx& ctx) {
  if (ctx.minor < 19) {
    const auto& ann = ctx.w.pod_annotations;
    if (const std::string* v = ann.Find(kSeccompPodAnnotation); v && !ValidSeccompAnnotation(*v)) {
      Emit(ctx, AnnotationPath(ctx, kSeccompPodAnnotation), nullptr,
           "annotation " + std::string(kSeccompPodAnnotation) + "=" + Quote(*v) + " is not allowed");
    }
    if (ann.empty()) return;
    ForEachContainer(ctx, [&](const Container& c) {
      // Match key == prefix + name without building the key (no allocation).
      for (const auto& [key, value] : ann.entries()) {
        if (key.size() != kSeccompContainerAnnotationPrefix.size() + c.name.size() ||
            !StartsWith(key, kSeccompContainerAnnotationPrefix) ||
            std::string_view(key).substr(kSeccompContainerAnnotationPrefix.size()) != c.name) {
          continue;
        }
        if (!ValidSeccompAnnotation(value)) {
          Emit(ctx, AnnotationPath(ctx, key), &c,
               "annotation " + key + "=" + Quote(value) + " is not allowed");
        }
      }
    });
    return;
  }
  if (const auto* psc = PodSc(ctx.spec);
      psc && psc->seccomp_profile && !ValidSeccompType(psc->seccomp_profile->type)) {
    EmitPod(ctx, "securityContext.seccompProfile.type",
            "pod sets securityContext.seccompProfile.type to " + Quote(psc->seccomp_profile->type));
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->seccomp_profile && !ValidSeccompType(sc->seccomp_profile->type)) {
      EmitContainer(ctx, c, "securityContext.seccompProfile.type",
                    {" sets securityContext.seccompProfile.type to ", "\"", sc->seccomp_profile->type, "\""});
    }
  });
}

// check_sysctls.go: the safe set grows at 1.27, 1.29, 1.32 and 1.37.
struct SafeSysctl {
  std::string_view name;
  int since;
};
constexpr std::array<SafeSysctl, 14> kSafeSysctls = {{
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
}};

bool SafeSysctlAt(std::string_view name, int minor) {
  for (const auto& s : kSafeSysctls) {
    if (s.name == name) return minor >= s.since;
  }
  return false;
}

void CheckSysctls(Ctx& ctx) {
  const auto* psc = PodSc(ctx.spec);
  if (!psc) return;
  for (size_t i = 0; i < psc->sysctls.size(); ++i) {
    if (SafeSysctlAt(psc->sysctls[i], ctx.minor)) continue;
    EmitPod(ctx, "securityContext.sysctls[" + std::to_string(i) + "].name",
            "pod sets sysctl " + Quote(psc->sysctls[i]) + ", which is not in the safe set of policy v1." +
                std::to_string(ctx.minor));
  }
}

// check_windowsHostProcess.go (1.0)
void CheckWindowsHostProcess(Ctx& ctx) {
  if (const auto* psc = PodSc(ctx.spec);
      psc && psc->windows_options && psc->windows_options->host_process.value_or(false)) {
    EmitPod(ctx, "securityContext.windowsOptions.hostProcess",
            "pod sets securityContext.windowsOptions.hostProcess: true");
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->windows_options && sc->windows_options->host_process.value_or(false)) {
      EmitContainer(ctx, c, "securityContext.windowsOptions.hostProcess",
                    {" sets securityContext.windowsOptions.hostProcess: true"});
    }
  });
}

// check_hostProbesAndHostLifecycle.go (1.34)
void CheckHostProbes(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    for (const auto& h : c.handler_hosts) {
      if (h.host.empty()) continue;
      EmitContainer(ctx, c, h.path, {" sets ", h.path, " to ", "\"", h.host, "\""});
    }
  });
}

// ---- PSS restricted ----

// check_restrictedVolumes.go (1.0; `image` was patched into the 1.0 revision).
constexpr std::array kRestrictedVolumeTypes = {
    "configMap"sv, "csi"sv,   "downwardAPI"sv,           "emptyDir"sv,
    "ephemeral"sv, "image"sv, "persistentVolumeClaim"sv, "projected"sv,
    "secret"sv,
};

void CheckRestrictedVolumes(Ctx& ctx) {
  const auto& vols = ctx.spec.volumes;
  for (size_t i = 0; i < vols.size(); ++i) {
    // No source: the API server defaults the volume to emptyDir before PSA sees it.
    if (vols[i].source.empty() || Contains(kRestrictedVolumeTypes, vols[i].source)) continue;
    EmitPod(ctx, "volumes[" + std::to_string(i) + "]." + vols[i].source,
            "volume " + Quote(vols[i].name) + " uses volume type " + Quote(vols[i].source) +
                ", which restricted does not allow");
  }
}

// check_allowPrivilegeEscalation.go: 1.8; 1.25 exempts Windows pods.
void CheckAllowPrivilegeEscalation(Ctx& ctx) {
  if (ctx.minor >= 25 && ctx.windows) return;
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->allow_privilege_escalation && !*sc->allow_privilege_escalation) return;
    bool explicit_true = sc && sc->allow_privilege_escalation;
    EmitContainer(ctx, c, "securityContext.allowPrivilegeEscalation",
                  {(explicit_true ? " sets securityContext.allowPrivilegeEscalation: true"
                                  : " does not set securityContext.allowPrivilegeEscalation: "
                                    "false")});
  });
}

// check_runAsNonRoot.go: 1.0; 1.35 skips pods with hostUsers: false.
void CheckRunAsNonRoot(Ctx& ctx) {
  if (ctx.minor >= 35 && ctx.user_ns) return;
  bool pod_true = false;
  if (const auto* psc = PodSc(ctx.spec); psc && psc->run_as_non_root) {
    if (*psc->run_as_non_root) {
      pod_true = true;
    } else {
      EmitPod(ctx, "securityContext.runAsNonRoot", "pod sets securityContext.runAsNonRoot: false");
    }
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->run_as_non_root) {
      if (!*sc->run_as_non_root) {
        EmitContainer(ctx, c, "securityContext.runAsNonRoot", {" sets securityContext.runAsNonRoot: false"});
      }
    } else if (!pod_true) {
      EmitContainer(ctx, c, "securityContext.runAsNonRoot",
                    {" does not set securityContext.runAsNonRoot: true, and the pod does not "
                     "either"});
    }
  });
}

// check_seccompProfile_restricted.go: 1.19; 1.25 exempts Windows pods.
void CheckSeccompRestricted(Ctx& ctx) {
  if (ctx.minor >= 25 && ctx.windows) return;
  bool pod_set = false;
  if (const auto* psc = PodSc(ctx.spec); psc && psc->seccomp_profile) {
    if (ValidSeccompType(psc->seccomp_profile->type)) {
      pod_set = true;
    } else {
      EmitPod(ctx, "securityContext.seccompProfile.type",
              "pod sets securityContext.seccompProfile.type to " + Quote(psc->seccomp_profile->type));
    }
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->seccomp_profile) {
      if (!ValidSeccompType(sc->seccomp_profile->type)) {
        EmitContainer(
            ctx, c, "securityContext.seccompProfile.type",
            {" sets securityContext.seccompProfile.type to ", "\"", sc->seccomp_profile->type, "\""});
      }
    } else if (!pod_set) {
      EmitContainer(ctx, c, "securityContext.seccompProfile.type",
                    {" does not set securityContext.seccompProfile.type to RuntimeDefault or "
                     "Localhost, and the pod does not either"});
    }
  });
}

// check_capabilities_restricted.go: 1.22; 1.25 exempts Windows pods.
void CheckCapabilitiesRestricted(Ctx& ctx) {
  if (ctx.minor >= 25 && ctx.windows) return;
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    const Capabilities* caps = sc && sc->capabilities ? &*sc->capabilities : nullptr;
    bool dropped_all = false;
    if (caps) {
      for (const auto& d : caps->drop) {
        if (d == "ALL") {
          dropped_all = true;
          break;
        }
      }
    }
    if (!dropped_all) {
      EmitContainer(ctx, c, "securityContext.capabilities.drop", {" does not drop capability \"ALL\""});
    }
    if (!caps) return;
    for (size_t j = 0; j < caps->add.size(); ++j) {
      if (caps->add[j] == "NET_BIND_SERVICE") continue;
      EmitContainer(
          ctx, c, "securityContext.capabilities.add[" + std::to_string(j) + "]",
          {" adds capability ", "\"", caps->add[j], "\"", "; restricted allows only NET_BIND_SERVICE"});
    }
  });
}

// check_runAsUser.go: 1.23; 1.35 skips pods with hostUsers: false.
void CheckRunAsUser(Ctx& ctx) {
  if (ctx.minor >= 35 && ctx.user_ns) return;
  if (const auto* psc = PodSc(ctx.spec); psc && psc->run_as_user && *psc->run_as_user == 0) {
    EmitPod(ctx, "securityContext.runAsUser", "pod sets securityContext.runAsUser: 0");
  }
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->run_as_user && *sc->run_as_user == 0) {
      EmitContainer(ctx, c, "securityContext.runAsUser", {" sets securityContext.runAsUser: 0"});
    }
  });
}

// ---- invar: immutability ----

void CheckReadOnlyRootFilesystem(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    const SecurityContext* sc = Sc(c);
    if (sc && sc->read_only_root_filesystem.value_or(false)) return;
    bool explicit_false = sc && sc->read_only_root_filesystem;
    EmitContainer(ctx, c, "securityContext.readOnlyRootFilesystem",
                  {(explicit_false ? " sets securityContext.readOnlyRootFilesystem: false"
                                   : " does not set securityContext.readOnlyRootFilesystem: "
                                     "true")});
  });
}

// True when all 64 bytes at `p` are lowercase hex digits.
bool IsLowerHex64(const char* p) {
#if defined(__SSE2__)
  // Four 16-byte blocks: '0'..'9' or 'a'..'f' (signed compares: bytes >= 0x80
  // are negative and fail both ranges).
  const __m128i below_0 = _mm_set1_epi8('0' - 1), above_9 = _mm_set1_epi8('9' + 1);
  const __m128i below_a = _mm_set1_epi8('a' - 1), above_f = _mm_set1_epi8('f' + 1);
  for (int i = 0; i < 64; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, below_0), _mm_cmplt_epi8(x, above_9));
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(x, below_a), _mm_cmplt_epi8(x, above_f));
    if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xffff) return false;
  }
  return true;
#else
  bool ok = true;
  for (int i = 0; i < 64; ++i) {
    const char ch = p[i];
    ok &= (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
  }
  return ok;
#endif
}

// True when `image` ends in "@sha256:<64 lowercase hex>" (the only digest
// algorithm registries accept for manifests in practice) after a non-empty
// name. Neither "sha256:" nor hex digits contain '@', so this is exactly "the
// text after the last '@' is sha256:<64 hex>", checked in place instead of
// searching for the '@' (it ran for every container, twice with both image
// checks on).
bool PinnedByDigest(std::string_view image) {
  constexpr std::string_view kSuffix = "@sha256:";
  constexpr size_t kDigestSize = kSuffix.size() + 64;
  if (image.size() <= kDigestSize) return false;
  const std::string_view digest = image.substr(image.size() - kDigestSize);
  return digest.substr(0, kSuffix.size()) == kSuffix && IsLowerHex64(digest.data() + kSuffix.size());
}

void CheckImageDigest(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    if (PinnedByDigest(c.image)) return;
    EmitContainer(ctx, c, "image",
                  {" uses image ", "\"", c.image, "\"", ", which is not pinned by @sha256 digest"});
  });
}

// The tag of an image reference: after the last ':' that follows the last
// '/' (a ':' before it belongs to a registry host:port). Empty if none.
std::string_view ImageTag(std::string_view image) {
  size_t at = image.find('@');
  if (at != std::string_view::npos) image = image.substr(0, at);
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) return {};
  return image.substr(colon + 1);
}

void CheckImageTag(Ctx& ctx) {
  ForEachContainer(ctx, [&](const Container& c) {
    if (PinnedByDigest(c.image)) return;  // a digest is stronger than any tag
    std::string_view tag = ImageTag(c.image);
    if (!tag.empty() && tag != "latest") return;
    EmitContainer(ctx, c, "image",
                  {" uses image ", "\"", c.image, "\"",
                   (tag.empty() ? " with no tag (pulls latest)" : " with tag \"latest\"")});
  });
}

using CheckFn = void (*)(Ctx&);
constexpr std::array<CheckFn, kCheckCount> kCheckFns = {
    CheckHostNamespaces,
    CheckPrivileged,
    CheckCapabilitiesBaseline,
    CheckHostPathVolumes,
    CheckHostPorts,
    CheckAppArmor,
    CheckSeLinuxOptions,
    CheckProcMount,
    CheckSeccompBaseline,
    CheckSysctls,
    CheckWindowsHostProcess,
    CheckHostProbes,
    CheckRestrictedVolumes,
    CheckAllowPrivilegeEscalation,
    CheckRunAsNonRoot,
    CheckSeccompRestricted,
    CheckCapabilitiesRestricted,
    CheckRunAsUser,
    CheckProcMountRestricted,
    CheckReadOnlyRootFilesystem,
    CheckImageDigest,
    CheckImageTag,
};

}  // namespace

bool Verdict::Allowed() const {
  for (const auto& f : findings) {
    if (!f.exempted) return false;
  }
  return true;
}

std::vector<std::string_view> Verdict::FailedChecks() const {
  std::vector<std::string_view> ids;
  for (const auto& f : findings) {
    if (f.exempted || f.check == nullptr) continue;
    bool seen = false;
    for (auto id : ids) {
      if (id == f.check->id) {
        seen = true;
        break;
      }
    }
    if (!seen) ids.push_back(f.check->id);
  }
  return ids;
}

Verdict Evaluate(const Workload& workload, const Profile& profile) {
  Verdict verdict;
  EvaluateInto(workload, profile, &verdict);
  return verdict;
}

void EvaluateInto(const Workload& workload, const Profile& profile, Verdict* out) {
  std::vector<Finding>& findings = out->findings;
  const int minor = profile.version.Effective();
  const CheckMask mask = GateByVersion(ProfileMask(profile), minor);
  if (mask == 0) {
    findings.clear();
    return;
  }
  Ctx ctx{workload,
          workload.spec,
          profile,
          minor,
          workload.spec.os_name == "windows",
          workload.spec.host_users.has_value() && !*workload.spec.host_users,
          ReadAnnotationExemption(workload),
          &findings};
  auto catalogue = Catalogue();
  for (uint8_t i = 0; i < kCheckCount; ++i) {
    auto index = static_cast<CheckIndex>(i);
    if ((mask & Bit(index)) == 0) continue;
    ctx.check = &catalogue[i];
    ctx.index = index;
    kCheckFns[i](ctx);
  }
  findings.erase(findings.begin() + static_cast<std::ptrdiff_t>(ctx.used), findings.end());
}

std::vector<std::string> UnknownExemptIds(const Workload& workload) {
  std::vector<std::string> unknown;
  for (const StringMap* m : {&workload.metadata.annotations, &workload.pod_annotations}) {
    const std::string* list = m->Find(kExemptAnnotation);
    if (!list) continue;
    std::string_view rest = *list;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty() || item == "*" || FindCheck(item) != nullptr) continue;
      std::string s(item);
      bool dup = false;
      for (const auto& u : unknown) dup = dup || u == s;
      if (!dup) unknown.push_back(std::move(s));
    }
  }
  return unknown;
}

}  // namespace invar::policy
