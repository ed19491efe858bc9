// SPDX-License-Identifier: Apache-2.0
// Benchmark (not a ctest): the live report over N pods (default 10,000)
// served by the strict test API server over TLS. Prints, side by side, a
// list-only baseline (ListEach, items dropped) and the full collector
// (list + decode + evaluate + fold), as pods/s, the ratio, and the peak RSS.
//   build/<dir>/tests/integration/report/report_live_bench [pods] [rounds]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "invar/kube/client.h"
#include "invar/report/live.h"
#include "invar/testing/api_server.h"
#include "invar/testing/pki.h"

using invar::kube::Json;

namespace {

long PeakRssKiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

Json PodObject(int i) {
  std::string name = "web-" + std::to_string(i);
  return Json{
      {"metadata",
       {{"name", name},
        {"namespace", "bench"},
        {"uid", "uid-" + std::to_string(i)},
        {"labels", {{"app", "web"}}}}},
      {"spec",
       {{"nodeName", "node-" + std::to_string(i % 50)},
        {"securityContext", {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
        {"containers",
         Json::array(
             {{{"name", "app"},
               {"image", (i % 3 == 0) ? "nginx:1.27" : "registry.example/app@sha256:" + std::string(64, 'b')},
               {"ports", Json::array({{{"containerPort", 8080}}})},
               {"securityContext",
                {{"allowPrivilegeEscalation", false},
                 {"readOnlyRootFilesystem", i % 7 != 0},
                 {"capabilities", {{"drop", Json::array({"ALL"})}}}}}}})}}},
      {"status", {{"phase", "Running"}}}};
}

}  // namespace

int main(int argc, char** argv) {
  int pods = argc > 1 ? std::atoi(argv[1]) : 10000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  auto ca = invar::testing::TestCa::Create();
  auto cert = ca->IssueServer();
  invar::testing::ApiServerOptions o;
  o.server_cert_pem = cert->cert_pem;
  o.server_key_pem = cert->key_pem;
  o.client_ca_pem = ca->cert_pem();
  o.tokens["bench-token"] = "bench";
  invar::testing::TestApiServer server(o);
  if (!server.Start().ok()) return 1;
  server.AddNamespace("bench", {{"invar.dev/enforce", "immutable"}});
  for (int i = 0; i < pods; ++i) server.Put("v1", "pods", PodObject(i));
  long rss_after_setup = PeakRssKiB();

  invar::kube::RestConfig c;
  c.server = server.url();
  c.ca_data = ca->cert_pem();
  c.bearer_token = "bench-token";
  c.request_timeout = std::chrono::seconds(60);
  auto client = invar::kube::NewKubeClient(c);
  if (!client.ok()) return 1;
  invar::policy::ProfileSet profiles;

  std::printf("pods=%d rounds=%d (page size 500, TLS, test API server in-process)\n", pods, rounds);
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    size_t listed = 0;
    invar::kube::ListOptions lo;
    lo.namespace_ = "bench";
    lo.limit = 500;
    auto rv = (*client)->ListEach(invar::kube::Resource::Pods(), lo, [&](Json&&) {
      ++listed;
      return invar::Status::Ok();
    });
    auto t1 = std::chrono::steady_clock::now();
    invar::report::LiveOptions lopt;
    lopt.namespace_ = "bench";
    lopt.profiles = &profiles;
    invar::report::Report rep;
    invar::Status st = invar::report::CollectLive(**client, lopt, &rep);
    auto t2 = std::chrono::steady_clock::now();
    if (!rv.ok() || !st.ok() || listed != static_cast<size_t>(pods) || rep.resources.size() != listed) {
      std::fprintf(stderr, "bench failed: listed=%zu resources=%zu %s\n", listed, rep.resources.size(),
                   st.ToString().c_str());
      return 1;
    }
    double list_s = std::chrono::duration<double>(t1 - t0).count();
    double full_s = std::chrono::duration<double>(t2 - t1).count();
    std::printf(
        "round %d: list-only %.0f pods/s (%.3f s) | report (list+decode+evaluate+fold) %.0f pods/s (%.3f s) "
        "| ratio %.2fx\n",
        r + 1, pods / list_s, list_s, pods / full_s, full_s, full_s / list_s);
  }
  std::printf("peak RSS: %ld KiB (after loading the server: %ld KiB; server and client share the process)\n",
              PeakRssKiB(), rss_after_setup);
  server.Stop();
  return 0;
}
