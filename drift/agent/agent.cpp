// SPDX-License-Identifier: Apache-2.0
// invar agent: startup steps over one AgentState, the discovery/rescan loop
// (main thread), and the dispatcher thread that turns DriftEvents into
// alerts and actions. Each DriftEvent becomes one rules::Event, evaluated
// once against the loaded Falco rules; each matching rule is one alert, its
// text and JSON rendered by the engine. Threads: main (discovery, scans, signals), FID source,
// exec decision thread, dispatcher, HTTP sink, metrics exposer. The sources
// hand events over through a bounded queue; a full queue drops the event,
// counts it and requests a rescan (the upperdir is the record, so nothing is
// lost for good).
#include <signal.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "invar/agent/agent.h"
#include "invar/drift/actions.h"
#include "invar/drift/runtime.h"
#include "invar/drift/scan.h"
#include "invar/drift/sink.h"
#include "invar/drift/source.h"
#include "invar/drift/state.h"
#include "invar/drift/upper.h"
#include "invar/platform/fd.h"
#include "invar/platform/hardening.h"
#include "invar/platform/log.h"
#include "invar/rules/engine.h"
#ifdef INVAR_HAVE_KUBE_ACTIONS
#include "invar/drift/kube_pod_actions.h"
#include "invar/kube/client.h"
#include "invar/kube/config.h"
#endif

namespace invar::agent {
using namespace invar::drift;  // NOLINT(google-build-using-namespace): this file is the drift pipeline

std::vector<std::string> ExtraSeccompSyscalls() {
  return {"fstatfs", "statfs", "lgetxattr", "getxattr", "fgetxattr", "wait4", "epoll_create", "readlinkat",
          "name_to_handle_at", "sched_getparam", "sched_getscheduler", "getsockopt", "fchdir", "chdir"};
}

std::vector<std::string> KeptCapabilities() {
  // SYS_ADMIN: fanotify_init/mark for containers that start later.
  // DAC_READ_SEARCH: open_by_handle_at; reading upperdirs of any owner.
  // SYS_PTRACE: /proc/<pid>/{root,exe,mountinfo} of other users' processes.
  // KILL: the kill action.
  return {"CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE", "CAP_KILL"};
}

namespace {

enum class StepResult { kOk, kFail };

struct Metrics {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  prometheus::Family<prometheus::Counter>* events = nullptr;
  prometheus::Counter* unmatched = nullptr;
  prometheus::Counter* queue_overflows = nullptr;
  prometheus::Counter* kernel_overflows = nullptr;
  prometheus::Counter* rescans = nullptr;
  prometheus::Histogram* decision = nullptr;
  prometheus::Gauge* watched = nullptr;
  prometheus::Gauge* exec_tracer = nullptr;

