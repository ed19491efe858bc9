// SPDX-License-Identifier: Apache-2.0
// Manifest inputs: files, directories, stdin and `kubectl kustomize`. The only
// part of the offline report that touches the filesystem or spawns a
// process. Called from the CLI's main thread.
#include "invar/report/inputs.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "invar/platform/fd.h"

extern char** environ;

namespace invar::report {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBinarySniffBytes = 8192;

bool LooksBinary(std::string_view data) {
  return data.substr(0, kBinarySniffBytes).find('\0') != std::string_view::npos;
}

bool IsManifestName(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml") || ends_with(".json");
}

Status ReadAll(int fd, size_t max_bytes, const std::string& what, std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("reading " + what);
    }
    if (n == 0) return Status::Ok();
    if (out->size() + static_cast<size_t>(n) > max_bytes) {
      return Status::ResourceExhausted(what + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

void AddDecoded(policy::DecodeResult decoded, LoadedManifests* out) {
  for (auto& w : decoded.workloads) out->workloads.push_back(std::move(w));
  for (auto& s : decoded.skipped) out->skipped.push_back(std::move(s));
  for (auto& e : decoded.errors) {
    out->errors.push_back(InputError{e.where.file, e.where.line, std::move(e.message)});
  }
}

void DecodeFile(const std::string& path, const ManifestInputs& inputs, LoadedManifests* out) {
  auto data = ReadInputFile(path, inputs.limits.max_bytes, inputs.stdin_stream);
  if (!data.ok()) {
    out->errors.push_back(InputError{path, 0, data.status().message()});
    return;
  }
  AddDecoded(policy::Decode(*data, path, inputs.limits), out);
}

// The program to run: `name` itself when it has a '/', else the first
// executable match on PATH. Empty when there is none.
std::string FindOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace

Result<std::string> ReadInputFile(const std::string& path, size_t max_bytes, FILE* stdin_stream) {
  std::string data;
  if (path == "-") {
    if (stdin_stream == nullptr) return Status::InvalidArgument("-: no standard input");
    INVAR_RETURN_IF_ERROR(ReadAll(::fileno(stdin_stream), max_bytes, "standard input", &data));
  } else {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return ErrnoStatus("cannot open");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat");
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument("is a directory");
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
      return Status::ResourceExhausted("file is " + std::to_string(st.st_size) +
                                       " bytes, larger than the limit of " + std::to_string(max_bytes));
    }
    if (S_ISREG(st.st_mode)) data.reserve(static_cast<size_t>(st.st_size));
    INVAR_RETURN_IF_ERROR(ReadAll(fd.get(), max_bytes, "file", &data));
  }
  if (LooksBinary(data)) return Status::InvalidArgument("binary file (contains NUL bytes), not YAML or JSON");
  return data;
}

Result<std::vector<std::string>> ListManifestFiles(const std::string& dir, bool recursive) {
  std::vector<std::string> files;
  std::vector<std::string> subdirs;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::Io("cannot read directory: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Io("cannot read directory: " + ec.message());
    const auto& entry = *it;
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::string path = dir;
    if (path.empty() || path.back() != '/') path += '/';
    path += name;
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      // Never follow symlinked directories: a loop would never end.
      if (recursive && !entry.is_symlink(type_ec)) subdirs.push_back(path);
    } else if (IsManifestName(name)) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& sub : subdirs) {
    auto nested = ListManifestFiles(sub, true);
    if (!nested.ok()) return Status::Io(sub + ": " + nested.status().message());
    files.insert(files.end(), nested->begin(), nested->end());
  }
  return files;
}

Result<std::string> RunKustomize(const std::string& kubectl, const std::string& dir, size_t max_bytes) {
  std::string program = FindOnPath(kubectl);
  if (program.empty()) {
    return Status::FailedPrecondition("-k needs kubectl on PATH to run `kubectl kustomize " + dir +
                                      "` (install kubectl, or render it yourself and pass -f -)");
  }
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  std::string arg0 = "kubectl", arg1 = "kustomize", arg2 = dir;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return ErrnoStatus("running " + program, rc);
  out_write.Reset();
  err_write.Reset();

  std::string out, err;
  bool too_big = false;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& sink = i == 0 ? out : err;
      if (sink.size() + static_cast<size_t>(n) > max_bytes) {
        too_big = true;
      } else {
        sink.append(buf, static_cast<size_t>(n));
      }
    }
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (too_big)
    return Status::ResourceExhausted("kubectl kustomize output larger than " + std::to_string(max_bytes));
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Status::InvalidArgument("kubectl kustomize failed: " +
                                   (err.empty() ? std::string("no output") : err));
  }
  return out;
}

LoadedManifests LoadManifests(const ManifestInputs& inputs) {
  LoadedManifests out;
  for (const auto& input : inputs.files) {
    if (input == "-") {
      DecodeFile(input, inputs, &out);
      continue;
    }
    std::error_code ec;
    auto status = fs::status(input, ec);
    if (ec || !fs::exists(status)) {
      out.errors.push_back(InputError{input, 0, "no such file or directory"});
      continue;
    }
    if (fs::is_directory(status)) {
      auto files = ListManifestFiles(input, inputs.recursive);
      if (!files.ok()) {
        out.errors.push_back(InputError{input, 0, files.status().message()});
        continue;
      }
      for (const auto& f : *files) DecodeFile(f, inputs, &out);
      continue;
    }
    DecodeFile(input, inputs, &out);
  }
  for (const auto& dir : inputs.kustomizations) {
    auto rendered = RunKustomize(inputs.kubectl, dir, inputs.limits.max_bytes);
    if (!rendered.ok()) {
      out.errors.push_back(InputError{dir, 0, rendered.status().message()});
      continue;
    }
    // Lines refer to kubectl's rendered stream, labelled as such.
    AddDecoded(policy::Decode(*rendered, "kustomize:" + dir, inputs.limits), &out);
  }
  return out;
}

Result<policy::ProfileSet> LoadProfileConfig(const std::string& path) {
  auto data = ReadInputFile(path, 16u << 20);
  if (!data.ok()) return data.status().WithContext("--config " + path);
  auto set = policy::ParseProfiles(*data);
  if (!set.ok()) return set.status().WithContext("--config " + path);
  return set;
}

}  // namespace invar::report
