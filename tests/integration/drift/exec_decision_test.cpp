// SPDX-License-Identifier: Apache-2.0
// Exec decisions in prevent mode on real containers, real fanotify: the
// image-index fast path (drift/sources/image_index.h) must allow unchanged
// image binaries and must never let an upper-layer file through, including
// the cases where overlayfs reports the image file's inode number for an
// upper file (a copied-up image binary, a hard link of an image binary made
// in the container). Shell detection of busybox applets keeps working. Waits
// are bounded polls; nothing asserts on timing.
// GCC 12 reports a false -Wrestrict on std::string concatenation (GCC PR 105329).
#pragma GCC diagnostic ignored "-Wrestrict"
#include <gtest/gtest.h>

#include "agent_process.h"

namespace {

using invar::testing::AgentProcess;
using invar::testing::ContainerdFixture;
using invar::testing::Describe;
using invar::testing::json;
using invar::testing::Op;
using invar::testing::ReadAll;

class ExecDecision : public ::testing::Test {
 protected:
  ContainerdFixture& f = ContainerdFixture::Instance();
};

// EPERM inside the container and a prevent alert for `path`.
void ExpectDenied(AgentProcess& agent, const std::string& id, const invar::testing::CommandResult& r,
                  const std::string& path) {
  EXPECT_NE(r.output.find("Operation not permitted"), std::string::npos) << path << ": " << r.output;
  EXPECT_EQ(r.output.find("hello"), std::string::npos) << path << ": " << r.output;
  auto a = agent.WaitAlert(Op(id, "exec", path));
  ASSERT_TRUE(a.has_value()) << "no exec alert for " << path << "\n" << Describe(agent);
  EXPECT_EQ((*a)["output_fields"]["invar.action"], "prevent") << (*a).dump();
  EXPECT_EQ((*a)["output_fields"]["proc.is_exe_upper_layer"], true) << (*a).dump();
}

TEST_F(ExecDecision, ImageBinariesRunAndEveryUpperLayerBinaryIsDenied) {
  AgentProcess agent("decide");
  agent.Start({"--action", "prevent", "--log-level", "debug"});
  ASSERT_TRUE(f.Run("decide", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("decide")) << Describe(agent);
  // The image index is built (same-filesystem layers), so what follows goes
  // through the fast path where it applies.
  ASSERT_TRUE(agent.WaitLog("exec index for decide")) << ReadAll(agent.log_path());

  // An image binary runs (fast path), more than once.
  for (int i = 0; i < 3; ++i) {
    auto r = f.ExecArgv("decide", {"/bin/drift-helper", "hello"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("hello"), std::string::npos) << r.output;
  }
  // A new binary in the upper layer.
  auto r = f.Exec("decide", "cp /bin/drift-helper /tmp/new-bin; /tmp/new-bin hello; echo rc=$?");
  ExpectDenied(agent, "decide", r, "/tmp/new-bin");
  EXPECT_NE(r.output.find("rc=126"), std::string::npos) << r.output;

  // An image binary modified in place: copied up, and overlayfs keeps
  // reporting the image file's inode number for it.
  r = f.Exec("decide", "echo >> /bin/drift-helper; /bin/drift-helper hello; echo rc=$?");
  ExpectDenied(agent, "decide", r, "/bin/drift-helper");

  // An image binary whose mode alone changed (a metadata copy-up): its
  // content is the image's, but it lives in the upper layer now.
  r = f.Exec("decide", "chmod 700 /bin/bash; /bin/bash -c 'echo hello'; echo rc=$?");
  ExpectDenied(agent, "decide", r, "/bin/bash");

  // Busybox (an unchanged image file) still runs; the shell applet is still
  // recognised in prevent mode (the exec's own "sh -c").
  r = f.Exec("decide", "ls /bin > /dev/null && echo listed");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("listed"), std::string::npos) << r.output;
  auto sh = agent.WaitAlert([](const json& j) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["container.full_id"] == "decide" &&
           j["output_fields"]["proc.name"] == "sh";
  });
  EXPECT_TRUE(sh.has_value()) << Describe(agent);
  // ...and an applet that is not a shell raises no shell alert.
  EXPECT_EQ(agent.Count([](const json& j) {
              return j["rule"] == "Shell spawned in container" && j["output_fields"]["proc.name"] == "ls";
            }),
            0)
      << Describe(agent);
  agent.Stop();
  f.Remove("decide");
}

TEST_F(ExecDecision, HardLinkOfAnImageBinaryIsDeniedUnderBothNames) {
  AgentProcess agent("hardlink");
  agent.Start({"--action", "prevent", "--log-level", "debug"});
  ASSERT_TRUE(f.Run("hardlink", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("hardlink")) << Describe(agent);
  ASSERT_TRUE(agent.WaitLog("exec index for hardlink")) << ReadAll(agent.log_path());
  auto r = f.ExecArgv("hardlink", {"/bin/drift-helper", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // link(2) copies the image file up first; both names are the upper file,
  // which overlayfs reports with the image file's inode number.
  r = f.Exec("hardlink", "ln /bin/drift-helper /tmp/linked; /tmp/linked hello; echo rc=$?");
  ExpectDenied(agent, "hardlink", r, "/tmp/linked");
  r = f.Exec("hardlink", "/bin/drift-helper hello; echo rc=$?");
  ExpectDenied(agent, "hardlink", r, "/bin/drift-helper");
  // Other image binaries are untouched.
  r = f.ExecArgv("hardlink", {"/bin/bash", "-c", "echo bash-ran"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bash-ran"), std::string::npos) << r.output;
  agent.Stop();
  f.Remove("hardlink");
}

// Shell detection and drift prevention on both follow-up paths: the eBPF
// exec tracer (default) and the /proc/<pid>/comm fallback (--no-ebpf), in
// prevent and detect mode. The agent logs which path it took; the alerts must
// be the same Falco-format lines either way.
struct FollowUpCase {
  bool ebpf;
  bool prevent;
};

class ExecFollowUp : public ::testing::TestWithParam<FollowUpCase> {
 protected:
  ContainerdFixture& f = ContainerdFixture::Instance();
};

TEST_P(ExecFollowUp, ShellsAppletsAndBusyboxShAreDetectedAndDriftIsCaught) {
  const FollowUpCase c = GetParam();
  const std::string id = std::string("fu-") + (c.ebpf ? "bpf" : "proc") + (c.prevent ? "-prev" : "-det");
  AgentProcess agent(id);
  std::vector<std::string> args = {"--log-level", "debug", "--action", c.prevent ? "prevent" : "flag"};
  if (!c.ebpf) args.push_back("--no-ebpf");
  agent.Start(args);
  ASSERT_TRUE(f.Run(id, {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching(id)) << Describe(agent);
  ASSERT_TRUE(agent.WaitLog(c.ebpf ? "exec follow-ups use the eBPF exec tracer" : "exec follow-ups read /proc/<pid>/comm"))
      << ReadAll(agent.log_path());
  // On the /proc path in detect mode the exec may be through before the
  // agent reads the comm, so an applet can be named "busybox" there
  // (docs/agent.md): the name is checked where it is exact.
  const bool exact = c.ebpf || c.prevent;
  auto is_shell = [&](const json& j, const std::string& name) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["container.full_id"] == id &&
           (!exact || j["output_fields"]["proc.name"] == name);
  };
  auto shell = [&](const std::string& name) { return agent.WaitAlert([&](const json& j) { return is_shell(j, name); }); };
  // The exec's own "sh -c" (a busybox applet through its symlink).
  auto r = f.Exec(id, "sleep 0.2; echo ran");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto sh = shell("sh");
  ASSERT_TRUE(sh.has_value()) << Describe(agent);
  EXPECT_NE((*sh)["output"].get<std::string>().find("Shell spawned (root,container_id=" + id + ")"), std::string::npos)
      << (*sh)["output"];
  // Another shell applet, living a moment (two commands: a shell given one
  // simple command execs it in place).
  ASSERT_EQ(f.ExecArgv(id, {"/bin/ash", "-c", "sleep 0.2; true"}).exit_code, 0);
  EXPECT_TRUE(shell("ash").has_value()) << Describe(agent);
  // "busybox sh -c": comm busybox, the applet is argv[1].
  ASSERT_EQ(f.ExecArgv(id, {"busybox", "sh", "-c", "sleep 0.2; true"}).exit_code, 0);
  EXPECT_TRUE(shell("busybox").has_value()) << Describe(agent);
  if (c.ebpf) {
    // The kernel names the applet at exec: one that exits at once is still
    // "ash", also in detect mode where nothing waits for the agent.
    ASSERT_EQ(f.ExecArgv(id, {"/bin/ash", "-c", "true"}).exit_code, 0);
    auto two = agent.WaitAlert([&](const json&) {
      return agent.Count([&](const json& j) { return is_shell(j, "ash"); }) >= 2;
    });
    EXPECT_TRUE(two.has_value()) << Describe(agent);
    // "busybox sh -c" that execs its command in place at once: the argv
    // comes with the exec record, so the applet is still known.
    ASSERT_EQ(f.ExecArgv(id, {"busybox", "sh", "-c", "exec sleep 0.3"}).exit_code, 0);
    auto bb = agent.WaitAlert([&](const json& j) {
      return is_shell(j, "busybox") && j["output_fields"]["proc.cmdline"] == "busybox sh -c exec sleep 0.3";
    });
    EXPECT_TRUE(bb.has_value()) << Describe(agent);
  }
  // A non-shell applet raises no shell alert.
  ASSERT_EQ(f.ExecArgv(id, {"/bin/ls", "/"}).exit_code, 0);
  // Drift: denied in prevent mode, alerted in both.
  r = f.Exec(id, "cp /bin/drift-helper /tmp/dropped; /tmp/dropped hello; echo rc=$?");
  if (c.prevent) {
    ExpectDenied(agent, id, r, "/tmp/dropped");
  } else {
    EXPECT_NE(r.output.find("hello"), std::string::npos) << r.output;
    auto a = agent.WaitAlert(Op(id, "exec", "/tmp/dropped"));
    ASSERT_TRUE(a.has_value()) << Describe(agent);
    EXPECT_EQ((*a)["rule"], "Drop and execute new binary in container");
    EXPECT_EQ((*a)["output_fields"]["proc.name"], "dropped") << a->dump();
  }
  EXPECT_EQ(agent.Count([&](const json& j) {
              return j["rule"] == "Shell spawned in container" && j["output_fields"]["proc.name"] == "ls";
            }),
            0)
      << Describe(agent);
  agent.Stop();
  f.Remove(id);
}

INSTANTIATE_TEST_SUITE_P(Paths, ExecFollowUp,
                         ::testing::Values(FollowUpCase{true, true}, FollowUpCase{true, false},
                                           FollowUpCase{false, true}, FollowUpCase{false, false}),
                         [](const ::testing::TestParamInfo<FollowUpCase>& i) {
                           return std::string(i.param.ebpf ? "Ebpf" : "Proc") + (i.param.prevent ? "Prevent" : "Detect");
                         });

}  // namespace
