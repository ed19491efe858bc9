// SPDX-License-Identifier: Apache-2.0
// The containerd backend of ContainerRuntime: reads the runc shim v2 task
// directories (<task_dir>/<namespace>/<id>/{config.json,init.pid}) and the
// mountinfo of each task's init process to find its rootfs overlay. Parsing
// results are cached by (id, init pid), so a steady-state List() is a few
// readdir calls. Single-threaded use (see runtime.h).
#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "invar/drift/runtime.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

constexpr std::string_view kCriPrefix = "io.kubernetes.cri.";

std::optional<std::string> ReadSmallFile(const std::string& path, std::size_t limit = 4 << 20) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > limit) return std::nullopt;
  }
  return out;
}

std::vector<std::string> ListDirs(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) out.push_back(std::move(n));
  }
  closedir(d);
  return out;
}

class ContainerdRuntime final : public ContainerRuntime {
 public:
  explicit ContainerdRuntime(ContainerdOptions o) : opts_(std::move(o)) {}

  Result<std::vector<std::shared_ptr<const Container>>> List() override {
    const std::string root = opts_.host_root + opts_.task_dir;
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      if (errno == ENOENT) return std::vector<std::shared_ptr<const Container>>{};  // no task yet
      return ErrnoStatus("stat " + root);
    }
    std::vector<std::shared_ptr<const Container>> out;
    std::unordered_map<std::string, Cached> next;
    for (const auto& ns : ListDirs(root)) {
      for (const auto& id : ListDirs(root + "/" + ns)) {
        const std::string bundle = root + "/" + ns + "/" + id;
        auto pid_text = ReadSmallFile(bundle + "/init.pid", 64);
        if (!pid_text || pid_text->empty()) continue;  // not started yet
        pid_t pid = static_cast<pid_t>(std::strtol(pid_text->c_str(), nullptr, 10));
        if (pid <= 0) continue;
        const std::string key = ns + "/" + id;
        auto it = cache_.find(key);
        if (it != cache_.end() && it->second.pid == pid) {
          if (it->second.container) out.push_back(it->second.container);
          next.emplace(key, std::move(it->second));
          continue;
        }
        auto c = Load(ns, id, bundle, pid);
        if (!c.ok()) {
          // Starting or stopping: try again on the next call.
          log::Debug("containerd: skipping {}: {}", key, c.status().ToString());
          continue;
        }
        Cached entry{pid, *c};
        if (entry.container) out.push_back(entry.container);
        next.emplace(key, std::move(entry));
      }
    }
    cache_ = std::move(next);
    return out;
  }

 private:
  struct Cached {
    pid_t pid = 0;
    std::shared_ptr<const Container> container;  // null: a sandbox, remembered so it is not re-read
  };

  Result<std::shared_ptr<const Container>> Load(const std::string& ns, const std::string& id,
                                                const std::string& bundle, pid_t pid) {
    auto json = ReadSmallFile(bundle + "/config.json");
    if (!json) return ErrnoStatus("read " + bundle + "/config.json");
    auto oci = ParseOciConfig(*json);
    if (!oci.ok()) return oci.status();
    auto c = std::make_shared<Container>();
    c->id = id;
    c->runtime_ns = ns;
    c->bundle = bundle;
    c->init_pid = pid;
    c->annotations = std::move(oci->annotations);
    c->mount_destinations = std::move(oci->mount_destinations);
    if (c->Annotation(std::string(kCriPrefix) + "container-type") == "sandbox") {
      return std::shared_ptr<const Container>();
    }
    c->name = c->Annotation(std::string(kCriPrefix) + "container-name");
    if (c->name.empty()) c->name = id;
    c->pod = c->Annotation(std::string(kCriPrefix) + "sandbox-name");
    c->pod_namespace = c->Annotation(std::string(kCriPrefix) + "sandbox-namespace");
    c->pod_uid = c->Annotation(std::string(kCriPrefix) + "sandbox-uid");
    c->image = c->Annotation(std::string(kCriPrefix) + "image-name");

    const std::string proc = opts_.host_root + opts_.proc_dir + "/" + std::to_string(pid);
    auto mountinfo = ReadSmallFile(proc + "/mountinfo");
    if (!mountinfo) return ErrnoStatus("read " + proc + "/mountinfo");
    auto ovl = FindOverlay(*mountinfo, "/");
    if (!ovl) return Status::FailedPrecondition("rootfs of " + id + " is not an overlay");
    c->upperdir = opts_.host_root + ovl->upperdir;
    c->workdir = opts_.host_root + ovl->workdir;
    for (auto& l : ovl->lowerdirs) c->lowerdirs.push_back(opts_.host_root + l);
    c->rootfs = bundle + "/rootfs";
    if (auto cg = ReadSmallFile(proc + "/cgroup", 1 << 16)) {
      std::istringstream lines(*cg);
      std::string line, pids_path;
      while (std::getline(lines, line)) {
        if (line.rfind("0::", 0) == 0) c->cgroup = line.substr(3);
        auto p = line.find(":pids:");
        if (p != std::string::npos) pids_path = line.substr(p + 6);
      }
      // Prefer the v1 pids hierarchy on hybrid hosts: the unified one is empty there.
      if (!pids_path.empty()) c->cgroup = "pids:" + pids_path;
    }
    struct stat st {};
    if (::stat((bundle + "/init.pid").c_str(), &st) == 0) {
      c->started_at_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                         static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
    }
    return std::shared_ptr<const Container>(std::move(c));
  }

  ContainerdOptions opts_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace

