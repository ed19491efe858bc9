// SPDX-License-Identifier: Apache-2.0
// Runs each hardening step in a forked child, since both are irreversible.
#include "invar/platform/hardening.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace invar::hardening {
namespace {

// Runs f in a child; returns its exit status (or 128+signal).
template <typename F>
int InChild(F&& f) {
  pid_t pid = fork();
  if (pid == 0) _exit(f());
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(Seccomp, ForbiddenSyscallFailsWithEperm) {
  int rc = InChild([] {
    if (!InstallSeccomp(SeccompProfile::kTest).ok()) return 10;
    // mount(2) is in no invar allowlist.
    if (::mount("none", "/tmp", "tmpfs", 0, nullptr) == 0) return 11;
    if (errno != EPERM) return 12;
    // Allowed syscalls still work.
    if (getpid() <= 0) return 13;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, AllowlistsAreSortedAndProfileSpecific) {
  auto agent = SeccompAllowlist(SeccompProfile::kAgent);
  auto webhook = SeccompAllowlist(SeccompProfile::kWebhook);
  EXPECT_TRUE(std::is_sorted(agent.begin(), agent.end()));
  EXPECT_NE(std::find(agent.begin(), agent.end(), "fanotify_mark"), agent.end());
  EXPECT_EQ(std::find(webhook.begin(), webhook.end(), "fanotify_mark"), webhook.end());
  EXPECT_EQ(std::find(webhook.begin(), webhook.end(), "execve"), webhook.end());
}

TEST(Capabilities, DropKeepsOnlyTheListed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to hold capabilities";
  int rc = InChild([] {
    if (!DropCapabilities({"CAP_KILL"}).ok()) return 10;
    auto eff = EffectiveCapabilities();
    if (eff.size() != 1 || eff[0] != "cap_kill") return 11;
    // CAP_SYS_ADMIN is gone: mount fails.
    if (::mount("none", "/mnt", "tmpfs", 0, nullptr) == 0) return 12;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(Capabilities, UnknownNameIsAnError) {
  EXPECT_EQ(DropCapabilities({"CAP_MAKE_COFFEE"}).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace invar::hardening