  Metrics() {
    events = &prometheus::BuildCounter().Name("invar_drift_events_total").Help("Drift alerts by rule and action").Register(*registry);
    unmatched = &prometheus::BuildCounter()
                     .Name("invar_drift_unmatched_events_total")
                     .Help("Drift events no enabled rule matched (recorded and acted on, not alerted)")
                     .Register(*registry)
                     .Add({});
    queue_overflows = &prometheus::BuildCounter()
                           .Name("invar_drift_queue_overflows_total")
                           .Help("Events dropped because the agent queue was full")
                           .Register(*registry)
                           .Add({});
    kernel_overflows = &prometheus::BuildCounter()
                            .Name("invar_drift_fanotify_overflows_total")
                            .Help("FAN_Q_OVERFLOW events from the kernel")
                            .Register(*registry)
                            .Add({});
    rescans = &prometheus::BuildCounter().Name("invar_drift_rescans_total").Help("Upperdir scans").Register(*registry).Add({});
    decision = &prometheus::BuildHistogram()
                    .Name("invar_drift_exec_decision_seconds")
                    .Help("Time to answer an exec permission event")
                    .Register(*registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{5e-6, 1e-5, 2.5e-5, 5e-5, 7.5e-5, 1e-4, 1.5e-4,
                                                                 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2});
    watched = &prometheus::BuildGauge().Name("invar_drift_watched_containers").Help("Containers watched").Register(*registry).Add({});
    exec_tracer = &prometheus::BuildGauge()
                       .Name("invar_drift_exec_tracer_ebpf")
                       .Help("1: exec follow-ups from the eBPF exec tracer; 0: from /proc/<pid>/comm")
                       .Register(*registry)
                       .Add({});
  }
};

struct Watched {
  std::shared_ptr<const Container> c;
  std::shared_ptr<const PodMeta> pod;  // labels and owner, when the API gave them
  ContainerPolicy policy;
  DriftTracker tracker;
  std::uint64_t count = 0;
  std::string first_change;
  std::uint64_t last_annotate_ns = 0;
  bool killed = false;
  std::uint64_t meta_read_ns = 0;  // last read of the pod's labels and owner (main thread)
};

struct AgentState {
  AgentConfig cfg;
  Action default_action = Action::kFlag;
  std::unique_ptr<ContainerRuntime> runtime;
  std::unique_ptr<EventSource> fid;
  std::unique_ptr<EventSource> exec;
  std::vector<std::unique_ptr<Sink>> sinks;
  std::unordered_map<std::string, prometheus::Counter*> event_counters;  // dispatcher thread: rule \0 action
  std::unique_ptr<PodActions> pods;
  bool kube = false;  // pods talks to an API server (labels are worth refreshing)
  std::unique_ptr<StateStore> store;
  std::unique_ptr<rules::Engine> rules;
  bool need_text = false;  // some sink reads Alert::text
  bool need_json = false;  // some sink reads Alert::json
  rules::Event rule_event;            // dispatcher thread only; reused per event
  std::vector<rules::Match> matches;  // dispatcher thread only
  RuleActionMode rule_actions = RuleActionMode::kEscalate;
  // The last exec evaluated (dispatcher thread only): its op=shell twin for
  // the same execve reuses the decision.
  struct LastExec {
    bool valid = false;
    std::string container_id;
    pid_t pid = 0;
    std::string path;
    EventAction act;
    rules::Action requested = rules::Action::kNone;
  } last_exec;
  Metrics metrics;
  UniqueFd signals;

  std::mutex watched_mu;
  std::unordered_map<std::string, Watched> watched;  // guarded by watched_mu

  std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<DriftEvent> queue;  // guarded by q_mu
  bool q_stop = false;
  static constexpr std::size_t kQueueLimit = 65536;
  std::thread dispatcher;

