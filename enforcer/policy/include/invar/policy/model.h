// SPDX-License-Identifier: Apache-2.0
// The typed workload model: exactly what the checks read from a pod spec and
// its metadata, and nothing else. Filled by the JSON (simdjson) and YAML
// (yaml-cpp) decoders; read by Evaluate(). Plain value types: thread-compatible.
//
// Optional fields keep the difference between "unset" and "set to the zero
// value", which the Pod Security Standards depend on (e.g. runAsNonRoot unset
// vs false).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace invar::policy {

// An ordered string map (labels, annotations). Small and flat: objects carry a
// handful of entries, and an array beats a tree on the admission hot path.
// Copies share the entries (copy on write): a Pod's pod_labels and
// pod_annotations are copies of its metadata's, and copying them used to cost
// an allocation per long key or value. The first Set() allocates room for
// four entries in one block; Set() on a shared map copies it first. Copies may
// be read from several threads; as for std::string, writing one object while
// another thread uses it is a data race.
class StringMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  StringMap() = default;
  StringMap(const StringMap&) = default;
  StringMap& operator=(const StringMap&) = default;
  StringMap(StringMap&& other) noexcept
      : entries_(std::move(other.entries_)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  StringMap& operator=(StringMap&& other) noexcept {
    entries_ = std::move(other.entries_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  const std::string* Find(std::string_view key) const {
    for (const auto& e : entries()) {
      if (e.first == key) return &e.second;
    }
    return nullptr;
  }
  // Sets key (replaces an existing value).
  void Set(std::string key, std::string value);
  // The value of `key` for the caller to write: the existing one (shared
  // entries are copied first), or a new entry's, cleared. A new entry reuses
  // a string of an entry Clear() dropped, so a map refilled by a decoder that
  // reuses its Workload allocates nothing once warm.
  std::string& ValueFor(std::string_view key);
  // Empties the map. An unshared block is kept with its entries' strings (for
  // ValueFor() to reuse); a shared one is released.
  void Clear();
  std::span<const Entry> entries() const { return {entries_.get(), size_}; }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  friend bool operator==(const StringMap& a, const StringMap& b) {
    if (a.size_ != b.size_) return false;
    for (size_t i = 0; i < a.size_; ++i) {
      if (a.entries_[i] != b.entries_[i]) return false;
    }
    return true;
  }

 private:
  // Makes entries_ unshared with room for `capacity` entries.
  void Reallocate(size_t capacity);

  std::shared_ptr<Entry[]> entries_;  // capacity_ entries, the first size_ set
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Where an object came from, for error messages, SARIF and JUnit.
struct SourceLocation {
  std::string file;    // "" for stdin / admission requests ("-" for stdin)
  int line = 0;        // 1-based line of the object's first key; 0 if unknown
  int document = 0;    // 0-based index of the YAML document / JSON value in the file
  std::string item;    // "items[3]" when the object came out of a List
  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

struct Capabilities {
  std::vector<std::string> add;
  std::vector<std::string> drop;
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct SELinuxOptions {
  std::string user, role, type, level;
  friend bool operator==(const SELinuxOptions&, const SELinuxOptions&) = default;
};

struct SeccompProfile {
  std::string type;  // "RuntimeDefault", "Localhost", "Unconfined", or anything the user wrote
  std::string localhost_profile;
  friend bool operator==(const SeccompProfile&, const SeccompProfile&) = default;
};

struct AppArmorProfile {
  std::string type;  // "RuntimeDefault", "Localhost", "Unconfined", ...
  std::string localhost_profile;
  friend bool operator==(const AppArmorProfile&, const AppArmorProfile&) = default;
};

struct WindowsOptions {
  std::optional<bool> host_process;
  friend bool operator==(const WindowsOptions&, const WindowsOptions&) = default;
};

// Container-level securityContext.
struct SecurityContext {
  std::optional<bool> privileged;
  std::optional<bool> allow_privilege_escalation;
  std::optional<bool> read_only_root_filesystem;
  std::optional<bool> run_as_non_root;
  std::optional<int64_t> run_as_user;
  std::optional<std::string> proc_mount;
  std::optional<Capabilities> capabilities;
  std::optional<SELinuxOptions> se_linux_options;
  std::optional<SeccompProfile> seccomp_profile;
  std::optional<AppArmorProfile> app_armor_profile;
  std::optional<WindowsOptions> windows_options;
  friend bool operator==(const SecurityContext&, const SecurityContext&) = default;
};

// Pod-level spec.securityContext (the subset the checks read).
struct PodSecurityContext {
  std::optional<bool> run_as_non_root;
  std::optional<int64_t> run_as_user;
  std::optional<SELinuxOptions> se_linux_options;
  std::optional<SeccompProfile> seccomp_profile;
  std::optional<AppArmorProfile> app_armor_profile;
  std::optional<WindowsOptions> windows_options;
  std::vector<std::string> sysctls;  // names only, in order
  friend bool operator==(const PodSecurityContext&, const PodSecurityContext&) = default;
};

struct ContainerPort {
  int32_t container_port = 0;
  std::optional<int32_t> host_port;
  friend bool operator==(const ContainerPort&, const ContainerPort&) = default;
};

// A non-empty `host` of a probe or lifecycle handler (httpGet / tcpSocket).
// `path` is relative to the container: "livenessProbe.httpGet.host",
// "lifecycle.preStop.tcpSocket.host".
struct HandlerHost {
  std::string path;
  std::string host;
  friend bool operator==(const HandlerHost&, const HandlerHost&) = default;
};

enum class ContainerKind : uint8_t { kInit, kRegular, kEphemeral };

// "initContainers", "containers", "ephemeralContainers".
std::string_view ContainerListField(ContainerKind kind);

struct Container {
  ContainerKind kind = ContainerKind::kRegular;
  int index = 0;  // position in its list
  std::string name;
  std::string image;
  std::optional<SecurityContext> security_context;
  std::vector<ContainerPort> ports;
  std::vector<HandlerHost> handler_hosts;
  friend bool operator==(const Container&, const Container&) = default;
};

struct Volume {
  std::string name;
  // The volume source key as written ("hostPath", "emptyDir", "nfs", ...).
  // Empty when no source is set (the API server defaults that to emptyDir).
  std::string source;
  std::string host_path;  // hostPath.path, when source == "hostPath"
  friend bool operator==(const Volume&, const Volume&) = default;
};

struct PodSpec {
  std::optional<bool> host_network;
  std::optional<bool> host_pid;
  std::optional<bool> host_ipc;
  std::optional<bool> host_users;
  std::string os_name;  // spec.os.name ("linux", "windows" or "")
  std::string runtime_class_name;
  std::optional<bool> automount_service_account_token;
  std::optional<PodSecurityContext> security_context;
  std::vector<Volume> volumes;
  std::vector<Container> init_containers;
  std::vector<Container> containers;
  std::vector<Container> ephemeral_containers;

  const std::vector<Container>& List(ContainerKind k) const {
    return k == ContainerKind::kInit ? init_containers
           : k == ContainerKind::kRegular ? containers
                                          : ephemeral_containers;
  }
  // Calls f(const Container&) for init, regular, then ephemeral containers.
  template <typename F>
  void ForEachContainer(F&& f) const {
    for (const auto& c : init_containers) f(c);
    for (const auto& c : containers) f(c);
    for (const auto& c : ephemeral_containers) f(c);
  }
  friend bool operator==(const PodSpec&, const PodSpec&) = default;
};

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  StringMap labels;
  StringMap annotations;
  // First ownerReference with controller: true, if any.
  std::string owner_kind;
  std::string owner_name;
  std::string owner_uid;
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

// One object that carries a pod spec, as the checks see it.
struct Workload {
  std::string api_version;  // "apps/v1"
  std::string kind;         // "Deployment"
  ObjectMeta metadata;      // the object's own metadata
  StringMap pod_annotations;  // the pod's (== metadata.annotations for Pod, the template's otherwise)
  StringMap pod_labels;
  PodSpec spec;
  // JSON path of the pod spec inside the object: "spec" (Pod),
  // "template.spec" (PodTemplate), "spec.template.spec" (Deployment, ...),
  // "spec.jobTemplate.spec.template.spec" (CronJob). Finding paths start here.
  std::string spec_path;
  // Path of the pod metadata inside the object: "metadata", "template.metadata",
  // "spec.template.metadata", ...
  std::string pod_metadata_path;
  SourceLocation source;
  friend bool operator==(const Workload&, const Workload&) = default;
};

// Sets every field of `w` to its default (the result compares equal to
// Workload{}), keeping the capacity of its strings, of its vectors and of
// its label/annotation maps. For callers that decode into one Workload again
// and again (DecodeObjectJsonInto, DecodeObjectInto reset it themselves).
void ResetForReuse(Workload& w);

// The kinds whose pod spec invar knows where to find, with the two paths above.
struct PodSpecLocation {
  std::string_view kind;
  std::string_view spec_path;
  std::string_view pod_metadata_path;
};
// nullptr when `kind` carries no pod spec (Service, ConfigMap, ...).
const PodSpecLocation* FindPodSpecLocation(std::string_view kind);
const std::vector<PodSpecLocation>& PodSpecKinds();

}  // namespace invar::policy