std::unique_ptr<ContainerRuntime> NewContainerdRuntime(ContainerdOptions options) {
  return std::make_unique<ContainerdRuntime>(std::move(options));
}

Result<OciInfo> ParseOciConfig(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("config.json: not a JSON object");
  OciInfo out;
  if (auto a = j.find("annotations"); a != j.end() && !a->is_null()) {
    if (!a->is_object()) return Status::InvalidArgument("config.json: annotations is not an object");
    for (auto it = a->begin(); it != a->end(); ++it) {
      if (it.value().is_string()) out.annotations[it.key()] = it.value().get<std::string>();
    }
  }
  if (auto m = j.find("mounts"); m != j.end() && !m->is_null()) {
    if (!m->is_array()) return Status::InvalidArgument("config.json: mounts is not an array");
    for (const auto& e : *m) {
      if (!e.is_object()) return Status::InvalidArgument("config.json: mounts[] entry is not an object");
      auto d = e.find("destination");
      if (d != e.end() && d->is_string()) out.mount_destinations.push_back(d->get<std::string>());
    }
  }
  if (auto l = j.find("linux"); l != j.end() && l->is_object()) {
    if (auto cg = l->find("cgroupsPath"); cg != l->end() && cg->is_string()) out.cgroups_path = cg->get<std::string>();
  }
  return out;
}

std::string UnescapeMountinfo(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<OverlayMount> FindOverlay(std::string_view mountinfo, std::string_view mount_point) {
  std::optional<OverlayMount> found;
  std::size_t pos = 0;
  while (pos < mountinfo.size()) {
    std::size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, eol - pos);
    pos = eol + 1;
    // id parent major:minor root mount_point options [optional...] - fstype source superopts
    std::vector<std::string_view> f;
    std::size_t p = 0;
    while (p < line.size()) {
      std::size_t sp = line.find(' ', p);
      if (sp == std::string_view::npos) sp = line.size();
      f.push_back(line.substr(p, sp - p));
      p = sp + 1;
    }
    if (f.size() < 10) continue;
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size()) continue;
    if (f[dash + 1] != "overlay") continue;
    if (UnescapeMountinfo(f[4]) != mount_point) continue;
    OverlayMount m;
    m.mount_point = std::string(mount_point);
    std::string_view opts = f[dash + 3];
    std::size_t q = 0;
    while (q <= opts.size()) {
      std::size_t comma = opts.find(',', q);
      if (comma == std::string_view::npos) comma = opts.size();
      std::string_view kv = opts.substr(q, comma - q);
      q = comma + 1;
      auto eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view k = kv.substr(0, eq);
      std::string v = UnescapeMountinfo(kv.substr(eq + 1));
      if (k == "upperdir") m.upperdir = v;
      if (k == "workdir") m.workdir = v;
      if (k == "lowerdir") {
        std::size_t s = 0;
        while (s <= v.size()) {
          std::size_t c = v.find(':', s);
          if (c == std::string::npos) c = v.size();
          if (c > s) m.lowerdirs.push_back(v.substr(s, c - s));
          s = c + 1;
        }
      }
    }
    if (m.upperdir.empty()) continue;  // a read-only overlay: nothing can drift in it
    found = std::move(m);  // the last mount at a point is the visible one
  }
  return found;
}

}  // namespace invar::drift
