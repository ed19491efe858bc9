// SPDX-License-Identifier: Apache-2.0
// Internals shared by the kube library's .cpp files (not a public header):
// encoding helpers and CredentialSource, which turns a RestConfig's token,
// token file or exec plugin into an Authorization header value.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "invar/kube/config.h"
#include "invar/platform/status.h"

namespace invar::kube::internal {

// Standard base64 (whitespace ignored); nullopt on invalid input.
std::optional<std::string> Base64Decode(std::string_view in);
// Percent-encodes a query value or path segment (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view in);
// "2026-11-27T03:20:12Z" (fractional seconds and offsets accepted).
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

// What an exec plugin returned.
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Runs the plugin once (fork/exec, stdout captured, stdin /dev/null, killed
// after 60 s).
// Errors never include the plugin's output.
Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, const RestConfig& config);

// Thread-safe source of the current credentials.
class CredentialSource {
 public:
  explicit CredentialSource(const RestConfig& config);
  // The Authorization header value ("Bearer ...") or "" for none. Re-reads a
  // rotated token file, re-runs an expired exec plugin.
  Result<std::string> Authorization();
  // After a 401: drop cached credentials so the next call reloads them.
  // Returns false when nothing can change (static token or none).
  bool Invalidate();
  // Client certificate from an exec plugin (empty when none).
  std::pair<std::string, std::string> ExecClientCert();
  int exec_runs() const;

 private:
  const RestConfig& config_;
  mutable std::mutex mu_;
  // token file cache
  std::string file_token_;
  struct timespec file_mtime_ {};
  off_t file_size_ = -1;
  ino_t file_ino_ = 0;
  bool file_loaded_ = false;
  // exec cache
  std::optional<ExecCredential> exec_cred_;
  int exec_runs_ = 0;
};

}  // namespace invar::kube::internal
