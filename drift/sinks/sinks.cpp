// SPDX-License-Identifier: Apache-2.0
// stdout and file sinks (sink.h). Whole lines are buffered (up to
// kSinkBufferBytes) and written by one write(2) per Flush(), so lines from
// concurrent writers never interleave and a reader tailing the file sees
// whole lines. The file sink's buffer and fd are guarded by a mutex (Write
// and Flush on the dispatcher thread, Reopen on the main thread).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "invar/drift/sink.h"
#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

void AppendLine(std::string* buf, const Alert& a, OutputFormat f) {
  *buf += f == OutputFormat::kJson ? a.json : a.text;
  *buf += '\n';
}

class StdoutSink final : public Sink {
 public:
  explicit StdoutSink(OutputFormat f) : format_(f) {}
  ~StdoutSink() override { Flush(); }
  void Write(const Alert& a) override {
    AppendLine(&buf_, a, format_);
    if (buf_.size() >= kSinkBufferBytes) Flush();
  }
  void Flush() override {
    (void)WriteAll(STDOUT_FILENO, buf_);  // stdout gone: nothing to report it to
    buf_.clear();
  }
  bool wants_json() const override { return format_ == OutputFormat::kJson; }

 private:
  OutputFormat format_;
  std::string buf_;
};

class FileSink final : public Sink {
 public:
  FileSink(std::string path, OutputFormat f, UniqueFd fd) : path_(std::move(path)), format_(f), fd_(std::move(fd)) {}
  ~FileSink() override { Flush(); }
  void Write(const Alert& a) override {
    std::lock_guard<std::mutex> lock(mu_);
    AppendLine(&buf_, a, format_);
    if (buf_.size() >= kSinkBufferBytes) FlushLocked();
  }
  void Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    FlushLocked();
  }
  bool wants_json() const override { return format_ == OutputFormat::kJson; }
  void Reopen() override {
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) {
      log::Error("file sink: reopen {}: {}", path_, std::strerror(errno));
      return;  // keep writing to the old file rather than nowhere
    }
    std::lock_guard<std::mutex> lock(mu_);
    FlushLocked();  // what was buffered belongs to the old file
    fd_ = std::move(fd);
  }

 private:
  void FlushLocked() {
    if (fd_) (void)WriteAll(fd_.get(), buf_);  // as before: a failed write is not retried
    buf_.clear();
  }

  std::string path_;
  OutputFormat format_;
  std::mutex mu_;
  UniqueFd fd_;      // guarded by mu_
  std::string buf_;  // guarded by mu_: whole lines not written yet
};

}  // namespace

std::unique_ptr<Sink> NewStdoutSink(OutputFormat format) { return std::make_unique<StdoutSink>(format); }

Result<std::unique_ptr<Sink>> NewFileSink(const std::string& path, OutputFormat format) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return ErrnoStatus("open output file " + path);
  return std::unique_ptr<Sink>(std::make_unique<FileSink>(path, format, std::move(fd)));
}

}  // namespace invar::drift
