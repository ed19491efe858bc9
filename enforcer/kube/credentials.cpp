// SPDX-License-Identifier: Apache-2.0
// Credentials: token-file rotation and exec credential plugins
// (client.authentication.k8s.io/v1 ExecCredential), plus small encoding
// helpers. CredentialSource is thread-safe (one mutex); RunExecPlugin blocks
// the caller while the plugin runs. No credential ever reaches a log line or
// an error message.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "invar/platform/fd.h"
#include "invar/platform/log.h"
#include "kube_internal.h"

extern char** environ;

namespace invar::kube::internal {

std::optional<std::string> Base64Decode(std::string_view in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2) return std::nullopt;
  return out;
}

std::string UrlEncode(std::string_view in) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  if (*rest == '.') {
    ++rest;
    while (std::isdigit(static_cast<unsigned char>(*rest))) ++rest;
  }
  long offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hh = 0, mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset = (hh * 3600L + mm * 60L) * (*rest == '+' ? 1 : -1);
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') return std::nullopt;
  time_t t = timegm(&tm) - offset;
  // system_clock counts nanoseconds in 64 bits (up to year 2262): clamp far
  // futures ("never expires") instead of overflowing into the past.
  constexpr time_t kMax = 7258118400;  // 2200-01-01
  return std::chrono::system_clock::from_time_t(std::min(t, kMax));
}

namespace {

std::string ResolveCommand(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + command;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, const RestConfig& config) {
  std::string where = "exec plugin \"" + exec.command + "\"";
  if (exec.interactive_mode == "Always") {
    return Status::FailedPrecondition(where + ": interactiveMode is Always but invar has no terminal");
  }
  std::string path = ResolveCommand(exec.command);
  if (path.empty() || ::access(path.c_str(), X_OK) != 0) {
    std::string hint = exec.install_hint.empty() ? "" : " (" + exec.install_hint + ")";
    return Status::NotFound(where + ": executable not found" + hint);
  }
  nlohmann::json info = {{"apiVersion", exec.api_version},
                         {"kind", "ExecCredential"},
                         {"spec", {{"interactive", false}}}};
  if (exec.provide_cluster_info) {
    nlohmann::json cluster = {{"server", config.server}, {"insecure-skip-tls-verify", config.insecure_skip_tls_verify}};
    if (!config.tls_server_name.empty()) cluster["tls-server-name"] = config.tls_server_name;
    if (!config.ca_data.empty()) cluster["certificate-authority-data"] = config.ca_data;
    info["spec"]["cluster"] = cluster;
  }
  // argv and envp are prepared before fork (nothing but async-signal-safe calls after it).
  std::vector<std::string> args = {path};
  args.insert(args.end(), exec.args.begin(), exec.args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    bool overridden = kv.rfind("KUBERNETES_EXEC_INFO=", 0) == 0;
    for (const auto& [k, v] : exec.env) overridden = overridden || kv.rfind(k + "=", 0) == 0;
    if (!overridden) env.push_back(kv);
  }
  for (const auto& [k, v] : exec.env) env.push_back(k + "=" + v);
  env.push_back("KUBERNETES_EXEC_INFO=" + info.dump());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoStatus(where + ": pipe");
  UniqueFd read_end(pipefd[0]);
  UniqueFd write_end(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(where + ": fork");
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(pipefd[1], 1);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  write_end.Reset();
  std::string out;
  char buf[4096];
  constexpr size_t kMaxOutput = 1u << 20;
  // A plugin that hangs must not hang invar: 60 s, then SIGKILL.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    struct pollfd pfd = {read_end.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < kMaxOutput) out.append(buf, static_cast<size_t>(n));
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return Status::DeadlineExceeded(where + ": no answer within 60 s (killed)");
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    return Status::Unavailable(where + ": exited with status " + std::to_string(code));
  }
  auto doc = nlohmann::json::parse(out, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument(where + ": output is not an ExecCredential JSON object");
  }
  if (doc.value("kind", "") != "ExecCredential") {
    return Status::InvalidArgument(where + ": output kind is not ExecCredential");
  }
  if (doc.value("apiVersion", "") != exec.api_version) {
    return Status::InvalidArgument(where + ": output apiVersion does not match the configured " + exec.api_version);
  }
  if (!doc.contains("status") || !doc["status"].is_object()) {
    return Status::InvalidArgument(where + ": output has no status");
  }
  const auto& st = doc["status"];
  ExecCredential cred;
  if (st.contains("token") && st["token"].is_string()) cred.token = st["token"].get<std::string>();
  if (st.contains("clientCertificateData") && st["clientCertificateData"].is_string()) {
    cred.client_cert_pem = st["clientCertificateData"].get<std::string>();
  }
  if (st.contains("clientKeyData") && st["clientKeyData"].is_string()) {
    cred.client_key_pem = st["clientKeyData"].get<std::string>();
  }
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return Status::InvalidArgument(where + ": clientCertificateData and clientKeyData must be given together");
  }
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return Status::InvalidArgument(where + ": output has neither token nor client certificate");
  }
  if (st.contains("expirationTimestamp") && st["expirationTimestamp"].is_string()) {
    cred.expiration = ParseRfc3339(st["expirationTimestamp"].get<std::string>());
    if (!cred.expiration) return Status::InvalidArgument(where + ": expirationTimestamp is not RFC 3339");
  }
  return cred;
}

