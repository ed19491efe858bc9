// SPDX-License-Identifier: Apache-2.0
// Agent flags (CLI11) and the YAML config file (yaml-cpp). Main thread only.
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "invar/agent/agent.h"

namespace invar::agent {

void AddAgentOptions(CLI::App& app, AgentConfig* c) {
  app.add_option("--config", c->config_file, "YAML config file (flags win over it)");
  app.add_option("--host-root", c->host_root, "prefix for host paths (DaemonSet with host mounts, e.g. /host)");
  app.add_option("--containerd-state", c->containerd_state, "containerd runtime v2 task directory")
      ->capture_default_str();
  app.add_option("--state-dir", c->state_dir, "where reported drift is remembered across restarts")
      ->capture_default_str();
  app.add_option("--action", c->action, "default action: flag, kill or prevent")
      ->check(CLI::IsMember({"flag", "kill", "prevent"}))
      ->capture_default_str();
  // Repeatable options take one value per occurrence (`-r a -r b`; in
  // `-r a b`, `b` is an unexpected argument, not a second file).
  app.add_option("--allow", c->allow_globs, "container path glob that is not drift (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-r,--rules", c->rules_files,
                 "Falco rules file or directory, loaded after rules.yaml and rules.local.yaml (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--default-rules", c->default_rules_file,
                 "the default rules file (rules.local.yaml beside it is loaded next when present)");
  app.add_option("--rule-matching", c->rule_matching, "first: one alert per event (the first matching rule); all")
      ->check(CLI::IsMember({"first", "all"}))
      ->capture_default_str();
  app.add_option("--rule-actions", c->rule_actions,
                 "what a rule's invar.action.* tag does: escalate (the stronger of it and the container's action), "
                 "override (the rule's action replaces the container's), ignore")
      ->check(CLI::IsMember({"escalate", "override", "ignore"}))
      ->capture_default_str();
  app.add_option("--output", c->output, "alert format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--output-file", c->output_file, "also append alerts to this file (reopened on SIGHUP)");
  app.add_flag("!--no-stdout", c->stdout_output, "do not print alerts on stdout");
  app.add_option("--http-output", c->http_output, "POST JSON alerts to this http:// URL (Falcosidekick)");
  app.add_option("--metrics-listen", c->metrics_listen, "Prometheus metrics address, e.g. 0.0.0.0:9102");
  app.add_option("--node-name", c->node_name, "node name in alerts")->envname("NODE_NAME");
  app.add_option("--poll-ms", c->poll_ms, "container discovery period")->capture_default_str();
  app.add_option("--rescan-seconds", c->rescan_s, "periodic upperdir scan (0: start and overflow only)")
      ->capture_default_str();
  app.add_option("--pod-refresh-seconds", c->pod_refresh_s,
                 "re-read pod labels and owner from the API server when older than this (0: only at discovery)")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--batch-delay-ms", c->batch_delay_ms, "fanotify read batching delay")->capture_default_str();
  app.add_flag("--report-modify", c->report_modify, "also subscribe to FAN_MODIFY (costly)");
  app.add_flag("!--no-coalesce-new-dirs", c->coalesce_new_dirs,
               "report every file event in directories the container created as it happens "
               "(default: the directory at once, its files by a 1 s sweep)");
  app.add_option(
         "--image-dir-marks-max", c->image_dir_marks_max,
         "watch a container through inode marks on its image directories when it has at most this many "
         "(else, or 0, through the upper filesystem's mark; see docs/agent.md)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--image-dir-marks-total", c->image_dir_marks_total,
                 "image directory marks across all containers (kernel memory bound)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 22))
      ->capture_default_str();
  app.add_flag("!--no-ebpf", c->ebpf,
               "follow exec'd shells up through /proc/<pid>/comm instead of the eBPF sched_process_exec tracer");
  app.add_flag("!--no-ebpf-filter", c->ebpf_filter,
               "eBPF exec tracer: report every exec on the host, not only the watched containers' (benchmarks)");
  app.add_flag("--delete-pod-on-kill", c->delete_pod_on_kill, "kill action also deletes the pod");
  app.add_flag("!--no-harden", c->harden, "skip dropping capabilities and seccomp (debugging only)");
  app.add_option("--seccomp-action", c->seccomp_action, "errno, kill or log")
      ->check(CLI::IsMember({"errno", "kill", "log"}))
      ->capture_default_str();
  app.add_option("--ready-file", c->ready_file, "touch this file once watching");
  app.add_option("--kubeconfig", c->kubeconfig, "kubeconfig for pod annotations, Events and pod delete");
  app.add_option("--context", c->kube_context, "kubeconfig context");
  app.add_flag("--no-kube", c->no_kube, "do not use the Kubernetes API even in a cluster");
}

namespace {
template <typename T>
bool Set(const YAML::Node& root, const char* key, T* out, const std::vector<std::string>& explicit_keys) {
  if (!root[key]) return true;
  if (std::find(explicit_keys.begin(), explicit_keys.end(), key) != explicit_keys.end()) return true;
  *out = root[key].as<T>();
  return true;
}
}  // namespace

Status MergeConfigYaml(const std::string& yaml_text, AgentConfig* c, const std::vector<std::string>& explicit_keys) {
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (root.IsNull()) return Status::Ok();
    if (!root.IsMap()) return Status::InvalidArgument("agent config: top level must be a mapping");
    static const char* kKnown[] = {"action", "allow", "output", "output_file", "http_output", "metrics_listen",
                                   "state_dir", "host_root", "containerd_state", "rules", "default_rules",
                                   "rule_matching", "rule_actions", "rescan_seconds", "pod_refresh_seconds",
                                   "poll_ms", "delete_pod_on_kill", "node_name"};
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string k = it->first.as<std::string>();
      if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* s) { return k == s; }) ==
          std::end(kKnown)) {
        return Status::InvalidArgument("agent config: unknown key \"" + k + "\" (line " +
                                       std::to_string(it->first.Mark().line + 1) + ")");
      }
    }
    Set(root, "action", &c->action, explicit_keys);
    if (c->action != "flag" && c->action != "kill" && c->action != "prevent") {
      return Status::InvalidArgument("agent config: action must be flag, kill or prevent, not \"" + c->action + "\"");
    }
    if (root["allow"]) {
      if (!root["allow"].IsSequence()) return Status::InvalidArgument("agent config: allow must be a list of globs");
      for (const auto& g : root["allow"]) c->allow_globs.push_back(g.as<std::string>());
    }
    if (root["rules"]) {
      if (!root["rules"].IsSequence()) return Status::InvalidArgument("agent config: rules must be a list of files");
      for (const auto& g : root["rules"]) c->rules_files.push_back(g.as<std::string>());
    }
    Set(root, "default_rules", &c->default_rules_file, explicit_keys);
    Set(root, "rule_matching", &c->rule_matching, explicit_keys);
    if (c->rule_matching != "first" && c->rule_matching != "all") {
      return Status::InvalidArgument("agent config: rule_matching must be first or all");
    }
    Set(root, "rule_actions", &c->rule_actions, explicit_keys);
    if (c->rule_actions != "escalate" && c->rule_actions != "override" && c->rule_actions != "ignore") {
      return Status::InvalidArgument("agent config: rule_actions must be escalate, override or ignore, not \"" +
                                     c->rule_actions + "\"");
    }
    Set(root, "output", &c->output, explicit_keys);
    if (c->output != "text" && c->output != "json") {
      return Status::InvalidArgument("agent config: output must be text or json");
    }
    Set(root, "output_file", &c->output_file, explicit_keys);
    Set(root, "http_output", &c->http_output, explicit_keys);
    Set(root, "metrics_listen", &c->metrics_listen, explicit_keys);
    Set(root, "state_dir", &c->state_dir, explicit_keys);
    Set(root, "host_root", &c->host_root, explicit_keys);
    Set(root, "containerd_state", &c->containerd_state, explicit_keys);
    Set(root, "node_name", &c->node_name, explicit_keys);
    Set(root, "rescan_seconds", &c->rescan_s, explicit_keys);
    Set(root, "pod_refresh_seconds", &c->pod_refresh_s, explicit_keys);
    if (c->pod_refresh_s < 0 || c->pod_refresh_s > 86400) {
      return Status::InvalidArgument("agent config: pod_refresh_seconds must be 0..86400");
    }
    Set(root, "poll_ms", &c->poll_ms, explicit_keys);
    Set(root, "delete_pod_on_kill", &c->delete_pod_on_kill, explicit_keys);
    if (c->poll_ms < 10 || c->poll_ms > 60000) return Status::InvalidArgument("agent config: poll_ms out of range");
    if (c->rescan_s < 0) return Status::InvalidArgument("agent config: rescan_seconds must be >= 0");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("agent config: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace invar::agent