  std::atomic<bool> rescan_requested{false};
  std::uint64_t last_rescan_ns = 0;
};

void Enqueue(AgentState& s, DriftEvent e) {
  {
    std::lock_guard<std::mutex> lock(s.q_mu);
    if (s.queue.size() >= AgentState::kQueueLimit) {
      s.metrics.queue_overflows->Increment();
      s.rescan_requested = true;
      return;
    }
    s.queue.push_back(std::move(e));
  }
  s.q_cv.notify_one();
}

// The rule's request, as the actions library's type (nullopt: none).
std::optional<Action> RuleRequest(rules::Action a) {
  switch (a) {
    case rules::Action::kFlag: return Action::kFlag;
    case rules::Action::kPrevent: return Action::kPrevent;
    case rules::Action::kKill: return Action::kKill;
    case rules::Action::kNone: break;
  }
  return std::nullopt;
}

// The events counter of (rule, action), looked up in the family once per pair
// (Family::Add hashes the labels under the family's lock). Dispatcher thread only.
prometheus::Counter* EventCounter(AgentState& s, const std::string& rule, const std::string& action) {
  std::string key = rule;
  key += '\0';
  key += action;
  auto it = s.event_counters.find(key);
  if (it == s.event_counters.end()) {
    it =
        s.event_counters.emplace(std::move(key), &s.metrics.events->Add({{"rule", rule}, {"action", action}}))
            .first;
  }
  return it->second;
}

// Writes what the sinks and the state store buffered (dispatcher thread).
void FlushOutputs(AgentState& s) {
  for (auto& sink : s.sinks) sink->Flush();
  if (auto st = s.store->Flush(); !st.ok()) log::Warn("state: {}", st.ToString());
}

void Dispatch(AgentState& s, DriftEvent e) {
  if (!e.container) return;
  // The container's own entrypoint (runc execs it as the init pid) is not a
  // shell spawned in the container, even when it is `sh -c ...`: as Falco's
  // rule excludes container entrypoints. Otherwise every shell-entrypoint
  // container would drift at start (and be killed in kill mode).
  if (e.op == Operation::kShell && !e.exe_upper_layer && e.process && e.container->init_pid > 0 &&
      e.process->pid == e.container->init_pid) {
    return;
  }
  ContainerPolicy policy;
  std::shared_ptr<const PodMeta> pod_meta;
  bool first = false;
  std::uint64_t count = 0;
  std::string first_change;
  bool annotate = false;
  {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    auto it = s.watched.find(e.container->id);
    if (it == s.watched.end()) return;  // released meanwhile
    Watched& w = it->second;
    policy = w.policy;
    pod_meta = w.pod;
    if (e.op != Operation::kExec && e.op != Operation::kShell) {
      if (PathAllowed(w.policy, e.path)) return;
      if (e.origin == EventOrigin::kScan) {
        if (!w.tracker.Unknown(e.path)) return;
        w.tracker.Observe(e.path, e.op);
      } else if (!w.tracker.Observe(e.path, e.op)) {
        return;
      }
      if (auto st = s.store->Append(w.c->id, e.path, e.op); !st.ok()) log::Warn("state: {}", st.ToString());
    }
    w.count++;
    if (w.first_change.empty()) {
      // The first change, as `invar report` reads it back (docs/report.md).
      w.first_change =
          nlohmann::json{{"time", Rfc3339Nanos(e.time_ns)}, {"path", e.path}, {"op", OperationName(e.op)}}.dump(
              -1, ' ', false, nlohmann::json::error_handler_t::replace);
      first = true;
    }
    const std::uint64_t now = NowNs();
    if (first || now - w.last_annotate_ns > 10'000'000'000ull) {
      annotate = true;
      w.last_annotate_ns = now;
    }
    count = w.count;
    first_change = w.first_change;
  }
  // The exec source answered a prevent container's exec before any rule ran:
  // "prevent" on the event means it was denied.
  const bool denied = policy.action == Action::kPrevent && e.action == "prevent";
  // What the container's policy alone does with this event (what rules see as
  // invar.action): prevent containers deny the execs the exec source denied
  // and flag everything else.
  e.action = std::string(ActionName(policy.action == Action::kPrevent && !denied ? Action::kFlag : policy.action));

  // Rules: one evaluation per event. The exec source reports an upper-layer
  // shell twice (op exec, then op shell) for the same execve; both map to the
  // same rules::Event, so the second is not evaluated again (no duplicate
  // alert) and gets the first's action.
  std::string event_message;
  s.matches.clear();
  EventAction act;
  rules::Action requested = rules::Action::kNone;
  const bool duplicate = e.op == Operation::kShell && e.exe_upper_layer && e.process && s.last_exec.valid &&
                         s.last_exec.container_id == e.container->id && s.last_exec.pid == e.process->pid &&
                         s.last_exec.path == e.path;
  if (duplicate) {
    act = s.last_exec.act;
    requested = s.last_exec.requested;
  } else {
    FillRuleEvent(e, pod_meta.get(), &s.rule_event);
    s.rules->Evaluate(s.rule_event, &s.matches);
    requested = rules::StrongestRuleAction(s.matches);
    act = ResolveEventAction(s.rule_actions, policy.action, RuleRequest(requested), denied);
    if (e.op == Operation::kExec) {
      s.last_exec.valid = e.process.has_value();
      s.last_exec.container_id = e.container->id;
      s.last_exec.pid = e.process ? e.process->pid : 0;
      s.last_exec.path = e.path;
      s.last_exec.act = act;
      s.last_exec.requested = requested;
    }
  }
  const std::string effective(ActionName(act.action));
  if (!act.reason.empty() && !s.matches.empty()) {
    log::Debug("{} {} in {}: action {} (rule asked {}): {}", OperationName(e.op), e.path, e.container->ShortId(),
               effective, rules::ActionName(requested), act.reason);
  }
  if (!s.matches.empty()) {
    // Outputs show what is done and what the rules asked for.
    s.rule_event.invar_action = effective;
    if (requested != rules::Action::kNone) {
      s.rule_event.invar_rule_action = std::string(rules::ActionName(requested));
    } else {
      s.rule_event.invar_rule_action.reset();
    }
    if (!act.reason.empty()) {
      s.rule_event.invar_action_reason = act.reason;
    } else {
      s.rule_event.invar_action_reason.reset();
    }
    for (const rules::Match& m : s.matches) {
      Alert a;
      a.rule = m.rule->name;
      a.priority = std::string(rules::PriorityName(m.rule->priority));
      a.action = effective;
      if (s.need_text) a.text = s.rules->FormatText(m, s.rule_event);
      if (s.need_json) a.json = s.rules->FormatJson(m, s.rule_event, s.cfg.node_name);
      for (auto& sink : s.sinks) sink->Write(a);
      EventCounter(s, a.rule, a.action)->Increment();
      if (first && event_message.empty()) event_message = s.rules->FormatOutput(m, s.rule_event);
    }
  } else if (!duplicate) {
    s.metrics.unmatched->Increment();
    log::Debug("no rule matched {} {} in {}", OperationName(e.op), e.path, e.container->ShortId());
  }
  bool kill_now = false;
  if (act.action == Action::kKill) {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    auto it = s.watched.find(e.container->id);
    if (it != s.watched.end() && !it->second.killed) {
      it->second.killed = true;
      kill_now = true;
    }
  }
  const Container& c = *e.container;
  if (kill_now) {
    if (auto st = KillContainer(c, s.cfg.host_root + "/sys/fs/cgroup"); !st.ok()) {
      log::Error("kill {}: {}", c.ShortId(), st.ToString());
    } else if (policy.action == Action::kKill) {
      log::Info("killed container {} ({}/{}) for drift", c.ShortId(), c.pod_namespace, c.pod);
    } else {
      log::Info("killed container {} ({}/{}) for drift: rule action kill (container action {}, rule_actions {})",
                c.ShortId(), c.pod_namespace, c.pod, ActionName(policy.action), RuleActionModeName(s.rule_actions));
    }
    if (s.cfg.delete_pod_on_kill && !c.pod.empty()) (void)s.pods->DeletePod(c.pod_namespace, c.pod);
  }
  if (annotate && !c.pod.empty()) {
    (void)s.pods->Annotate(c.pod_namespace, c.pod,
                           {{kDriftedAnnotation, "{\"count\":" + std::to_string(count) + ",\"first\":" + first_change + "}"}});
    if (first) {
      if (event_message.empty()) {
        event_message = "Container " + c.name + " changed after start (op=" + std::string(OperationName(e.op)) +
                        " file=" + e.path + ")";
      }
      (void)s.pods->EmitEvent(c.pod_namespace, c.pod, "ContainerDrift", event_message);
    }
  }
}

// Sinks and state appends are buffered while events keep coming and written
// when the queue drains, or after kFlushEveryNs of continuous work.
void DispatcherLoop(AgentState& s) {
  constexpr std::uint64_t kFlushEveryNs = 20'000'000;
  std::uint64_t buffered_since = 0;  // 0: nothing buffered
  for (;;) {
    DriftEvent e;
    bool drained = false;
    {
      std::unique_lock<std::mutex> lock(s.q_mu);
      if (s.queue.empty() && buffered_since != 0) {
        drained = true;
      } else {
        s.q_cv.wait(lock, [&] { return s.q_stop || !s.queue.empty(); });
        if (s.queue.empty()) break;
        e = std::move(s.queue.front());
        s.queue.pop_front();
      }
    }
    if (drained) {
      FlushOutputs(s);
      buffered_since = 0;
      continue;
    }
    try {
      Dispatch(s, std::move(e));
    } catch (const std::exception& ex) {
      log::Error("dispatcher: {}", ex.what());
    }
    const std::uint64_t now = NowNs();
    if (buffered_since == 0) {
      buffered_since = now;
    } else if (now - buffered_since > kFlushEveryNs) {
      FlushOutputs(s);
      buffered_since = 0;
    }
  }
  FlushOutputs(s);
}

void Scan(AgentState& s, const std::shared_ptr<const Container>& c) {
  s.metrics.rescans->Increment();
  auto entries = ScanUpperdir(*c, MountStubs(c->mount_destinations));
  if (!entries.ok()) {
    log::Warn("scan {}: {}", c->ShortId(), entries.status().ToString());
    return;
  }
  for (auto& en : *entries) {
    DriftEvent e;
    e.time_ns = NowNs();
    e.container = c;
    e.path = std::move(en.path);
    e.op = en.op;
    e.origin = EventOrigin::kScan;
    Enqueue(s, std::move(e));
  }
}

std::shared_ptr<const PodMeta> ToPodMeta(PodMetadata m) {
  auto meta = std::make_shared<PodMeta>();
  meta->labels = std::move(m.labels);
  meta->owner_kind = std::move(m.owner_kind);
  meta->owner_name = std::move(m.owner_name);
  return meta;
}

void AddContainer(AgentState& s, const std::shared_ptr<const Container>& c) {
  std::map<std::string, std::string> annotations = c->annotations;  // OCI fallback
  std::shared_ptr<const PodMeta> pod_meta;
  if (!c->pod.empty()) {
    if (auto pod = s.pods->GetPodMetadata(c->pod_namespace, c->pod)) {
      annotations = std::move(pod->annotations);
      pod_meta = ToPodMeta(std::move(*pod));
    }
  }
  ContainerPolicy policy = ResolvePolicy(s.default_action, s.cfg.allow_globs, annotations);
  auto known = s.store->Load(c->id);
  {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    Watched w{c, pod_meta, policy, DriftTracker(known.ok() ? std::move(*known) : std::unordered_map<std::string, Operation>{}), 0,
              {}, 0, false, NowNs()};
    s.watched.insert_or_assign(c->id, std::move(w));
  }
  if (auto st = s.fid->Watch(c, {}); !st.ok()) log::Error("watch {}: {}", c->ShortId(), st.ToString());
  WatchOptions wo{policy.action == Action::kPrevent, policy.allow_globs};
  if (auto st = s.exec->Watch(c, wo); !st.ok()) log::Error("exec watch {}: {}", c->ShortId(), st.ToString());
  log::Info("watching container {} ({} {}/{}) action={}", c->ShortId(), c->name, c->pod_namespace, c->pod,
            ActionName(policy.action));
  Scan(s, c);
}

void RemoveContainer(AgentState& s, const std::string& id) {
  s.fid->Unwatch(id);
  s.exec->Unwatch(id);
  {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    s.watched.erase(id);
  }
  s.store->Remove(id);
  log::Info("released container {}", id.substr(0, 12));
}

// Main thread: re-reads the labels and owner of pods whose last read is
// older than --pod-refresh-seconds (a few per call), then swaps the new
// PodMeta in; the dispatcher takes the pointer under watched_mu per event.
void RefreshPods(AgentState& s) {
  if (!s.kube || s.cfg.pod_refresh_s <= 0) return;
  constexpr std::size_t kReadsPerPoll = 8;
  const std::uint64_t now = NowNs();
  const std::uint64_t ttl = static_cast<std::uint64_t>(s.cfg.pod_refresh_s) * 1000000000ull;
  std::vector<PodMetadataEntry> entries;
  std::vector<std::shared_ptr<const Container>> owners;  // parallel to entries
  {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    for (const auto& [id, w] : s.watched) {
      if (w.c->pod.empty() || now - w.meta_read_ns < ttl) continue;
      PodMetadataEntry e{w.c->pod_namespace, w.c->pod, std::nullopt, w.meta_read_ns, false};
      if (w.pod) {
        PodMetadata m;
        m.labels = w.pod->labels.value_or(std::map<std::string, std::string>{});
        m.owner_kind = w.pod->owner_kind;
        m.owner_name = w.pod->owner_name;
        e.meta = std::move(m);
      }
      entries.push_back(std::move(e));
      owners.push_back(w.c);
    }
  }
  if (entries.empty()) return;
  RefreshPodMetadata(*s.pods, entries, now, ttl, kReadsPerPoll);  // GETs, without the lock
  std::lock_guard<std::mutex> lock(s.watched_mu);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto it = s.watched.find(owners[i]->id);
    if (it == s.watched.end() || it->second.c != owners[i]) continue;  // released or replaced meanwhile
    it->second.meta_read_ns = entries[i].read_ns;
    if (entries[i].changed && entries[i].meta) {
      it->second.pod = ToPodMeta(*entries[i].meta);
      log::Info("pod {}/{}: labels and owner refreshed for container {}", entries[i].ns, entries[i].pod,
                owners[i]->ShortId());
    }
  }
}

Status Discover(AgentState& s) {
  auto list = s.runtime->List();
  if (!list.ok()) return list.status();
  std::unordered_set<std::string> live;
  std::vector<std::shared_ptr<const Container>> added;
  std::vector<std::string> removed;
  {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    for (const auto& c : *list) {
      live.insert(c->id);
      auto it = s.watched.find(c->id);
      if (it == s.watched.end() || it->second.c != c) added.push_back(c);
    }
    for (const auto& [id, w] : s.watched) {
      if (!live.count(id)) removed.push_back(id);
    }
  }
  for (const auto& id : removed) RemoveContainer(s, id);
  for (const auto& c : added) AddContainer(s, c);
  s.metrics.watched->Set(static_cast<double>(live.size()));
  return Status::Ok();
}

// ---- Startup steps --------------------------------------------------------

StepResult StepConfig(AgentState& s) {
  auto a = ParseAction(s.cfg.action);
  if (!a.ok()) {
    log::Error("{}", a.status().message());
    return StepResult::kFail;
  }
  s.default_action = *a;
  auto ra = ParseRuleActionMode(s.cfg.rule_actions);
  if (!ra.ok()) {
    log::Error("{}", ra.status().message());
    return StepResult::kFail;
  }
  s.rule_actions = *ra;
  if (s.cfg.node_name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    s.cfg.node_name = host;
  }
  const OutputFormat fmt = s.cfg.output == "json" ? OutputFormat::kJson : OutputFormat::kText;
  if (s.cfg.stdout_output) s.sinks.push_back(NewStdoutSink(fmt));
  if (!s.cfg.output_file.empty()) {
    auto f = NewFileSink(s.cfg.output_file, fmt);
    if (!f.ok()) {
      log::Error("{}", f.status().ToString());
      return StepResult::kFail;
    }
    s.sinks.push_back(std::move(*f));
  }
  if (!s.cfg.http_output.empty()) {
    auto h = NewHttpSink(s.cfg.http_output);
    if (!h.ok()) {
      log::Error("{}", h.status().ToString());
      return StepResult::kFail;
    }
    s.sinks.push_back(std::move(*h));
  }
  if (!s.cfg.metrics_listen.empty()) {
    try {
      s.metrics.exposer = std::make_unique<prometheus::Exposer>(s.cfg.metrics_listen);
      s.metrics.exposer->RegisterCollectable(s.metrics.registry);
    } catch (const std::exception& e) {
      log::Error("metrics on {}: {}", s.cfg.metrics_listen, e.what());
      return StepResult::kFail;
    }
  }
  s.pods = NewLoggingPodActions();
  const bool in_cluster = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  if (!s.cfg.no_kube && (!s.cfg.kubeconfig.empty() || in_cluster)) {
#ifdef INVAR_HAVE_KUBE_ACTIONS
    kube::ClientOptions opts;
    opts.kubeconfig = s.cfg.kubeconfig;
    opts.context = s.cfg.kube_context;
    auto rest = kube::LoadConfig(opts);
    if (!rest.ok()) {
      log::Error("kubernetes config: {}", rest.status().ToString());
      return StepResult::kFail;
    }
    log::Info("kubernetes API: {}", rest->Describe());
    auto client = kube::NewKubeClient(std::move(*rest));
    if (!client.ok()) {
      log::Error("kubernetes client: {}", client.status().ToString());
      return StepResult::kFail;
    }
    s.pods = NewKubePodActions(std::move(*client), s.cfg.node_name);
    s.kube = true;
#else
    log::Warn("built without the Kubernetes client: pod annotations, Events and deletes are only logged");
#endif
  }
  for (const auto& sink : s.sinks) {
    (sink->wants_json() ? s.need_json : s.need_text) = true;
  }
  s.store = std::make_unique<StateStore>(s.cfg.state_dir);
  s.runtime = NewContainerdRuntime(
      {.host_root = s.cfg.host_root, .task_dir = s.cfg.containerd_state, .proc_dir = "/proc"});
  return StepResult::kOk;
}

StepResult StepRules(AgentState& s) {
  auto files = RulesFilesToLoad(s.cfg);
  if (!files.ok()) {
    log::Error("rules: {}", files.status().message());
    return StepResult::kFail;
  }
  rules::EngineOptions opts;
  opts.matching = s.cfg.rule_matching == "all" ? rules::EngineOptions::Matching::kAll
                                               : rules::EngineOptions::Matching::kFirst;
  opts.json_extra_fields = AgentJsonFields();
  rules::LoadResult result;
  s.rules = rules::Engine::LoadFiles(*files, &result, opts);
  // Every error and warning, one per line, each with file, line and item.
  std::istringstream text(result.ToText());
  for (std::string line; std::getline(text, line);) {
    if (line.empty()) continue;
    if (s.rules) {
      log::Warn("rules: {}", line);
    } else {
      log::Error("rules: {}", line);
    }
  }
  if (!s.rules) {
    log::Error("rules: not starting: the rules files have errors");
    return StepResult::kFail;
  }
  std::string names;
  for (const auto& f : *files) names += (names.empty() ? "" : ", ") + f;
  log::Info("rules: {} enabled of {} loaded from {}", s.rules->enabled_rule_count(), s.rules->rules().size(), names);
  return StepResult::kOk;
}

StepResult StepSignals(AgentState& s) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  // Blocked before any thread starts, so every thread inherits the mask.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  s.signals.Reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!s.signals) {
    log::Error("signalfd: {}", std::strerror(errno));
    return StepResult::kFail;
  }
  return StepResult::kOk;
}

