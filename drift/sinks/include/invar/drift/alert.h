// SPDX-License-Identifier: Apache-2.0
// Alert: one rule that matched one drift event, already rendered by the rule
// engine (rules::Engine::FormatText / FormatJson) in Falco's formats:
//   text: "HH:MM:SS.nnnnnnnnn: Priority output"
//   JSON: {"hostname","output","output_fields","priority","rule","source","tags","time"}
// so Falco consumers and Falcosidekick read them unchanged. The agent's
// dispatcher builds it (rendering only the formats some sink wants) and hands
// it to every sink.
//
// Also: the mapping from the agent's DriftEvent to the rule engine's
// rules::Event (the Falco fields rules may test), and RFC 3339 timestamps.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "invar/drift/event.h"
#include "invar/rules/event.h"

namespace invar::drift {

struct Alert {
  std::string rule;      // the rule's name ("Shell spawned in container")
  std::string priority;  // Falco's spelling ("Warning")
  std::string action;    // invar.action, the effective action: "flag", "kill", "prevent"
  std::string text;      // the Falco text line, no newline ("" when no sink wants text)
  std::string json;      // the Falco JSON alert, one line ("" when no sink wants JSON)
};

// What the agent knows about a container's pod beyond the CRI annotations
// (from the Kubernetes API, when reachable).
struct PodMeta {
  std::optional<std::map<std::string, std::string>> labels;  // k8s.pod.labels
  std::string owner_kind;  // the controller ownerReference: "ReplicaSet", ... ("" when none)
  std::string owner_name;
};

// Fills *out (reused between calls, so its strings keep their capacity) with
// every Falco field the agent knows for `e`:
//   evt.type      OperationSyscall(op): create->openat, write->write, truncate->truncate,
//                 delete->unlink, rename->rename, chmod->chmod, chown->chown, link->link,
//                 symlink->symlink, xattr->setxattr, exec and shell->execve; evt.dir "<"
//   evt.time      e.time_ns;  invar.origin fanotify|scan;  invar.op OperationName(op)
//   invar.action  e.action ("" -> absent); invar.rule_action and
//                 invar.action_reason are cleared (the agent sets them after
//                 evaluating the rules, for outputs)
//   container.*   id (12 chars; "host" without a container), full_id, name, image
//                 repository and tag (split from io.kubernetes.cri.image-name)
//   k8s.*         ns/pod name and uid from the CRI annotations; labels and owner from `pod`
//   proc.*/user.* from e.process (absent when the kernel gave no live pid);
//                 proc.exe falls back to the exec'd path for exec/shell
//   proc.is_exe_upper_layer  exec/shell only: e.exe_upper_layer
//   fd.name       e.path (also for exec/shell: the file executed)
//   fd.is_upper_layer  true for file changes (every change the agent sees is in the upperdir)
//   fs.path.source     rename: the previous path, when known
void FillRuleEvent(const DriftEvent& e, const PodMeta* pod, rules::Event* out);

// The fields every agent JSON alert carries in output_fields besides those
// of the rule's output (rules::EngineOptions::json_extra_fields).
std::vector<std::string> AgentJsonFields();

// "docker.io/library/busybox:1.36" -> "docker.io/library/busybox" / "1.36"
// (a digest is dropped; a registry port is not a tag).
std::string ImageRepository(const std::string& image);
std::string ImageTag(const std::string& image);

// "2023-05-25T13:44:05.478445995Z"
std::string Rfc3339Nanos(std::uint64_t time_ns);

}  // namespace invar::drift
