// SPDX-License-Identifier: Apache-2.0
// Field table and accessors (see fields.h).
#include "fields.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace invar::rules::internal {
namespace {

constexpr std::array<FieldInfo, 34> kFields = {{
    {"evt.type", FieldId::kEvtType, FieldType::kString, false, "the operation: execve, open, openat, write, unlink, rename, chmod, ..."},
    {"evt.dir", FieldId::kEvtDir, FieldType::kString, false, "'<' (exit) or '>' (enter); always '<' for the agent's events"},
    {"evt.time", FieldId::kEvtTime, FieldType::kInt, false, "event time, ns since the epoch; prints as HH:MM:SS.nnnnnnnnn"},
    {"evt.source", FieldId::kEvtSource, FieldType::kString, false, "always 'syscall'"},
    {"invar.origin", FieldId::kInvarOrigin, FieldType::kString, false, "'fanotify' (live event) or 'scan' (upperdir reconciliation)"},
    {"container.id", FieldId::kContainerId, FieldType::kString, false, "12-character short id, 'host' outside containers"},
    {"container.name", FieldId::kContainerName, FieldType::kString, false, "container name"},
    {"container.image.repository", FieldId::kContainerImageRepository, FieldType::kString, false, "image repository"},
    {"container.image.tag", FieldId::kContainerImageTag, FieldType::kString, false, "image tag"},
    {"k8s.ns.name", FieldId::kK8sNsName, FieldType::kString, false, "pod namespace"},
    {"k8s.pod.name", FieldId::kK8sPodName, FieldType::kString, false, "pod name"},
    {"k8s.pod.labels", FieldId::kK8sPodLabels, FieldType::kList, false, "pod labels as a list of key:value"},
    {"k8s.pod.label", FieldId::kK8sPodLabel, FieldType::kString, true, "one pod label: k8s.pod.label[app]"},
    {"proc.name", FieldId::kProcName, FieldType::kString, false, "process name (comm)"},
    {"proc.pname", FieldId::kProcPname, FieldType::kString, false, "parent process name"},
    {"proc.exe", FieldId::kProcExe, FieldType::kString, false, "executable path inside the container"},
    {"proc.cmdline", FieldId::kProcCmdline, FieldType::kString, false, "name and arguments"},
    {"proc.pid", FieldId::kProcPid, FieldType::kInt, false, "host pid"},
    {"proc.is_exe_upper_layer", FieldId::kProcIsExeUpperLayer, FieldType::kBool, false, "the executable lives in the overlay upper layer"},
    {"user.name", FieldId::kUserName, FieldType::kString, false, "user name from the container's /etc/passwd"},
    {"user.uid", FieldId::kUserUid, FieldType::kInt, false, "user id"},
    {"fd.name", FieldId::kFdName, FieldType::kString, false, "full path of the file"},
    {"fd.directory", FieldId::kFdDirectory, FieldType::kString, false, "directory part of fd.name"},
    {"fd.filename", FieldId::kFdFilename, FieldType::kString, false, "file name part of fd.name"},
    {"fd.is_upper_layer", FieldId::kFdIsUpperLayer, FieldType::kBool, false, "the file lives in the overlay upper layer"},
    {"container.full_id", FieldId::kContainerFullId, FieldType::kString, false, "the runtime's full container id"},
    {"k8s.pod.uid", FieldId::kK8sPodUid, FieldType::kString, false, "pod uid"},
    {"k8s.pod.owner.kind", FieldId::kK8sPodOwnerKind, FieldType::kString, false, "kind of the pod's controller (ReplicaSet, StatefulSet, DaemonSet, Job, ...)"},
    {"k8s.pod.owner.name", FieldId::kK8sPodOwnerName, FieldType::kString, false, "name of the pod's controller"},
    {"fs.path.source", FieldId::kFsPathSource, FieldType::kString, false, "rename: the previous path, when known"},
    {"invar.op", FieldId::kInvarOp, FieldType::kString, false, "the agent's operation: create, write, truncate, delete, rename, chmod, chown, link, symlink, xattr, exec, shell"},
    {"invar.action", FieldId::kInvarAction, FieldType::kString, false, "what the agent does about the event: flag, kill or prevent (in conditions: the container's action; in outputs: the effective one, after the rule's request)"},
    {"invar.rule_action", FieldId::kInvarRuleAction, FieldType::kString, false, "the action the matching rules ask for with an invar.action.* tag (outputs only; absent in conditions)"},
    {"invar.action_reason", FieldId::kInvarActionReason, FieldType::kString, false, "why invar.action differs from invar.rule_action (outputs only; absent in conditions)"},
}};

const std::string* Opt(const std::optional<std::string>& v) { return v ? &*v : nullptr; }

void ApplyTransformer(Transformer t, std::string_view in, std::string* scratch, std::string_view* out) {
  switch (t) {
    case Transformer::kNone:
      *out = in;
      return;
    case Transformer::kToUpper:
    case Transformer::kToLower:
      scratch->assign(in);
      for (char& c : *scratch) {
        c = static_cast<char>(t == Transformer::kToUpper ? std::toupper(static_cast<unsigned char>(c))
                                                         : std::tolower(static_cast<unsigned char>(c)));
      }
      *out = *scratch;
      return;
    case Transformer::kBasename: {
      size_t slash = in.rfind('/');
      *out = slash == std::string_view::npos ? in : in.substr(slash + 1);
      return;
    }
  }
}

}  // namespace

