// SPDX-License-Identifier: Apache-2.0
// The agent end to end: the real agent binary (same code as `invar agent`)
// against real containers of a private containerd, real fanotify. Each test
// starts the agent, changes a container through `ctr task exec`, and asserts
// on the JSON alerts the agent wrote. Waits are bounded polls on the output
// file (a missing alert fails after 20 s); nothing asserts on timing. The
// agent loads the shipped default rules (drift/rules/defaults) unless a test
// gives its own with --default-rules / -r.
// GCC 12 reports a false -Wrestrict on std::string concatenation (GCC PR 105329).
#pragma GCC diagnostic ignored "-Wrestrict"
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "agent_process.h"
#include "containerd_fixture.h"

extern char** environ;

namespace {

using invar::testing::AgentProcess;
using invar::testing::ContainerdFixture;
using invar::testing::Describe;
using invar::testing::Op;
using invar::testing::ReadAll;
using invar::testing::WriteFile;
using invar::testing::PodSpec;
using nlohmann::json;
namespace fs = std::filesystem;

class Agent : public ::testing::Test {
 protected:
  ContainerdFixture& f = ContainerdFixture::Instance();
};

// Starts `agent` with a 64-event fanotify queue (max_queued_events applies to
// groups created while it is set; it is restored as soon as the agent runs,
// and also if Start fails) and a reader that sleeps 200 ms between reads.
void StartWithTinyQueue(AgentProcess& agent) {
  const std::string knob = "/proc/sys/fs/fanotify/max_queued_events";
  struct Restore {
    std::string knob, value;
    ~Restore() { std::ofstream(knob) << value; }
  } restore{knob, ReadAll(knob)};
  std::ofstream(knob) << "64";
  agent.Start({"--batch-delay-ms", "200"});
}

TEST_F(Agent, ReportsEveryKindOfFileChangeWithPodAndProcess) {
  AgentProcess agent("ops");
  agent.Start();
  PodSpec pod{.pod = "shop-7d9", .ns = "prod", .name = "api", .pod_uid = "u-ops", .extra_annotations = {}};
  ASSERT_TRUE(f.Run("ops", {"sleep", "100000"}, pod));
  ASSERT_TRUE(agent.WaitWatching("ops")) << Describe(agent);

  struct Case {
    std::string cmd, op, path;
  } cases[] = {
      {"echo hi > /tmp/new.txt", "create", "/tmp/new.txt"},
      {"echo more >> /etc/app.conf", "write", "/etc/app.conf"},
      {"truncate -s 0 /data/image-file.txt", "truncate", "/data/image-file.txt"},
      {"rm /bin/tar", "delete", "/bin/tar"},
      {"echo x > /tmp/a && mv /tmp/a /tmp/b", "rename", "/tmp/b"},
      {"chmod 600 /etc/group", "chmod", "/etc/group"},
      {"chown 1000:1000 /etc/passwd", "chown", "/etc/passwd"},
      {"ln /tmp/new.txt /tmp/hard", "link", "/tmp/hard"},
      {"ln -s /etc/app.conf /tmp/sym", "symlink", "/tmp/sym"},
      {"mkdir /opt", "create", "/opt"},
  };
  for (const auto& c : cases) {
    // The trailing sleep keeps the writer alive so /proc still describes it
    // when the agent reads it (a process that has exited is reported by pid only).
    auto r = f.Exec("ops", c.cmd + "; sleep 0.3; :");
    ASSERT_EQ(r.exit_code, 0) << c.cmd << ": " << r.output;
    auto a = agent.WaitAlert(Op("ops", c.op, c.path));
    ASSERT_TRUE(a.has_value()) << "no " << c.op << " alert for " << c.path << "\n" << Describe(agent);
    const auto& fld = (*a)["output_fields"];
    EXPECT_EQ(fld["k8s.pod.name"], "shop-7d9");
    EXPECT_EQ(fld["k8s.ns.name"], "prod");
    EXPECT_EQ(fld["container.name"], "api");
    EXPECT_EQ(fld["container.image.repository"], "docker.io/invar/busybox");
    EXPECT_EQ(fld["invar.origin"], "fanotify");
    EXPECT_EQ((*a)["rule"], "Drift write in container");
    EXPECT_EQ((*a)["priority"], "Error");
    EXPECT_EQ((*a)["hostname"], "test-node");
    ASSERT_FALSE(fld["proc.pid"].is_null()) << (*a).dump();
    if (c.cmd.rfind("echo", 0) == 0 && c.cmd.find("&&") == std::string::npos) {
      // The writer is the shell itself, alive until the sleep ends: fully described.
      EXPECT_EQ(fld["user.name"], "root") << (*a).dump();
      EXPECT_EQ(fld["user.uid"], 0);
      EXPECT_EQ(fld["proc.name"], "sh");
    }
  }
  // A file written by a non-root user carries that user's name.
  auto r = f.ExecArgv("ops", {"/bin/sh", "-c", "echo u > /tmp/by-app; sleep 0.3; :"}, 30, "1000:1000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto a = agent.WaitAlert(Op("ops", "create", "/tmp/by-app"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["output_fields"]["user.name"], "app");
  EXPECT_EQ((*a)["output_fields"]["proc.name"], "sh");
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("ops");
}

TEST_F(Agent, ReportsWriteThroughMmapAndXattr) {
  AgentProcess agent("mmap");
  agent.Start();
  ASSERT_TRUE(f.Run("mmap", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("mmap"));
  ASSERT_EQ(f.Exec("mmap", "echo content > /tmp/m && sleep 0.3").exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("mmap", "create", "/tmp/m")));
  ASSERT_EQ(f.ExecArgv("mmap", {"/bin/drift-helper", "mmap", "/data/image-file.txt"}).exit_code, 0);
  EXPECT_TRUE(agent.WaitAlert(Op("mmap", "write", "/data/image-file.txt"))) << Describe(agent);
  auto r = f.ExecArgv("mmap", {"/bin/drift-helper", "xattr", "/tmp/m"});
  if (r.exit_code == 0) {
    EXPECT_TRUE(agent.WaitAlert(Op("mmap", "xattr", "/tmp/m"))) << Describe(agent);
  } else {
    GTEST_LOG_(INFO) << "user xattrs unsupported on this upper filesystem: " << r.output;
  }
  agent.Stop();
  f.Remove("mmap");
}

TEST_F(Agent, DetectsDroppedBinaryExecAndShell) {
  AgentProcess agent("exec");
  agent.Start();
  ASSERT_TRUE(f.Run("exec", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("exec"));
  auto r = f.Exec("exec", "cp /bin/drift-helper /tmp/dropped && /tmp/dropped hello");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hello"), std::string::npos);
  auto a = agent.WaitAlert(Op("exec", "exec", "/tmp/dropped"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["rule"], "Drop and execute new binary in container");
  EXPECT_EQ((*a)["priority"], "Critical");
  EXPECT_EQ((*a)["output_fields"]["proc.is_exe_upper_layer"], true);
  // An image binary is not drift.
  EXPECT_EQ(agent.Count(Op("exec", "exec", "/bin/busybox")), 0);
  // A shell that lives a moment (in detect mode the exec event is not a
  // permission event, so a busybox applet that is gone before the agent reads
  // /proc cannot be told from other applets; see docs/agent.md).
  ASSERT_EQ(f.Exec("exec", "sleep 0.2; echo done").exit_code, 0);
  auto sh = agent.WaitAlert([](const json& j) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["container.full_id"] == "exec";
  });
  ASSERT_TRUE(sh.has_value()) << Describe(agent);
  EXPECT_NE((*sh)["output"].get<std::string>().find("Shell spawned (root,container_id=exec)"), std::string::npos)
      << (*sh)["output"];
  // bash too.
  ASSERT_EQ(f.ExecArgv("exec", {"/bin/bash", "-c", "true"}).exit_code, 0);
  EXPECT_TRUE(agent.WaitAlert([](const json& j) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["proc.name"] == "bash";
  })) << Describe(agent);
  agent.Stop();
  f.Remove("exec");
}

TEST_F(Agent, PreventModeBlocksDroppedBinaryWithEperm) {
  AgentProcess agent("prevent");
  agent.Start({"--action", "prevent"});
  ASSERT_TRUE(f.Run("prev", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("prev"));
  auto r = f.Exec("prev", "cp /bin/drift-helper /tmp/dropped; /tmp/dropped hello; echo rc=$?");
  EXPECT_NE(r.output.find("Operation not permitted"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rc=126"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("hello"), std::string::npos) << r.output;
  auto a = agent.WaitAlert(Op("prev", "exec", "/tmp/dropped"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["output_fields"]["invar.action"], "prevent");
  // Image binaries still run.
  EXPECT_EQ(f.Exec("prev", "ls / > /dev/null").exit_code, 0);
  // A per-pod allow glob lets a dropped binary run.
  agent.Stop();
  f.Remove("prev");
  PodSpec pod;
  pod.extra_annotations["invar.dev/drift-allow"] = "/tmp/ok-*";
  AgentProcess agent2("prevent2");
  agent2.Start({"--action", "prevent"});
  ASSERT_TRUE(f.Run("prev2", {"sleep", "100000"}, pod));
  ASSERT_TRUE(agent2.WaitWatching("prev2"));
  r = f.Exec("prev2", "cp /bin/drift-helper /tmp/ok-tool && /tmp/ok-tool hello");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = f.Exec("prev2", "cp /bin/drift-helper /tmp/bad-tool && /tmp/bad-tool hello");
  EXPECT_NE(r.exit_code, 0) << r.output;
  agent2.Stop();
  f.Remove("prev2");
}

TEST_F(Agent, KillActionKillsEveryProcessOfTheContainer) {
  AgentProcess agent("kill");
  PodSpec pod;
  pod.extra_annotations["invar.dev/drift-action"] = "kill";
  agent.Start();
  ASSERT_TRUE(f.Run("killme", {"sh", "-c", "sleep 100000 & sleep 100000"}, pod));
  ASSERT_TRUE(agent.WaitWatching("killme"));
  const int pid = f.InitPid("killme");
  ASSERT_GT(pid, 0);
  // Not through `sh -c`: a shell exec is drift too and would kill the
  // container before the write this test is about.
  f.ExecArgv("killme", {"/bin/touch", "/tmp/evil"}, 10);
  auto a = agent.WaitAlert(Op("killme", "create", "/tmp/evil"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["output_fields"]["invar.action"], "kill");
  // The `sh -c` entrypoint is the container's own init, not a spawned shell:
  // never alerted (nor counted as drift, which would have killed the
  // container before the write).
  EXPECT_EQ(agent.Count([](const json& j) {
              return j["rule"] == "Shell spawned in container" && j["output_fields"]["container.full_id"] == "killme";
            }),
            0)
      << Describe(agent);
  bool dead = false;
  for (int i = 0; i < 200 && !dead; ++i) {
    dead = ::kill(pid, 0) != 0 || ReadAll("/proc/" + std::to_string(pid) + "/stat").find(" Z ") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(dead) << Describe(agent);
  agent.Stop();
  f.Remove("killme");
}

TEST_F(Agent, NoCoalesceReportsShortLivedFilesInNewDirectoriesLive) {
  // By default the files of a directory the container created come from a
  // 1 s sweep (a file living less than that there is not seen); with
  // --no-coalesce-new-dirs each one is reported from its fanotify event.
  AgentProcess agent("nocoalesce");
  agent.Start({"--no-coalesce-new-dirs"});
  ASSERT_TRUE(f.Run("nc", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("nc"));
  ASSERT_EQ(f.ExecArgv("nc", {"/bin/mkdir", "/newdir"}).exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("nc", "create", "/newdir")));
  ASSERT_EQ(f.ExecArgv("nc", {"/bin/touch", "/newdir/brief"}).exit_code, 0);
  ASSERT_EQ(f.ExecArgv("nc", {"/bin/rm", "/newdir/brief"}).exit_code, 0);
  auto a = agent.WaitAlert(Op("nc", "create", "/newdir/brief"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["output_fields"]["invar.origin"], "fanotify");
  EXPECT_TRUE(agent.WaitAlert(Op("nc", "delete", "/newdir/brief"))) << Describe(agent);
  agent.Stop();
  f.Remove("nc");
}

TEST_F(Agent, RestartReportsDriftMadeWhileDownExactlyOnce) {
  AgentProcess agent("restart");
  agent.Start();
  ASSERT_TRUE(f.Run("rs", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("rs"));
  ASSERT_EQ(f.Exec("rs", "echo 1 > /tmp/live").exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("rs", "create", "/tmp/live"))) << Describe(agent);
  ASSERT_EQ(agent.Stop(), 0);
  // Changes while the agent is down.
  ASSERT_EQ(f.Exec("rs", "echo 2 > /tmp/offline && rm /bin/vi && echo z >> /etc/app.conf").exit_code, 0);
  agent.Start();
  EXPECT_TRUE(agent.WaitAlert(Op("rs", "create", "/tmp/offline"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("rs", "delete", "/bin/vi"))) << Describe(agent);
  auto w = agent.WaitAlert(Op("rs", "write", "/etc/app.conf"));
  ASSERT_TRUE(w) << Describe(agent);
  EXPECT_EQ((*w)["output_fields"]["invar.origin"], "scan");
  EXPECT_EQ(agent.Count(Op("rs", "create", "/tmp/live")), 1);  // not again
  ASSERT_EQ(agent.Stop(), 0);
  agent.Start();
  ASSERT_TRUE(agent.WaitWatching("rs"));
  ASSERT_EQ(f.Exec("rs", "echo 3 > /tmp/marker").exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("rs", "create", "/tmp/marker")));
  EXPECT_EQ(agent.Count(Op("rs", "create", "/tmp/offline")), 1);
  EXPECT_EQ(agent.Count(Op("rs", "delete", "/bin/vi")), 1);
  EXPECT_EQ(agent.Count(Op("rs", "write", "/etc/app.conf")), 1);
  agent.Stop();
  f.Remove("rs");
}

// The preferred watch: inode marks on the image's directories (through
// /proc/<pid>/root), events mapped back through the agent's table of their
// file ids. Every operation in an image directory, with the writer.
TEST_F(Agent, ImageDirectoryMarksReportEveryOperationInImageDirectories) {
  AgentProcess agent("imgmarks");
  agent.Start();
  ASSERT_TRUE(f.Run("imgm", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("imgm"));
  // Watched after hardening (capabilities dropped, seccomp on) through marks.
  ASSERT_TRUE(agent.WaitLog("watching imgm through ")) << ReadAll(agent.log_path());
  EXPECT_NE(ReadAll(agent.log_path()).find("image directory marks"), std::string::npos);
  EXPECT_EQ(ReadAll(agent.log_path()).find("watching filesystem of"), std::string::npos)
      << ReadAll(agent.log_path());
  struct Case {
    std::string cmd, op, path, old_path;
  } cases[] = {
      {"echo hi > /tmp/img-new", "create", "/tmp/img-new", ""},
      {"rm /etc/group", "delete", "/etc/group", ""},                 // an image file: a whiteout
      {"echo more >> /etc/app.conf", "write", "/etc/app.conf", ""},  // an image file: copy-up first
      {"truncate -s 0 /data/image-file.txt", "truncate", "/data/image-file.txt", ""},
      {"mv /etc/passwd /etc/passwd.old", "rename", "/etc/passwd.old", "/etc/passwd"},
      {"chmod 700 /bin/busybox", "chmod", "/bin/busybox", ""},
      {"ln -s /etc/app.conf /home/app/link", "symlink", "/home/app/link", ""},
      {"mkdir /root/newdir", "create", "/root/newdir", ""},
      {"echo again > /etc/group", "create", "/etc/group", ""},  // deleted above, made again
  };
  for (const auto& c : cases) {
    auto r = f.Exec("imgm", c.cmd + "; sleep 0.3; :");
    ASSERT_EQ(r.exit_code, 0) << c.cmd << ": " << r.output;
    auto a = agent.WaitAlert(Op("imgm", c.op, c.path));
    ASSERT_TRUE(a.has_value()) << "no " << c.op << " alert for " << c.path << "\n" << Describe(agent);
    const auto& fld = (*a)["output_fields"];
    EXPECT_EQ(fld["invar.origin"], "fanotify") << c.cmd;
    ASSERT_FALSE(fld["proc.pid"].is_null()) << (*a).dump();
    if (!c.old_path.empty()) {
      EXPECT_EQ(fld["fs.path.source"], c.old_path) << (*a).dump();
    }
    if (c.cmd.rfind("echo", 0) == 0) {
      EXPECT_EQ(fld["proc.name"], "sh") << (*a).dump();
    }
  }
  // Overlay internals (copy-up, whiteout) are not reported as operations of their own.
  EXPECT_EQ(agent.Count(Op("imgm", "create", "/etc/app.conf")), 0) << Describe(agent);
  EXPECT_EQ(agent.Count(Op("imgm", "create", "/data/image-file.txt")), 0) << Describe(agent);
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("imgm");
}

// A directory the container creates carries no mark: the kernel queues
// nothing for the tree below it (a 64-event queue read every 200 ms does not
// overflow with 400 files), and the sweep reports every file and
// subdirectory in it, nested ones included, from the upper layer.
TEST_F(Agent, NewDirectoryTreeRaisesOneKernelEventAndTheSweepReportsItsContents) {
  AgentProcess agent("burst");
  StartWithTinyQueue(agent);
  ASSERT_TRUE(f.Run("burst", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("burst"));
  ASSERT_TRUE(agent.WaitLog("image directory marks")) << ReadAll(agent.log_path());
  auto r = f.Exec("burst",
                  "mkdir /tmp/burst && for i in $(seq 1 400); do echo $i > /tmp/burst/f$i; done && "
                  "mkdir -p /tmp/burst/sub/deep && echo x > /tmp/burst/sub/deep/leaf && sleep 0.3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto dir = agent.WaitAlert(Op("burst", "create", "/tmp/burst"));
  ASSERT_TRUE(dir.has_value()) << Describe(agent);
  EXPECT_EQ((*dir)["output_fields"]["invar.origin"], "fanotify");
  for (const std::string p : {"/tmp/burst/f1", "/tmp/burst/f400", "/tmp/burst/sub", "/tmp/burst/sub/deep",
                              "/tmp/burst/sub/deep/leaf"}) {
    auto a = agent.WaitAlert(Op("burst", "create", p));
    ASSERT_TRUE(a.has_value()) << p << Describe(agent);
    EXPECT_EQ((*a)["output_fields"]["invar.origin"], "scan") << p;
  }
  EXPECT_EQ(agent.Stop(), 0);
  EXPECT_EQ(ReadAll(agent.log_path()).find("queue overflow"), std::string::npos) << ReadAll(agent.log_path());
  int files = 0, live_below = 0;
  for (const auto& a : agent.Alerts()) {
    const auto& fld = a["output_fields"];
    const std::string p = fld.value("fd.name", "");
    if (fld.value("container.full_id", "") != "burst" || p.rfind("/tmp/burst/", 0) != 0) continue;
    files += fld.value("invar.op", "") == "create";
    live_below += fld.value("invar.origin", "") == "fanotify";
  }
  EXPECT_EQ(files, 403);  // 400 files, sub, sub/deep, leaf: each once
  EXPECT_EQ(live_below, 0);
  EXPECT_EQ(agent.Count(Op("burst", "create", "/tmp/burst")), 1);
  f.Remove("burst");
}

// A container whose image has more directories than the budget is watched
// through the upper filesystem's mark, as before, and everything is reported.
TEST_F(Agent, ContainerOverTheMarkBudgetFallsBackToTheFilesystemMark) {
  AgentProcess agent("budget");
  agent.Start({"--image-dir-marks-max", "3"});
  ASSERT_TRUE(f.Run("budget", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("budget"));
  ASSERT_TRUE(agent.WaitLog("watching its upper filesystem instead")) << ReadAll(agent.log_path());
  EXPECT_NE(ReadAll(agent.log_path()).find("more than 3 image directories"), std::string::npos);
  EXPECT_NE(ReadAll(agent.log_path()).find("watching filesystem of"), std::string::npos);
  ASSERT_EQ(f.Exec("budget",
                   "echo 1 > /tmp/fb && rm /bin/tar && echo z >> /etc/app.conf && mkdir /tmp/fbdir && "
                   "echo 2 > /tmp/fbdir/inner && sleep 0.3")
                .exit_code,
            0);
  EXPECT_TRUE(agent.WaitAlert(Op("budget", "create", "/tmp/fb"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("budget", "delete", "/bin/tar"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("budget", "write", "/etc/app.conf"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("budget", "create", "/tmp/fbdir"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("budget", "create", "/tmp/fbdir/inner"))) << Describe(agent);
  // The last container on that filesystem gone, its mark goes too.
  f.Remove("budget");
  EXPECT_TRUE(agent.WaitLog("filesystem mark removed")) << ReadAll(agent.log_path());
  EXPECT_EQ(agent.Stop(), 0);
}

// Directories made while the agent was down (nested) are coalesced again at
// start: what was there is reported once by the start-up scan, what is added
// below them later by the sweep (including new subdirectories).
TEST_F(Agent, RestartWithImageMarksSweepsDirectoriesMadeWhileDown) {
  AgentProcess agent("imgrestart");
  agent.Start();
  ASSERT_TRUE(f.Run("imgrs", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("imgrs"));
  ASSERT_EQ(f.Exec("imgrs", "echo 1 > /tmp/live").exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("imgrs", "create", "/tmp/live"))) << Describe(agent);
  ASSERT_EQ(agent.Stop(), 0);
  ASSERT_EQ(f.Exec("imgrs", "mkdir -p /tmp/down/a/b && echo 1 > /tmp/down/a/b/f && rm /etc/group").exit_code,
            0);
  agent.Start();
  ASSERT_TRUE(agent.WaitWatching("imgrs"));
  ASSERT_TRUE(agent.WaitLog("image directory marks")) << ReadAll(agent.log_path());
  EXPECT_TRUE(agent.WaitAlert(Op("imgrs", "create", "/tmp/down/a/b/f"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("imgrs", "delete", "/etc/group"))) << Describe(agent);
  ASSERT_TRUE(agent.WaitLog("created before this start coalesced again")) << ReadAll(agent.log_path());
  ASSERT_EQ(f.Exec("imgrs", "echo 2 > /tmp/down/a/b/g && mkdir /tmp/down/a/c && echo 3 > /tmp/down/a/c/h")
                .exit_code,
            0);
  EXPECT_TRUE(agent.WaitAlert(Op("imgrs", "create", "/tmp/down/a/b/g"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("imgrs", "create", "/tmp/down/a/c"))) << Describe(agent);
  EXPECT_TRUE(agent.WaitAlert(Op("imgrs", "create", "/tmp/down/a/c/h"))) << Describe(agent);
  ASSERT_EQ(agent.Stop(), 0);
  EXPECT_EQ(agent.Count(Op("imgrs", "create", "/tmp/down/a/b/f")), 1) << Describe(agent);
  EXPECT_EQ(agent.Count(Op("imgrs", "create", "/tmp/live")), 1) << Describe(agent);
  f.Remove("imgrs");
}

TEST_F(Agent, QueueOverflowTriggersRescanThatFindsEverything) {
  AgentProcess agent("overflow");
  StartWithTinyQueue(agent);  // a slow reader: the queue fills
  ASSERT_TRUE(f.Run("ovf", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("ovf"));
  // Into an image directory: files in a directory the container created are
  // coalesced in the kernel (ignore mark + sweep) and would not fill the queue.
  ASSERT_EQ(f.Exec("ovf", "for i in $(seq 1 400); do echo $i > /tmp/f$i; done").exit_code, 0);
  ASSERT_TRUE(agent.WaitLog("queue overflow")) << Describe(agent);
  // Every file, before stopping: the queue may overflow more than once, and
  // each overflow's rescan runs on the agent's main loop after it; stopping
  // after a sample of the files could stop before the last rescan ran (a
  // file created then is found by the next start's scan, not by this run).
  for (int i = 1; i <= 400; ++i) {
    if (!agent.WaitAlert(Op("ovf", "create", "/tmp/f" + std::to_string(i)))) {
      ADD_FAILURE() << "no alert for /tmp/f" << i << Describe(agent);
      break;
    }
  }
  agent.Stop();
  int total = 0;
  for (int i = 1; i <= 400; ++i) total += agent.Count(Op("ovf", "create", "/tmp/f" + std::to_string(i))) > 0;
  EXPECT_EQ(total, 400);
  f.Remove("ovf");
}

TEST_F(Agent, SigkilledAgentWithPendingExecPermissionDoesNotHangTheExec) {
  AgentProcess agent("sigkill");
  // SIGSTOP freezes the decision thread so the exec's permission event is
  // pending for sure; SIGKILL then closes the group and the kernel allows it.
  agent.Start({"--action", "prevent"});
  ASSERT_TRUE(f.Run("hang", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("hang"));
  ASSERT_EQ(f.Exec("hang", "cp /bin/drift-helper /tmp/x").exit_code, 0);
  std::thread exec_thread;
  invar::testing::CommandResult r;
  const pid_t agent_pid = agent.pid();
  ASSERT_GT(agent_pid, 0);
  ::kill(agent_pid, SIGSTOP);
  exec_thread = std::thread([&] { r = f.Exec("hang", "/tmp/x hello", 60); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  agent.Kill();
  exec_thread.join();
  // The kernel allowed the pending exec: it ran.
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hello"), std::string::npos) << r.output;
  f.Remove("hang");
}

TEST_F(Agent, KeepsOnlyNeededCapabilitiesAndRunsUnderSeccomp) {
  AgentProcess agent("harden");
  const std::string metrics = "127.0.0.1:" + std::to_string(20000 + getpid() % 10000);
  agent.Start({"--metrics-listen", metrics});
  const std::string status = ReadAll("/proc/" + std::to_string(agent.pid()) + "/status");
  auto field = [&](const std::string& name) {
    auto p = status.find(name + ":");
    return status.substr(p + name.size() + 1, status.find('\n', p) - p - name.size() - 1);
  };
  // SYS_ADMIN(21) DAC_READ_SEARCH(2) SYS_PTRACE(19) KILL(5) = 0x280024.
  EXPECT_EQ(std::stoull(field("CapEff"), nullptr, 16), 0x280024ull) << status;
  EXPECT_EQ(std::stoull(field("CapBnd"), nullptr, 16), 0x280024ull) << status;
  EXPECT_NE(field("Seccomp").find('2'), std::string::npos) << status;  // filter mode
  EXPECT_NE(field("NoNewPrivs").find('1'), std::string::npos) << status;
  // Still works after hardening: a container started now is watched and reported.
  ASSERT_TRUE(f.Run("hard", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("hard"));
  ASSERT_EQ(f.Exec("hard", "echo 1 > /tmp/after-harden").exit_code, 0);
  EXPECT_TRUE(agent.WaitAlert(Op("hard", "create", "/tmp/after-harden"))) << Describe(agent);
  // The metrics endpoint serves under seccomp.
  auto m = invar::testing::RunCommand({"curl", "-s", "-m", "5", "http://" + metrics + "/metrics"});
  EXPECT_NE(m.output.find("invar_drift_events_total{action=\"flag\",rule=\"Drift write in container\"}"),
            std::string::npos)
      << m.output;
  EXPECT_NE(m.output.find("invar_drift_watched_containers 1"), std::string::npos) << m.output;
  // SIGTERM reaches the agent's signalfd, not a default handler on some thread: clean exit.
  EXPECT_EQ(agent.Stop(), 0);
  EXPECT_NE(ReadAll(agent.log_path()).find("stopping"), std::string::npos);
  f.Remove("hard");
}

TEST_F(Agent, FiftyContainersStartingAndStoppingWhileWriting) {
  AgentProcess agent("fifty");
  agent.Start();
  constexpr int kN = 50;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(f.Run("c" + std::to_string(i), {"sh", "-c", "echo $HOSTNAME > /tmp/started; sleep 100000"}));
  }
  for (int i = 0; i < kN; ++i) {
    const std::string id = "c" + std::to_string(i);
    ASSERT_EQ(f.Exec(id, "echo w > /tmp/w" + std::to_string(i)).exit_code, 0);
    if (i % 2 == 0) f.Remove(id);
  }
  // The odd containers stay up: each write is reported, live or by the scan
  // at discovery. (The even ones may be gone before the agent polls; they
  // only add start/stop churn.)
  for (int i = 1; i < kN; i += 2) {
    const std::string id = "c" + std::to_string(i);
    EXPECT_TRUE(agent.WaitAlert(Op(id, "create", "/tmp/w" + std::to_string(i)))) << id << Describe(agent);
    EXPECT_TRUE(agent.WaitAlert(Op(id, "create", "/tmp/started"))) << id;
  }
  for (int i = 1; i < kN; i += 2) f.Remove("c" + std::to_string(i));
  EXPECT_TRUE(agent.WaitLog("released container c49"));
  EXPECT_EQ(agent.Stop(), 0);
}

// The rule of issue 6, verbatim.
constexpr const char* kIssueRule = R"yaml(- macro: container
  condition: container.id != host

- macro: spawned_process
  condition: evt.type = execve and evt.dir=<

- rule: run_shell_in_container
  desc: a shell was spawned by a non-shell program in a container. Container entrypoints are excluded.
  condition: container and proc.name = bash
  output: "Shell spawned (%user.name,container_id=%container.id)"
  priority: WARNING
)yaml";

TEST_F(Agent, CustomRuleFileFiresOnARealContainerInFalcosExactFormat) {
  AgentProcess agent("custom-rule");
  const std::string rules = agent.dir() + "/falco_rules.local.yaml";
  WriteFile(rules, kIssueRule);
  // rule_matching all: the default "Shell spawned in container" matches bash too
  // and is loaded first; with Falco's default (first) only it would fire.
  agent.Start({"-r", rules, "--rule-matching", "all"});
  ASSERT_TRUE(agent.WaitLog("rules: 5 enabled of 5 loaded from")) << Describe(agent);
  ASSERT_TRUE(f.Run("rshell", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("rshell"));
  ASSERT_EQ(f.ExecArgv("rshell", {"/bin/bash", "-c", "sleep 1; true"}).exit_code, 0);
  auto a = agent.WaitAlert([](const json& j) { return j["rule"] == "run_shell_in_container"; });
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  // Falco's text line, exactly: "21:46:11.008102763: Warning Shell spawned (root,container_id=3d9b3f12ef50)".
  const std::string output = (*a)["output"];
  EXPECT_TRUE(std::regex_match(output, std::regex(R"([0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}: Warning Shell spawned \(root,container_id=rshell\))")))
      << output;
  EXPECT_EQ((*a)["priority"], "Warning");
  EXPECT_EQ((*a)["source"], "syscall");
  EXPECT_EQ((*a)["hostname"], "test-node");
  const auto& fld = (*a)["output_fields"];
  EXPECT_EQ(fld["user.name"], "root");
  EXPECT_EQ(fld["container.id"], "rshell");
  EXPECT_EQ(fld["proc.name"], "bash");  // the agent's own fields ride along
  EXPECT_EQ(fld["invar.op"], "shell");
  EXPECT_EQ(fld["invar.action"], "flag");
  // The time prefix is the event's time, as Falco prints it (local time).
  const std::uint64_t ns = fld["evt.time"];
  const time_t secs = static_cast<time_t>(ns / 1000000000ull);
  tm t{};
  localtime_r(&secs, &t);
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%02d:%02d:%02d.%09llu: ", t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<unsigned long long>(ns % 1000000000ull));
  EXPECT_EQ(output.rfind(prefix, 0), 0u) << output;
  // The same exec also raised the default rule (rule_matching all).
  EXPECT_TRUE(agent.WaitAlert([](const json& j) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["container.full_id"] == "rshell";
  })) << Describe(agent);
  // sh is not bash: the custom rule stays quiet for it. (The shell lives a
  // second so the agent reads its comm from /proc even on a loaded machine.)
  ASSERT_EQ(f.Exec("rshell", "sleep 1; true").exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert([](const json& j) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["proc.name"] == "sh" &&
           j["output_fields"]["container.full_id"] == "rshell";
  })) << Describe(agent);
  EXPECT_EQ(agent.Count([](const json& j) { return j["rule"] == "run_shell_in_container"; }), 1);
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("rshell");
}

TEST_F(Agent, RefusesToStartOnRuleErrorsAndPrintsEveryError) {
  const std::string dir = f.dir() + "/agent-bad-rules";
  fs::create_directories(dir);
  const std::string bad = dir + "/bad.yaml";
  WriteFile(bad,
            "- rule: unknown field\n"
            "  desc: d\n"
            "  condition: proc.nam = bash\n"
            "  output: x\n"
            "  priority: WARNING\n"
            "- rule: undefined macro\n"
            "  desc: d\n"
            "  condition: no_such_macro\n"
            "  output: x\n"
            "  priority: WARNING\n");
  auto r = invar::testing::RunCommand({AGENT_BINARY, "--containerd-state", f.TaskDir(), "--state-dir", dir + "/state",
                                       "--no-stdout", "--ready-file", dir + "/ready", "-r", bad, "-r",
                                       dir + "/missing.yaml"},
                                      60);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, -1) << "the agent did not exit: " << r.output;
  EXPECT_FALSE(fs::exists(dir + "/ready")) << r.output;
  // Every error, each with file, line and item.
  EXPECT_NE(r.output.find(bad + ":3:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rule 'unknown field'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nonexistent field proc.nam"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rule 'undefined macro'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Undefined macro 'no_such_macro'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Could not open file " + dir + "/missing.yaml"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not starting"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("agent startup step \"load rules\" failed"), std::string::npos) << r.output;
}

TEST_F(Agent, LocalRulesFileDisablesADefaultRuleButNotTheAction) {
  AgentProcess agent("local-override");
  const std::string rules_dir = agent.dir() + "/rules";
  fs::create_directories(rules_dir);
  fs::copy_file(std::string(INVAR_SOURCE_DIR) + "/drift/rules/defaults/rules.yaml", rules_dir + "/rules.yaml",
                fs::copy_options::overwrite_existing);
  WriteFile(rules_dir + "/rules.local.yaml",
            "- rule: Drift write in container\n"
            "  enabled: false\n"
            "  override:\n"
            "    enabled: replace\n");
  const std::string metrics = "127.0.0.1:" + std::to_string(20000 + (getpid() + 1) % 10000);
  agent.Start({"--default-rules", rules_dir + "/rules.yaml", "--metrics-listen", metrics});
  ASSERT_TRUE(agent.WaitLog("rules: 3 enabled of 4 loaded from " + rules_dir + "/rules.yaml, " + rules_dir +
                            "/rules.local.yaml"))
      << Describe(agent);
  PodSpec pod{.pod = "quiet-0", .ns = "prod", .name = "app", .pod_uid = "u-quiet", .extra_annotations = {}};
  ASSERT_TRUE(f.Run("quiet", {"sleep", "100000"}, pod));
  ASSERT_TRUE(agent.WaitWatching("quiet"));
  ASSERT_EQ(f.ExecArgv("quiet", {"/bin/touch", "/tmp/not-alerted"}).exit_code, 0);
  // The write reaches the dispatcher, matches no enabled rule and is counted as such.
  bool unmatched = false;
  for (int i = 0; i < 400 && !unmatched; ++i) {
    auto m = invar::testing::RunCommand({"curl", "-s", "-m", "5", "http://" + metrics + "/metrics"});
    std::smatch sm;
    unmatched = std::regex_search(m.output, sm, std::regex(R"(invar_drift_unmatched_events_total ([0-9.e+]+))")) &&
                std::stod(sm[1]) >= 1;
    if (!unmatched) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(unmatched) << Describe(agent);
  EXPECT_EQ(agent.Count([](const json& j) { return j["rule"] == "Drift write in container"; }), 0) << Describe(agent);
  // The other defaults still fire.
  ASSERT_EQ(f.Exec("quiet", "sleep 1; true").exit_code, 0);
  EXPECT_TRUE(agent.WaitAlert([](const json& j) {
    return j["rule"] == "Shell spawned in container" && j["output_fields"]["container.full_id"] == "quiet";
  })) << Describe(agent);
  // The drift is still recorded (rules decide alerts, not what is drift): the
  // state file holds the path, so `invar report` and restarts still see it.
  bool recorded = false;
  for (const auto& e : fs::recursive_directory_iterator(agent.state_dir())) {
    if (e.is_regular_file() && ReadAll(e.path().string()).find("/tmp/not-alerted") != std::string::npos) {
      recorded = true;
    }
  }
  EXPECT_TRUE(recorded);
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("quiet");
}

}  // namespace
