// SPDX-License-Identifier: Apache-2.0
// `invar webhook` (the admission webhook server) and `invar certs` (a CA and
// serving certificate for clusters without cert-manager). Startup is an
// ordered list of steps: block signals -> namespace source -> load config and
// certificates and bind -> drop capabilities -> start workers -> seccomp ->
// wait for SIGTERM/SIGINT -> drain within --shutdown-grace. Main thread only.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "invar/admission/server.h"
#include "invar/admission/tls.h"
#include "invar/platform/hardening.h"
#include "invar/platform/log.h"
#if defined(INVAR_ADMISSION_HAS_KUBE)
#include "invar/admission/kube_namespaces.h"
#include "invar/kube/client.h"
#include "invar/kube/config.h"
#endif

namespace invar::cli {
namespace {

struct WebhookFlags {
  admission::ServerOptions server;
  double shutdown_grace_s = 25;
  double reload_interval_s = 2;
  double read_timeout_s = 10;
  double idle_timeout_s = 60;
  std::string seccomp = "errno";
  std::string kubeconfig;
  std::string context;
};

int RunWebhook(WebhookFlags f) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto ms = [](double s) { return milliseconds(static_cast<int64_t>(s * 1000)); };
  f.server.reload_interval = ms(f.reload_interval_s);
  f.server.read_timeout = ms(f.read_timeout_s);
  f.server.idle_timeout = ms(f.idle_timeout_s);

  // Signals are taken synchronously by this thread; every thread started
  // from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::shared_ptr<admission::NamespaceSource> namespaces;
#if defined(INVAR_ADMISSION_HAS_KUBE)
  std::unique_ptr<kube::KubeClient> client;
  if (!f.server.standalone) {
    kube::ClientOptions co;
    co.kubeconfig = f.kubeconfig;
    co.context = f.context;
    auto rc = kube::LoadConfig(co);
    if (!rc.ok()) {
      std::fprintf(stderr, "invar webhook: %s (use --standalone to run without a cluster)\n",
                   rc.status().message().c_str());
      return 2;
    }
    log::Info("webhook: cluster {}", rc->Describe());
    auto c = kube::NewKubeClient(*rc);
    if (!c.ok()) {
      std::fprintf(stderr, "invar webhook: %s\n", c.status().message().c_str());
      return 2;
    }
    client = std::move(*c);
    namespaces = admission::NewKubeNamespaceSource(*client);
  }
#else
  if (!f.server.standalone) {
    std::fprintf(stderr, "invar webhook: this build has no Kubernetes client; use --standalone\n");
    return 2;
  }
#endif

  auto server = admission::Server::Create(f.server, namespaces);
  if (!server.ok()) {
    std::fprintf(stderr, "invar webhook: %s\n", server.status().message().c_str());
    return 2;
  }
  if (Status s = hardening::DropCapabilities({}); !s.ok()) {
    std::fprintf(stderr, "invar webhook: dropping capabilities: %s\n", s.message().c_str());
    return 2;
  }
  (*server)->Start();
  if (f.seccomp != "off") {
    auto action = f.seccomp == "kill" ? hardening::SeccompAction::kKill
                  : f.seccomp == "log" ? hardening::SeccompAction::kLog
                                       : hardening::SeccompAction::kErrno;
    if (Status s = hardening::InstallSeccomp(hardening::SeccompProfile::kWebhook, {}, action); !s.ok()) {
      std::fprintf(stderr, "invar webhook: installing seccomp filter: %s\n", s.message().c_str());
      (*server)->Drain(std::chrono::milliseconds(0));
      return 2;
    }
  }
  log::Info("webhook: serving on port {}", (*server)->port());
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  log::Info("webhook: signal {}: draining (grace {}s)", sig, f.shutdown_grace_s);
  bool clean = (*server)->Drain(ms(f.shutdown_grace_s));
  log::Info("webhook: stopped{}", clean ? "" : " (grace period expired with connections open)");
  return 0;
}

int RunCerts(const admission::CertsOptions& o) {
  auto r = admission::GenerateCerts(o);
  if (!r.ok()) {
    std::fprintf(stderr, "invar certs: %s\n", r.status().message().c_str());
    return r.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  std::fprintf(stderr, "wrote %s, %s (CA) and %s, %s (serving certificate for", r->ca_cert_path.c_str(),
               r->ca_key_path.c_str(), r->cert_path.c_str(), r->key_path.c_str());
  for (const auto& d : r->dns_names) std::fprintf(stderr, " %s", d.c_str());
  std::fprintf(stderr, ")\ncaBundle for the ValidatingWebhookConfiguration:\n");
  std::printf("%s\n", r->ca_bundle.c_str());
  return 0;
}

}  // namespace

void RegisterWebhook(CLI::App& app, RunFn* run) {
  auto flags = std::make_shared<WebhookFlags>();
  CLI::App* w = app.add_subcommand("webhook", "Run the admission webhook (HTTPS, AdmissionReview v1/v1beta1)");
  auto& s = flags->server;
  w->add_option("--listen", s.listen, "HTTPS address [host]:port")->capture_default_str();
  w->add_option("--metrics-listen", s.metrics_listen,
                "Also serve /metrics, /healthz, /readyz over plain HTTP on [host]:port (default: HTTPS port only)");
  w->add_option("--tls-cert", s.tls_cert, "Serving certificate chain (PEM); reloaded when it changes")->required();
  w->add_option("--tls-key", s.tls_key, "Private key (PEM, not readable by others); reloaded when it changes")
      ->required();
  w->add_option("--config", s.config_path, "Config file (YAML); reloaded when it changes");
  w->add_flag("--standalone", s.standalone,
              "No cluster: namespace labels come from the config's `namespaces:` section");
  w->add_option("--threads", s.threads, "Worker threads (0 = one per CPU)")->capture_default_str();
  w->add_option("--shutdown-grace", flags->shutdown_grace_s, "Seconds to let in-flight requests finish on SIGTERM")
      ->capture_default_str();
  w->add_option("--reload-interval", flags->reload_interval_s, "Seconds between checks of cert/config files")
      ->capture_default_str();
  w->add_option("--read-timeout", flags->read_timeout_s, "Seconds to receive a whole request after its first byte")
      ->capture_default_str();
  w->add_option("--idle-timeout", flags->idle_timeout_s, "Seconds a keep-alive connection may wait for a request")
      ->capture_default_str();
  w->add_option("--max-connections", s.max_connections, "Open connections beyond which new ones are closed")
      ->capture_default_str();
  w->add_option("--seccomp", flags->seccomp, "Seccomp filter once serving: errno|kill|log|off")
      ->check(CLI::IsMember({"errno", "kill", "log", "off"}))
      ->capture_default_str();
  w->add_option("--kubeconfig", flags->kubeconfig, "Kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)");
  w->add_option("--context", flags->context, "Kubeconfig context");
  w->callback([flags, run] { *run = [flags] { return RunWebhook(*flags); }; });

  auto certs = std::make_shared<admission::CertsOptions>();
  CLI::App* c = app.add_subcommand("certs", "Create a CA and a serving certificate for the webhook Service");
  c->add_option("--service", certs->service, "Service name")->required();
  c->add_option("--namespace", certs->namespace_, "Service namespace")->required();
  c->add_option("--out", certs->out_dir, "Output directory (created; existing files are not overwritten)")
      ->required();
  c->add_option("--days", certs->days, "Validity of the serving certificate in days (the CA: twice that)")
      ->capture_default_str();
  c->callback([certs, run] { *run = [certs] { return RunCerts(*certs); }; });
}

}  // namespace invar::cli