bool GetRawString(const Event& e, const FieldRef& f, std::string_view* out) {
  const std::string* s = nullptr;
  switch (f.info->id) {
    case FieldId::kEvtType: *out = e.type; return true;
    case FieldId::kEvtDir: *out = e.dir; return true;
    case FieldId::kEvtSource: *out = "syscall"; return true;
    case FieldId::kInvarOrigin: *out = OriginName(e.origin); return true;
    case FieldId::kContainerId: *out = e.container_id; return true;
    case FieldId::kContainerName: s = Opt(e.container_name); break;
    case FieldId::kContainerImageRepository: s = Opt(e.image_repository); break;
    case FieldId::kContainerImageTag: s = Opt(e.image_tag); break;
    case FieldId::kK8sNsName: s = Opt(e.k8s_ns_name); break;
    case FieldId::kK8sPodName: s = Opt(e.k8s_pod_name); break;
    case FieldId::kK8sPodLabel: {
      if (!e.k8s_pod_labels) return false;
      auto it = e.k8s_pod_labels->find(f.arg);
      if (it == e.k8s_pod_labels->end()) return false;
      s = &it->second;
      break;
    }
    case FieldId::kProcName: s = Opt(e.proc_name); break;
    case FieldId::kProcPname: s = Opt(e.proc_pname); break;
    case FieldId::kProcExe: s = Opt(e.proc_exe); break;
    case FieldId::kProcCmdline: s = Opt(e.proc_cmdline); break;
    case FieldId::kUserName: s = Opt(e.user_name); break;
    case FieldId::kFdName: s = Opt(e.fd_name); break;
    case FieldId::kContainerFullId: s = Opt(e.container_full_id); break;
    case FieldId::kK8sPodUid: s = Opt(e.k8s_pod_uid); break;
    case FieldId::kK8sPodOwnerKind: s = Opt(e.k8s_pod_owner_kind); break;
    case FieldId::kK8sPodOwnerName: s = Opt(e.k8s_pod_owner_name); break;
    case FieldId::kFsPathSource: s = Opt(e.fs_path_source); break;
    case FieldId::kInvarOp: s = Opt(e.invar_op); break;
    case FieldId::kInvarAction: s = Opt(e.invar_action); break;
    case FieldId::kInvarRuleAction: s = Opt(e.invar_rule_action); break;
    case FieldId::kInvarActionReason: s = Opt(e.invar_action_reason); break;
    case FieldId::kFdDirectory: {
      if (!e.fd_name) return false;
      std::string_view name = *e.fd_name;
      size_t slash = name.rfind('/');
      if (slash == std::string_view::npos) return false;
      *out = slash == 0 ? name.substr(0, 1) : name.substr(0, slash);
      return true;
    }
    case FieldId::kFdFilename: {
      if (!e.fd_name) return false;
      std::string_view name = *e.fd_name;
      size_t slash = name.rfind('/');
      *out = slash == std::string_view::npos ? name : name.substr(slash + 1);
      return true;
    }
    default: return false;
  }
  if (s == nullptr) return false;
  *out = *s;
  return true;
}

