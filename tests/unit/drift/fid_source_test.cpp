// SPDX-License-Identifier: Apache-2.0
// The FID fanotify source on a real filesystem, without containerd: a
// synthetic container whose upperdir is a directory on /dev/shm (tmpfs, which
// supports FID marks), changed directly as overlay would change it. Covers
// the coalescing of directories the container creates: the directory is
// reported at once, the events of its files are not, and the sweep reports
// the files in it. Needs CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH (label root).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "invar/drift/source.h"

namespace invar::drift {
namespace {
namespace fs = std::filesystem;

class FidSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int probe = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME, O_RDONLY);
    if (probe < 0) GTEST_SKIP() << "fanotify FID groups need CAP_SYS_ADMIN";
    ::close(probe);
    char tmpl[] = "/dev/shm/invar-fidtest-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* d : {"/lower/etc", "/lower/tmp", "/upper/tmp", "/work/work"}) fs::create_directories(root_ + d);
    std::ofstream(root_ + "/lower/etc/app.conf") << "x=1\n";
    auto c = std::make_shared<Container>();
    c->id = "fidtest0123456789";
    c->upperdir = root_ + "/upper";
    c->workdir = root_ + "/work";
    c->lowerdirs = {root_ + "/lower"};
    c_ = c;
  }
  void TearDown() override {
    if (src_) src_->Stop();
    if (!root_.empty()) fs::remove_all(root_);
  }

  void Start(FidSourceOptions o) {
    SourceCallbacks cb;
    cb.on_event = [this](DriftEvent e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::move(e));
      cv_.notify_all();
    };
    src_ = NewFanotifyFidSource(std::move(o), cb);
    ASSERT_TRUE(src_->Start().ok());
    ASSERT_TRUE(src_->Watch(c_, {}).ok());
  }

  // Waits up to 10 s for an event matching (path, op, origin).
  bool WaitFor(const std::string& path, Operation op, EventOrigin origin) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return CountLocked(path, op, origin) > 0; });
  }
  int Count(const std::string& path, Operation op, EventOrigin origin) {
    std::lock_guard<std::mutex> lock(mu_);
    return CountLocked(path, op, origin);
  }
  int CountPath(const std::string& path, EventOrigin origin) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& e : events_) n += e.path == path && e.origin == origin;
    return n;
  }
  std::string Dump() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& e : events_) {
      out += std::string(OperationName(e.op)) + " " + e.path + (e.origin == EventOrigin::kScan ? " (scan)" : "") + "\n";
    }
    return out;
  }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(root_ + "/upper" + rel) << text; }
  // A barrier: once this file's create is seen, every earlier event was read.
  void Settle(const std::string& tag) {
    Write("/tmp/" + tag, "s");
    ASSERT_TRUE(WaitFor("/tmp/" + tag, Operation::kCreate, EventOrigin::kFanotify)) << Dump();
  }

  std::string root_;
  std::shared_ptr<const Container> c_;
  std::unique_ptr<EventSource> src_;

 private:
  int CountLocked(const std::string& path, Operation op, EventOrigin origin) {
    int n = 0;
    for (const auto& e : events_) n += e.path == path && e.op == op && e.origin == origin;
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<DriftEvent> events_;
};

