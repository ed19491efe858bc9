// SPDX-License-Identifier: Apache-2.0
// ContainerRuntime: the seam between the drift agent and a container runtime's
// on-node state. The containerd backend (containerd.cpp) reads the shim task
// directories, each container's OCI config.json and the mountinfo of its init
// process. Later backends (CRI-O) implement the same interface.
//
// List() may be called from one thread at a time (the agent's discovery
// thread); it caches parsed containers between calls, so a call costs a
// directory listing when nothing changed. Failures to read one container are
// logged and that container is skipped (it may be starting or stopping);
// only an unreadable state directory fails the whole call.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/drift/container.h"
#include "invar/platform/status.h"

namespace invar::drift {

class ContainerRuntime {
 public:
  ContainerRuntime() = default;
  virtual ~ContainerRuntime() = default;
  ContainerRuntime(const ContainerRuntime&) = delete;
  ContainerRuntime& operator=(const ContainerRuntime&) = delete;

  // The running, non-sandbox containers now. Unchanged containers are the
  // same shared_ptr as in the previous call.
  virtual Result<std::vector<std::shared_ptr<const Container>>> List() = 0;
};

struct ContainerdOptions {
  std::string host_root;  // "" or "/host": prefixed to every host path
  std::string task_dir = "/run/containerd/io.containerd.runtime.v2.task";
  std::string proc_dir = "/proc";  // host /proc (prefixed with host_root)
};

std::unique_ptr<ContainerRuntime> NewContainerdRuntime(ContainerdOptions options);

// --- Parsers, exported for unit tests -------------------------------------

struct OciInfo {
  std::map<std::string, std::string> annotations;
  std::vector<std::string> mount_destinations;
  std::string cgroups_path;
};
// Parses an OCI runtime config.json. Bad JSON or wrong types give kInvalidArgument.
Result<OciInfo> ParseOciConfig(std::string_view json);

struct OverlayMount {
  std::string mount_point;
  std::string upperdir;
  std::string workdir;
  std::vector<std::string> lowerdirs;
};
// The overlay mounted at `mount_point` in a /proc/<pid>/mountinfo text ("/"
// for a container's init pid); nullopt when there is none (not overlay).
std::optional<OverlayMount> FindOverlay(std::string_view mountinfo, std::string_view mount_point);

// Undoes mountinfo's octal escapes ("\040" -> " ").
std::string UnescapeMountinfo(std::string_view s);

}  // namespace invar::drift