const FieldInfo* FindField(std::string_view name) {
  for (const FieldInfo& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FieldInfo* AllFields(std::size_t* count) {
  *count = kFields.size();
  return kFields.data();
}

std::optional<Transformer> FindTransformer(std::string_view name) {
  if (name == "toupper") return Transformer::kToUpper;
  if (name == "tolower") return Transformer::kToLower;
  if (name == "basename") return Transformer::kBasename;
  return std::nullopt;
}

std::string_view TransformerName(Transformer t) {
  switch (t) {
    case Transformer::kToUpper: return "toupper";
    case Transformer::kToLower: return "tolower";
    case Transformer::kBasename: return "basename";
    case Transformer::kNone: break;
  }
  return "";
}

std::string FieldRef::ToString() const {
  std::string s(info->name);
  if (info->takes_arg) s += "[" + arg + "]";
  if (transformer != Transformer::kNone) s = std::string(TransformerName(transformer)) + "(" + s + ")";
  return s;
}

StringAccessor AccessorFor(FieldId id) {
  StringAccessor a;
  switch (id) {
    case FieldId::kEvtType: a.plain = &Event::type; break;
    case FieldId::kEvtDir: a.plain = &Event::dir; break;
    case FieldId::kContainerId: a.plain = &Event::container_id; break;
    case FieldId::kContainerName: a.optional = &Event::container_name; break;
    case FieldId::kContainerImageRepository: a.optional = &Event::image_repository; break;
    case FieldId::kContainerImageTag: a.optional = &Event::image_tag; break;
    case FieldId::kK8sNsName: a.optional = &Event::k8s_ns_name; break;
    case FieldId::kK8sPodName: a.optional = &Event::k8s_pod_name; break;
    case FieldId::kProcName: a.optional = &Event::proc_name; break;
    case FieldId::kProcPname: a.optional = &Event::proc_pname; break;
    case FieldId::kProcExe: a.optional = &Event::proc_exe; break;
    case FieldId::kProcCmdline: a.optional = &Event::proc_cmdline; break;
    case FieldId::kUserName: a.optional = &Event::user_name; break;
    case FieldId::kFdName: a.optional = &Event::fd_name; break;
    case FieldId::kContainerFullId: a.optional = &Event::container_full_id; break;
    case FieldId::kK8sPodUid: a.optional = &Event::k8s_pod_uid; break;
    case FieldId::kK8sPodOwnerKind: a.optional = &Event::k8s_pod_owner_kind; break;
    case FieldId::kK8sPodOwnerName: a.optional = &Event::k8s_pod_owner_name; break;
    case FieldId::kFsPathSource: a.optional = &Event::fs_path_source; break;
    case FieldId::kInvarOp: a.optional = &Event::invar_op; break;
    case FieldId::kInvarAction: a.optional = &Event::invar_action; break;
    case FieldId::kInvarRuleAction: a.optional = &Event::invar_rule_action; break;
    case FieldId::kInvarActionReason: a.optional = &Event::invar_action_reason; break;
    default: break;
  }
  return a;
}

std::string_view OriginName(Origin origin) { return origin == Origin::kScan ? "scan" : "fanotify"; }

bool GetString(const Event& e, const FieldRef& f, std::string_view* out, std::string* scratch) {
  std::string_view raw;
  if (!GetRawString(e, f, &raw)) return false;
  ApplyTransformer(f.transformer, raw, scratch, out);
  return true;
}

bool GetInt(const Event& e, FieldId id, std::int64_t* out) {
  switch (id) {
    case FieldId::kEvtTime: *out = static_cast<std::int64_t>(e.time_ns); return true;
    case FieldId::kProcPid:
      if (!e.proc_pid) return false;
      *out = *e.proc_pid;
      return true;
    case FieldId::kUserUid:
      if (!e.user_uid) return false;
      *out = *e.user_uid;
      return true;
    default: return false;
  }
}

bool GetBool(const Event& e, FieldId id, bool* out) {
  const std::optional<bool>* v = nullptr;
  if (id == FieldId::kProcIsExeUpperLayer) v = &e.proc_is_exe_upper_layer;
  if (id == FieldId::kFdIsUpperLayer) v = &e.fd_is_upper_layer;
  if (v == nullptr || !v->has_value()) return false;
  *out = **v;
  return true;
}

bool RenderField(const Event& e, const FieldRef& f, std::string* out) {
  switch (f.info->type) {
    case FieldType::kString: {
      std::string scratch;
      std::string_view v;
      if (!GetString(e, f, &v, &scratch)) return false;
      out->assign(v);
      return true;
    }
    case FieldType::kInt: {
      std::int64_t v = 0;
      if (!GetInt(e, f.info->id, &v)) return false;
      if (f.info->id == FieldId::kEvtTime) {
        std::time_t secs = static_cast<std::time_t>(e.time_ns / 1000000000ULL);
        std::tm tm{};
        localtime_r(&secs, &tm);
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%09llu", tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<unsigned long long>(e.time_ns % 1000000000ULL));
        out->assign(buf);
      } else {
        *out = std::to_string(v);
      }
      return true;
    }
    case FieldType::kBool: {
      bool v = false;
      if (!GetBool(e, f.info->id, &v)) return false;
      out->assign(v ? std::string_view("true") : std::string_view("false"));
      return true;
    }
    case FieldType::kList: {
      if (!e.k8s_pod_labels) return false;
      out->clear();
      out->push_back('(');
      bool first = true;
      for (const auto& [k, v] : *e.k8s_pod_labels) {
        if (!first) out->push_back(',');
        first = false;
        *out += k;
        out->push_back(':');
        *out += v;
      }
      out->push_back(')');
      if (f.transformer != Transformer::kNone) {
        std::string scratch;
        std::string_view t;
        ApplyTransformer(f.transformer, *out, &scratch, &t);
        *out = std::string(t);
      }
      return true;
    }
  }
  return false;
}

}  // namespace invar::rules::internal
