// SPDX-License-Identifier: Apache-2.0
// The eBPF exec tracer (drift/sources/exec_tracer.h) on the real kernel: it
// reports an exec with the process's pid, its new comm and argv, filters by mount
// namespace, loads and detaches cleanly (no fd left behind, twice in one
// process). Root and kernel BTF needed (labels root, kernel). Waits are
// bounded polls of the ring fd; nothing asserts on timing.
#include "invar/drift/exec_tracer.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "invar/drift/procinfo.h"

namespace invar::drift {
namespace {

namespace fs = std::filesystem;

std::uint32_t OwnMountNs() {
  struct stat st {};
  if (::stat("/proc/self/ns/mnt", &st) != 0) return 0;
  return static_cast<std::uint32_t>(st.st_ino);
}

int CountFds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// A symlink to /bin/true named `name` in a fresh directory: exec'd through
// it, the process's comm becomes `name`.
class Applet {
 public:
  explicit Applet(const std::string& name) {
    char tmpl[] = "/tmp/invar-exec-tracer-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/" + name;
    fs::create_symlink("/bin/true", path_);
  }
  ~Applet() { fs::remove_all(dir_); }
  const std::string& path() const { return path_; }
  // Runs it with one argument, "arg1" (in a new mount namespace when asked) and returns its pid once it
  // exited.
  pid_t Run(bool new_mount_ns = false) const {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (new_mount_ns && ::unshare(CLONE_NEWNS) != 0) ::_exit(3);
      char* argv[] = {const_cast<char*>(path_.c_str()), const_cast<char*>("arg1"), nullptr};
      ::execv(path_.c_str(), argv);
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    return pid;
  }

 private:
  std::string dir_;
  std::string path_;
};

// Reads records until one of `pid` arrives (or the bound passes).
// A record with its argv copied: ExecRecord::args is valid only during the
// Drain callback.
struct Kept : ExecRecord {
  std::string argv;
};

std::vector<Kept> ReadUntil(ExecTracer& t, pid_t pid, bool* found) {
  std::vector<Kept> got;
  *found = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!*found && std::chrono::steady_clock::now() < end) {
    pollfd p{t.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    t.Drain([&](const ExecRecord& r) {
      Kept k{r, std::string(r.args)};
      k.args = {};
      got.push_back(std::move(k));
      if (r.tgid == pid) *found = true;
    });
  }
  return got;
}

std::unique_ptr<ExecTracer> OpenOrSkip(const ExecTracerOptions& o, bool* skip) {
  auto t = OpenExecTracer(o);
#ifndef INVAR_HAVE_EBPF
  *skip = true;
  EXPECT_FALSE(t.ok());
  return nullptr;
#else
  *skip = false;
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return nullptr;
  return std::move(*t);
#endif
}

TEST(ExecTracer, ReportsAnExecWithItsPidNewCommAndArgv) {
  bool skip = false;
  auto t = OpenOrSkip({}, &skip);
  if (skip) GTEST_SKIP() << "built without eBPF";
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->filtering());
  const std::uint32_t ns = OwnMountNs();
  ASSERT_NE(ns, 0u);
  t->Watch(ns);
  Applet applet("invar-applet");
  const pid_t pid = applet.Run();
  bool found = false;
  auto recs = ReadUntil(*t, pid, &found);
  ASSERT_TRUE(found) << recs.size() << " records, none for pid " << pid;
  for (const auto& r : recs) {
    if (r.tgid != pid) continue;
    EXPECT_EQ(r.tid, pid);
    EXPECT_STREQ(r.comm, "invar-applet");
    EXPECT_EQ(r.argv.substr(0, applet.path().size() + 1), applet.path() + '\0');  // argv[0] as exec'd
    EXPECT_EQ(FalcoCmdline(r.comm, r.argv), "invar-applet arg1");
    EXPECT_EQ(r.mnt_ns, ns);
    EXPECT_GT(r.ktime_ns, 0u);
  }
  EXPECT_EQ(t->dropped(), 0u);
}

TEST(ExecTracer, FilterReportsOnlyWatchedMountNamespaces) {
  bool skip = false;
  auto t = OpenOrSkip({}, &skip);
  if (skip) GTEST_SKIP() << "built without eBPF";
  ASSERT_NE(t, nullptr);
  const std::uint32_t ns = OwnMountNs();
  Applet applet("invar-filtered");
  // Not watched yet: not reported. Records come in exec order, so once the
  // second run's record is read the first one would have been read too.
  const pid_t unwatched = applet.Run();
  t->Watch(ns);
  // In another mount namespace: not reported either.
  const pid_t other_ns = applet.Run(/*new_mount_ns=*/true);
  const pid_t watched = applet.Run();
  bool found = false;
  auto recs = ReadUntil(*t, watched, &found);
  ASSERT_TRUE(found);
  for (const auto& r : recs) {
    EXPECT_NE(r.tgid, unwatched);
    EXPECT_NE(r.tgid, other_ns);
    EXPECT_EQ(r.mnt_ns, ns);
  }
  // Unwatched again (the count drops to zero after two Unwatch for two Watch).
  t->Watch(ns);
  t->Unwatch(ns);
  const pid_t still = applet.Run();
  t->Unwatch(ns);
  const pid_t gone = applet.Run();
  t->Watch(ns);
  const pid_t back = applet.Run();
  recs = ReadUntil(*t, back, &found);
  ASSERT_TRUE(found);
  bool saw_still = false;
  for (const auto& r : recs) {
    saw_still |= r.tgid == still;
    EXPECT_NE(r.tgid, gone);
  }
  EXPECT_TRUE(saw_still);
}

TEST(ExecTracer, WithoutTheFilterReportsExecsInEveryMountNamespace) {
  bool skip = false;
  auto t = OpenOrSkip({.filter_mnt_ns = false}, &skip);
  if (skip) GTEST_SKIP() << "built without eBPF";
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->filtering());
  Applet applet("invar-anyns");
  const pid_t pid = applet.Run(/*new_mount_ns=*/true);
  bool found = false;
  auto recs = ReadUntil(*t, pid, &found);
  ASSERT_TRUE(found);
  for (const auto& r : recs) {
    if (r.tgid == pid) {
      EXPECT_NE(r.mnt_ns, OwnMountNs());
    }
  }
}

