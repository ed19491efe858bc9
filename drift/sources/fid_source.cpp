// SPDX-License-Identifier: Apache-2.0
// The FID fanotify source (see source.h). One notification group with
// FAN_REPORT_DFID_NAME and two ways to watch a container:
//  - image-directory marks (preferred): an inode mark (FAN_EVENT_ON_CHILD |
//    FAN_ONDIR) on every directory of the merged rootfs, reached through
//    /proc/<init>/root, that exists in the image. The kernel (6.5+) reports
//    overlay directories by non-decodable file handles; Watch records each
//    marked directory's handle (name_to_handle_at AT_HANDLE_FID) with its
//    container path, and events are mapped through that table. Directories
//    the container creates get no mark: the kernel raises nothing for the
//    files below them, and the sweep reports them. Copy-ups and whiteouts
//    happen on the upper filesystem, which carries no mark: not seen at all.
//  - the filesystem mark (fallback: image over budget, marks rejected,
//    --no-coalesce-new-dirs): FAN_MARK_FILESYSTEM on the host filesystem
//    that holds the upperdir (FACTS.md: a FID FAN_MARK_FILESYSTEM on the
//    overlay itself is EOPNOTSUPP; on the host fs it sees every change made in
//    a container). Directory handles are resolved with open_by_handle_at
//    (O_PATH) once and cached, and mapped to a container by upperdir/workdir
//    prefix, so events outside containers cost one hash lookup. Overlay
//    internals (the work dir, copy-ups, whiteouts moved in from work/work) are
//    turned back into what the process in the container did.
//
// Cost control (docs/agent.md, Performance): the kernel merges events queued
// on the same object while the reader sleeps batch_delay_ms; a file written
// twice gets an ignore mark; a directory the container created gets an ignore
// mark for the events of its files (FAN_MARK_IGNORE, 6.0+), which the reader
// also drops in user space until the mark lands, and a periodic sweep of such
// directories (mtime changed) reports the files in them.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "dir_stream.h"
#include "invar/drift/procinfo.h"
#include "invar/drift/source.h"
#include "invar/drift/upper.h"
#include "invar/platform/fd.h"
#include "invar/platform/log.h"

