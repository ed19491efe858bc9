// SPDX-License-Identifier: Apache-2.0
// bench_kube_list: list + evaluate 10,000 pods served by the strict test API
// server over real TLS, paged with limit=500, as `invar report` does against
// a live cluster. The server runs in a forked child so that the peak RSS
// printed (getrusage ru_maxrss) is the client's alone.
//
// Modes, each run over the same 10,000 pods (a copy of the pod in
// tests/data/review-5k.json, ~4.3 KB of JSON, renamed per pod):
//   list-only        ListPages; count items (transport + TLS + HTTP baseline)
//   list+evaluate    ListPages; simdjson on-demand over each page, every item
//                    DecodeObject() + Evaluate() against `immutable`
//   listeach+nlohmann ListEach (nlohmann DOM per item, kind filled in), then
//                    dump + Decode() + Evaluate(): the naive path, for comparison
//
//   build/<dir>/tests/bench/bench_kube_list [pods=10000] [rounds=3]
#include <signal.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "invar/kube/client.h"
#include "invar/policy/decode.h"
#include "invar/policy/evaluate.h"
#include "invar/policy/json_object.h"
#include "invar/policy/profile.h"
#include "invar/testing/api_server.h"
#include "invar/testing/pki.h"

namespace {

using invar::kube::Json;

constexpr const char* kToken = "bench-token";

Json TemplatePod() {
  std::ifstream in(std::string(INVAR_SOURCE_DIR) + "/tests/data/review-5k.json");
  std::stringstream ss;
  ss << in.rdbuf();
  Json review = Json::parse(ss.str());
  Json pod = review["request"]["object"];
  pod.erase("kind");
  pod.erase("apiVersion");
  return pod;
}

double CpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long MaxRssKb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Runs the server in this (child) process until the parent closes `ctl`.
[[noreturn]] void ServeChild(const invar::testing::CertKey& cert, int pods, int port_fd, int ctl_fd) {
  invar::testing::ApiServerOptions opts;
  opts.server_cert_pem = cert.cert_pem;
  opts.server_key_pem = cert.key_pem;
  opts.tokens[kToken] = "bench";
  opts.history_window = 100;
  invar::testing::TestApiServer server(opts);
  if (!server.Start().ok()) _exit(2);
  server.AddNamespace("bench");
  Json tmpl = TemplatePod();
  for (int i = 0; i < pods; ++i) {
    Json pod = tmpl;
    std::string name = "pod-";
    name.append(std::to_string(100000 + i));
    pod["metadata"]["name"] = name;
    pod["metadata"]["namespace"] = "bench";
    pod["metadata"].erase("uid");
    server.Put("v1", "pods", std::move(pod));
  }
  int port = server.port();
  if (write(port_fd, &port, sizeof port) != sizeof port) _exit(3);
  char c;
  while (read(ctl_fd, &c, 1) > 0) {
  }
  server.Stop();
  _exit(0);
}

struct Outcome {
  size_t pods = 0;
  size_t allowed = 0;
  size_t errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int pods = argc > 1 ? std::atoi(argv[1]) : 10000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  auto ca = invar::testing::TestCa::Create();
  auto cert = ca->IssueServer();
  int port_pipe[2], ctl_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(ctl_pipe) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(port_pipe[0]);
    close(ctl_pipe[1]);
    ServeChild(*cert, pods, port_pipe[1], ctl_pipe[0]);
  }
  close(port_pipe[1]);
  close(ctl_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) {
    std::fprintf(stderr, "server failed to start\n");
    return 1;
  }

  invar::kube::RestConfig config;
  config.server = "https://127.0.0.1:";
  config.server.append(std::to_string(port));
  config.ca_data = ca->cert_pem();
  config.bearer_token = kToken;
  config.request_timeout = std::chrono::seconds(60);
  auto client = invar::kube::NewKubeClient(config);
  if (!client.ok()) return 1;
  auto profile = invar::policy::BuiltinProfile("immutable");
  if (!profile.ok()) {
    std::fprintf(stderr, "profile: %s\n", profile.status().ToString().c_str());
    return 1;
  }
  invar::kube::ListOptions opts;
  opts.namespace_ = "bench";
  opts.limit = 500;

  auto list_only = [&]() {
    Outcome out;
    simdjson::ondemand::parser parser;
    auto rv = (*client)->ListPages(invar::kube::Resource::Pods(), opts, [&](std::string_view page) {
      simdjson::padded_string padded(page);
      auto doc = parser.iterate(padded);
      simdjson::ondemand::array items;
      size_t n = 0;
      if (doc["items"].get_array().get(items) || items.count_elements().get(n)) {
        return invar::Status::Internal("bad page");
      }
      out.pods += n;
      return invar::Status::Ok();
    });
    if (!rv.ok()) std::fprintf(stderr, "list: %s\n", rv.status().ToString().c_str());
    return out;
  };