StepResult StepSources(AgentState& s) {
  const std::string proc = s.cfg.host_root + "/proc";
  SourceCallbacks cb;
  cb.on_event = [&s](DriftEvent e) { Enqueue(s, std::move(e)); };
  cb.on_overflow = [&s] {
    s.metrics.kernel_overflows->Increment();
    s.rescan_requested = true;
  };
  cb.on_decision = [&s](double secs) { s.metrics.decision->Observe(secs); };
  cb.on_exec_tracer = [&s](bool ebpf) { s.metrics.exec_tracer->Set(ebpf ? 1 : 0); };
  s.fid = NewFanotifyFidSource({.proc_dir = proc,
                                .report_modify = s.cfg.report_modify,
                                .batch_delay_ms = s.cfg.batch_delay_ms,
                                .ignore_marks = true,
                                .coalesce_new_dirs = s.cfg.coalesce_new_dirs,
                                .image_dir_marks_max = s.cfg.image_dir_marks_max,
                                .image_dir_marks_total = s.cfg.image_dir_marks_total},
                               cb);
  s.exec = NewFanotifyExecSource(
      {.proc_dir = proc, .settle_ms = 50, .ebpf = s.cfg.ebpf, .ebpf_filter = s.cfg.ebpf_filter}, cb);
  if (auto st = s.fid->Start(); !st.ok()) {
    log::Error("fanotify: {}", st.ToString());
    return StepResult::kFail;
  }
  if (auto st = s.exec->Start(); !st.ok()) {
    log::Error("fanotify: {}", st.ToString());
    return StepResult::kFail;
  }
  s.dispatcher = std::thread([&s] { DispatcherLoop(s); });
  return StepResult::kOk;
}