namespace invar::drift {

std::uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

namespace {

constexpr std::size_t kDirCacheMax = 65536;
constexpr std::size_t kBaselineMax = 200000;
constexpr std::size_t kIgnoreMarksMax = 8192;
constexpr std::size_t kReadBuffer = 256 * 1024;
constexpr std::size_t kCoalescedMax = 8192;
constexpr int kRecoalesceMaxDepth = 64;
// Ignored below a directory the container created: everything about its
// files. Not FAN_ONDIR (subdirectories are still reported, and coalesced in
// turn) and not FAN_RENAME (moves in and out are still reported).
constexpr std::uint64_t kCoalesceIgnoreMask =
    FAN_CREATE | FAN_DELETE | FAN_CLOSE_WRITE | FAN_MODIFY | FAN_ATTRIB | FAN_EVENT_ON_CHILD;
// A file's ctime may trail the clock by a tick on coarse-timestamp filesystems.
constexpr std::uint64_t kSweepSlackNs = 50'000'000;
constexpr int kImageMarkMaxDepth = 64;
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID AT_REMOVEDIR  // Linux 6.5 uapi: a file id, not decodable (overlay dirs)
#endif

// kUpper/kWork: a host directory seen through the filesystem mark;
// kImage: an image directory of a container, through its inode mark.
enum class Where : std::uint8_t { kOutside, kUpper, kWork, kImage };

struct DirInfo {
  Where where = Where::kOutside;
  std::shared_ptr<const Container> c;
  std::string rel;  // container path of the directory ("/" for the upperdir itself)
  dev_t dev = 0;
  ino_t ino = 0;
  bool image_marked = false;     // the container is watched through image-directory marks
  __kernel_fsid_t upper_fsid{};  // kImage: fsid of the upper filesystem (for coalescing)
  std::string root;              // kImage: <proc>/<init pid>/root
};

// A directory found by the sweep in a directory the container created, of a
// container watched through image-directory marks (the kernel said nothing).
struct Fresh {
  std::shared_ptr<const Container> c;
  std::string host;
  struct stat st {};
  std::string fsid;
};

// The handle of `name` under `dirfd` as fanotify reports handles (the
// struct file_handle header, then the handle bytes); empty on failure, errno set.
std::string HandleBytes(int dirfd, const char* name, int flags) {
  union {
    file_handle fh;
    char bytes[sizeof(file_handle) + MAX_HANDLE_SZ];
  } h{};
  h.fh.handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::name_to_handle_at(dirfd, name, &h.fh, &mount_id, flags) != 0) return {};
  return {h.bytes, sizeof(file_handle) + h.fh.handle_bytes};
}

std::string FsidBytes(const __kernel_fsid_t& fsid) {
  return {reinterpret_cast<const char*>(&fsid), sizeof fsid};
}

std::string JoinPath(const std::string& dir, std::string_view name) {
  std::string out = dir == "/" ? std::string() : dir;
  out += '/';
  out += name;
  return out;
}

// A directory of the merged rootfs that belongs to the image (or is a
// mount-point stub runc made): its changes are drift file by file. Any other
// directory was created by the container and is drift as a whole.
bool IsImageDir(const Container& c, const std::string& path, const std::unordered_set<std::string>& stubs) {
  if (path == "/" || stubs.count(path)) return true;
  auto lower = LowerStat(c, path);
  return lower && S_ISDIR(lower->st_mode);
}

// Opens container directory `rel` below `root` (<proc>/<pid>/root) one
// component at a time without following symlinks (the container controls
// them; an absolute one would resolve against the agent's root).
UniqueFd OpenInRoot(const std::string& root, const std::string& rel) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::size_t pos = 0;
  while (fd && pos < rel.size()) {
    std::size_t next = rel.find('/', pos);
    if (next == std::string::npos) next = rel.size();
    if (next > pos) {
      const std::string part = rel.substr(pos, next - pos);
      if (part == "..") return UniqueFd();
      fd.Reset(::openat(fd.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    pos = next + 1;
  }
  return fd;
}

struct ImageDir {
  std::shared_ptr<const Container> c;
  std::string rel;  // container path
};

// A container watched through image-directory marks.
struct ImageWatch {
  std::size_t marks = 0;
  std::string root;  // <proc>/<init pid>/root
  std::string fsid;  // the overlay's fsid bytes (first half of its table keys)
  __kernel_fsid_t upper_fsid{};
  std::vector<std::pair<std::string, ImageDir>> dirs;  // from MarkImage to Watch: file id key -> directory
};

// A directory created by the container: its files' events are not wanted.
struct Coalesced {
  dev_t dev = 0;
  std::string id;      // container id
  std::string fsid;    // fsid bytes (key of mount_fds_)
  std::string handle;  // file_handle bytes (header + f_handle)
  timespec mtime{};    // at the last sweep
  std::uint64_t swept_ns = 0;  // 0: never swept
};

struct Name {
  std::string key;   // fsid + handle bytes
  const file_handle* handle = nullptr;
  __kernel_fsid_t fsid{};
  std::string name;
  bool present = false;
};

class FidSource final : public EventSource {
 public:
  FidSource(FidSourceOptions o, SourceCallbacks cb) : opts_(std::move(o)), cb_(std::move(cb)) {}
  ~FidSource() override { Stop(); }

  Status Start() override {
    unsigned flags = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME;
    fan_.Reset(fanotify_init(flags, O_RDONLY | O_LARGEFILE | O_CLOEXEC));
    if (!fan_) return ErrnoStatus("fanotify_init(FAN_REPORT_DFID_NAME)");
    wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) return ErrnoStatus("eventfd");
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  void Stop() override {
    if (thread_.joinable()) {
      stop_ = true;
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
      thread_.join();
    }
    fan_.Reset();  // removes every mark
  }

  Status Watch(std::shared_ptr<const Container> c, const WatchOptions& /*options*/) override {
    struct stat st {};
    if (::stat(c->upperdir.c_str(), &st) != 0) return ErrnoStatus("stat " + c->upperdir);
    // Not O_PATH: open_by_handle_at rejects O_PATH mount fds (EBADF).
    UniqueFd mfd(::open(c->upperdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!mfd) return ErrnoStatus("open " + c->upperdir);
    struct statfs sfs {};
    if (::fstatfs(mfd.get(), &sfs) != 0) return ErrnoStatus("statfs " + c->upperdir);
    __kernel_fsid_t upper_fsid{};
    std::memcpy(&upper_fsid, &sfs.f_fsid, sizeof upper_fsid);
    std::string fsid(reinterpret_cast<const char*>(&sfs.f_fsid), sizeof sfs.f_fsid);

    std::optional<ImageWatch> image;
    if (opts_.coalesce_new_dirs && opts_.image_dir_marks_max > 0 && c->init_pid > 0) {
      auto marked = MarkImage(c);
      if (marked.ok()) {
        image = std::move(*marked);
        image->upper_fsid = upper_fsid;
        log::Info("fanotify: watching {} through {} image directory marks", c->ShortId(), image->marks);
      } else {
        log::Info("fanotify: {}: {}; watching its upper filesystem instead", c->ShortId(),
                  marked.status().ToString());
      }
    }

    std::lock_guard<std::mutex> lock(mu_);
    if (image) {
      // The upper filesystem gets no mark; its fd serves the sweep's open_by_handle_at.
      if (!mount_fds_.count(fsid)) {
        mount_fds_[fsid] = mfd.get();
        unmarked_fds_.push_back(std::move(mfd));
      }
      for (auto& [key, dir] : image->dirs) image_dirs_[key] = std::move(dir);
      image->dirs.clear();
      image_watch_[c->id] = std::move(*image);
    } else {
      if (!marked_.count(st.st_dev)) {
        if (fanotify_mark(fan_.get(), FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FsMarkMask(), AT_FDCWD,
                          c->upperdir.c_str()) != 0) {
          return ErrnoStatus("fanotify_mark(FAN_MARK_FILESYSTEM) on " + c->upperdir);
        }
        mount_fds_[fsid] = mfd.get();
        marked_.emplace(st.st_dev, std::move(mfd));
        log::Info("fanotify: watching filesystem of {} (dev {}:{})", c->upperdir, major(st.st_dev),
                  minor(st.st_dev));
      }
      fs_watchers_[st.st_dev]++;
      fs_dev_of_[c->id] = st.st_dev;
    }
    by_upper_[c->upperdir] = c;
    by_work_[c->workdir] = c;
    generation_++;
    if (opts_.coalesce_new_dirs) {
      // Directories it created before this watch (an agent restart) are
      // coalesced again by the reader, before it reads further events.
      recoalesce_.emplace_back(c, NowNs());
      recoalesce_pending_ = true;
    }
    return Status::Ok();
  }

  void Unwatch(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    // The last container watched through a filesystem's mark is gone: the
    // mark goes too (every file operation on that filesystem costs an event
    // while it is there). Its fd stays: sweeps of other containers use it.
    if (auto d = fs_dev_of_.find(id); d != fs_dev_of_.end()) {
      const dev_t dev = d->second;
      fs_dev_of_.erase(d);
      if (--fs_watchers_[dev] == 0) {
        fs_watchers_.erase(dev);
        if (auto m = marked_.find(dev); m != marked_.end()) {
          if (fanotify_mark(fan_.get(), FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM, FsMarkMask(), m->second.get(),
                            nullptr) == 0) {
            log::Info("fanotify: no container left on dev {}:{}: filesystem mark removed", major(dev),
                      minor(dev));
          }
          unmarked_fds_.push_back(std::move(m->second));
          marked_.erase(m);
        }
      }
    }
    // Its marks go with its overlay when it is unmounted; the budget is freed now.
    if (auto w = image_watch_.find(id); w != image_watch_.end()) {
      image_marks_total_ -= std::min(image_marks_total_, w->second.marks);
      image_watch_.erase(w);
      for (auto it = image_dirs_.begin(); it != image_dirs_.end();) {
        it = it->second.c->id == id ? image_dirs_.erase(it) : std::next(it);
      }
    }
    for (auto it = by_upper_.begin(); it != by_upper_.end();) {
      if (it->second->id == id) {
        by_work_.erase(it->second->workdir);
        it = by_upper_.erase(it);
      } else {
        ++it;
      }
    }
    generation_++;
    unwatched_.push_back(id);
    unwatched_pending_ = true;
  }

 private:
  std::uint64_t FsMarkMask() const {
    std::uint64_t mask = FAN_CREATE | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_RENAME | FAN_DELETE | FAN_ONDIR;
    if (opts_.report_modify) mask |= FAN_MODIFY;
    return mask;
  }

  // Calls fn(fd, container path) for each image directory of the merged
  // rootfs below `dirfd` (st_dev `dev`: other mounts are not the rootfs),
  // depth first; false when fn stopped the walk.
  template <typename Fn>
  bool WalkImageDirs(const Container& c, int dirfd, dev_t dev, const std::string& rel, int depth,
                     const std::unordered_set<std::string>& stubs, Fn& fn) {
    if (!fn(dirfd, rel)) return false;
    if (depth >= kImageMarkMaxDepth) return true;
    ::lseek(dirfd, 0, SEEK_SET);  // the stream's dup shares the offset: the root fd is walked more than once
    DirStream ds(dirfd);
    while (const dirent* e = ds.Next()) {
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      struct stat st {};
      if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
          st.st_dev != dev) {
        continue;
      }
      const std::string child = JoinPath(rel, e->d_name);
      if (!IsImageDir(c, child, stubs)) continue;  // the container made it: drift already, swept
      UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub && !WalkImageDirs(c, sub.get(), dev, child, depth + 1, stubs, fn)) return false;
    }
    return true;
  }

  // Places an inode mark on every image directory of the container's merged
  // rootfs and records each one's file id. Counts first, so a container over
  // budget gets no mark at all; a failed mark (an overlay that rejects FID
  // inode marks: EOPNOTSUPP/EXDEV) removes the ones placed.
  Result<ImageWatch> MarkImage(const std::shared_ptr<const Container>& cp) {
    const Container& c = *cp;
    ImageWatch w;
    w.root = opts_.proc_dir + "/" + std::to_string(c.init_pid) + "/root";
    UniqueFd rfd(::open(w.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!rfd) return ErrnoStatus("open " + w.root);
    struct stat rst {};
    struct statfs sfs {};
    if (::fstat(rfd.get(), &rst) != 0 || ::fstatfs(rfd.get(), &sfs) != 0)
      return ErrnoStatus("stat " + w.root);
    const std::string fsid(reinterpret_cast<const char*>(&sfs.f_fsid), sizeof sfs.f_fsid);
    const auto stubs = MountStubs(c.mount_destinations);
    w.fsid = fsid;
    std::size_t budget = opts_.image_dir_marks_max;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Overlay file ids name the real (layer) inode: two containers of one
      // image tell apart only by the overlay's fsid, unique per instance on
      // kernels that derive it from the overlay's uuid (6.6+, uuid=on/auto).
      // Where it is not (uuid=off: the upper filesystem's fsid), the table
      // could not tell them apart: such a container takes the filesystem mark.
      for (const auto& [id, other] : image_watch_) {
        if (other.fsid == fsid && id != c.id) {
          return Status::FailedPrecondition("overlay fsid shared with container " + id.substr(0, 12) +
                                            " (overlay uuid=off?)");
        }
      }
      const std::size_t left = opts_.image_dir_marks_total > image_marks_total_
                                   ? opts_.image_dir_marks_total - image_marks_total_
                                   : 0;
      budget = std::min(budget, left);
    }
    std::size_t n = 0;
    auto count = [&](int, const std::string&) { return ++n <= budget; };
    if (!WalkImageDirs(c, rfd.get(), rst.st_dev, "/", 0, stubs, count)) {
      return Status::ResourceExhausted("more than " + std::to_string(budget) +
                                       " image directories to mark (budget)");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (image_marks_total_ + n > opts_.image_dir_marks_total)
        return Status::ResourceExhausted("mark budget");
      image_marks_total_ += n;  // reserved; returned below on failure
    }
    std::uint64_t mask =
        FAN_CREATE | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_RENAME | FAN_DELETE | FAN_ONDIR | FAN_EVENT_ON_CHILD;
    if (opts_.report_modify) mask |= FAN_MODIFY;
    std::vector<ImageDir> table_dirs;
    std::vector<std::string> table_keys;
    Status err = Status::Ok();
    std::size_t placed = 0;
    auto mark = [&](int fd, const std::string& rel) {
      if (placed >= n) return true;  // grew since the count: the rest is left to the scan
      std::string handle = HandleBytes(fd, "", AT_EMPTY_PATH | AT_HANDLE_FID);
      if (handle.empty()) {
        err = ErrnoStatus("name_to_handle_at(AT_HANDLE_FID) " + rel);
        return false;
      }
      if (fanotify_mark(fan_.get(), FAN_MARK_ADD | FAN_MARK_ONLYDIR, mask, fd, nullptr) != 0) {
        err = ErrnoStatus("fanotify_mark(inode) on " + rel);
        return false;
      }
      ++placed;
      table_keys.push_back(fsid + handle);
      table_dirs.push_back({nullptr, rel});
      return true;
    };
    WalkImageDirs(c, rfd.get(), rst.st_dev, "/", 0, stubs, mark);
    if (!err.ok()) {
      std::size_t removed = 0;
      auto unmark = [&](int fd, const std::string&) {
        if (removed++ >= placed) return false;
        fanotify_mark(fan_.get(), FAN_MARK_REMOVE | FAN_MARK_ONLYDIR, mask, fd, nullptr);
        return true;
      };
      WalkImageDirs(c, rfd.get(), rst.st_dev, "/", 0, stubs, unmark);
      std::lock_guard<std::mutex> lock(mu_);
      image_marks_total_ -= std::min(image_marks_total_, n);
      return err;
    }
    w.marks = placed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      image_marks_total_ -= std::min(image_marks_total_, n - placed);
    }
    for (std::size_t i = 0; i < table_keys.size(); ++i) {
      table_dirs[i].c = cp;
      w.dirs.emplace_back(std::move(table_keys[i]), std::move(table_dirs[i]));
    }
    return w;
  }

  // Host directory path -> container and container-relative path.
  DirInfo MapDir(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t end = path.size(); end > 0; end = path.rfind('/', end - 1)) {
      std::string prefix = path.substr(0, end);
      if (auto it = by_upper_.find(prefix); it != by_upper_.end()) {
        std::string rel = path.substr(end);
        DirInfo d;
        d.where = Where::kUpper;
        d.c = it->second;
        d.rel = rel.empty() ? "/" : rel;
        d.image_marked = image_watch_.count(it->second->id) > 0;
        return d;
      }
      if (auto it = by_work_.find(prefix); it != by_work_.end()) {
        DirInfo d;
        d.where = Where::kWork;
        d.c = it->second;
        d.image_marked = image_watch_.count(it->second->id) > 0;
        return d;
      }
      if (end == 0) break;
    }
    return {};
  }

