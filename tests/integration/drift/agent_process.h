// SPDX-License-Identifier: Apache-2.0
// AgentProcess: the real agent binary (AGENT_BINARY, same code as `invar
// agent`) started against the ContainerdFixture's containerd, writing JSON
// alerts to a file the tests read back; plus small helpers. Shared by the
// drift integration tests (agent_integration_test.cpp,
// rule_action_integration_test.cpp). Waits are bounded polls (a missing
// alert fails after 20 s); nothing asserts on timing. Test-only; not
// thread-safe. The including target defines AGENT_BINARY.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "containerd_fixture.h"

extern char** environ;

namespace invar::testing {

using nlohmann::json;
namespace fs = std::filesystem;

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AgentProcess {
 public:
  explicit AgentProcess(std::string name) {
    dir_ = ContainerdFixture::Instance().dir() + "/agent-" + name;
    fs::create_directories(dir_);
    state_dir_ = dir_ + "/state";
  }
  ~AgentProcess() { Stop(); }

  void UseStateDir(const std::string& d) { state_dir_ = d; }
  const std::string& state_dir() const { return state_dir_; }
  std::string alerts_path() const { return dir_ + "/alerts.json"; }
  std::string log_path() const { return dir_ + "/agent.log"; }

  void Start(std::vector<std::string> extra = {}) {
    fs::remove(dir_ + "/ready");
    std::vector<std::string> args = {AGENT_BINARY,
                                     "--containerd-state", ContainerdFixture::Instance().TaskDir(),
                                     "--state-dir", state_dir_,
                                     "--output", "json",
                                     "--output-file", alerts_path(),
                                     "--no-stdout",
                                     "--poll-ms", "100",
                                     "--node-name", "test-node",
                                     "--ready-file", dir_ + "/ready"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (const char* more = std::getenv("INVAR_TEST_AGENT_ARGS")) {  // debugging aid
      std::istringstream in(more);
      std::string a;
      while (in >> a) args.push_back(a);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 400 && !fs::exists(dir_ + "/ready"); ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "agent exited at startup:\n" << ReadAll(log_path());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(dir_ + "/ready")) << ReadAll(log_path());
  }

  pid_t pid() const { return pid_; }

  // Graceful stop; returns the exit status.
  int Stop() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Waits until the agent logs that it watches `id`.
  bool WaitWatching(const std::string& id) {
    return WaitLog("watching container " + id.substr(0, 12));
  }
  bool WaitLog(const std::string& needle) {
    for (int i = 0; i < 400; ++i) {
      if (ReadAll(log_path()).find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  const std::string& dir() const { return dir_; }

  std::vector<json> Alerts() const {
    std::vector<json> out;
    std::istringstream in(ReadAll(alerts_path()));
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }

  // The first alert matching `pred`, waiting up to 20 s.
  std::optional<json> WaitAlert(const std::function<bool(const json&)>& pred, int timeout_ms = 20000) {
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
      for (const auto& a : Alerts()) {
        if (pred(a)) return a;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  int Count(const std::function<bool(const json&)>& pred) const {
    int n = 0;
    for (const auto& a : Alerts()) n += pred(a) ? 1 : 0;
    return n;
  }

 private:
  std::string dir_;
  std::string state_dir_;
  pid_t pid_ = -1;
};

inline std::function<bool(const json&)> Op(const std::string& id, const std::string& op, const std::string& path) {
  return [=](const json& a) {
    const auto& f = a["output_fields"];
    return f.value("container.full_id", "") == id && f.value("invar.op", "") == op && f.value("fd.name", "") == path;
  };
}

inline std::string Describe(const AgentProcess& agent) {
  std::string out = "alerts:\n";
  for (const auto& a : agent.Alerts()) out += a["output"].get<std::string>() + "\n";
  out += "agent log:\n" + ReadAll(agent.log_path());
  return out;
}

inline void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace invar::testing
