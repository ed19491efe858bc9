// SPDX-License-Identifier: Apache-2.0
// See kube_pod_actions.h. Built only when invar_kube exists.
#include "invar/drift/kube_pod_actions.h"

#include <condition_variable>
#include <ctime>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "invar/kube/client.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

std::string MicroTime() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000);
  return buf;
}

class KubePodActions final : public PodActions {
 public:
  KubePodActions(std::unique_ptr<kube::KubeClient> client, std::string node, std::size_t limit)
      : client_(std::move(client)), node_(std::move(node)), limit_(limit) {
    worker_ = std::thread([this] { Loop(); });
  }
  ~KubePodActions() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  Status Annotate(const std::string& ns, const std::string& pod,
                  const std::map<std::string, std::string>& annotations) override {
    kube::Json patch = {{"metadata", {{"annotations", kube::Json::object()}}}};
    for (const auto& [k, v] : annotations) patch["metadata"]["annotations"][k] = v;
    return Enqueue([this, ns, pod, patch] {
      auto r = client_->Patch(kube::Resource::Pods(), ns, pod, kube::PatchType::kMerge, patch);
      if (!r.ok()) log::Warn("annotate pod {}/{}: {}", ns, pod, r.status().ToString());
    });
  }

  Status EmitEvent(const std::string& ns, const std::string& pod, const std::string& reason,
                   const std::string& message) override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%lx%05lx", static_cast<long>(ts.tv_sec), ts.tv_nsec / 10000);
    kube::Json ev = {
        {"apiVersion", "events.k8s.io/v1"},
        {"kind", "Event"},
        {"metadata", {{"name", pod + suffix}, {"namespace", ns}}},
        {"eventTime", MicroTime()},
        {"reportingController", "invar.dev/agent"},
        {"reportingInstance", node_.empty() ? "invar-agent" : node_},
        {"action", "DriftDetected"},
        {"reason", reason},
        {"type", "Warning"},
        {"note", message.substr(0, 1024)},
        {"regarding", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", ns}, {"name", pod}}},
    };
    return Enqueue([this, ns, pod, ev] {
      auto r = client_->Create(kube::Resource::Events(), ns, ev);
      if (!r.ok()) log::Warn("event for pod {}/{}: {}", ns, pod, r.status().ToString());
    });
  }

  Status DeletePod(const std::string& ns, const std::string& pod) override {
    return Enqueue([this, ns, pod] {
      auto r = client_->Delete(kube::Resource::Pods(), ns, pod, {});
      if (!r.ok() && !r.IsNotFound()) log::Warn("delete pod {}/{}: {}", ns, pod, r.status().ToString());
    });
  }

  std::optional<std::map<std::string, std::string>> PodAnnotations(const std::string& ns,
                                                                   const std::string& pod) override {
    auto r = client_->Get(kube::Resource::Pods(), ns, pod);
    if (!r.ok()) {
      log::Debug("pod {}/{}: {}", ns, pod, r.status().ToString());
      return std::nullopt;
    }
    std::map<std::string, std::string> out;
    const auto& meta = (*r)["metadata"];
    if (meta.is_object() && meta.contains("annotations") && meta["annotations"].is_object()) {
      for (auto it = meta["annotations"].begin(); it != meta["annotations"].end(); ++it) {
        if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
      }
    }
    return out;
  }

  std::optional<PodMetadata> GetPodMetadata(const std::string& ns, const std::string& pod) override {
    auto r = client_->Get(kube::Resource::Pods(), ns, pod);
    if (!r.ok()) {
      log::Debug("pod {}/{}: {}", ns, pod, r.status().ToString());
      return std::nullopt;
    }
    PodMetadata m;
    const auto& meta = (*r)["metadata"];
    if (!meta.is_object()) return m;
    for (const char* key : {"annotations", "labels"}) {
      if (!meta.contains(key) || !meta[key].is_object()) continue;
      auto& out = std::string_view(key) == "labels" ? m.labels : m.annotations;
      for (auto it = meta[key].begin(); it != meta[key].end(); ++it) {
        if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
      }
    }
    if (meta.contains("ownerReferences") && meta["ownerReferences"].is_array()) {
      for (const auto& ref : meta["ownerReferences"]) {
        if (!ref.is_object() || !ref.value("controller", false)) continue;
        if (ref.contains("kind") && ref["kind"].is_string()) m.owner_kind = ref["kind"].get<std::string>();
        if (ref.contains("name") && ref["name"].is_string()) m.owner_name = ref["name"].get<std::string>();
        break;
      }
    }
    return m;
  }

 private:
  Status Enqueue(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= limit_) return Status::ResourceExhausted("kube action queue full");
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
    return Status::Ok();
  }

  void Loop() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, drained
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        fn();
      } catch (const std::exception& e) {
        log::Error("kube action: {}", e.what());
      }
    }
  }

  std::unique_ptr<kube::KubeClient> client_;
  std::string node_;
  std::size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace

std::unique_ptr<PodActions> NewKubePodActions(std::unique_ptr<kube::KubeClient> client, std::string node_name,
                                              std::size_t queue_limit) {
  return std::make_unique<KubePodActions>(std::move(client), std::move(node_name), queue_limit);
}

}  // namespace invar::drift
