// SPDX-License-Identifier: Apache-2.0
// The agent's seccomp allowlist: what the agent needs works, a forbidden
// syscall fails with EPERM. Runs in a forked child (the filter is irreversible).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "invar/agent/agent.h"
#include "invar/platform/hardening.h"

namespace invar::agent {
namespace {

TEST(AgentSeccomp, AllowsFanotifyButForbidsMountAndExecve) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!hardening::InstallSeccomp(hardening::SeccompProfile::kAgent, ExtraSeccompSyscalls()).ok()) _exit(10);
    int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
    if (fan < 0 && errno == EPERM && geteuid() == 0) _exit(11);  // blocked by the filter (root has the cap)
    if (::mount("none", "/tmp", "tmpfs", 0, nullptr) == 0 || errno != EPERM) _exit(12);
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, nullptr);
    if (errno != EPERM) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(AgentSeccomp, KeptCapabilitiesAreKnownNames) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!hardening::DropCapabilities(KeptCapabilities()).ok()) _exit(10);
    auto eff = hardening::EffectiveCapabilities();
    _exit(eff.size() == 4 ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace invar::agent
