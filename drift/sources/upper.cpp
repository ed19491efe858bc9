// SPDX-License-Identifier: Apache-2.0
// See upper.h. Pure helpers plus lstat on host paths.
#include "invar/drift/upper.h"

namespace invar::drift {

std::unordered_set<std::string> MountStubs(const std::vector<std::string>& mount_destinations) {
  std::unordered_set<std::string> out;
  auto add_with_parents = [&](std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    while (!p.empty() && p != "/") {
      out.insert(p);
      auto slash = p.rfind('/');
      if (slash == std::string::npos || slash == 0) break;
      p.resize(slash);
    }
  };
  for (const auto& d : mount_destinations) add_with_parents(d);
  for (const char* d : {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/termination-log"}) {
    add_with_parents(d);
  }
  return out;
}

std::string HostPath(std::string_view dir, std::string_view container_path) {
  std::string out(dir);
  if (container_path.empty() || container_path == "/") return out;
  if (container_path.front() != '/') out += '/';
  out += container_path;
  return out;
}

std::optional<struct stat> LowerStat(const Container& c, std::string_view container_path) {
  for (const auto& l : c.lowerdirs) {
    struct stat st {};
    if (::lstat(HostPath(l, container_path).c_str(), &st) == 0) {
      if (IsWhiteout(st)) return std::nullopt;
      return st;
    }
  }
  return std::nullopt;
}

std::optional<Operation> ClassifyAppeared(const std::optional<struct stat>& upper,
                                          const std::optional<struct stat>& lower) {
  if (!upper) return std::nullopt;
  if (IsWhiteout(*upper)) return lower ? std::optional(Operation::kDelete) : std::nullopt;
  if (lower) {
    // Same path in the image: a copy-up (the write, chmod... that follows is the
    // drift) unless the type changed, which only a replace can do.
    if ((upper->st_mode & S_IFMT) == (lower->st_mode & S_IFMT)) return std::nullopt;
    return Operation::kCreate;
  }
  if (S_ISLNK(upper->st_mode)) return Operation::kSymlink;
  if (S_ISREG(upper->st_mode) && upper->st_nlink > 1) return Operation::kLink;
  return Operation::kCreate;
}

Operation ClassifyAttrib(const struct stat& before, const struct stat& now) {
  if ((before.st_mode & 07777) != (now.st_mode & 07777)) return Operation::kChmod;
  if (before.st_uid != now.st_uid || before.st_gid != now.st_gid) return Operation::kChown;
  return Operation::kXattr;
}

namespace {
bool GlobAt(std::string_view g, std::string_view p) {
  while (!g.empty()) {
    if (g.size() >= 2 && g[0] == '*' && g[1] == '*') {
      std::string_view rest = g.substr(2);
      if (!rest.empty() && rest[0] == '/') {
        // "**/" also matches zero directories.
        if (GlobAt(rest.substr(1), p)) return true;
      }
      for (std::size_t i = 0; i <= p.size(); ++i) {
        if (GlobAt(rest, p.substr(i))) return true;
      }
      return false;
    }
    if (g[0] == '*') {
      for (std::size_t i = 0; i <= p.size(); ++i) {
        if (GlobAt(g.substr(1), p.substr(i))) return true;
        if (i < p.size() && p[i] == '/') break;
      }
      return false;
    }
    if (p.empty()) return false;
    if (g[0] != '?' && g[0] != p[0]) return false;
    if (g[0] == '?' && p[0] == '/') return false;
    g.remove_prefix(1);
    p.remove_prefix(1);
  }
  return p.empty();
}
}  // namespace

bool PathGlobMatch(std::string_view glob, std::string_view path) { return GlobAt(glob, path); }

}  // namespace invar::drift
