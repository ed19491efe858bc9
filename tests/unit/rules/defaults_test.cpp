// SPDX-License-Identifier: Apache-2.0
// The shipped rules file (drift/rules/defaults/rules.yaml): loads without
// errors or warnings, each detection fires on what it is for and not on the
// benign cases, and users extend its exclusion lists from rules.local.yaml.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "rules_test_util.h"

namespace invar::rules::testing {
namespace {

std::string Defaults() {
  std::ifstream in(std::string(INVAR_SOURCE_DIR) + "/drift/rules/defaults/rules.yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Loaded LoadDefaults(const std::string& local = "") {
  std::vector<RulesFile> files = {{"rules.yaml", Defaults()}};
  if (!local.empty()) files.push_back({"rules.local.yaml", local});
  return LoadFiles(files);
}

TEST(Defaults, LoadCleanly) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine) << l.result.ToText();
  EXPECT_EQ(l.result.messages().size(), 0u) << l.result.ToText();
  std::vector<std::string> names;
  for (const auto& r : l.engine->rules()) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Drift write in container", "Drop and execute new binary in container",
                                             "Shell spawned in container", "Execution from /dev/shm"}));
  EXPECT_EQ(l.engine->rules()[0].action, Action::kFlag);
  EXPECT_EQ(l.engine->rules()[1].action, Action::kPrevent);
  EXPECT_EQ(l.engine->rules()[2].action, Action::kFlag);
  EXPECT_EQ(l.engine->rules()[3].action, Action::kFlag);  // the defaults raise nothing by themselves (docs/rules.md)
}

TEST(Defaults, DriftWriteFiresForEveryChangeInAContainer) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine);
  for (const char* type : {"openat", "write", "creat", "mkdir", "unlink", "unlinkat", "rename", "renameat2", "chmod",
                           "fchmodat", "chown", "link", "symlink", "setxattr", "truncate"}) {
    Event e = WriteEvent("/etc/passwd");
    e.type = type;
    EXPECT_EQ(MatchNames(*l.engine, e), (std::vector<std::string>{"Drift write in container"})) << type;
  }
  Event scan = WriteEvent("/usr/bin/dropped");
  scan.type = "creat";
  scan.origin = Origin::kScan;
  scan.proc_name.reset();  // the scan knows no process
  EXPECT_EQ(MatchNames(*l.engine, scan).size(), 1u);
}

TEST(Defaults, DriftWriteIgnoresHostAndLowerLayer) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine);
  Event host = WriteEvent("/etc/passwd");
  host.container_id = "host";
  EXPECT_TRUE(MatchNames(*l.engine, host).empty());
  Event lower = WriteEvent("/etc/passwd");
  lower.fd_is_upper_layer = false;
  EXPECT_TRUE(MatchNames(*l.engine, lower).empty());
}

TEST(Defaults, DropAndExecuteFiresOnlyForUpperLayerExecutables) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine);
  Event e = ExecEvent("xmrig");
  e.proc_exe = "/tmp/xmrig";
  e.proc_is_exe_upper_layer = true;
  EXPECT_EQ(MatchNames(*l.engine, e), (std::vector<std::string>{"Drop and execute new binary in container"}));
  e.proc_is_exe_upper_layer = false;
  EXPECT_TRUE(MatchNames(*l.engine, e).empty());
}

TEST(Defaults, ShellSpawnedCoversShellsAndBusyboxApplets) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine);
  for (const char* shell : {"sh", "bash", "ash", "dash", "zsh", "ksh", "hush"}) {
    EXPECT_EQ(MatchNames(*l.engine, ExecEvent(shell)), (std::vector<std::string>{"Shell spawned in container"}))
        << shell;
  }
  Event bb = ExecEvent("busybox");
  bb.proc_cmdline = "busybox sh -c id";
  EXPECT_EQ(MatchNames(*l.engine, bb).size(), 1u);
  bb.proc_cmdline = "busybox ash";  // an interactive shell, no arguments
  EXPECT_EQ(MatchNames(*l.engine, bb).size(), 1u);
  bb.proc_cmdline = "busybox hush -c id";
  EXPECT_EQ(MatchNames(*l.engine, bb).size(), 1u);
  bb.proc_cmdline = "busybox ls";
  EXPECT_TRUE(MatchNames(*l.engine, bb).empty());
  // Applets that merely start with a shell's name are not shells.
  for (const char* cmd : {"busybox sha256sum /bin/sh", "busybox shuf", "busybox showkey", "busybox ashell"}) {
    bb.proc_cmdline = cmd;
    EXPECT_TRUE(MatchNames(*l.engine, bb).empty()) << cmd;
  }
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("nginx")).empty());
  Event host = ExecEvent("bash");
  host.container_id = "host";
  EXPECT_TRUE(MatchNames(*l.engine, host).empty());
}

TEST(Defaults, ExecFromDevShm) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine);
  Event e = ExecEvent("payload");
  e.proc_exe = "/dev/shm/payload";
  EXPECT_EQ(MatchNames(*l.engine, e), (std::vector<std::string>{"Execution from /dev/shm"}));
}

TEST(Defaults, FormatsTheShellAlertAsFalcoDoes) {
  Loaded l = LoadDefaults();
  ASSERT_TRUE(l.engine);
  Event e = ExecEvent("bash");
  std::vector<Match> m;
  ASSERT_EQ(l.engine->Evaluate(e, &m), 1u);
  EXPECT_EQ(l.engine->FormatOutput(m[0], e),
            "Shell spawned (root,container_id=3d9b3f12ef50) (shell=bash parent=containerd-shim cmdline=bash "
            "pid=4242 uid=0 container_name=web image=docker.io/library/busybox:1.36 k8s.ns=default k8s.pod=web-0 "
            "action=<NA>)");
}

TEST(Defaults, LocalFileExtendsTheExclusionLists) {
  Loaded l = LoadDefaults(R"(
- list: invar_allowed_namespaces
  items: [kube-system]
  override:
    items: append
- list: invar_allowed_images
  items: [registry.example/debug-tools]
  override:
    items: append
- list: invar_allowed_paths
  items: [/var/cache/nginx, /tmp]
  override:
    items: append
- list: invar_allowed_process_names
  items: [certbot]
  override:
    items: append
)");
  ASSERT_TRUE(l.engine) << l.result.ToText();
  Event ns = ExecEvent("bash");
  ns.k8s_ns_name = "kube-system";
  EXPECT_TRUE(MatchNames(*l.engine, ns).empty());
  Event img = ExecEvent("bash");
  img.image_repository = "registry.example/debug-tools";
  EXPECT_TRUE(MatchNames(*l.engine, img).empty());
  EXPECT_TRUE(MatchNames(*l.engine, WriteEvent("/var/cache/nginx/a/b")).empty());
  EXPECT_TRUE(MatchNames(*l.engine, WriteEvent("/tmp/x")).empty());
  EXPECT_EQ(MatchNames(*l.engine, WriteEvent("/var/cache/other")).size(), 1u);
  Event cb = WriteEvent("/etc/letsencrypt/x");
  cb.proc_name = "certbot";
  EXPECT_TRUE(MatchNames(*l.engine, cb).empty());
}

TEST(Defaults, LocalFileCanDisableARule) {
  Loaded l = LoadDefaults("- rule: Shell spawned in container\n  enabled: false\n  override:\n    enabled: replace\n");
  ASSERT_TRUE(l.engine) << l.result.ToText();
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("bash")).empty());
}

}  // namespace
}  // namespace invar::rules::testing
