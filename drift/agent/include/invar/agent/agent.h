// SPDX-License-Identifier: Apache-2.0
// The node drift agent (`invar agent`): configuration, the CLI options that
// fill it, and Run(), which executes the startup steps in order over one
// state struct (load config -> discover -> open sources and place marks ->
// drop capabilities -> install seccomp -> run) and always runs teardown.
// Run() is called from main() on the main thread and returns the exit code.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "invar/platform/status.h"

namespace CLI {
class App;
}

namespace invar::agent {

struct AgentConfig {
  std::string config_file;                  // --config (YAML); flags given on the command line win
  std::string host_root;                    // --host-root
  std::string containerd_state = "/run/containerd/io.containerd.runtime.v2.task";
  std::string state_dir = "/var/lib/invar/agent";
  std::string action = "flag";              // flag | kill | prevent
  std::vector<std::string> allow_globs;     // container paths never reported
  // Rules: the defaults file (--default-rules; else share/invar/rules/rules.yaml
  // beside the binary's prefix, else the source tree's drift/rules/defaults),
  // then rules.local.yaml beside it when present, then each -r/--rules file or
  // directory (its *.yaml/*.yml files, sorted), in order, as Falco loads them.
  std::string default_rules_file;           // --default-rules
  std::vector<std::string> rules_files;     // -r/--rules (repeatable)
  std::string rule_matching = "first";      // first | all (Falco's rule_matching)
  // How a matching rule's invar.action.* tag combines with the container's
  // action: escalate (the stronger), override (the rule's), ignore.
  std::string rule_actions = "escalate";    // --rule-actions
  std::string output = "text";              // text | json
  std::string output_file;                  // also write alerts here (reopened on SIGHUP)
  bool stdout_output = true;
  std::string http_output;                  // POST JSON alerts (Falcosidekick)
  std::string metrics_listen;               // "0.0.0.0:9102"; empty: no metrics endpoint
  std::string node_name;                    // --node-name, env NODE_NAME, else hostname
  int poll_ms = 250;                        // container discovery period
  int rescan_s = 300;                       // periodic upperdir scan; 0: only at start and on overflow
  // Pod labels and owner (alert enrichment) are re-read from the API server
  // when older than this, a few pods per discovery period; 0: only at discovery.
  int pod_refresh_s = 60;                   // --pod-refresh-seconds
  int batch_delay_ms = 5;
  // Coalesce directories the container creates (kernel ignore mark on their
  // files, a 1 s sweep reports them); off: every file event is reported live.
  bool coalesce_new_dirs = true;
  // Watch a container through inode marks on its image's directories (the
  // kernel raises nothing below directories it creates) when its image has
  // at most this many directories and the total stays within the second
  // bound; else through the upper filesystem's mark. 0: always the latter.
  std::size_t image_dir_marks_max = 4096;
  std::size_t image_dir_marks_total = 65536;
  bool report_modify = false;
  // Exec follow-ups (shell detection) from the eBPF exec tracer; off, or when
  // it cannot load, from /proc/<pid>/comm (docs/agent.md, "Exec decisions").
  bool ebpf = true;
  bool ebpf_filter = true;                  // in-kernel filter on watched mount namespaces
  bool delete_pod_on_kill = false;
  bool harden = true;                       // drop capabilities + seccomp after setup
  std::string seccomp_action = "errno";     // errno | kill | log
  std::string ready_file;                   // touched when the agent is watching (tests, probes)
  // Kubernetes API (pod annotations, Events, pod delete). Used when a
  // kubeconfig is given or the agent runs in a cluster (KUBERNETES_SERVICE_HOST).
  std::string kubeconfig;
  std::string kube_context;
  bool no_kube = false;                     // never talk to the API server
};

// Adds the agent's flags to `app` (the `agent` subcommand), bound to `*config`.
void AddAgentOptions(CLI::App& app, AgentConfig* config);

// Merges a YAML config file into `config`: keys action, allow (list),
// output, output_file, http_output, metrics_listen, state_dir, host_root,
// containerd_state, rules (list), default_rules, rule_matching, rule_actions, rescan_seconds,
// pod_refresh_seconds,
// poll_ms, delete_pod_on_kill.
// Keys set on the command line (listed in `explicit_keys`) are kept.
Status MergeConfigYaml(const std::string& yaml_text, AgentConfig* config,
                       const std::vector<std::string>& explicit_keys = {});

// The rules files the agent loads, in order (see AgentConfig). Fails when no
// defaults file can be found or a -r directory cannot be read; a missing -r
// file is left in the list (the engine reports it as LOAD_ERR_FILE_READ).
Result<std::vector<std::string>> RulesFilesToLoad(const AgentConfig& config);

// Runs the agent until SIGTERM/SIGINT. Returns 0 on a clean stop, 1 when
// startup fails, 2 on a configuration error.
int Run(AgentConfig config);

// Syscalls the agent needs beyond hardening's kAgent profile.
std::vector<std::string> ExtraSeccompSyscalls();
// Capabilities the agent keeps after setup (see docs/agent.md).
std::vector<std::string> KeptCapabilities();

}  // namespace invar::agent
