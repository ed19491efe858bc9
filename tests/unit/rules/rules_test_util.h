// SPDX-License-Identifier: Apache-2.0
// Helpers for the rules tests: load YAML text, build events, list the rules
// that match. Test-only; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "invar/rules/engine.h"

namespace invar::rules::testing {

struct Loaded {
  std::unique_ptr<Engine> engine;
  LoadResult result;
};

inline Loaded LoadYaml(const std::string& yaml, EngineOptions options = {}) {
  Loaded l;
  options.matching = EngineOptions::Matching::kAll;
  l.engine = Engine::Load({{"test.yaml", yaml}}, &l.result, options);
  return l;
}

inline Loaded LoadFiles(const std::vector<RulesFile>& files) {
  Loaded l;
  EngineOptions options;
  options.matching = EngineOptions::Matching::kAll;
  l.engine = Engine::Load(files, &l.result, options);
  return l;
}

// A shell exec in a container, as the agent reports it.
inline Event ExecEvent(std::string proc = "bash") {
  Event e;
  e.type = "execve";
  e.dir = "<";
  e.time_ns = 1700000000123456789ULL;
  e.container_id = "3d9b3f12ef50";
  e.container_name = "web";
  e.image_repository = "docker.io/library/busybox";
  e.image_tag = "1.36";
  e.k8s_ns_name = "default";
  e.k8s_pod_name = "web-0";
  e.proc_name = proc;
  e.proc_pname = "containerd-shim";
  e.proc_exe = "/bin/" + proc;
  e.proc_cmdline = proc;
  e.proc_pid = 4242;
  e.proc_is_exe_upper_layer = false;
  e.user_name = "root";
  e.user_uid = 0;
  return e;
}

inline Event WriteEvent(std::string path) {
  Event e = ExecEvent("sh");
  e.type = "openat";
  e.fd_name = std::move(path);
  e.fd_is_upper_layer = true;
  return e;
}

inline std::vector<std::string> MatchNames(const Engine& engine, const Event& e) {
  std::vector<Match> matches;
  engine.Evaluate(e, &matches);
  std::vector<std::string> names;
  for (const auto& m : matches) names.push_back(m.rule->name);
  return names;
}

// Wraps a condition in a one-rule file.
inline std::string RuleWith(const std::string& condition) {
  return "- rule: r\n  desc: d\n  condition: '" + condition + "'\n  output: o\n  priority: INFO\n  warn_evttypes: false\n";
}

// True when `condition` loads and matches `e`; fails the test if it does not load.
inline bool Holds(const std::string& condition, const Event& e) {
  Loaded l = LoadYaml(RuleWith(condition));
  EXPECT_TRUE(l.result.ok()) << condition << "\n" << l.result.ToText();
  if (!l.engine) return false;
  return !MatchNames(*l.engine, e).empty();
}

// The first error message when `yaml` fails to load ("" if it loads).
inline std::string FirstError(const std::string& yaml) {
  Loaded l = LoadYaml(yaml);
  auto errors = l.result.errors();
  return errors.empty() ? "" : errors[0].message;
}

}  // namespace invar::rules::testing
