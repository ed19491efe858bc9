// SPDX-License-Identifier: Apache-2.0
// Kubernetes audit logs (audit.k8s.io/v1 Event, one JSON object per line, as
// the apiserver's log backend writes them; plain or gzip-compressed) ->
// ExecEntry for every pods/exec, pods/attach, pods/portforward and
// pods/ephemeralcontainers request: who, when, which pod and container, the
// command, allowed or denied, flagged when the namespace is in immutable
// mode. Works without a cluster. Called from the CLI's main thread; no
// shared state (thread-compatible).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "invar/report/report.h"

namespace invar::report {

struct AuditOptions {
  // Namespaces in immutable mode -> why ("label invar.dev/enforce=immutable",
  // "--immutable-namespaces"). Requests into these are flagged.
  std::map<std::string, std::string, std::less<>> immutable_namespaces;
  size_t max_line_bytes = 16u << 20;  // longer lines are input errors
};

struct AuditResult {
  std::vector<ExecEntry> execs;  // de-duplicated, sorted by time then auditID
  std::vector<InputError> errors;
  int64_t events = 0;  // audit events read (every stage, every resource)
};

// Accumulates entries from several logs, de-duplicated across all of them by
// auditID: the ResponseComplete (or Panic) stage wins, else the latest stage.
class AuditReader {
 public:
  explicit AuditReader(AuditOptions options) : options_(std::move(options)) {}

  // Reads one file (gzip detected by its magic bytes). A file that cannot be
  // read or a line that is not an audit event becomes an InputError; the
  // other lines are still read.
  void AddFile(const std::string& path);
  // Parses log text already in memory; `file` labels errors and entries.
  void AddText(std::string_view text, const std::string& file);

  AuditResult Finish();

 private:
  void AddLine(std::string_view line, const std::string& file, int line_no);

  AuditOptions options_;
  std::map<std::string, ExecEntry> by_id_;
  std::map<std::string, int> stage_rank_;
  std::vector<ExecEntry> without_id_;
  std::vector<InputError> errors_;
  int64_t events_ = 0;
};

// Decodes an application/x-www-form-urlencoded component ('+' is a space).
std::string UrlDecode(std::string_view text);

}  // namespace invar::report
