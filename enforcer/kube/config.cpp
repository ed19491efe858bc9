// SPDX-License-Identifier: Apache-2.0
// Kubeconfig and in-cluster configuration loading (see config.h). Follows
// kubectl's documented rules (kubernetes.io "Organizing Cluster Access Using
// kubeconfig Files"): --kubeconfig alone; else the $KUBECONFIG list merged
// with "first file to set a value or map key wins" (whole named entries, never
// field by field; missing files skipped, unparsable files are errors); else
// ~/.kube/config. Relative paths resolve against the file that holds them.
// Thread-compatible; reads files and the environment only.
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "invar/kube/config.h"
#include "kube_internal.h"

namespace invar::kube {
namespace {

std::optional<std::string> Env(const ClientOptions& options, const std::string& name) {
  if (options.getenv) return options.getenv(name);
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir + "/" + path;
}

// One named entry (cluster, user or context) with the directory of the file
// that defined it, for relative paths.
struct Named {
  YAML::Node node;
  std::string dir;
  std::string file;
};

struct Merged {
  std::map<std::string, Named> clusters, users, contexts;
  std::string current_context;
  bool any_file = false;
};

Status MergeDocument(const YAML::Node& root, const std::string& file, Merged* out) {
  if (!root || root.IsNull()) return Status::Ok();  // an empty file is an empty config
  if (!root.IsMap()) return Status::InvalidArgument("kubeconfig " + file + ": not a mapping");
  std::string dir = DirOf(file);
  auto merge_list = [&](const char* field, const char* inner, std::map<std::string, Named>* into) -> Status {
    YAML::Node list = root[field];
    if (!list || list.IsNull()) return Status::Ok();
    if (!list.IsSequence()) return Status::InvalidArgument("kubeconfig " + file + ": " + field + " is not a list");
    for (const auto& item : list) {
      if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) {
        return Status::InvalidArgument("kubeconfig " + file + ": an entry of " + field + " has no name");
      }
      std::string name = item["name"].as<std::string>();
      YAML::Node body = item[inner];
      if (body && !body.IsNull() && !body.IsMap()) {
        return Status::InvalidArgument("kubeconfig " + file + ": " + field + " \"" + name + "\" is not a mapping");
      }
      into->emplace(name, Named{body ? body : YAML::Node(YAML::NodeType::Map), dir, file});  // first wins
    }
    return Status::Ok();
  };
  INVAR_RETURN_IF_ERROR(merge_list("clusters", "cluster", &out->clusters));
  INVAR_RETURN_IF_ERROR(merge_list("users", "user", &out->users));
  INVAR_RETURN_IF_ERROR(merge_list("contexts", "context", &out->contexts));
  if (out->current_context.empty() && root["current-context"] && root["current-context"].IsScalar()) {
    out->current_context = root["current-context"].as<std::string>();
  }
  return Status::Ok();
}

Status MergeFile(const std::string& path, bool must_exist, Merged* out) {
  std::ifstream in(path);
  if (!in) {
    if (must_exist) return Status::NotFound("kubeconfig " + path + ": cannot be read");
    return Status::Ok();
  }
  std::stringstream buf;
  buf << in.rdbuf();
  out->any_file = true;
  try {
    return MergeDocument(YAML::Load(buf.str()), path, out);
  } catch (const YAML::Exception& e) {
    // e.what() names the position only, never the value.
    return Status::InvalidArgument("kubeconfig " + path + ": cannot be parsed: " + e.msg + " at line " +
                                   std::to_string(e.mark.line + 1));
  }
}

std::string Scalar(const YAML::Node& node, const char* key) {
  YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

bool Bool(const YAML::Node& node, const char* key) {
  YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return false;
  try {
    return v.as<bool>();
  } catch (const YAML::Exception&) {
    return false;
  }
}

Result<std::string> DecodeData(const YAML::Node& node, const char* key, const std::string& where) {
  std::string raw = Scalar(node, key);
  if (raw.empty()) return std::string();
  auto decoded = internal::Base64Decode(raw);
  if (!decoded) return Status::InvalidArgument(where + ": " + key + " is not valid base64");
  return *decoded;
}

Result<RestConfig> Build(const Merged& merged, const ClientOptions& options, const std::string& origin) {
  RestConfig config;
  std::string context_name = options.context.empty() ? merged.current_context : options.context;
  YAML::Node context(YAML::NodeType::Map);
  if (!context_name.empty()) {
    auto it = merged.contexts.find(context_name);
    if (it == merged.contexts.end()) {
      return Status::NotFound(origin + ": context \"" + context_name + "\" does not exist");
    }
    context = it->second.node;
  } else if (options.cluster.empty()) {
    return Status::FailedPrecondition(origin + ": no current-context is set and --context was not given");
  }
  config.context_name = context_name;
  config.cluster_name = options.cluster.empty() ? Scalar(context, "cluster") : options.cluster;
  config.user_name = options.user.empty() ? Scalar(context, "user") : options.user;
  std::string ns = Scalar(context, "namespace");
  if (!ns.empty()) config.namespace_ = ns;
  if (!options.namespace_.empty()) config.namespace_ = options.namespace_;

  auto cit = merged.clusters.find(config.cluster_name);
  if (cit == merged.clusters.end()) {
    return Status::NotFound(origin + ": cluster \"" + config.cluster_name + "\" (context \"" + context_name +
                            "\") does not exist");
  }
  const YAML::Node& cluster = cit->second.node;
  std::string cwhere = "kubeconfig " + cit->second.file + ": cluster \"" + config.cluster_name + "\"";
  config.server = Scalar(cluster, "server");
  if (config.server.empty()) return Status::InvalidArgument(cwhere + ": server is empty");
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    config.server = "https://" + config.server;  // as client-go does for a bare host:port
  }
  config.ca_file = Resolve(cit->second.dir, Scalar(cluster, "certificate-authority"));
  auto ca_data = DecodeData(cluster, "certificate-authority-data", cwhere);
  if (!ca_data.ok()) return ca_data.status();
  config.ca_data = *ca_data;
  config.insecure_skip_tls_verify = Bool(cluster, "insecure-skip-tls-verify");
  config.tls_server_name = Scalar(cluster, "tls-server-name");
  config.proxy_url = Scalar(cluster, "proxy-url");
  if (config.insecure_skip_tls_verify && (!config.ca_file.empty() || !config.ca_data.empty())) {
    // kubectl refuses this combination.
    return Status::InvalidArgument(cwhere + ": specifying a root certificates file with the insecure flag is not allowed");
  }

  if (!config.user_name.empty()) {
    auto uit = merged.users.find(config.user_name);
    if (uit == merged.users.end()) {
      return Status::NotFound(origin + ": user \"" + config.user_name + "\" (context \"" + context_name +
                              "\") does not exist");
    }
    const YAML::Node& user = uit->second.node;
    const std::string& dir = uit->second.dir;
    std::string uwhere = "kubeconfig " + uit->second.file + ": user \"" + config.user_name + "\"";
    config.client_cert_file = Resolve(dir, Scalar(user, "client-certificate"));
    config.client_key_file = Resolve(dir, Scalar(user, "client-key"));
    auto cert_data = DecodeData(user, "client-certificate-data", uwhere);
    if (!cert_data.ok()) return cert_data.status();
    auto key_data = DecodeData(user, "client-key-data", uwhere);
    if (!key_data.ok()) return key_data.status();
    config.client_cert_data = *cert_data;
    config.client_key_data = *key_data;
    config.bearer_token = Scalar(user, "token");
    config.bearer_token_file = Resolve(dir, Scalar(user, "tokenFile"));
    bool has_cert = !config.client_cert_file.empty() || !config.client_cert_data.empty();
    bool has_key = !config.client_key_file.empty() || !config.client_key_data.empty();
    if (has_cert != has_key) {
      return Status::InvalidArgument(uwhere + ": client-certificate and client-key must be given together");
    }
    if (user["auth-provider"] && !user["auth-provider"].IsNull()) {
      return Status::Unimplemented(uwhere + ": auth-provider \"" + Scalar(user["auth-provider"], "name") +
                                   "\" is not supported (removed from kubectl); use an exec credential plugin");
    }
    if (!Scalar(user, "username").empty() || !Scalar(user, "password").empty()) {
      return Status::Unimplemented(uwhere + ": basic authentication (username/password) is not supported");
    }
    YAML::Node exec = user["exec"];
    if (exec && !exec.IsNull()) {
      if (!exec.IsMap()) return Status::InvalidArgument(uwhere + ": exec is not a mapping");
      ExecConfig e;
      e.api_version = Scalar(exec, "apiVersion");
      if (e.api_version != "client.authentication.k8s.io/v1" &&
          e.api_version != "client.authentication.k8s.io/v1beta1") {
        return Status::InvalidArgument(uwhere + ": exec plugin: unsupported apiVersion \"" + e.api_version + "\"");
      }
      e.command = Scalar(exec, "command");
      if (e.command.empty()) return Status::InvalidArgument(uwhere + ": exec plugin: command is empty");
      if (e.command.find('/') != std::string::npos) e.command = Resolve(dir, e.command);
      if (exec["args"] && exec["args"].IsSequence()) {
        for (const auto& a : exec["args"]) e.args.push_back(a.as<std::string>());
      }
      if (exec["env"] && exec["env"].IsSequence()) {
        for (const auto& kv : exec["env"]) e.env.emplace_back(Scalar(kv, "name"), Scalar(kv, "value"));
      }
      std::string mode = Scalar(exec, "interactiveMode");
      if (mode.empty()) {
        // v1 requires it; v1beta1 defaults to IfAvailable.
        if (e.api_version == "client.authentication.k8s.io/v1") {
          return Status::InvalidArgument(uwhere + ": exec plugin: interactiveMode must be specified for " +
                                         e.api_version);
        }
        mode = "IfAvailable";
      }
      if (mode != "Never" && mode != "IfAvailable" && mode != "Always") {
        return Status::InvalidArgument(uwhere + ": exec plugin: invalid interactiveMode \"" + mode + "\"");
      }
      e.interactive_mode = mode;
      e.provide_cluster_info = Bool(exec, "provideClusterInfo");
      e.install_hint = Scalar(exec, "installHint");
      config.exec = std::move(e);
    }
  }
  if (options.request_timeout.count() > 0) config.request_timeout = options.request_timeout;
  return config;
}

std::string ReadSmallFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  std::stringstream buf;
  if (in) buf << in.rdbuf();
  return buf.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
  return s.substr(i);
}

}  // namespace

