// SPDX-License-Identifier: Apache-2.0
// rules::Event: the one event the rule engine sees. The drift agent (sources:
// fanotify, upperdir scan) fills one per observation and hands it to
// rules::Engine::Evaluate(); the engine never sees fanotify or the scan.
//
// Each member backs one Falco field (named in the comment). A std::optional
// left empty means "the kernel or the runtime did not give it": the field is
// absent, prints as <NA> in outputs, never equals anything, and `exists` on it
// is false. fd.directory and fd.filename are derived from fd_name; they are
// not stored. How each fanotify/scan observation maps to `type` is documented
// in docs/rules.md ("Event mapping").
//
// A plain value type: thread-compatible, cheap to move. The engine only reads
// it, through const references, during Evaluate().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace invar::rules {

// Where the observation came from (field `invar.origin`).
enum class Origin : std::uint8_t {
  kFanotify,  // a live kernel event                      -> "fanotify"
  kScan,      // found by an upperdir reconciliation scan -> "scan"
};

struct Event {
  // --- evt.* -----------------------------------------------------------------
  std::string type;               // evt.type: "execve", "openat", "write", "unlink", "rename", "chmod", ...
  std::string dir = "<";          // evt.dir: "<" (syscall exit, the default here) or ">"
  std::uint64_t time_ns = 0;      // evt.time: ns since the Unix epoch (CLOCK_REALTIME)
  Origin origin = Origin::kFanotify;  // invar.origin: "fanotify" | "scan"

  // --- container.* / k8s.* -----------------------------------------------------
  std::string container_id = "host";            // container.id: 12-char short id, "host" outside containers
  std::optional<std::string> container_full_id; // container.full_id: the runtime's full id
  std::optional<std::string> container_name;    // container.name
  std::optional<std::string> image_repository;  // container.image.repository ("docker.io/library/busybox")
  std::optional<std::string> image_tag;         // container.image.tag ("1.36"); absent when pinned by digest only
  std::optional<std::string> k8s_ns_name;       // k8s.ns.name
  std::optional<std::string> k8s_pod_name;      // k8s.pod.name
  std::optional<std::string> k8s_pod_uid;       // k8s.pod.uid
  // k8s.pod.labels (and k8s.pod.label[key]); absent when not enriched.
  std::optional<std::map<std::string, std::string>> k8s_pod_labels;
  // k8s.pod.owner.kind / k8s.pod.owner.name: the controller ownerReference
  // ("ReplicaSet", "web-7d9f"); absent when not enriched or not owned.
  std::optional<std::string> k8s_pod_owner_kind;
  std::optional<std::string> k8s_pod_owner_name;

  // --- proc.* / user.* ----------------------------------------------------------
  std::optional<std::string> proc_name;      // proc.name: comm (<= 15 chars, as the kernel gives it)
  std::optional<std::string> proc_pname;     // proc.pname: the parent's comm
  std::optional<std::string> proc_exe;       // proc.exe: path of the executable as the container sees it
  std::optional<std::string> proc_cmdline;   // proc.cmdline: "bash -c ls" (name then args, space-joined)
  std::optional<std::int64_t> proc_pid;      // proc.pid: host pid
  std::optional<bool> proc_is_exe_upper_layer;  // proc.is_exe_upper_layer: exe is in the overlay upperdir
  std::optional<std::string> user_name;      // user.name: from the container's /etc/passwd
  std::optional<std::int64_t> user_uid;      // user.uid

  // --- fd.* -------------------------------------------------------------------
  std::optional<std::string> fd_name;  // fd.name: absolute path inside the container; fd.directory/fd.filename derive from it
  std::optional<bool> fd_is_upper_layer;  // fd.is_upper_layer: the file lives in the overlay upperdir
  std::optional<std::string> fs_path_source;  // fs.path.source: rename/link source path, when known

  // --- invar.* (the agent's own) ------------------------------------------------
  std::optional<std::string> invar_op;      // invar.op: create, write, truncate, delete, rename, chmod, ..., exec, shell
  // invar.action: what the agent does about it: flag, kill, prevent. The
  // agent evaluates rules with the container's action here, then sets the
  // effective action (after the matching rules' requests) before formatting.
  std::optional<std::string> invar_action;
  // invar.rule_action: the action the matching rules asked for (their
  // invar.action.* tags); invar.action_reason: why invar.action differs from
  // it. Both set by the agent after evaluation, for outputs.
  std::optional<std::string> invar_rule_action;
  std::optional<std::string> invar_action_reason;
};

}  // namespace invar::rules
