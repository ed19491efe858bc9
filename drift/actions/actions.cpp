// SPDX-License-Identifier: Apache-2.0
// Policy resolution, the cgroup kill and the logging PodActions (actions.h).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "invar/drift/actions.h"
#include "invar/drift/upper.h"
#include "invar/platform/log.h"

namespace invar::drift {

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kFlag: return "flag";
    case Action::kKill: return "kill";
    case Action::kPrevent: return "prevent";
  }
  return "flag";
}

Result<Action> ParseAction(std::string_view s) {
  if (s == "flag") return Action::kFlag;
  if (s == "kill") return Action::kKill;
  if (s == "prevent") return Action::kPrevent;
  return Status::InvalidArgument("unknown drift action \"" + std::string(s) + "\" (want flag, kill or prevent)");
}

std::vector<std::string> SplitGlobs(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t comma = s.find(',', pos);
    if (comma == std::string_view::npos) comma = s.size();
    std::string_view g = s.substr(pos, comma - pos);
    while (!g.empty() && (g.front() == ' ' || g.front() == '\t')) g.remove_prefix(1);
    while (!g.empty() && (g.back() == ' ' || g.back() == '\t')) g.remove_suffix(1);
    if (!g.empty()) out.emplace_back(g);
    pos = comma + 1;
  }
  return out;
}

ContainerPolicy ResolvePolicy(Action default_action, const std::vector<std::string>& default_allow,
                              const std::map<std::string, std::string>& annotations) {
  ContainerPolicy p{default_action, default_allow};
  if (auto it = annotations.find(kActionAnnotation); it != annotations.end()) {
    auto a = ParseAction(it->second);
    if (a.ok()) {
      p.action = *a;
    } else {
      log::Warn("ignoring annotation {}: {}", kActionAnnotation, a.status().message());
    }
  }
  if (auto it = annotations.find(kAllowAnnotation); it != annotations.end()) {
    for (auto& g : SplitGlobs(it->second)) p.allow_globs.push_back(std::move(g));
  }
  return p;
}

bool PathAllowed(const ContainerPolicy& policy, const std::string& path) {
  for (const auto& g : policy.allow_globs) {
    if (PathGlobMatch(g, path)) return true;
  }
  return false;
}

std::string_view RuleActionModeName(RuleActionMode mode) {
  switch (mode) {
    case RuleActionMode::kEscalate: return "escalate";
    case RuleActionMode::kOverride: return "override";
    case RuleActionMode::kIgnore: return "ignore";
  }
  return "escalate";
}

Result<RuleActionMode> ParseRuleActionMode(std::string_view s) {
  if (s == "escalate") return RuleActionMode::kEscalate;
  if (s == "override") return RuleActionMode::kOverride;
  if (s == "ignore") return RuleActionMode::kIgnore;
  return Status::InvalidArgument("unknown rule_actions \"" + std::string(s) + "\" (want escalate, override or ignore)");
}

int ActionStrength(Action a) {
  switch (a) {
    case Action::kFlag: return 0;
    case Action::kPrevent: return 1;
    case Action::kKill: return 2;
  }
  return 0;
}

EventAction ResolveEventAction(RuleActionMode mode, Action container, std::optional<Action> rule, bool denied) {
  Action target = container;
  if (rule && mode == RuleActionMode::kEscalate) {
    target = ActionStrength(*rule) > ActionStrength(container) ? *rule : container;
  } else if (rule && mode == RuleActionMode::kOverride) {
    target = *rule;
  }
  EventAction out;
  // What the target means for this event: only kill acts beyond the event; a
  // deny has happened (or not) before any rule ran.
  out.action = target == Action::kKill ? Action::kKill : denied ? Action::kPrevent : Action::kFlag;
  if (!rule || *rule == out.action) return out;
  if (mode == RuleActionMode::kIgnore) {
    out.reason = "rule actions are ignored (rule_actions: ignore)";
  } else if (*rule == Action::kPrevent && out.action == Action::kFlag) {
    out.reason = container == Action::kPrevent
                     ? "prevent denies only the exec of a file not from the image, before rules run: acted as flag"
                     : "the container is not in prevent mode (no exec permission check): prevent acted as flag";
  } else if (denied && out.action == Action::kPrevent) {
    out.reason = mode == RuleActionMode::kEscalate
                     ? "the container's action prevent is stronger (rule_actions: escalate)"
                     : "the exec was denied before rules ran (container action prevent); a rule cannot undo it";
  } else {
    out.reason = "the container's action " + std::string(ActionName(container)) + " is stronger (rule_actions: escalate)";
  }
  return out;
}

