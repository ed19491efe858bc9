// SPDX-License-Identifier: Apache-2.0
// RunFromCli: merges --config under the flags given on the command line, then
// runs the agent. Shared by `invar agent` and the integration tests' agent binary.
#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "invar/agent/agent.h"
#include "invar/agent/cli.h"
#include "invar/platform/log.h"

namespace invar::agent {

int RunFromCli(const CLI::App& app, AgentConfig config) {
  if (!config.config_file.empty()) {
    std::ifstream in(config.config_file);
    if (!in) {
      log::Error("cannot read --config {}", config.config_file);
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> explicit_keys;
    for (const char* k : {"action", "output", "output_file", "http_output", "metrics_listen", "state_dir", "host_root",
                          "containerd_state", "node_name", "poll_ms", "delete_pod_on_kill", "default_rules",
                          "rule_matching", "rule_actions"}) {
      std::string flag = std::string("--") + k;
      for (char& ch : flag) {
        if (ch == '_') ch = '-';
      }
      if (app.count(flag) > 0) explicit_keys.push_back(k);
    }
    if (app.count("--rescan-seconds") > 0) explicit_keys.push_back("rescan_seconds");
    if (app.count("--pod-refresh-seconds") > 0) explicit_keys.push_back("pod_refresh_seconds");
    if (auto st = MergeConfigYaml(ss.str(), &config, explicit_keys); !st.ok()) {
      log::Error("{}", st.message());
      return 2;
    }
  }
  return Run(std::move(config));
}

}  // namespace invar::agent
