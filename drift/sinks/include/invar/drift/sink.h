// SPDX-License-Identifier: Apache-2.0
// Sink: where alerts go. Backends: stdout, a file (reopened on SIGHUP for log
// rotation), HTTP POST of the JSON (Falcosidekick-compatible). Write() is
// called from the agent's dispatcher thread only and never blocks on the
// network: the HTTP sink queues (bounded; drops and counts when full) and
// sends from its own thread. Reopen() may be called from the same thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "invar/drift/alert.h"
#include "invar/platform/status.h"

namespace invar::drift {

enum class OutputFormat { kText, kJson };

class Sink {
 public:
  Sink() = default;
  virtual ~Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Reads alert.text or alert.json, per the sink's format (HTTP: json).
  virtual void Write(const Alert& alert) = 0;
  // True when Write() reads alert.json (else alert.text): the agent renders
  // only what some sink reads.
  virtual bool wants_json() const = 0;
  virtual void Reopen() {}
  // Alerts dropped because the sink could not keep up.
  virtual std::uint64_t dropped() const { return 0; }
};

std::unique_ptr<Sink> NewStdoutSink(OutputFormat format);
// Appends to `path`; Reopen() closes and reopens it (logrotate's create mode).
Result<std::unique_ptr<Sink>> NewFileSink(const std::string& path, OutputFormat format);
// POSTs each alert's JSON to `url` ("http://host:port/path"; https is not
// supported: put Falcosidekick on the node network or a sidecar).
Result<std::unique_ptr<Sink>> NewHttpSink(const std::string& url, std::size_t queue_limit = 10000);

}  // namespace invar::drift
