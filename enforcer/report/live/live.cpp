// SPDX-License-Identifier: Apache-2.0
// Live-cluster collector (see live.h). Lists through the KubeClient, decodes
// each object with the same policy decoder the manifests go through, and
// evaluates with the same Evaluate(), so a live object and its manifest get
// the same verdict.
//
// Owner folding: a Pod whose controller (ownerReference with controller:
// true) is a listed ReplicaSet, Job, StatefulSet, DaemonSet or
// ReplicationController is reported under that controller — or under the
// Deployment / CronJob that owns the controller — when its failed checks are
// the same as the controller template's. Comparing verdicts rather than pod
// specs ignores every field the kubelet, admission plugins and controllers
// fill in (defaults, injected volumes, node names) unless it changes the
// outcome, which is the difference a user needs to see. A ReplicaSet (Job)
// is folded into its Deployment (CronJob) the same way.
#include "invar/report/live.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "invar/policy/decode.h"

namespace invar::report {
namespace {

using kube::Json;

std::string JStr(const Json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const Json* JObj(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

struct Node {
  ResourceResult result;
  std::vector<std::string_view> failed;  // verdict's failed checks
  std::string owner_kind, owner_name, owner_uid;
  bool folded = false;  // reported under another node
  int parent = -1;      // node it is reported under
};

std::vector<std::string_view> FailedOf(const ResourceResult& r) {
  std::set<std::string_view> ids;
  for (const auto& f : r.findings) {
    if (!f.exempted && f.check != nullptr) ids.insert(f.check->id);
  }
  return {ids.begin(), ids.end()};
}

std::string Describe(const std::vector<std::string_view>& ids) {
  if (ids.empty()) return "none";
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out += ",";
    out += id;
  }
  return out;
}

void MergeDrift(const DriftState& from, DriftState* into) {
  into->count += from.count;
  into->events += from.events;
  if (!from.first_time.empty() && (into->first_time.empty() || from.first_time < into->first_time)) {
    into->first_time = from.first_time;
    into->first_path = from.first_path;
    into->first_op = from.first_op;
  } else if (into->first_path.empty() && !from.first_path.empty()) {
    into->first_path = from.first_path;
    into->first_op = from.first_op;
  }
  if (from.last_event_time > into->last_event_time) {
    into->last_event_time = from.last_event_time;
    into->last_event_message = from.last_event_message;
  }
  for (const auto& p : from.pods) into->pods.push_back(p);
}

class Collector {
 public:
  Collector(kube::KubeClient& client, const LiveOptions& options, Report* report)
      : client_(client), options_(options), report_(report) {}

  Status Run() {
    INVAR_RETURN_IF_ERROR(LoadNamespaces());
    LoadDriftEvents();
    const kube::Resource controllers[] = {
        kube::Resource::Deployments(),           kube::Resource::CronJobs(),
        kube::Resource::ReplicaSets(),           kube::Resource::Jobs(),
        kube::Resource::StatefulSets(),          kube::Resource::DaemonSets(),
        kube::Resource::ReplicationControllers()};
    for (const auto& r : controllers) {
      Status st = ListInto(r);
      if (!st.ok()) report_->warnings.push_back("cannot list " + r.resource + ": " + st.message());
    }
    Status pods = ListInto(kube::Resource::Pods());
    if (!pods.ok()) return pods.WithContext("listing pods");
    Fold();
    Emit();
    return Status::Ok();
  }

 private:
  std::string ListNamespace() const { return options_.all_namespaces ? std::string() : options_.namespace_; }

  Status LoadNamespaces() {
    if (options_.all_namespaces) {
      kube::ListOptions lo;
      lo.limit = options_.page_size;
      auto list = client_.ListAll(kube::Resource::Namespaces(), lo);
      if (!list.ok()) {
        report_->warnings.push_back("cannot list namespaces (" + list.status().message() +
                                    "): namespace modes unknown, using the default profile");
        return Status::Ok();
      }
      for (const auto& ns : list->items) {
        std::string name = ns.contains("metadata") ? JStr(ns["metadata"], "name") : "";
        modes_[name] = ParseNamespaceMode(ns, *options_.profiles);
      }
      return Status::Ok();
    }
    auto ns = client_.Get(kube::Resource::Namespaces(), "", options_.namespace_);
    if (ns.ok()) {
      modes_[options_.namespace_] = ParseNamespaceMode(*ns, *options_.profiles);
    } else if (ns.IsNotFound()) {
      return Status::NotFound("namespace \"" + options_.namespace_ + "\" not found");
    } else {
      report_->warnings.push_back("cannot read namespace " + options_.namespace_ + " (" +
                                  ns.status().message() +
                                  "): its mode is unknown, using the default profile");
    }
    return Status::Ok();
  }

  void LoadDriftEvents() {
    kube::ListOptions lo;
    lo.namespace_ = ListNamespace();
    lo.field_selector = "reason=" + std::string(kDriftEventReason);
    lo.limit = options_.page_size;
    auto list = client_.ListAll(kube::Resource::Events(), lo);
    if (!list.ok()) {
      report_->warnings.push_back("cannot list ContainerDrift events: " + list.status().message());
      return;
    }
    for (const auto& ev : list->items) {
      if (JStr(ev, "reason") != kDriftEventReason) continue;  // a server that ignored the selector
      const Json* regarding = JObj(ev, "regarding");
      if (regarding == nullptr) continue;
      int64_t count = 1;
      if (const Json* series = JObj(ev, "series"); series != nullptr) {
        auto it = series->find("count");
        if (it != series->end() && it->is_number_integer()) count = std::max<int64_t>(1, it->get<int64_t>());
      } else if (auto it = ev.find("deprecatedCount"); it != ev.end() && it->is_number_integer()) {
        count = std::max<int64_t>(1, it->get<int64_t>());
      }
      std::string time = JStr(ev, "eventTime");
      if (const Json* series = JObj(ev, "series");
          series != nullptr && !JStr(*series, "lastObservedTime").empty()) {
        time = JStr(*series, "lastObservedTime");
      }
      if (time.empty()) time = JStr(ev, "deprecatedLastTimestamp");
      std::string key = JStr(*regarding, "uid");
      if (key.empty()) key = JStr(*regarding, "namespace") + "/" + JStr(*regarding, "name");
      auto& d = event_drift_[key];
      d.events += count;
      if (time >= d.last_event_time) {
        d.last_event_time = time;
        d.last_event_message = JStr(ev, "note");
      }
    }
  }

  Result<policy::Profile> ProfileFor(const std::string& ns, std::string* source) {
    if (options_.profile) {
      *source = "--profile";
      return options_.profiles->Get(*options_.profile, options_.version);
    }
    auto it = modes_.find(ns);
    if (it != modes_.end() && !it->second.profile.empty()) {
      *source = "namespace label " + it->second.label;
      auto version = it->second.version ? it->second.version : options_.version;
      return options_.profiles->Get(it->second.profile, version);
    }
    *source = "default (namespace has no invar label)";
    return options_.profiles->Get(options_.default_profile, options_.version);
  }

  Status ListInto(const kube::Resource& resource) {
    kube::ListOptions lo;
    lo.namespace_ = ListNamespace();
    lo.label_selector = options_.label_selector;
    lo.limit = options_.page_size;
    auto rv = client_.ListEach(resource, lo, [&](Json&& item) -> Status {
      if (!item.contains("kind")) item["kind"] = resource.kind;
      if (!item.contains("apiVersion")) item["apiVersion"] = resource.ApiVersion();
      AddObject(item);
      return Status::Ok();
    });
    return rv.ok() ? Status::Ok() : rv.status();
  }

  void AddObject(const Json& item) {
    std::string text = item.dump();
    auto decoded = policy::DecodeJson(text, "");
    const Json* meta = JObj(item, "metadata");
    std::string ns = meta != nullptr ? JStr(*meta, "namespace") : "";
    std::string name = meta != nullptr ? JStr(*meta, "name") : "";
    std::string label = JStr(item, "kind") + " " + ns + "/" + name;
    if (!decoded.errors.empty()) {
      report_->errors.push_back(InputError{"cluster:" + label, 0, decoded.errors.front().message});
      return;
    }
    if (decoded.workloads.empty()) return;
    auto& w = decoded.workloads.front();
    std::string source;
    auto profile = ProfileFor(w.metadata.namespace_, &source);
    if (!profile.ok()) {
      report_->errors.push_back(InputError{"cluster:" + label, 0, profile.status().message()});
      return;
    }
    Node n;
    n.result = EvaluateWorkload(w, *profile, source);
    n.failed = FailedOf(n.result);
    n.owner_kind = w.metadata.owner_kind;
    n.owner_name = w.metadata.owner_name;
    n.owner_uid = w.metadata.owner_uid;
    if (w.kind == "Pod") {
      DriftState d;
      if (const std::string* a = w.metadata.annotations.Find(kDriftAnnotation)) {
        if (!ParseDriftAnnotation(*a, &d)) {
          report_->warnings.push_back("pod " + ns + "/" + name + ": unreadable " +
                                      std::string(kDriftAnnotation) + " annotation");
          d.count = 1;
        }
      }
      auto ev = event_drift_.find(w.metadata.uid);
      if (ev == event_drift_.end()) ev = event_drift_.find(ns + "/" + name);
      if (ev != event_drift_.end()) MergeDrift(ev->second, &d);
      if (d.Any() || d.count > 0) d.pods.push_back(name);
      n.result.drift = std::move(d);
      n.result.pods.push_back(name);
    }
    if (!w.metadata.uid.empty()) by_uid_[w.metadata.uid] = nodes_.size();
    nodes_.push_back(std::move(n));
  }

  // The node `i` is reported under (itself, or the node it was folded into).
  size_t Target(size_t i) const {
    while (nodes_[i].folded && nodes_[i].parent >= 0) i = static_cast<size_t>(nodes_[i].parent);
    return i;
  }

  void Fold() {
    // Controllers into their owners first (ReplicaSet -> Deployment, Job -> CronJob), then pods.
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        auto& n = nodes_[i];
        bool is_pod = n.result.kind == "Pod";
        if ((pass == 0) == is_pod || n.owner_uid.empty()) continue;
        auto it = by_uid_.find(n.owner_uid);
        if (it == by_uid_.end()) {
          if (is_pod || n.owner_kind == "Deployment" || n.owner_kind == "CronJob") {
            n.result.note = "owner " + n.owner_kind + "/" + n.owner_name + " not listed";
          }
          continue;
        }
        auto& owner = nodes_[it->second];
        if (owner.failed == n.failed) {
          n.folded = true;
          n.parent = static_cast<int>(it->second);
        } else {
          n.result.note = "differs from " + owner.result.DisplayName() + " template (fails " +
                          Describe(n.failed) + "; template fails " + Describe(owner.failed) + ")";
        }
      }
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].folded || nodes_[i].result.kind != "Pod") continue;
      size_t t = Target(i);
      auto& target = nodes_[t].result;
      for (const auto& p : nodes_[i].result.pods) target.pods.push_back(p);
      MergeDrift(nodes_[i].result.drift, &target.drift);
    }
  }

  void Emit() {
    std::vector<ResourceResult> out;
    for (auto& n : nodes_) {
      if (!n.folded) out.push_back(std::move(n.result));
    }
    std::stable_sort(out.begin(), out.end(), [](const ResourceResult& a, const ResourceResult& b) {
      if (a.namespace_ != b.namespace_) return a.namespace_ < b.namespace_;
      if (a.kind != b.kind) return a.kind < b.kind;
      return a.name < b.name;
    });
    for (auto& r : out) {
      std::sort(r.pods.begin(), r.pods.end());
      std::sort(r.drift.pods.begin(), r.drift.pods.end());
      report_->resources.push_back(std::move(r));
    }
  }

  kube::KubeClient& client_;
  const LiveOptions& options_;
  Report* report_;
  std::map<std::string, NamespaceMode> modes_;
  std::map<std::string, DriftState> event_drift_;  // pod uid (or ns/name) -> events
  std::vector<Node> nodes_;
  std::map<std::string, size_t> by_uid_;
};

}  // namespace