TEST_F(FidSourceTest, NewDirectoryIsReportedAndItsFilesComeFromTheSweepOnly) {
  Start({.coalesce_sweep_ms = 100});
  fs::create_directory(root_ + "/upper/tmp/cache");
  ASSERT_TRUE(WaitFor("/tmp/cache", Operation::kCreate, EventOrigin::kFanotify)) << Dump();
  Write("/tmp/cache/a", "a");
  Write("/tmp/cache/b", "b");
  ASSERT_TRUE(WaitFor("/tmp/cache/a", Operation::kCreate, EventOrigin::kScan)) << Dump();
  ASSERT_TRUE(WaitFor("/tmp/cache/b", Operation::kCreate, EventOrigin::kScan)) << Dump();
  // Changes to files in it raise no events (ignore mark, or dropped by the reader).
  Write("/tmp/cache/a", "more");
  chmod((root_ + "/upper/tmp/cache/a").c_str(), 0600);
  fs::remove(root_ + "/upper/tmp/cache/a");
  // Subdirectories are reported as they appear, and coalesced in turn.
  fs::create_directory(root_ + "/upper/tmp/cache/sub");
  ASSERT_TRUE(WaitFor("/tmp/cache/sub", Operation::kCreate, EventOrigin::kFanotify)) << Dump();
  Write("/tmp/cache/sub/c", "c");
  ASSERT_TRUE(WaitFor("/tmp/cache/sub/c", Operation::kCreate, EventOrigin::kScan)) << Dump();
  // A file moved out of it is reported with both names.
  fs::rename(root_ + "/upper/tmp/cache/b", root_ + "/upper/tmp/b-moved");
  ASSERT_TRUE(WaitFor("/tmp/b-moved", Operation::kRename, EventOrigin::kFanotify)) << Dump();
  Settle("barrier1");
  EXPECT_EQ(CountPath("/tmp/cache/a", EventOrigin::kFanotify), 0) << Dump();
  EXPECT_EQ(CountPath("/tmp/cache/b", EventOrigin::kFanotify), 0) << Dump();
  EXPECT_EQ(CountPath("/tmp/cache/sub/c", EventOrigin::kFanotify), 0) << Dump();
  // Removing the directory itself is reported.
  fs::remove_all(root_ + "/upper/tmp/cache");
  ASSERT_TRUE(WaitFor("/tmp/cache", Operation::kDelete, EventOrigin::kFanotify)) << Dump();
}

TEST_F(FidSourceTest, DirectoriesCreatedBeforeTheWatchAreCoalescedAgain) {
  // What a container made while the agent was down (the start-up scan reports it).
  fs::create_directories(root_ + "/upper/tmp/old-cache/sub");
  Write("/tmp/old-cache/x", "x");
  // Older than the sweep's look-back (50 ms before the watch: file times come from a coarse clock).
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Start({.coalesce_sweep_ms = 100});
  Write("/tmp/old-cache/a", "a");
  Write("/tmp/old-cache/sub/c", "c");
  ASSERT_TRUE(WaitFor("/tmp/old-cache/a", Operation::kCreate, EventOrigin::kScan)) << Dump();
  ASSERT_TRUE(WaitFor("/tmp/old-cache/sub/c", Operation::kCreate, EventOrigin::kScan)) << Dump();
  Settle("barrier3");
  EXPECT_EQ(CountPath("/tmp/old-cache/a", EventOrigin::kFanotify), 0) << Dump();
  EXPECT_EQ(CountPath("/tmp/old-cache/sub/c", EventOrigin::kFanotify), 0) << Dump();
  // Files already there before the watch are not reported again by the sweep.
  EXPECT_EQ(CountPath("/tmp/old-cache/x", EventOrigin::kScan), 0) << Dump();
  // Directories of the image stay individually reported.
  EXPECT_EQ(CountPath("/tmp/barrier3", EventOrigin::kScan), 0) << Dump();
}

TEST_F(FidSourceTest, ImageDirectoriesAreNotCoalesced) {
  Start({.coalesce_sweep_ms = 100});
  // /etc is in the image: overlay copies it up; files created in it stay
  // individually reported, with their writes.
  fs::create_directory(root_ + "/upper/etc");
  Write("/etc/new.conf", "n");
  ASSERT_TRUE(WaitFor("/etc/new.conf", Operation::kCreate, EventOrigin::kFanotify)) << Dump();
  Settle("barrier2");
  EXPECT_EQ(CountPath("/etc", EventOrigin::kFanotify), 0) << Dump();  // a copy-up is not drift
  EXPECT_EQ(CountPath("/etc/new.conf", EventOrigin::kScan), 0) << Dump();
}

TEST_F(FidSourceTest, WithoutCoalescingEveryFileEventIsReported) {
  Start({.coalesce_new_dirs = false});
  fs::create_directory(root_ + "/upper/tmp/cache");
  ASSERT_TRUE(WaitFor("/tmp/cache", Operation::kCreate, EventOrigin::kFanotify)) << Dump();
  Write("/tmp/cache/a", "a");
  ASSERT_TRUE(WaitFor("/tmp/cache/a", Operation::kCreate, EventOrigin::kFanotify)) << Dump();
  fs::remove(root_ + "/upper/tmp/cache/a");
  ASSERT_TRUE(WaitFor("/tmp/cache/a", Operation::kDelete, EventOrigin::kFanotify)) << Dump();
  EXPECT_EQ(CountPath("/tmp/cache/a", EventOrigin::kScan), 0) << Dump();
}

}  // namespace
}  // namespace invar::drift
