// SPDX-License-Identifier: Apache-2.0
// Client configuration, resolved the way kubectl resolves it: --kubeconfig,
// else $KUBECONFIG (a ':'-separated list of files merged so that the first
// file to set a value wins), else ~/.kube/config; then --context; and, when
// no kubeconfig supplies a server, the in-cluster service account
// (KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount).
//
// Called once at startup by the webhook, the agent and the report, then handed
// to NewKubeClient(). Plain value types and pure-ish functions (they read files
// and the environment); thread-compatible.
//
// RestConfig holds credentials. Never log it: Describe() gives a redacted view.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "invar/platform/status.h"

namespace invar::kube {

// The standard client flags (--kubeconfig --context -n --request-timeout), and
// the hooks tests need to run without touching the real machine.
struct ClientOptions {
  std::string kubeconfig;  // --kubeconfig: only this file is read (no merge)
  std::string context;     // --context: overrides current-context
  std::string cluster;     // --cluster: overrides the context's cluster
  std::string user;        // --user: overrides the context's user
  std::string namespace_;  // -n/--namespace: overrides the context's namespace
  // --request-timeout for every non-watch request; 0 means the default (30 s).
  std::chrono::milliseconds request_timeout{0};

  // Environment lookup; defaults to getenv. Tests inject KUBECONFIG, HOME,
  // KUBERNETES_SERVICE_HOST/PORT here.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Service-account directory for in-cluster config (token, ca.crt, namespace).
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // Set false to never fall back to the in-cluster config.
  bool allow_in_cluster = true;
};

// An exec credential plugin (users[].user.exec), client.authentication.k8s.io/v1.
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 (v1beta1 accepted)
  std::string command;      // resolved against PATH if it has no '/'; relative to the kubeconfig's dir if it has one
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string interactive_mode = "IfAvailable";  // Never | IfAvailable | Always; invar never has a TTY
  bool provide_cluster_info = false;
  std::string install_hint;
};

// Everything needed to talk to one API server as one user.
struct RestConfig {
  std::string server;  // "https://10.0.0.1:6443" (a path prefix is kept), no trailing '/'
  std::string context_name;
  std::string cluster_name;
  std::string user_name;
  std::string namespace_ = "default";  // the context's (or in-cluster) namespace, or -n
  bool in_cluster = false;

  // TLS. PEM data wins over the file when both are given (as in kubectl).
  std::string ca_file;
  std::string ca_data;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // SNI and the name the certificate is verified against
  std::string client_cert_file;
  std::string client_cert_data;
  std::string client_key_file;
  std::string client_key_data;

  // Auth. A static token wins over token_file; token_file is re-read when it
  // changes (service-account token rotation); exec is used when neither is set.
  std::string bearer_token;
  std::string bearer_token_file;
  std::optional<ExecConfig> exec;

  std::string proxy_url;  // parsed but NOT used (invar connects directly; logged once as a warning)
  std::chrono::milliseconds request_timeout{30000};
  std::string user_agent;  // "invar/<version>" when empty

  // One line for logs: server, context, user, auth kinds. No secrets.
  std::string Describe() const;
};

// Resolves the configuration as kubectl does. Errors name the file and field
// ("kubeconfig /x: context \"prod\" not found"), never a credential.
Result<RestConfig> LoadConfig(const ClientOptions& options);

// Parses one kubeconfig document (YAML or JSON) and resolves it against
// `options` as if it were the only file. For tools and tests.
Result<RestConfig> LoadConfigFromString(const std::string& kubeconfig_yaml, const ClientOptions& options,
                                        const std::string& file_dir = ".");

// In-cluster configuration only.
Result<RestConfig> InClusterConfig(const ClientOptions& options);

}  // namespace invar::kube
