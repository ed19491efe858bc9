// SPDX-License-Identifier: Apache-2.0
// See procinfo.h.
#include "invar/drift/procinfo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "invar/drift/upper.h"
#include "invar/platform/fd.h"

namespace invar::drift {
namespace {

// Reads up to `limit` bytes in 4 KiB steps: /proc files report size 0, and
// a buffer of `limit` bytes up front (1 MiB for /etc/passwd) cost a page
// clear per call.
std::optional<std::string> Slurp(const std::string& path, std::size_t limit = 1 << 16) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < limit) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, limit - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

bool IsShellName(std::string_view comm) {
  static constexpr std::string_view kShells[] = {"sh", "bash", "ash", "dash", "zsh", "ksh", "csh",
                                                 "tcsh", "fish", "mksh", "hush"};
  for (auto s : kShells) {
    if (comm == s) return true;
  }
  return false;
}

std::string UserFromPasswd(std::string_view passwd, uid_t uid) {
  std::size_t pos = 0;
  while (pos < passwd.size()) {
    std::size_t eol = passwd.find('\n', pos);
    if (eol == std::string_view::npos) eol = passwd.size();
    std::string_view line = passwd.substr(pos, eol - pos);
    pos = eol + 1;
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    auto c3 = line.find(':', c2 + 1);
    if (c3 == std::string_view::npos) continue;
    std::string_view id = line.substr(c2 + 1, c3 - c2 - 1);
    if (id.empty() || id.size() > 10 || id.find_first_not_of("0123456789") != std::string_view::npos) continue;
    if (std::stoul(std::string(id)) == uid) return std::string(line.substr(0, c1));
  }
  return {};
}

std::string ContainerPasswd(const Container& c) {
  struct stat st {};
  const std::string upper = HostPath(c.upperdir, "/etc/passwd");
  if (::lstat(upper.c_str(), &st) == 0) {
    if (IsWhiteout(st) || !S_ISREG(st.st_mode)) return {};
    return Slurp(upper, 1 << 20).value_or("");
  }
  for (const auto& l : c.lowerdirs) {
    const std::string p = HostPath(l, "/etc/passwd");
    if (::lstat(p.c_str(), &st) == 0) {
      if (IsWhiteout(st) || !S_ISREG(st.st_mode)) return {};
      return Slurp(p, 1 << 20).value_or("");
    }
  }
  return {};
}

std::string FalcoCmdline(std::string_view comm, std::string_view argv) {
  while (!argv.empty() && argv.back() == '\0') argv.remove_suffix(1);
  std::string out(comm);
  const auto first_nul = argv.find('\0');
  if (first_nul == std::string_view::npos) return out;
  out += ' ';
  out.append(argv.substr(first_nul + 1));
  for (std::size_t i = comm.size() + 1; i < out.size(); ++i) {
    if (out[i] == '\0') out[i] = ' ';
  }
  return out;
}

std::optional<ProcessInfo> ReadProcess(const std::string& proc_dir, pid_t pid, const Container* c) {
  if (pid <= 0) return std::nullopt;
  const std::string base = proc_dir + "/" + std::to_string(pid);
  ProcessInfo p;
  p.pid = pid;
  auto comm = Slurp(base + "/comm", 64);
  if (!comm) return std::nullopt;
  p.comm = *comm;
  while (!p.comm.empty() && p.comm.back() == '\n') p.comm.pop_back();
  if (auto cmd = Slurp(base + "/cmdline", 4096)) p.cmdline = FalcoCmdline(p.comm, *cmd);
  char buf[4096];
  ssize_t n = ::readlink((base + "/exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    p.exe.assign(buf, static_cast<std::size_t>(n));
    // The kernel prints the exe path as the agent's mount namespace sees it.
    if (c && !c->rootfs.empty() && p.exe.rfind(c->rootfs + "/", 0) == 0) p.exe = p.exe.substr(c->rootfs.size());
  }
  if (auto status = Slurp(base + "/status", 8192)) {
    std::istringstream in(*status);
    std::string line;
    pid_t ppid = 0;
    while (std::getline(in, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream f(line.substr(4));
        unsigned long real = 0, eff = 0;
        f >> real >> eff;
        p.uid = static_cast<uid_t>(eff);
      } else if (line.rfind("PPid:", 0) == 0) {
        ppid = static_cast<pid_t>(std::strtol(line.c_str() + 5, nullptr, 10));
      }
    }
    if (ppid > 0) {
      if (auto pc = Slurp(proc_dir + "/" + std::to_string(ppid) + "/comm", 64)) {
        p.pcomm = *pc;
        while (!p.pcomm.empty() && p.pcomm.back() == '\n') p.pcomm.pop_back();
      }
    }
  }
  if (c && p.uid) p.user = UserFromPasswd(ContainerPasswd(*c), *p.uid);
  return p;
}

}  // namespace invar::drift
