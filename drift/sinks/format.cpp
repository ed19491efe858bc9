// SPDX-License-Identifier: Apache-2.0
// DriftEvent -> rules::Event (alert.h): the Falco fields the agent fills for
// each event it observed. Called on the agent's dispatcher thread once per
// event; assigns into the caller's reused Event so steady state allocates
// little. Pure; thread-safe.
#include <ctime>

#include "invar/drift/alert.h"

namespace invar::drift {
namespace {

// Assigns into an optional string, keeping its buffer when it has one.
void Set(std::optional<std::string>* o, std::string_view v) {
  if (o->has_value()) {
    (*o)->assign(v);
  } else {
    o->emplace(v);
  }
}
void SetOrClear(std::optional<std::string>* o, std::string_view v) {
  if (v.empty()) {
    o->reset();
  } else {
    Set(o, v);
  }
}

std::string_view Repository(std::string_view image) {
  std::string_view repo = image.substr(0, image.find('@'));
  const auto slash = repo.rfind('/');
  const auto colon = repo.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) repo = repo.substr(0, colon);
  return repo;
}

std::string_view Tag(std::string_view image) {
  std::string_view repo = image.substr(0, image.find('@'));
  const auto slash = repo.rfind('/');
  const auto colon = repo.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    return repo.substr(colon + 1);
  }
  return {};
}

}  // namespace

std::string ImageRepository(const std::string& image) { return std::string(Repository(image)); }
std::string ImageTag(const std::string& image) { return std::string(Tag(image)); }

std::string Rfc3339Nanos(std::uint64_t time_ns) {
  time_t secs = static_cast<time_t>(time_ns / 1000000000ull);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<unsigned long long>(time_ns % 1000000000ull));
  return buf;
}

void FillRuleEvent(const DriftEvent& e, const PodMeta* pod, rules::Event* out) {
  const bool is_exec = e.op == Operation::kExec || e.op == Operation::kShell;
  out->type.assign(OperationSyscall(e.op));
  out->dir.resize(1);  // "<" (assign("<") trips GCC 12's false -Wrestrict, PR 105329)
  out->dir[0] = '<';
  out->time_ns = e.time_ns;
  out->origin = e.origin == EventOrigin::kScan ? rules::Origin::kScan : rules::Origin::kFanotify;
  Set(&out->invar_op, OperationName(e.op));
  SetOrClear(&out->invar_action, e.action);
  // Set by the agent after evaluation (the rules' request and the effective action).
  out->invar_rule_action.reset();
  out->invar_action_reason.reset();

  const Container* c = e.container.get();
  if (c != nullptr) {
    out->container_id.assign(c->id, 0, 12);
    Set(&out->container_full_id, c->id);
    SetOrClear(&out->container_name, c->name);
    SetOrClear(&out->image_repository, Repository(c->image));
    SetOrClear(&out->image_tag, Tag(c->image));
    SetOrClear(&out->k8s_ns_name, c->pod_namespace);
    SetOrClear(&out->k8s_pod_name, c->pod);
    SetOrClear(&out->k8s_pod_uid, c->pod_uid);
  } else {
    out->container_id.assign("host");
    for (auto* o : {&out->container_full_id, &out->container_name, &out->image_repository, &out->image_tag,
                    &out->k8s_ns_name, &out->k8s_pod_name, &out->k8s_pod_uid}) {
      o->reset();
    }
  }
  if (pod != nullptr && pod->labels) {
    out->k8s_pod_labels = pod->labels;
  } else {
    out->k8s_pod_labels.reset();
  }
  SetOrClear(&out->k8s_pod_owner_kind, pod != nullptr ? std::string_view(pod->owner_kind) : std::string_view());
  SetOrClear(&out->k8s_pod_owner_name, pod != nullptr ? std::string_view(pod->owner_name) : std::string_view());

  if (e.process) {
    const ProcessInfo& p = *e.process;
    out->proc_pid = p.pid;
    SetOrClear(&out->proc_name, p.comm);
    SetOrClear(&out->proc_pname, p.pcomm);
    SetOrClear(&out->proc_exe, !p.exe.empty() ? std::string_view(p.exe)
                                              : is_exec ? std::string_view(e.path) : std::string_view());
    SetOrClear(&out->proc_cmdline, p.cmdline);
    if (p.uid) {
      out->user_uid = static_cast<std::int64_t>(*p.uid);
    } else {
      out->user_uid.reset();
    }
    SetOrClear(&out->user_name, p.user);
  } else {
    out->proc_pid.reset();
    for (auto* o : {&out->proc_name, &out->proc_pname, &out->proc_cmdline, &out->user_name}) o->reset();
    SetOrClear(&out->proc_exe, is_exec ? std::string_view(e.path) : std::string_view());
    out->user_uid.reset();
  }
  if (is_exec) {
    out->proc_is_exe_upper_layer = e.exe_upper_layer;
    out->fd_is_upper_layer.reset();
  } else {
    out->proc_is_exe_upper_layer.reset();
    out->fd_is_upper_layer = true;
  }
  SetOrClear(&out->fd_name, e.path);
  SetOrClear(&out->fs_path_source, e.old_path);
}

std::vector<std::string> AgentJsonFields() {
  return {"evt.time",          "evt.type",     "invar.op",           "invar.origin",
          "invar.action",      "invar.rule_action", "invar.action_reason", "container.id", "container.full_id",  "container.name",
          "container.image.repository",        "container.image.tag", "k8s.ns.name",
          "k8s.pod.name",      "k8s.pod.uid",  "k8s.pod.labels",     "k8s.pod.owner.kind",
          "k8s.pod.owner.name", "fd.name",     "fs.path.source",     "proc.pid",
          "proc.name",         "proc.pname",   "proc.exe",           "proc.cmdline",
          "proc.is_exe_upper_layer",           "user.uid",           "user.name"};
}

}  // namespace invar::drift