StepResult StepDiscover(AgentState& s) {
  if (auto st = Discover(s); !st.ok()) {
    log::Error("discovery: {}", st.ToString());
    return StepResult::kFail;
  }
  std::vector<std::string> live;
  {
    std::lock_guard<std::mutex> lock(s.watched_mu);
    for (const auto& [id, w] : s.watched) live.push_back(id);
  }
  s.store->GarbageCollect(live);
  s.last_rescan_ns = NowNs();
  return StepResult::kOk;
}

StepResult StepHarden(AgentState& s) {
  if (!s.cfg.harden) {
    log::Warn("hardening disabled (--no-harden)");
    return StepResult::kOk;
  }
  if (auto st = hardening::DropCapabilities(KeptCapabilities()); !st.ok()) {
    log::Error("dropping capabilities: {}", st.ToString());
    return StepResult::kFail;
  }
  hardening::SeccompAction act = hardening::SeccompAction::kErrno;
  if (s.cfg.seccomp_action == "kill") act = hardening::SeccompAction::kKill;
  if (s.cfg.seccomp_action == "log") act = hardening::SeccompAction::kLog;
  if (auto st = hardening::InstallSeccomp(hardening::SeccompProfile::kAgent, ExtraSeccompSyscalls(), act); !st.ok()) {
    log::Error("seccomp: {}", st.ToString());
    return StepResult::kFail;
  }
  log::Info("hardened: capabilities kept: SYS_ADMIN DAC_READ_SEARCH SYS_PTRACE KILL; seccomp allowlist installed");
  return StepResult::kOk;
}