  auto list_evaluate = [&]() {
    Outcome out;
    simdjson::ondemand::parser page_parser;
    simdjson::ondemand::parser item_parser;
    std::string item;
    auto rv = (*client)->ListPages(invar::kube::Resource::Pods(), opts, [&](std::string_view page) {
      simdjson::padded_string padded(page);
      auto doc = page_parser.iterate(padded);
      simdjson::ondemand::array items;
      if (doc["items"].get_array().get(items)) return invar::Status::Internal("bad page");
      for (auto element : items) {
        simdjson::ondemand::object obj;
        std::string_view raw;
        if (element.get_object().get(obj) || obj.raw_json().get(raw)) return invar::Status::Internal("bad item");
        // List items carry no kind/apiVersion (as from a real apiserver).
        item.assign(R"({"kind":"Pod","apiVersion":"v1",)");
        item.append(raw.substr(1));
        simdjson::padded_string_view view(item.data(), item.size(), item.capacity());
        if (item.capacity() < item.size() + simdjson::SIMDJSON_PADDING) {
          item.reserve(item.size() + simdjson::SIMDJSON_PADDING);
          view = simdjson::padded_string_view(item.data(), item.size(), item.capacity());
        }
        auto item_doc = item_parser.iterate(view);
        simdjson::ondemand::value value;
        if (item_doc.get_value().get(value)) {
          ++out.errors;
          continue;
        }
        auto workload = invar::policy::DecodeObject(value);
        if (!workload.ok()) {
          ++out.errors;
          continue;
        }
        auto verdict = invar::policy::Evaluate(*workload, *profile);
        ++out.pods;
        if (verdict.Allowed()) ++out.allowed;
      }
      return invar::Status::Ok();
    });
    if (!rv.ok()) std::fprintf(stderr, "list: %s\n", rv.status().ToString().c_str());
    return out;
  };

  auto listeach_nlohmann = [&]() {
    Outcome out;
    auto rv = (*client)->ListEach(invar::kube::Resource::Pods(), opts, [&](Json&& pod) {
      auto decoded = invar::policy::Decode(pod.dump());
      for (const auto& w : decoded.workloads) {
        ++out.pods;
        if (invar::policy::Evaluate(w, *profile).Allowed()) ++out.allowed;
      }
      out.errors += decoded.errors.size();
      return invar::Status::Ok();
    });
    if (!rv.ok()) std::fprintf(stderr, "list: %s\n", rv.status().ToString().c_str());
    return out;
  };

  struct Mode {
    const char* name;
    std::function<Outcome()> run;
    std::vector<double> rates;
    std::vector<double> cpu_rates;
    Outcome last;
    long rss_after_first_run = 0;  // ru_maxrss is a high-water mark: modes run in this order
  };
  std::vector<Mode> modes = {{"list-only", list_only, {}, {}, {}, 0},
                             {"list+evaluate", list_evaluate, {}, {}, {}, 0},
                             {"listeach+nlohmann", listeach_nlohmann, {}, {}, {}, 0}};
  long rss_before = MaxRssKb();
  list_only();  // warm-up: connection, TLS session, server caches
  long rss_warm = MaxRssKb();
  for (int r = 0; r < rounds; ++r) {
    for (auto& mode : modes) {  // interleaved rounds
      auto start = std::chrono::steady_clock::now();
      double cpu_start = CpuSeconds();
      mode.last = mode.run();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double cpu = CpuSeconds() - cpu_start;
      mode.rates.push_back(static_cast<double>(mode.last.pods) / secs);
      mode.cpu_rates.push_back(static_cast<double>(mode.last.pods) / std::max(cpu, 1e-6));
      if (r == 0) mode.rss_after_first_run = MaxRssKb();
    }
  }
  std::printf("pods=%d page=500 rounds=%d, medians; server in a separate process\n", pods, rounds);
  std::printf("%-18s %12s %16s %12s\n", "mode", "pods/s wall", "pods/client-cpu-s", "vs list-only");
  double base = 0;
  for (auto& mode : modes) {
    std::sort(mode.rates.begin(), mode.rates.end());
    std::sort(mode.cpu_rates.begin(), mode.cpu_rates.end());
    double median = mode.rates[mode.rates.size() / 2];
    double cpu_median = mode.cpu_rates[mode.cpu_rates.size() / 2];
    if (base == 0) base = median;
    std::printf("%-18s %12.0f %16.0f %11.2fx  peak RSS so far %ld KiB  pods=%zu allowed=%zu errors=%zu\n",
                mode.name, median, cpu_median, median / base, mode.rss_after_first_run, mode.last.pods,
                mode.last.allowed, mode.last.errors);
  }
  std::printf("client peak RSS: %ld KiB (before the first list %ld KiB, after one list-only pass %ld KiB)\n",
              MaxRssKb(), rss_before, rss_warm);
  close(ctl_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}
