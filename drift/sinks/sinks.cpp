// SPDX-License-Identifier: Apache-2.0
// stdout and file sinks (sink.h). One write(2) per alert line, so lines from
// concurrent writers never interleave and a reader tailing the file sees
// whole lines.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "invar/drift/sink.h"
#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

std::string Line(const Alert& a, OutputFormat f) {
  std::string s = f == OutputFormat::kJson ? a.json : a.text;
  s += '\n';
  return s;
}

void WriteAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

class StdoutSink final : public Sink {
 public:
  explicit StdoutSink(OutputFormat f) : format_(f) {}
  void Write(const Alert& a) override { WriteAll(STDOUT_FILENO, Line(a, format_)); }
  bool wants_json() const override { return format_ == OutputFormat::kJson; }

 private:
  OutputFormat format_;
};

class FileSink final : public Sink {
 public:
  FileSink(std::string path, OutputFormat f, UniqueFd fd) : path_(std::move(path)), format_(f), fd_(std::move(fd)) {}
  void Write(const Alert& a) override {
    if (fd_) WriteAll(fd_.get(), Line(a, format_));
  }
  bool wants_json() const override { return format_ == OutputFormat::kJson; }
  void Reopen() override {
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) {
      log::Error("file sink: reopen {}: {}", path_, std::strerror(errno));
      return;  // keep writing to the old file rather than nowhere
    }
    fd_ = std::move(fd);
  }

 private:
  std::string path_;
  OutputFormat format_;
  UniqueFd fd_;
};

}  // namespace

std::unique_ptr<Sink> NewStdoutSink(OutputFormat format) { return std::make_unique<StdoutSink>(format); }

Result<std::unique_ptr<Sink>> NewFileSink(const std::string& path, OutputFormat format) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return ErrnoStatus("open output file " + path);
  return std::unique_ptr<Sink>(std::make_unique<FileSink>(path, format, std::move(fd)));
}

}  // namespace invar::drift
