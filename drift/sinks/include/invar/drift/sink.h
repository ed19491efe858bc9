// SPDX-License-Identifier: Apache-2.0
// Sink: where alerts go. Backends: stdout, a file (reopened on SIGHUP for log
// rotation), HTTP POST of the JSON (Falcosidekick-compatible). Write() is
// called from the agent's dispatcher thread only and never blocks on the
// network: the HTTP sink queues (bounded; drops and counts when full) and
// sends from its own thread. Reopen() (SIGHUP) is called from the agent's main
// thread: the file sink guards its fd and buffer with a mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "invar/drift/alert.h"
#include "invar/platform/status.h"

namespace invar::drift {

enum class OutputFormat { kText, kJson };

inline constexpr std::size_t kSinkBufferBytes = 64 * 1024;

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
  // Writes what Write() buffered. The stdout and file sinks buffer whole
  // lines (at most kSinkBufferBytes, then they write on their own) so a burst
  // of alerts costs one write(2) per buffer instead of one per line; the
  // agent flushes whenever its queue drains (and at least every few ms under
  // load), before Reopen() and at exit. Lines still buffered when the process
  // dies are lost (at most kSinkBufferBytes per sink).
  virtual void Flush() {}
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