StepResult StepRun(AgentState& s) {
  if (!s.cfg.ready_file.empty()) std::ofstream(s.cfg.ready_file) << "ready\n";
  log::Info("agent running (action={}, rule_actions={}, node={})", s.cfg.action, RuleActionModeName(s.rule_actions),
            s.cfg.node_name);
  for (;;) {
    pollfd p{s.signals.get(), POLLIN, 0};
    ::poll(&p, 1, s.cfg.poll_ms);
    signalfd_siginfo si{};
    bool stop = false;
    while (::read(s.signals.get(), &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGHUP) {
        for (auto& sink : s.sinks) sink->Reopen();
        log::Info("SIGHUP: output files reopened");
      } else {
        stop = true;
      }
    }
    if (stop) break;
    if (auto st = Discover(s); !st.ok()) log::Warn("discovery: {}", st.ToString());
    RefreshPods(s);
    const std::uint64_t now = NowNs();
    const bool periodic = s.cfg.rescan_s > 0 && now - s.last_rescan_ns > static_cast<std::uint64_t>(s.cfg.rescan_s) * 1000000000ull;
    if (s.rescan_requested.exchange(false) || periodic) {
      s.last_rescan_ns = now;
      std::vector<std::shared_ptr<const Container>> all;
      {
        std::lock_guard<std::mutex> lock(s.watched_mu);
        for (const auto& [id, w] : s.watched) all.push_back(w.c);
      }
      for (const auto& c : all) Scan(s, c);
    }
  }
  log::Info("stopping");
  return StepResult::kOk;
}