Status KillContainer(const Container& c, const std::string& cgroup_root) {
  if (c.cgroup.empty()) return Status::FailedPrecondition("no cgroup known for " + c.ShortId());
  if (c.cgroup.rfind("pids:", 0) != 0) {
    const std::string kill_file = cgroup_root + c.cgroup + "/cgroup.kill";
    std::ofstream out(kill_file);
    if (out && (out << "1").flush()) return Status::Ok();
    // Older kernels have no cgroup.kill: fall through to per-pid kills.
  }
  const std::string procs = c.cgroup.rfind("pids:", 0) == 0 ? cgroup_root + "/pids" + c.cgroup.substr(5) + "/cgroup.procs"
                                                          : cgroup_root + c.cgroup + "/cgroup.procs";
  for (int round = 0; round < 100; ++round) {
    std::ifstream in(procs);
    if (!in) return ErrnoStatus("open " + procs);
    std::string line;
    int killed = 0;
    while (std::getline(in, line)) {
      pid_t pid = static_cast<pid_t>(std::strtol(line.c_str(), nullptr, 10));
      if (pid > 1 && ::kill(pid, SIGKILL) == 0) ++killed;
    }
    if (killed == 0) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // forks racing the kill
  }
  return Status::Internal("processes of " + c.ShortId() + " keep appearing");
}

namespace {
class LoggingPodActions final : public PodActions {
 public:
  Status Annotate(const std::string& ns, const std::string& pod,
                  const std::map<std::string, std::string>& annotations) override {
    for (const auto& [k, v] : annotations) log::Info("pod {}/{}: would annotate {}={}", ns, pod, k, v);
    return Status::Ok();
  }
  Status EmitEvent(const std::string& ns, const std::string& pod, const std::string& reason,
                   const std::string& message) override {
    log::Info("pod {}/{}: would emit Event {}: {}", ns, pod, reason, message);
    return Status::Ok();
  }
  Status DeletePod(const std::string& ns, const std::string& pod) override {
    log::Info("pod {}/{}: would delete", ns, pod);
    return Status::Ok();
  }
  std::optional<std::map<std::string, std::string>> PodAnnotations(const std::string&, const std::string&) override {
    return std::nullopt;
  }
};
}  // namespace

std::unique_ptr<PodActions> NewLoggingPodActions() { return std::make_unique<LoggingPodActions>(); }

std::size_t RefreshPodMetadata(PodActions& pods, std::vector<PodMetadataEntry>& entries, std::uint64_t now_ns,
                               std::uint64_t ttl_ns, std::size_t max_reads) {
  std::vector<PodMetadataEntry*> due;
  for (auto& e : entries) {
    e.changed = false;
    if (!e.pod.empty() && now_ns >= e.read_ns && now_ns - e.read_ns >= ttl_ns) due.push_back(&e);
  }
  std::sort(due.begin(), due.end(), [](const PodMetadataEntry* a, const PodMetadataEntry* b) {
    return a->read_ns < b->read_ns;
  });
  if (due.size() > max_reads) due.resize(max_reads);
  std::size_t changed = 0;
  for (PodMetadataEntry* e : due) {
    e->read_ns = now_ns;
    auto m = pods.GetPodMetadata(e->ns, e->pod);
    if (!m) continue;
    const bool differs = !e->meta || e->meta->labels != m->labels || e->meta->owner_kind != m->owner_kind ||
                         e->meta->owner_name != m->owner_name;
    e->meta = std::move(m);
    if (differs) {
      e->changed = true;
      ++changed;
    }
  }
  return changed;
}

}  // namespace invar::drift
