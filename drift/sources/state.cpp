// SPDX-License-Identifier: Apache-2.0
// See state.h.
#include "invar/drift/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <unordered_set>

#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

constexpr Operation kAllOps[] = {Operation::kCreate, Operation::kWrite,  Operation::kTruncate, Operation::kDelete,
                                 Operation::kRename, Operation::kChmod,  Operation::kChown,    Operation::kLink,
                                 Operation::kSymlink, Operation::kXattr, Operation::kExec,     Operation::kShell};

bool SafeId(const std::string& id) {
  if (id.empty() || id.size() > 200 || id[0] == '.') return false;
  for (char ch : id) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) return false;
  }
  return true;
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
  if (!dir_.empty()) {
    std::string p;
    for (std::size_t i = 0; i <= dir_.size(); ++i) {
      if (i == dir_.size() || (dir_[i] == '/' && i > 0)) {
        ::mkdir(dir_.substr(0, i).c_str(), 0700);
      }
    }
  }
}

std::string StateStore::FileFor(const std::string& container_id) const {
  return dir_ + "/" + container_id + ".drift";
}

std::string StateStore::EncodeLine(const std::string& path, Operation op) {
  std::string out(OperationName(op));
  out += '\t';
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char ch : path) {
    if (ch == '%' || ch == '\t' || ch == '\n' || ch == '\r') {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
  out += '\n';
  return out;
}

bool StateStore::DecodeLine(std::string_view line, std::string* path, Operation* op) {
  auto tab = line.find('\t');
  if (tab == std::string_view::npos) return false;
  std::string_view name = line.substr(0, tab);
  bool found = false;
  for (Operation o : kAllOps) {
    if (OperationName(o) == name) {
      *op = o;
      found = true;
    }
  }
  if (!found) return false;
  std::string_view enc = line.substr(tab + 1);
  path->clear();
  for (std::size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '%') {
      if (i + 2 >= enc.size()) return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(enc[i + 1]), lo = hex(enc[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *path += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *path += enc[i];
    }
  }
  return !path->empty() && (*path)[0] == '/';
}

Result<std::unordered_map<std::string, Operation>> StateStore::Load(const std::string& container_id) {
  std::unordered_map<std::string, Operation> out;
  if (dir_.empty()) return out;
  if (!SafeId(container_id)) return Status::InvalidArgument("bad container id: " + container_id);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = open_.find(container_id); it != open_.end() && !it->second.pending.empty()) {
    if (auto st = FlushLocked(container_id, it->second); !st.ok()) return st;
  }
  std::ifstream in(FileFor(container_id));
  std::string line, path;
  Operation op;
  while (std::getline(in, line)) {
    if (DecodeLine(line, &path, &op)) out[path] = op;
  }
  return out;
}

StateStore::~StateStore() {
  if (auto st = Flush(); !st.ok()) log::Warn("state: {}", st.ToString());
}

Status StateStore::Append(const std::string& container_id, const std::string& path, Operation op) {
  if (dir_.empty()) return Status::Ok();
  if (!SafeId(container_id)) return Status::InvalidArgument("bad container id: " + container_id);
  std::lock_guard<std::mutex> lock(mu_);
  Open& o = open_[container_id];
  if (!o.fd)
    o.fd.Reset(::open(FileFor(container_id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!o.fd) {
    open_.erase(container_id);
    return ErrnoStatus("open state file for " + container_id);
  }
  o.pending += EncodeLine(path, op);
  if (o.pending.size() >= kStateBufferBytes) return FlushLocked(container_id, o);
  return Status::Ok();
}

Status StateStore::FlushLocked(const std::string& container_id, Open& o) {
  std::string data;
  data.swap(o.pending);
  if (!WriteAll(o.fd.get(), data)) return ErrnoStatus("write state file for " + container_id);
  return Status::Ok();
}

Status StateStore::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first = Status::Ok();
  for (auto& [id, o] : open_) {
    if (o.pending.empty()) continue;
    if (auto st = FlushLocked(id, o); !st.ok() && first.ok()) first = st;
  }
  return first;
}

void StateStore::Remove(const std::string& container_id) {
  if (dir_.empty() || !SafeId(container_id)) return;
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(container_id);
  ::unlink(FileFor(container_id).c_str());
}

void StateStore::GarbageCollect(const std::vector<std::string>& live) {
  if (dir_.empty()) return;
  std::unordered_set<std::string> keep(live.begin(), live.end());
  std::lock_guard<std::mutex> lock(mu_);
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    const std::string ext = ".drift";
    if (n.size() <= ext.size() || n.compare(n.size() - ext.size(), ext.size(), ext) != 0) continue;
    if (keep.count(n.substr(0, n.size() - ext.size()))) continue;
    open_.erase(n.substr(0, n.size() - ext.size()));
    ::unlinkat(::dirfd(d), n.c_str(), 0);
  }
  ::closedir(d);
}

bool DriftTracker::Observe(const std::string& path, Operation op) {
  auto it = last_.find(path);
  if (it == last_.end()) {
    last_.emplace(path, op);
    return true;
  }
  Operation prev = it->second;
  if (prev == op) return false;
  if (op == Operation::kWrite && (prev == Operation::kCreate || prev == Operation::kLink)) return false;
  it->second = op;
  return true;
}

}  // namespace invar::drift