std::string RestConfig::Describe() const {
  std::string auth;
  auto add = [&](const char* what) { auth += (auth.empty() ? "" : "+") + std::string(what); };
  if (!client_cert_data.empty() || !client_cert_file.empty()) add("client-certificate");
  if (!bearer_token.empty()) add("token");
  if (bearer_token.empty() && !bearer_token_file.empty()) add("token-file");
  if (exec) add("exec");
  if (auth.empty()) auth = "anonymous";
  std::string out = "server=" + server + " context=" + (in_cluster ? "<in-cluster>" : context_name) +
                    " user=" + user_name + " namespace=" + namespace_ + " auth=" + auth;
  if (insecure_skip_tls_verify) out += " insecure-skip-tls-verify";
  if (!tls_server_name.empty()) out += " tls-server-name=" + tls_server_name;
  return out;
}

Result<RestConfig> InClusterConfig(const ClientOptions& options) {
  auto host = Env(options, "KUBERNETES_SERVICE_HOST");
  auto port = Env(options, "KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return Status::FailedPrecondition(
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
        "defined");
  }
  RestConfig config;
  config.in_cluster = true;
  bool ipv6 = host->find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  const std::string& dir = options.service_account_dir;
  config.bearer_token_file = dir + "/token";
  if (::access(config.bearer_token_file.c_str(), R_OK) != 0) {
    return ErrnoStatus("in-cluster configuration: service account token " + config.bearer_token_file);
  }
  std::string ca = dir + "/ca.crt";
  if (::access(ca.c_str(), R_OK) == 0) config.ca_file = ca;
  bool ok = false;
  std::string ns = Trim(ReadSmallFile(dir + "/namespace", &ok));
  if (ok && !ns.empty()) config.namespace_ = ns;
  if (!options.namespace_.empty()) config.namespace_ = options.namespace_;
  if (options.request_timeout.count() > 0) config.request_timeout = options.request_timeout;
  return config;
}

