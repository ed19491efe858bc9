// SPDX-License-Identifier: Apache-2.0
// End to end for the rule language: the issue's example rule file, verbatim,
// loads and fires on a real container (containerd + runc, the drift tests'
// fixture) in which bash-static is running, and prints Falco's line.
//
// The process is observed the way the agent's exec source describes it: its
// host pid, /proc/<pid>/{comm,exe,cmdline,status}, the parent's comm, and the
// user name from the container's own /etc/passwd. This test reads /proc itself
// (a process in the container's mount namespace named bash) so it exercises
// the rule engine on real values without depending on the agent's pipeline.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "containerd_fixture.h"
#include "invar/rules/engine.h"

namespace invar::rules {
namespace {

using invar::testing::ContainerdFixture;
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string Link(const std::string& path) {
  std::error_code ec;
  auto target = fs::read_symlink(path, ec);
  return ec ? std::string() : target.string();
}

// The first process named `comm` in the mount namespace of `init_pid`, or 0.
int FindInContainer(int init_pid, const std::string& comm) {
  std::string mnt = Link("/proc/" + std::to_string(init_pid) + "/ns/mnt");
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (Trim(ReadFile("/proc/" + name + "/comm")) != comm) continue;
    if (Link("/proc/" + name + "/ns/mnt") != mnt) continue;
    return std::stoi(name);
  }
  return 0;
}

// Builds the event the agent reports for an exec of `pid` in the container.
Event ExecEventFor(int pid, int init_pid, const std::string& container_id) {
  std::string p = "/proc/" + std::to_string(pid);
  Event e;
  e.type = "execve";
  e.dir = "<";
  e.time_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  e.container_id = container_id.substr(0, 12);
  e.container_name = container_id;
  e.proc_pid = pid;
  e.proc_name = Trim(ReadFile(p + "/comm"));
  e.proc_exe = Link(p + "/exe");
  std::string cmdline = Trim(ReadFile(p + "/cmdline"));
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  e.proc_cmdline = cmdline;
  std::string status = ReadFile(p + "/status");
  std::smatch m;
  if (std::regex_search(status, m, std::regex(R"(PPid:\s+(\d+))"))) {
    e.proc_pname = Trim(ReadFile("/proc/" + m[1].str() + "/comm"));
  }
  if (std::regex_search(status, m, std::regex(R"(Uid:\s+\d+\s+(\d+))"))) {
    e.user_uid = std::stoll(m[1].str());
    std::istringstream passwd(ReadFile("/proc/" + std::to_string(init_pid) + "/root/etc/passwd"));
    std::string line;
    while (std::getline(passwd, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      std::string part;
      while (std::getline(ls, part, ':')) f.push_back(part);
      if (f.size() > 2 && f[2] == m[1].str()) e.user_name = f[0];
    }
  }
  return e;
}

std::unique_ptr<Engine> LoadExample() {
  LoadResult result;
  auto engine =
      Engine::LoadFiles({std::string(INVAR_SOURCE_DIR) + "/tests/unit/rules/data/run_shell_in_container.yaml"}, &result);
  EXPECT_TRUE(engine) << result.ToText();
  return engine;
}

class ShellInContainer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for containerd";
  }
  // Runs `bash -c "sleep 4; true"` (bash stays alive as the parent of sleep)
  // as `user` in the container and returns the event for that bash.
  std::optional<Event> ObserveBash(const std::string& id, const std::string& user) {
    auto& f = ContainerdFixture::Instance();
    std::thread exec([&f, id, user] { f.ExecArgv(id, {"/bin/bash", "-c", "sleep 4; true"}, 30, user); });
    int init = f.InitPid(id);
    int pid = 0;
    for (int i = 0; i < 300 && pid == 0; ++i) {
      pid = FindInContainer(init, "bash");
      if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::optional<Event> e;
    if (pid != 0) e = ExecEventFor(pid, init, id);
    exec.join();
    return e;
  }
};

constexpr char kId[] = "3d9b3f12ef50a1b2c3d4e5f60718293a";

TEST_F(ShellInContainer, ExampleRuleFiresForBashAsRoot) {
  auto& f = ContainerdFixture::Instance();
  ASSERT_TRUE(f.Run(kId, {"/bin/sleep", "300"}));
  auto engine = LoadExample();
  ASSERT_TRUE(engine);
  auto event = ObserveBash(kId, "");
  f.Remove(kId);
  ASSERT_TRUE(event) << "no bash process appeared in the container";
  EXPECT_EQ(event->proc_name, "bash");
  EXPECT_EQ(event->proc_exe, "/bin/bash");
  std::vector<Match> matches;
  ASSERT_EQ(engine->Evaluate(*event, &matches), 1u);
  std::string line = engine->FormatText(matches[0], *event);
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(\d\d:\d\d:\d\d\.\d{9}: Warning Shell spawned \(root,container_id=3d9b3f12ef50\))")))
      << line;
}

TEST_F(ShellInContainer, UserNameComesFromTheContainersPasswd) {
  auto& f = ContainerdFixture::Instance();
  ASSERT_TRUE(f.Run(kId, {"/bin/sleep", "300"}));
  auto engine = LoadExample();
  ASSERT_TRUE(engine);
  auto event = ObserveBash(kId, "1000");
  f.Remove(kId);
  ASSERT_TRUE(event);
  std::vector<Match> matches;
  ASSERT_EQ(engine->Evaluate(*event, &matches), 1u);
  EXPECT_NE(engine->FormatText(matches[0], *event).find(": Warning Shell spawned (app,container_id=3d9b3f12ef50)"),
            std::string::npos);
}

TEST_F(ShellInContainer, DoesNotFireForTheContainersOtherProcessesOrTheHost) {
  auto& f = ContainerdFixture::Instance();
  ASSERT_TRUE(f.Run(kId, {"/bin/sleep", "300"}));
  auto engine = LoadExample();
  ASSERT_TRUE(engine);
  int init = f.InitPid(kId);
  Event sleep_event = ExecEventFor(init, init, kId);
  f.Remove(kId);
  EXPECT_EQ(sleep_event.proc_name, "sleep");
  std::vector<Match> matches;
  EXPECT_EQ(engine->Evaluate(sleep_event, &matches), 0u);
  Event host = sleep_event;
  host.container_id = "host";
  host.proc_name = "bash";
  EXPECT_EQ(engine->Evaluate(host, &matches), 0u);
}

}  // namespace
}  // namespace invar::rules