CredentialSource::CredentialSource(const RestConfig& config) : config_(config) {}

Result<std::string> CredentialSource::Authorization() {
  std::lock_guard lock(mu_);
  if (!config_.bearer_token.empty()) return "Bearer " + config_.bearer_token;
  if (!config_.bearer_token_file.empty()) {
    struct stat st {};
    if (::stat(config_.bearer_token_file.c_str(), &st) != 0) {
      if (file_loaded_) return "Bearer " + file_token_;  // keep the last good token across a rotation gap
      return ErrnoStatus("token file " + config_.bearer_token_file);
    }
    bool changed = !file_loaded_ || st.st_size != file_size_ || st.st_ino != file_ino_ ||
                   st.st_mtim.tv_sec != file_mtime_.tv_sec || st.st_mtim.tv_nsec != file_mtime_.tv_nsec;
    if (changed) {
      std::ifstream in(config_.bearer_token_file);
      if (!in) return ErrnoStatus("token file " + config_.bearer_token_file);
      std::stringstream buf;
      buf << in.rdbuf();
      std::string token = buf.str();
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
      if (token.empty()) return Status::FailedPrecondition("token file " + config_.bearer_token_file + " is empty");
      file_token_ = std::move(token);
      file_size_ = st.st_size;
      file_ino_ = st.st_ino;
      file_mtime_ = st.st_mtim;
      file_loaded_ = true;
    }
    return "Bearer " + file_token_;
  }
  if (config_.exec) {
    bool expired = exec_cred_ && exec_cred_->expiration && std::chrono::system_clock::now() >= *exec_cred_->expiration;
    if (!exec_cred_ || expired) {
      auto cred = RunExecPlugin(*config_.exec, config_);
      ++exec_runs_;
      if (!cred.ok()) return cred.status();
      exec_cred_ = std::move(*cred);
    }
    if (!exec_cred_->token.empty()) return "Bearer " + exec_cred_->token;
  }
  return std::string();
}

bool CredentialSource::Invalidate() {
  std::lock_guard lock(mu_);
  if (!config_.bearer_token.empty()) return false;
  if (!config_.bearer_token_file.empty()) {
    file_loaded_ = false;
    return true;
  }
  if (config_.exec) {
    exec_cred_.reset();
    return true;
  }
  return false;
}

std::pair<std::string, std::string> CredentialSource::ExecClientCert() {
  std::lock_guard lock(mu_);
  if (!exec_cred_) return {};
  return {exec_cred_->client_cert_pem, exec_cred_->client_key_pem};
}

int CredentialSource::exec_runs() const {
  std::lock_guard lock(mu_);
  return exec_runs_;
}

}  // namespace invar::kube::internal