  const DirInfo& Resolve(const Name& n) {
    if (seen_generation_ != generation_.load() || dirs_.size() > kDirCacheMax) {
      dirs_.clear();
      seen_generation_ = generation_.load();
    }
    if (auto it = dirs_.find(n.key); it != dirs_.end()) return it->second;
    DirInfo info;
    int mount_fd = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto im = image_dirs_.find(n.key); im != image_dirs_.end()) {
        // An image directory, through its inode mark.
        info.where = Where::kImage;
        info.c = im->second.c;
        info.rel = im->second.rel;
        info.image_marked = true;
        if (auto w = image_watch_.find(info.c->id); w != image_watch_.end()) {
          info.upper_fsid = w->second.upper_fsid;
          info.root = w->second.root;
        }
        return dirs_.emplace(n.key, std::move(info)).first->second;
      }
      auto m = mount_fds_.find(std::string(reinterpret_cast<const char*>(&n.fsid), sizeof n.fsid));
      if (m != mount_fds_.end()) mount_fd = m->second;
    }
    if (mount_fd >= 0) {
      UniqueFd d(open_by_handle_at(mount_fd, const_cast<file_handle*>(n.handle), O_PATH | O_CLOEXEC));
      if (d) {
        char buf[PATH_MAX];
        ssize_t len = ::readlink(("/proc/self/fd/" + std::to_string(d.get())).c_str(), buf, sizeof buf - 1);
        if (len > 0) info = MapDir(std::string(buf, static_cast<std::size_t>(len)));
        // The filesystem mark is there for another container: this one's
        // image-directory marks report what happens in it.
        if (info.image_marked) info = DirInfo{};
        struct stat st {};
        if (info.where == Where::kUpper && ::fstat(d.get(), &st) == 0) {
          info.dev = st.st_dev;
          info.ino = st.st_ino;
        }
        log::Trace("fanotify: dir {} -> {}", std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(len, 0))),
                   info.where == Where::kUpper ? info.c->ShortId() + ":" + info.rel : "-");
      } else {
        log::Trace("fanotify: open_by_handle_at: {}", std::strerror(errno));
      }
    } else {
      log::Trace("fanotify: no mount fd for fsid");
    }
    return dirs_.emplace(n.key, std::move(info)).first->second;
  }

  static Name ParseName(const fanotify_event_info_fid* fid) {
    Name n;
    auto* fh = reinterpret_cast<const file_handle*>(fid->handle);
    n.fsid = fid->fsid;
    n.handle = fh;
    n.key.assign(reinterpret_cast<const char*>(&fid->fsid), sizeof fid->fsid);
    n.key.append(reinterpret_cast<const char*>(fh), sizeof(file_handle) + fh->handle_bytes);
    const char* name = reinterpret_cast<const char*>(fh->f_handle + fh->handle_bytes);
    n.name = name;
    n.present = true;
    return n;
  }

  std::optional<ProcessInfo> Process(pid_t pid, const Container* c) {
    auto now = NowNs();
    if (now - proc_cache_time_ > 1000000000ull) {
      proc_cache_.clear();
      proc_cache_time_ = now;
    }
    if (auto it = proc_cache_.find(pid); it != proc_cache_.end()) return it->second;
    auto p = ReadProcess(opts_.proc_dir, pid, c);
    if (!p && pid > 0) {
      p = ProcessInfo{};  // exited already: the pid is all the kernel gave
      p->pid = pid;
    }
    proc_cache_.emplace(pid, p);
    return p;
  }

  void Emit(const DirInfo& dir, const std::string& name, Operation op, pid_t pid, std::string old_path = {}) {
    DriftEvent e;
    e.time_ns = NowNs();
    e.container = dir.c;
    e.path = dir.rel == "/" ? "/" + name : dir.rel + "/" + name;
    e.old_path = std::move(old_path);
    e.op = op;
    e.origin = EventOrigin::kFanotify;
    e.process = Process(pid, dir.c.get());
    if (cb_.on_event) cb_.on_event(std::move(e));
  }

  static std::optional<struct stat> Lstat(const std::string& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
    return st;
  }

  void Remember(const std::string& host, const struct stat& st) {
    if (baseline_.size() > kBaselineMax) baseline_.clear();
    baseline_[host] = st;
  }

  // Reads the 4-byte-aligned records of Loop (see there): alignment checks off.
  __attribute__((no_sanitize("alignment"))) void Handle(const fanotify_event_metadata* md) {
    Name one, from, to;
    const char* p = reinterpret_cast<const char*>(md) + md->metadata_len;
    const char* end = reinterpret_cast<const char*>(md) + md->event_len;
    while (p + sizeof(fanotify_event_info_header) <= end) {
      auto* hdr = reinterpret_cast<const fanotify_event_info_header*>(p);
      if (hdr->len == 0 || p + hdr->len > end) break;
      auto* fid = reinterpret_cast<const fanotify_event_info_fid*>(p);
      if (hdr->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) one = ParseName(fid);
      if (hdr->info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME) from = ParseName(fid);
      if (hdr->info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) to = ParseName(fid);
      p += hdr->len;
    }
    const pid_t pid = md->pid;
    if ((md->mask & FAN_RENAME) && (from.present || to.present)) {
      // copies: Resolve may rehash. An inode-mark rename names only the
      // marked side(s): the other directory is one the container created.
      const DirInfo src = from.present ? Resolve(from) : DirInfo{};
      const DirInfo dst = to.present ? Resolve(to) : DirInfo{};
      if (md->mask & FAN_ONDIR) dirs_.clear();  // a renamed directory invalidates cached paths
      if (src.where == Where::kImage || dst.where == Where::kImage) {
        HandleImageRename(md->mask, src, from, dst, to, pid);
        return;
      }
      if (!from.present || !to.present) return;
      if (dst.where != Where::kUpper) return;
      // A file moved between directories the container created: nothing
      // the image had; the sweep reports it under its new name.
      if (!(md->mask & FAN_ONDIR) && IsCoalesced(dst) && src.where == Where::kUpper && IsCoalesced(src)) return;
      const std::string cpath = dst.rel == "/" ? "/" + to.name : dst.rel + "/" + to.name;
      const std::string host = HostPath(dst.c->upperdir, cpath);
      auto up = Lstat(host);
      if (src.where == Where::kUpper) {
        const std::string old = src.rel == "/" ? "/" + from.name : src.rel + "/" + from.name;
        if (up) Remember(host, *up);
        Emit(dst, to.name, Operation::kRename, pid, old);
        return;
      }
      // Moved in from the work dir: overlay finishing a copy-up or a whiteout.
      auto op = ClassifyAppeared(up, LowerStat(*dst.c, cpath));
      if (up && op) Remember(host, *up);  // copy-ups keep the image's stat as baseline
      if (op) Emit(dst, to.name, *op, pid);
      if (op == Operation::kCreate && up && S_ISDIR(up->st_mode))
        Coalesce(*dst.c, host, *up, FsidBytes(to.fsid), true);
      return;
    }
    if (!one.present) return;
    const DirInfo dir = Resolve(one);
    if (dir.where != Where::kUpper && dir.where != Where::kImage) return;
    const bool image = dir.where == Where::kImage;
    // A file event in a directory the container created (queued before its
    // ignore mark landed, or on a kernel without FAN_MARK_IGNORE).
    if (!(md->mask & FAN_ONDIR) && IsCoalesced(dir)) return;
    if (one.name == "." || one.name.empty()) {
      // An event on a directory itself: attribute changes of directories are
      // overlay bookkeeping (copy-up, impure/opaque xattrs, timestamps) unless
      // mode or owner changed, which the scan and the entry's own event report.
      return;
    }
    const std::string cpath = dir.rel == "/" ? "/" + one.name : dir.rel + "/" + one.name;
    const std::string host = HostPath(dir.c->upperdir, cpath);
    log::Trace("fanotify: mask {:#x} {} in {}", md->mask, cpath, dir.c->ShortId());
    if (md->mask & FAN_CREATE) {
      auto up = Lstat(host);
      // Through an inode mark a create is what the process did (copy-ups
      // never show there): a path the image also has was deleted and made
      // again, and one already gone again was still created.
      auto op = image ? (up ? ClassifyAppeared(up, std::nullopt) : std::optional(Operation::kCreate))
                      : ClassifyAppeared(up, LowerStat(*dir.c, cpath));
      if (up && op) Remember(host, *up);  // copy-ups keep the image's stat as baseline
      if (op) Emit(dir, one.name, *op, pid);
      if (op == Operation::kCreate && up && S_ISDIR(up->st_mode)) {
        Coalesce(*dir.c, host, *up, image ? FsidBytes(dir.upper_fsid) : FsidBytes(one.fsid), !image);
      }
      if (op == Operation::kCreate && up && S_ISREG(up->st_mode) && !(md->mask & FAN_CLOSE_WRITE)) {
        // Its first close-write is part of the creation: skip it cheaply.
        if (just_created_.size() > kBaselineMax) just_created_.clear();
        just_created_.insert(host);
      }
    }
    if (md->mask & FAN_DELETE) {
      // Through the filesystem mark: gone for real only if nothing replaced
      // it (a whiteout is reported when overlay moves it in). Through an
      // inode mark, a whiteout is what deleting an image file leaves.
      auto up = Lstat(host);
      if (!up || (image && IsWhiteout(*up))) Emit(dir, one.name, Operation::kDelete, pid);
    }
    if (md->mask & FAN_ATTRIB) {
      auto up = Lstat(host);
      if (up && !IsWhiteout(*up)) {
        std::optional<struct stat> before;
        if (auto it = baseline_.find(host); it != baseline_.end()) before = it->second;
        if (!before) before = LowerStat(*dir.c, cpath);
        const Operation op = before ? ClassifyAttrib(*before, *up) : Operation::kXattr;
        // Directories change timestamps and overlay xattrs as a side effect of
        // their entries changing: only mode/owner changes are drift there.
        if (!(S_ISDIR(up->st_mode) && op == Operation::kXattr)) Emit(dir, one.name, op, pid);
        Remember(host, *up);
      }
    }
    if ((md->mask & FAN_CLOSE_WRITE) && !(md->mask & FAN_CREATE) && just_created_.erase(host) > 0) return;
    if (md->mask & (FAN_CLOSE_WRITE | FAN_MODIFY)) {
      auto up = Lstat(host);
      Operation op = Operation::kWrite;
      if (up && up->st_size == 0 && S_ISREG(up->st_mode)) {
        // Emptied: the image's file or the last size seen was not empty. (The
        // copy-up that preceded may already show size 0: check the image first.)
        auto lower = LowerStat(*dir.c, cpath);
        auto it = baseline_.find(host);
        if ((lower && lower->st_size > 0) || (it != baseline_.end() && it->second.st_size > 0)) {
          op = Operation::kTruncate;
        }
      }
      if (up) Remember(host, *up);
      Emit(dir, one.name, op, pid);
      if (opts_.ignore_marks && (md->mask & FAN_CLOSE_WRITE) && up && S_ISREG(up->st_mode)) {
        // Second close-write on the same file: it is known to have drifted;
        // stop the kernel from queueing more of them (FAN_MARK_IGNORE, 6.0+).
        if (!written_once_.insert(host).second && ignore_marks_ < kIgnoreMarksMax) {
          // Through an inode mark the events come from the overlay's inode:
          // the ignore mark goes there, reached without following symlinks.
          UniqueFd parent = image ? OpenInRoot(dir.root, dir.rel) : UniqueFd();
          const int at = image ? parent.get() : AT_FDCWD;
          const std::string& target = image ? one.name : host;
          if ((!image || parent) &&
              fanotify_mark(fan_.get(), FAN_MARK_ADD | FAN_MARK_IGNORE_SURV | FAN_MARK_DONT_FOLLOW,
                            FAN_CLOSE_WRITE | FAN_MODIFY, at, target.c_str()) == 0) {
            ++ignore_marks_;
          }
        }
        if (written_once_.size() > kBaselineMax) written_once_.clear();
      }
    }
  }

  // A rename reported by an inode mark (at least one side is an image
  // directory; a side the kernel left out is a directory the container made).
  void HandleImageRename(std::uint64_t mask, const DirInfo& src, const Name& from, const DirInfo& dst,
                         const Name& to, pid_t pid) {
    const bool src_image = src.where == Where::kImage;
    const bool dst_image = dst.where == Where::kImage;
    if ((mask & FAN_ONDIR) && src_image) {
      MoveImageDirs(*src.c, JoinPath(src.rel, from.name),
                    dst_image ? std::optional(JoinPath(dst.rel, to.name)) : std::nullopt);
    }
    if (dst_image) {
      const std::string cpath = JoinPath(dst.rel, to.name);
      const std::string host = HostPath(dst.c->upperdir, cpath);
      auto up = Lstat(host);
      if (src_image && src.c->id == dst.c->id) {
        if (up) Remember(host, *up);
        Emit(dst, to.name, Operation::kRename, pid, JoinPath(src.rel, from.name));
        return;
      }
      // Moved in from a directory the container created: new here (even if
      // gone again by now: the kernel said so).
      auto op = up ? ClassifyAppeared(up, std::nullopt) : std::optional(Operation::kCreate);
      if (up && op) Remember(host, *up);
      if (op) Emit(dst, to.name, *op, pid);
      if (op == Operation::kCreate && up && S_ISDIR(up->st_mode)) {
        Coalesce(*dst.c, host, *up, FsidBytes(dst.upper_fsid), false);
      }
      return;
    }
    // Moved out of an image directory into one the container created: gone
    // from here; the sweep reports it where it went.
    if (src_image) Emit(src, from.name, Operation::kDelete, pid);
  }

  // An image directory of `c` was renamed: so were the marked directories
  // below it (to nullopt: into a directory the container created, where
  // they are no longer described; their events are dropped).
  void MoveImageDirs(const Container& c, const std::string& from, const std::optional<std::string>& to) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = image_dirs_.begin(); it != image_dirs_.end();) {
      std::string& rel = it->second.rel;
      const bool below = rel == from || (rel.size() > from.size() && rel.compare(0, from.size(), from) == 0 &&
                                         rel[from.size()] == '/');
      if (it->second.c->id != c.id || !below) {
        ++it;
      } else if (to) {
        rel = *to + rel.substr(from.size());
        ++it;
      } else {
        it = image_dirs_.erase(it);
      }
    }
    generation_++;
  }

  // The kernel packs FID events with info records on 4-byte boundaries
  // (FANOTIFY_EVENT_ALIGN), so fanotify_event_metadata (8-byte aligned) is
  // read unaligned, as every fanotify listener does; x86-64 allows it.
  __attribute__((no_sanitize("alignment"))) void Loop() {
    // On the heap: a thread_local buffer this size is static TLS, which every
    // thread of the process then needs on its stack (civetweb's 100 KiB
    // worker stacks failed with EINVAL).
    std::unique_ptr<std::uint64_t[]> storage(new std::uint64_t[kReadBuffer / sizeof(std::uint64_t)]);
    char* buf = reinterpret_cast<char*>(storage.get());
    while (!stop_) {
      pollfd fds[2] = {{fan_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      int n = ::poll(fds, 2, 500);
      if (n < 0 && errno != EINTR) {
        log::Error("fanotify poll: {}", std::strerror(errno));
        return;
      }
      if (stop_) break;
      if (recoalesce_pending_.load()) Recoalesce();
      if (!coalesced_.empty() || unwatched_pending_.load()) {
        const std::uint64_t now = NowNs();
        if (now - last_sweep_ns_ >= static_cast<std::uint64_t>(opts_.coalesce_sweep_ms) * 1000000ull) {
          last_sweep_ns_ = now;
          unwatched_pending_ = false;
          try {
            Sweep();
          } catch (const std::exception& ex) {
            log::Error("fanotify: sweep failed: {}", ex.what());
          }
        }
      }
      if (n <= 0 || !(fds[0].revents & POLLIN)) continue;
      for (;;) {
        ssize_t len = ::read(fan_.get(), buf, kReadBuffer);
        if (len <= 0) break;
        auto* md = reinterpret_cast<const fanotify_event_metadata*>(buf);
        while (FAN_EVENT_OK(md, len)) {
          if (md->vers != FANOTIFY_METADATA_VERSION) {
            log::Error("fanotify: unexpected metadata version {}", static_cast<int>(md->vers));
            return;
          }
          if (md->mask & FAN_Q_OVERFLOW) {
            log::Warn("fanotify: queue overflow, events lost; rescanning");
            if (cb_.on_overflow) cb_.on_overflow();
          } else {
            try {
              Handle(md);
            } catch (const std::exception& ex) {
              log::Error("fanotify: event handling failed: {}", ex.what());
            }
          }
          if (md->fd >= 0) ::close(md->fd);
          md = FAN_EVENT_NEXT(md, len);
        }
        if (static_cast<std::size_t>(len) < kReadBuffer / 2) break;
      }
      if (opts_.batch_delay_ms > 0) {
        // Let the kernel merge events on the same object before the next read.
        pollfd w{wake_.get(), POLLIN, 0};
        ::poll(&w, 1, opts_.batch_delay_ms);
      }
    }
  }

  bool IsCoalesced(const DirInfo& d) const {
    if (d.ino == 0 || coalesced_.empty()) return false;
    auto it = coalesced_.find(d.ino);
    return it != coalesced_.end() && it->second.dev == d.dev;
  }

  // `host` (a directory the container just created, stat `st`) has drifted as
  // a whole: stop the events about its files. Without a file handle it could
  // not be swept, so it is then left alone (its events keep coming).
  // `ignore_mark`: also stop the filesystem mark's events below it (not
  // wanted for containers watched through image-directory marks: the upper
  // filesystem may have no mark, and the sweep does the work).
  void Coalesce(const Container& c, const std::string& host, const struct stat& st, std::string fsid,
                bool ignore_mark) {
    if (!opts_.coalesce_new_dirs || coalesced_.size() >= kCoalescedMax) return;
    std::string handle = HandleBytes(AT_FDCWD, host.c_str(), 0);
    if (handle.empty()) {
      CoalesceFailed("name_to_handle_at", host);
      return;
    }
    struct stat now {};
    if (::lstat(host.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) return;  // replaced
    if (ignore_mark && ignore_dirs_ &&
        fanotify_mark(fan_.get(),
                      FAN_MARK_ADD | FAN_MARK_IGNORE_SURV | FAN_MARK_DONT_FOLLOW | FAN_MARK_ONLYDIR,
                      kCoalesceIgnoreMask, AT_FDCWD, host.c_str()) != 0) {
      if (errno == EINVAL) {
        ignore_dirs_ = false;  // kernel without FAN_MARK_IGNORE: user-space dropping only
        log::Info("fanotify: no FAN_MARK_IGNORE on this kernel; events in new directories dropped in user space");
      } else {
        CoalesceFailed("fanotify_mark(FAN_MARK_IGNORE)", host);
        return;
      }
    }
    Coalesced e;
    e.dev = st.st_dev;
    e.id = c.id;
    e.fsid = std::move(fsid);
    e.handle = std::move(handle);
    coalesced_[st.st_ino] = std::move(e);
  }

  // Coalesces the directories that newly watched containers created before
  // the watch (absent from the image, not mount-point stubs): the upperdir
  // scan at start reported them and their files; from now on they are swept
  // like directories created while the agent runs. Their first sweep
  // reports the files changed since the watch (ctime), not the older ones.
  void Recoalesce() {
    std::vector<std::pair<std::shared_ptr<const Container>, std::uint64_t>> todo;
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo.swap(recoalesce_);
      recoalesce_pending_ = false;
    }
    for (const auto& [c, watch_ns] : todo) {
      bool image = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        image = image_watch_.count(c->id) > 0;
      }
      UniqueFd root(::open(c->upperdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      struct statfs sfs {};
      if (!root || ::fstatfs(root.get(), &sfs) != 0) continue;
      __kernel_fsid_t fsid{};
      std::memcpy(&fsid, &sfs.f_fsid, sizeof fsid);
      const auto stubs = MountStubs(c->mount_destinations);
      std::size_t n = 0;
      // The sweep looks back kSweepSlackNs before swept_ns (file times come
      // from a coarse clock): a file made within 50 ms before the watch may be
      // reported by both the start-up scan and the first sweep.
      RecoalesceDir(*c, root.get(), "/", 0, stubs, FsidBytes(fsid), !image, watch_ns, n);
      if (n > 0) log::Info("fanotify: {} directories {} created before this start coalesced again", n, c->ShortId());
    }
  }

  void RecoalesceDir(const Container& c, int dirfd, const std::string& path, int depth,
                     const std::unordered_set<std::string>& stubs, const std::string& fsid, bool ignore_mark,
                     std::uint64_t swept_ns, std::size_t& n) {
    if (depth > kRecoalesceMaxDepth) return;
    DirStream ds(dirfd);
    while (const dirent* e = ds.Next()) {
      if (coalesced_.size() >= kCoalescedMax) return;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      struct stat st {};
      if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
      const std::string p = path == "/" ? "/" + std::string(e->d_name) : path + "/" + e->d_name;
      auto known = coalesced_.find(st.st_ino);
      const bool already = known != coalesced_.end() && known->second.dev == st.st_dev;
      if (!already && !IsImageDir(c, p, stubs)) {
        Coalesce(c, HostPath(c.upperdir, p), st, fsid, ignore_mark);
        auto it = coalesced_.find(st.st_ino);
        if (it != coalesced_.end() && it->second.dev == st.st_dev) {
          it->second.swept_ns = swept_ns;  // the first sweep looks back to the watch (ctime)
          it->second.mtime = {};           // ... and always runs
          ++n;
        }
      }
      UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) RecoalesceDir(c, sub.get(), p, depth + 1, stubs, fsid, ignore_mark, swept_ns, n);
    }
  }

  void CoalesceFailed(const char* what, const std::string& host) {
    const int err = errno;
    if (!coalesce_warned_) log::Warn("fanotify: {} on {}: {}; its files stay reported one by one", what, host, std::strerror(err));
    coalesce_warned_ = true;
  }

  // Reports the files that appeared in coalesced directories since the last
  // sweep. Subdirectories: through the filesystem mark they are reported and
  // coalesced from their own events; for a container watched through
  // image-directory marks the kernel said nothing, so the sweep reports them
  // here, coalesces them and sweeps them at once (a tree made in one go is
  // reported in one sweep). Through file handles, so a renamed directory is
  // still found.
  void Sweep() {
    std::vector<Fresh> fresh;
    std::vector<std::string> gone;
    std::unordered_map<std::string, int> mounts;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gone.swap(unwatched_);
      mounts = mount_fds_;
    }
    if (!gone.empty()) {
      for (auto it = coalesced_.begin(); it != coalesced_.end();) {
        it = std::find(gone.begin(), gone.end(), it->second.id) != gone.end() ? coalesced_.erase(it) : std::next(it);
      }
    }
    for (auto it = coalesced_.begin(); it != coalesced_.end();) {
      auto m = mounts.find(it->second.fsid);
      UniqueFd d;
      if (m != mounts.end()) {
        std::string handle = it->second.handle;  // open_by_handle_at wants it writable
        d.Reset(open_by_handle_at(m->second, reinterpret_cast<file_handle*>(handle.data()),
                                  O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      }
      if (!d) {
        it = coalesced_.erase(it);  // removed (ESTALE) or its filesystem is no longer watched
        continue;
      }
      SweepOne(it->second, d.get(), fresh);
      ++it;
    }
    // Not inserted while iterating coalesced_ above (a rehash would invalidate it).
    while (!fresh.empty()) {
      Fresh f = std::move(fresh.back());
      fresh.pop_back();
      if (coalesced_.size() >= kCoalescedMax) {
        if (!coalesce_full_warned_)
          log::Warn("fanotify: {} directories coalesced; {} and newer ones not swept", kCoalescedMax, f.host);
        coalesce_full_warned_ = true;
        continue;
      }
      Coalesce(*f.c, f.host, f.st, f.fsid, false);
      auto it = coalesced_.find(f.st.st_ino);
      if (it == coalesced_.end() || it->second.dev != f.st.st_dev) continue;
      UniqueFd d(::open(f.host.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      struct stat now {};
      if (d && ::fstat(d.get(), &now) == 0 && now.st_ino == f.st.st_ino) SweepOne(it->second, d.get(), fresh);
    }
  }

  void SweepOne(Coalesced& e, int fd, std::vector<Fresh>& fresh) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return;
    if (e.swept_ns != 0 && st.st_mtim.tv_sec == e.mtime.tv_sec && st.st_mtim.tv_nsec == e.mtime.tv_nsec) return;
    char buf[PATH_MAX];
    ssize_t len = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
    if (len <= 0) return;
    const DirInfo dir = MapDir(std::string(buf, static_cast<std::size_t>(len)));
    if (dir.where != Where::kUpper || dir.c->id != e.id) return;
    const std::uint64_t now = NowNs();
    const std::uint64_t since = e.swept_ns > kSweepSlackNs ? e.swept_ns - kSweepSlackNs : 0;
    DirStream ds(fd);
    if (!ds.valid()) return;
    while (const dirent* de = ds.Next()) {
      if (de->d_type == DT_DIR && !dir.image_marked) continue;
      const std::string_view name = de->d_name;
      struct stat fst {};
      if (::fstatat(fd, de->d_name, &fst, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(fst.st_mode)) {
        if (!dir.image_marked) continue;
        auto known = coalesced_.find(fst.st_ino);
        if (known != coalesced_.end() && known->second.dev == fst.st_dev) continue;
      }
      const std::uint64_t ctime = static_cast<std::uint64_t>(fst.st_ctim.tv_sec) * 1000000000ull +
                                  static_cast<std::uint64_t>(fst.st_ctim.tv_nsec);
      if (ctime < since && !S_ISDIR(fst.st_mode)) continue;  // reported by an earlier sweep
      if (S_ISDIR(fst.st_mode)) {
        const std::string child =
            dir.rel == "/" ? "/" + std::string(name) : dir.rel + "/" + std::string(name);
        fresh.push_back({dir.c, HostPath(dir.c->upperdir, child), fst, e.fsid});
        // A subdirectory not coalesced yet is new unless older than this sweep's window.
        if (ctime < since) continue;
      }
      auto op = ClassifyAppeared(fst, std::nullopt);
      if (!op) continue;
      DriftEvent ev;
      ev.time_ns = now;
      ev.container = dir.c;
      ev.path = dir.rel == "/" ? "/" + std::string(name) : dir.rel + "/" + std::string(name);
      ev.op = *op;
      ev.origin = EventOrigin::kScan;
      if (cb_.on_event) cb_.on_event(std::move(ev));
    }
    e.mtime = st.st_mtim;
    e.swept_ns = now;
  }

  FidSourceOptions opts_;
  SourceCallbacks cb_;
  UniqueFd fan_;
  UniqueFd wake_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;  // guards the maps below (Watch/Unwatch vs the reader)
  std::unordered_map<dev_t, UniqueFd> marked_;
  std::unordered_map<std::string, int> mount_fds_;  // fsid bytes -> fd in marked_
  std::unordered_map<std::string, std::shared_ptr<const Container>> by_upper_;
  std::unordered_map<std::string, std::shared_ptr<const Container>> by_work_;
  std::atomic<std::uint64_t> generation_{0};
  std::vector<std::string> unwatched_;  // container ids whose coalesced dirs the reader forgets
  // Newly watched containers whose directories the reader re-coalesces, with the watch time.
  std::vector<std::pair<std::shared_ptr<const Container>, std::uint64_t>> recoalesce_;
  std::atomic<bool> recoalesce_pending_{false};
  std::vector<UniqueFd> unmarked_fds_;  // upper filesystems without a mark (image-marked containers; sweeps)
  std::unordered_map<dev_t, std::size_t> fs_watchers_;  // containers watched through each filesystem mark
  std::unordered_map<std::string, dev_t> fs_dev_of_;    // container id -> the filesystem mark it uses
  std::unordered_map<std::string, ImageWatch> image_watch_;  // container id -> its image-directory marks
  std::unordered_map<std::string, ImageDir> image_dirs_;     // fsid + file id of a marked directory -> it
  std::size_t image_marks_total_ = 0;
  std::atomic<bool> unwatched_pending_{false};

  // Reader thread only.
  std::uint64_t seen_generation_ = 0;
  std::unordered_map<std::string, DirInfo> dirs_;
  std::unordered_map<std::string, struct stat> baseline_;
  std::unordered_set<std::string> written_once_;
  std::unordered_set<std::string> just_created_;  // new regular files whose first close-write is not news
  std::size_t ignore_marks_ = 0;
  std::unordered_map<pid_t, std::optional<ProcessInfo>> proc_cache_;
  std::uint64_t proc_cache_time_ = 0;
  std::unordered_map<ino_t, Coalesced> coalesced_;
  bool ignore_dirs_ = true;  // FAN_MARK_IGNORE on directories works here
  bool coalesce_warned_ = false;
  bool coalesce_full_warned_ = false;
  std::uint64_t last_sweep_ns_ = 0;
};

}  // namespace

std::unique_ptr<EventSource> NewFanotifyFidSource(FidSourceOptions options, SourceCallbacks callbacks) {
  return std::make_unique<FidSource>(std::move(options), std::move(callbacks));
}

}  // namespace invar::drift
