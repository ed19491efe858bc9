// SPDX-License-Identifier: Apache-2.0
// Container: what the drift agent knows about one running container, as
// discovered from the container runtime's state (drift/runtime). Filled by a
// ContainerRuntime, read by the event sources, actions and sinks.
//
// A plain value type: thread-compatible. The agent shares containers as
// std::shared_ptr<const Container>, so readers on other threads never see a
// partially updated one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace invar::drift {

struct Container {
  std::string id;            // full runtime id (containerd: the task directory name)
  std::string runtime_ns;    // containerd namespace ("k8s.io")
  std::string name;          // io.kubernetes.cri.container-name, else the id
  std::string pod;           // io.kubernetes.cri.sandbox-name ("" outside Kubernetes)
  std::string pod_namespace; // io.kubernetes.cri.sandbox-namespace
  std::string pod_uid;       // io.kubernetes.cri.sandbox-uid
  std::string image;         // io.kubernetes.cri.image-name ("docker.io/library/busybox:1.36")
  std::map<std::string, std::string> annotations;  // every OCI annotation

  // Host paths, already prefixed with --host-root, so the agent can open them.
  std::string bundle;                  // the task directory (config.json, init.pid, rootfs)
  std::string rootfs;                  // the rootfs mount point in the runtime's mount namespace
  std::string upperdir;                // overlay upperdir: everything written since start
  std::string workdir;                 // overlay workdir (sibling of upperdir)
  std::vector<std::string> lowerdirs;  // image layers, top first

  pid_t init_pid = 0;
  std::string cgroup;                  // cgroup path of the init pid ("0::/..." unified path, or v1 pids path)
  std::vector<std::string> mount_destinations;  // OCI mounts[].destination (for mount-point stubs)
  std::uint64_t started_at_ns = 0;     // CLOCK_REALTIME ns when the task started (init.pid mtime)

  // The 12-character id Falco and kubectl print.
  std::string ShortId() const { return id.substr(0, 12); }
  // Annotation value or "".
  std::string Annotation(const std::string& key) const {
    auto it = annotations.find(key);
    return it == annotations.end() ? std::string() : it->second;
  }
};

}  // namespace invar::drift