TEST(ExecTracer, LoadsAndDetachesCleanlyTwice) {
  const int before = CountFds();
  for (int round = 0; round < 2; ++round) {
    bool skip = false;
    auto t = OpenOrSkip({}, &skip);
    if (skip) GTEST_SKIP() << "built without eBPF";
    ASSERT_NE(t, nullptr) << "round " << round;
    t->Watch(OwnMountNs());
    Applet applet("invar-round");
    const pid_t pid = applet.Run();
    bool found = false;
    ReadUntil(*t, pid, &found);
    EXPECT_TRUE(found) << "round " << round;
    t.reset();
    EXPECT_EQ(CountFds(), before) << "round " << round
                                  << ": an fd of the tracer (program, map, link) was left open";
  }
}

// Without privilege the load fails with a clear error and leaves no fd
// behind; the exec source then takes its /proc path (tested end to end by
// Paths/ExecFollowUp.*Proc* in drift_exec_decision_test).
TEST(ExecTracer, FailsCleanlyWithoutPrivilege) {
#ifndef INVAR_HAVE_EBPF
  GTEST_SKIP() << "built without eBPF";
#endif
  const pid_t child = ::fork();
  if (child == 0) {
    // Drop every effective capability (uid stays 0): no CAP_BPF, CAP_PERFMON
    // or CAP_SYS_ADMIN.
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &hdr, data) != 0) ::_exit(10);
    data[0].effective = data[1].effective = 0;
    if (::syscall(SYS_capset, &hdr, data) != 0) ::_exit(11);
    const int before = CountFds();
    auto t = OpenExecTracer({});
    if (t.ok()) ::_exit(12);
    if (t.status().message().find("loading the exec tracer") == std::string::npos) ::_exit(13);
    if (CountFds() != before) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10/11: capget/capset, 12: loaded without privilege, 13: unclear error, "
         "14: fd left behind";
}

}  // namespace
}  // namespace invar::drift