Result<RestConfig> LoadConfigFromString(const std::string& kubeconfig_yaml, const ClientOptions& options,
                                        const std::string& file_dir) {
  Merged merged;
  try {
    INVAR_RETURN_IF_ERROR(MergeDocument(YAML::Load(kubeconfig_yaml), file_dir + "/<string>", &merged));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("kubeconfig: cannot be parsed: " + e.msg);
  }
  return Build(merged, options, "kubeconfig");
}

Result<RestConfig> LoadConfig(const ClientOptions& options) {
  Merged merged;
  std::string origin;
  if (!options.kubeconfig.empty()) {
    INVAR_RETURN_IF_ERROR(MergeFile(options.kubeconfig, true, &merged));
    return Build(merged, options, "kubeconfig " + options.kubeconfig);
  }
  auto list = Env(options, "KUBECONFIG");
  if (list && !list->empty()) {
    origin = "$KUBECONFIG";
    std::stringstream ss(*list);
    std::string path;
    while (std::getline(ss, path, ':')) {
      if (path.empty()) continue;
      INVAR_RETURN_IF_ERROR(MergeFile(path, false, &merged));
    }
  } else {
    auto home = Env(options, "HOME");
    if (home && !home->empty()) {
      origin = "kubeconfig " + *home + "/.kube/config";
      INVAR_RETURN_IF_ERROR(MergeFile(*home + "/.kube/config", false, &merged));
    }
  }
  bool empty = merged.contexts.empty() && merged.clusters.empty() && merged.users.empty() &&
               merged.current_context.empty();
  if (empty && options.context.empty() && options.cluster.empty()) {
    if (options.allow_in_cluster && Env(options, "KUBERNETES_SERVICE_HOST")) return InClusterConfig(options);
    return Status::FailedPrecondition(
        "no configuration has been provided: use --kubeconfig, $KUBECONFIG or ~/.kube/config, or run in a pod");
  }
  return Build(merged, options, origin);
}

}  // namespace invar::kube