void Teardown(AgentState& s) {
  if (s.fid) s.fid->Stop();    // closes the group: marks removed
  if (s.exec) s.exec->Stop();  // pending permission events are allowed by the kernel
  if (s.dispatcher.joinable()) {
    {
      std::lock_guard<std::mutex> lock(s.q_mu);
      s.q_stop = true;
    }
    s.q_cv.notify_all();
    s.dispatcher.join();
  }
  s.sinks.clear();  // HTTP sink drains its queue
}

}  // namespace

Result<std::vector<std::string>> RulesFilesToLoad(const AgentConfig& cfg) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string defaults = cfg.default_rules_file;
  if (defaults.empty()) {
    std::vector<std::string> candidates;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back((exe.parent_path().parent_path() / "share/invar/rules/rules.yaml").string());
#ifdef INVAR_SOURCE_RULES_DIR
    candidates.push_back(std::string(INVAR_SOURCE_RULES_DIR) + "/rules.yaml");  // the build tree
#endif
    for (const auto& c : candidates) {
      if (fs::is_regular_file(c, ec)) {
        defaults = c;
        break;
      }
    }
    if (defaults.empty()) {
      std::string tried;
      for (const auto& c : candidates) tried += " " + c;
      return Status::NotFound("no default rules file (tried" + tried + "); give one with --default-rules");
    }
  }
  std::vector<std::string> files = {defaults};
  const fs::path local = fs::path(defaults).parent_path() / "rules.local.yaml";
  if (fs::is_regular_file(local, ec)) files.push_back(local.string());
  for (const auto& r : cfg.rules_files) {
    if (!fs::is_directory(r, ec)) {
      files.push_back(r);
      continue;
    }
    std::vector<std::string> in_dir;
    for (fs::directory_iterator it(r, ec), end; !ec && it != end; it.increment(ec)) {
      const auto ext = it->path().extension();
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) in_dir.push_back(it->path().string());
    }
    if (ec) return Status::InvalidArgument("rules directory " + r + ": " + ec.message());
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

int Run(AgentConfig config) {
  AgentState s;
  s.cfg = std::move(config);
  using Step = std::pair<const char*, std::function<StepResult(AgentState&)>>;
  const Step steps[] = {
      // Signals first: every thread started later (HTTP sink, metrics server,
      // sources) inherits the blocked mask, so SIGTERM reaches the signalfd.
      {"signals", StepSignals}, {"load config", StepConfig}, {"load rules", StepRules}, {"open sources", StepSources},
      {"discover", StepDiscover},  {"drop privileges", StepHarden}, {"run", StepRun},
  };
  int rc = 0;
  for (const auto& [name, fn] : steps) {
    StepResult r = StepResult::kFail;
    try {
      r = fn(s);
    } catch (const std::exception& e) {
      log::Error("{}: {}", name, e.what());
    }
    if (r == StepResult::kFail) {
      log::Error("agent startup step \"{}\" failed", name);
      rc = 1;
      break;
    }
  }
  Teardown(s);
  return rc;
}

}  // namespace invar::agent
