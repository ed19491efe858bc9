// SPDX-License-Identifier: Apache-2.0
// Falco-compatible text and JSON formatting of alerts (alert.h).
#include <ctime>
#include <nlohmann/json.hpp>

#include "invar/drift/alert.h"

namespace invar::drift {
namespace {

std::string OrNa(const std::string& s) { return s.empty() ? "<NA>" : s; }

std::string ImageRepository(const std::string& image) {
  // "docker.io/library/busybox:1.36" -> "docker.io/library/busybox"; digests kept out.
  std::string repo = image.substr(0, image.find('@'));
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) repo.resize(colon);
  return repo;
}

std::string ImageTag(const std::string& image) {
  std::string repo = image.substr(0, image.find('@'));
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) return repo.substr(colon + 1);
  return {};
}

}  // namespace

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kEmergency: return "Emergency";
    case Priority::kAlert: return "Alert";
    case Priority::kCritical: return "Critical";
    case Priority::kError: return "Error";
    case Priority::kWarning: return "Warning";
    case Priority::kNotice: return "Notice";
    case Priority::kInformational: return "Informational";
    case Priority::kDebug: return "Debug";
  }
  return "Warning";
}

std::string Rfc3339Nanos(std::uint64_t time_ns) {
  time_t secs = static_cast<time_t>(time_ns / 1000000000ull);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<unsigned long long>(time_ns % 1000000000ull));
  return buf;
}

Alert MakeAlert(DriftEvent event, const std::string& hostname) {
  Alert a;
  a.hostname = hostname;
  const Container* c = event.container.get();
  const std::string cid = c ? c->ShortId() : "host";
  const std::string ctx = " container_id=" + cid + " container_name=" + OrNa(c ? c->name : "") +
                          " image=" + OrNa(c ? c->image : "") + " k8s.ns=" + OrNa(c ? c->pod_namespace : "") +
                          " k8s.pod=" + OrNa(c ? c->pod : "");
  const ProcessInfo none;
  const ProcessInfo& p = event.process ? *event.process : none;
  const std::string proc = " proc=" + OrNa(p.comm) + " pid=" + (event.process ? std::to_string(p.pid) : "<NA>") +
                           " exe=" + OrNa(p.exe) + " cmdline=" + OrNa(p.cmdline) + " user=" + OrNa(p.user) +
                           " uid=" + (p.uid ? std::to_string(*p.uid) : "<NA>");
  const std::string action = event.action.empty() ? "" : " action=" + event.action;
  switch (event.op) {
    case Operation::kExec:
      a.rule = "Drop and execute new binary in container";
      a.priority = Priority::kCritical;
      a.message = "Executing binary not part of base image (file=" + event.path + proc + ctx + action + ")";
      a.tags = {"container", "drift", "mitre_persistence", "TA0003"};
      break;
    case Operation::kShell:
      a.rule = "Shell spawned in container";
      a.priority = Priority::kWarning;
      a.message = "Shell spawned (" + OrNa(p.user) + ",container_id=" + cid + ")" + " (shell=" + OrNa(p.comm) +
                  " parent=" + OrNa(p.pcomm) + " cmdline=" + OrNa(p.cmdline) + ctx + action + ")";
      a.tags = {"container", "shell", "mitre_execution", "T1059"};
      break;
    default:
      a.rule = "Container drift detected";
      a.priority = Priority::kWarning;
      a.message = "File changed in container after start (op=" + std::string(OperationName(event.op)) +
                  " file=" + event.path + (event.old_path.empty() ? "" : " from=" + event.old_path) +
                  " source=" + (event.origin == EventOrigin::kScan ? "scan" : "fanotify") + proc + ctx + action +
                  ")";
      a.tags = {"container", "drift", "filesystem"};
      break;
  }
  a.event = std::move(event);
  return a;
}

std::string FormatText(const Alert& a) {
  time_t secs = static_cast<time_t>(a.event.time_ns / 1000000000ull);
  tm t{};
  localtime_r(&secs, &t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%09llu: ", t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<unsigned long long>(a.event.time_ns % 1000000000ull));
  return std::string(buf) + std::string(PriorityName(a.priority)) + " " + a.message;
}

std::string FormatJson(const Alert& a) {
  const Container* c = a.event.container.get();
  nlohmann::json f = nlohmann::json::object();
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  f["evt.time"] = a.event.time_ns;
  f["evt.type"] = std::string(OperationSyscall(a.event.op));
  f["invar.op"] = std::string(OperationName(a.event.op));
  f["invar.origin"] = a.event.origin == EventOrigin::kScan ? "scan" : "fanotify";
  f["invar.action"] = opt(a.event.action);
  f["container.id"] = c ? c->ShortId() : "host";
  f["container.full_id"] = c ? c->id : "";
  f["container.name"] = opt(c ? c->name : "");
  f["container.image.repository"] = opt(c ? ImageRepository(c->image) : "");
  f["container.image.tag"] = opt(c ? ImageTag(c->image) : "");
  f["k8s.ns.name"] = opt(c ? c->pod_namespace : "");
  f["k8s.pod.name"] = opt(c ? c->pod : "");
  f["k8s.pod.uid"] = opt(c ? c->pod_uid : "");
  f["fd.name"] = a.event.path;
  if (!a.event.old_path.empty()) f["fd.oldname"] = a.event.old_path;
  const bool exec = a.event.op == Operation::kExec || a.event.op == Operation::kShell;
  if (exec) f["proc.is_exe_upper_layer"] = a.event.exe_upper_layer;
  if (a.event.process) {
    const auto& p = *a.event.process;
    f["proc.pid"] = p.pid;
    f["proc.name"] = opt(p.comm);
    f["proc.pname"] = opt(p.pcomm);
    f["proc.exe"] = opt(p.exe);
    f["proc.cmdline"] = opt(p.cmdline);
    f["user.uid"] = p.uid ? nlohmann::json(*p.uid) : nlohmann::json(nullptr);
    f["user.name"] = opt(p.user);
  } else {
    for (const char* k : {"proc.pid", "proc.name", "proc.pname", "proc.exe", "proc.cmdline", "user.uid", "user.name"}) {
      f[k] = nullptr;
    }
  }
  nlohmann::json j = {
      {"hostname", a.hostname},
      {"output", FormatText(a)},
      {"priority", std::string(PriorityName(a.priority))},
      {"rule", a.rule},
      {"source", "syscall"},
      {"tags", a.tags},
      {"time", Rfc3339Nanos(a.event.time_ns)},
      {"output_fields", std::move(f)},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace invar::drift