NamespaceMode ParseNamespaceMode(const Json& ns_object, const policy::ProfileSet& profiles) {
  NamespaceMode mode;
  const Json* meta = JObj(ns_object, "metadata");
  const Json* labels = meta != nullptr ? JObj(*meta, "labels") : nullptr;
  if (labels == nullptr) return mode;
  for (std::string_view label : {kEnforceLabel, kWarnLabel, kAuditLabel}) {
    std::string value = JStr(*labels, label);
    if (value.empty()) continue;
    std::optional<policy::PssVersion> version;
    std::string v = JStr(*labels, std::string(label) + "-version");
    policy::PssVersion parsed;
    if (!v.empty() && policy::ParsePssVersion(v, &parsed)) version = parsed;
    if (mode.profile.empty()) {
      mode.profile = value;
      mode.label = std::string(label);
      mode.version = version;
    }
    auto p = profiles.Get(value);
    if (!mode.immutable && p.ok() && p->base == policy::Level::kImmutable) {
      mode.immutable = true;
      mode.immutable_label = "label " + std::string(label) + "=" + value;
    }
  }
  return mode;
}

bool ParseDriftAnnotation(std::string_view value, DriftState* out) {
  Json j = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return false;
  if (j.is_number_integer()) {
    out->count = std::max<int64_t>(1, j.get<int64_t>());
    return true;
  }
  if (j.is_string()) {  // a count written as a string
    std::string s = j.get<std::string>();
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 12) return false;
    out->count = std::max<int64_t>(1, std::stoll(s));
    return true;
  }
  if (!j.is_object()) return false;
  auto c = j.find("count");
  out->count = c != j.end() && c->is_number_integer() ? std::max<int64_t>(1, c->get<int64_t>()) : 1;
  if (const Json* first = JObj(j, "first")) {
    out->first_time = JStr(*first, "time");
    out->first_path = JStr(*first, "path");
    out->first_op = JStr(*first, "op");
  }
  return true;
}

Status CollectLive(kube::KubeClient& client, const LiveOptions& options, Report* report) {
  if (options.profiles == nullptr) return Status::InvalidArgument("CollectLive: no profile set");
  Collector c(client, options, report);
  return c.Run();
}

Result<std::map<std::string, std::string, std::less<>>> ImmutableNamespaces(
    kube::KubeClient& client, const policy::ProfileSet& profiles) {
  auto list = client.ListAll(kube::Resource::Namespaces(), kube::ListOptions{});
  if (!list.ok()) return list.status();
  std::map<std::string, std::string, std::less<>> out;
  for (const auto& ns : list->items) {
    auto mode = ParseNamespaceMode(ns, profiles);
    if (!mode.immutable) continue;
    const Json* meta = JObj(ns, "metadata");
    if (meta != nullptr) out[JStr(*meta, "name")] = mode.immutable_label;
  }
  return out;
}

}  // namespace invar::report
