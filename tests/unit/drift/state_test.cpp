// SPDX-License-Identifier: Apache-2.0
// The drift state file and the per-container tracker.
#include "invar/drift/state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace invar::drift {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/invar-state-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StateStore, LineCodecRoundTripsAwkwardPaths) {
  for (std::string p : {"/tmp/x", "/a b/c", "/tab\there", "/new\nline", "/100%", "/ü"}) {
    std::string line = StateStore::EncodeLine(p, Operation::kChmod);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << p;
    std::string out;
    Operation op;
    ASSERT_TRUE(StateStore::DecodeLine(line.substr(0, line.size() - 1), &out, &op)) << p;
    EXPECT_EQ(out, p);
    EXPECT_EQ(op, Operation::kChmod);
  }
}

TEST(StateStore, RejectsMalformedLines) {
  std::string p;
  Operation op;
  EXPECT_FALSE(StateStore::DecodeLine("", &p, &op));
  EXPECT_FALSE(StateStore::DecodeLine("write", &p, &op));
  EXPECT_FALSE(StateStore::DecodeLine("bogus\t/x", &p, &op));
  EXPECT_FALSE(StateStore::DecodeLine("write\trelative", &p, &op));
  EXPECT_FALSE(StateStore::DecodeLine("write\t/x%4", &p, &op));
  EXPECT_FALSE(StateStore::DecodeLine("write\t/x%ZZ", &p, &op));
}

TEST(StateStore, PersistsAcrossInstancesAndForgetsRemovedContainers) {
  TempDir d;
  {
    StateStore s(d.path() + "/nested/state");
    ASSERT_TRUE(s.Append("abc", "/tmp/a", Operation::kCreate).ok());
    ASSERT_TRUE(s.Append("abc", "/tmp/a", Operation::kDelete).ok());
    ASSERT_TRUE(s.Append("def", "/etc/x", Operation::kWrite).ok());
  }
  StateStore s(d.path() + "/nested/state");
  auto abc = s.Load("abc");
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(abc->size(), 1u);
  EXPECT_EQ(abc->at("/tmp/a"), Operation::kDelete);  // the last word wins
  s.GarbageCollect({"abc"});
  EXPECT_TRUE(s.Load("def")->empty());
  EXPECT_EQ(s.Load("abc")->size(), 1u);
  s.Remove("abc");
  EXPECT_TRUE(s.Load("abc")->empty());
}

// Appends are buffered until Flush (or the bound); Load sees them anyway.
TEST(StateStore, BuffersAppendsUntilFlushAndLoadSeesThem) {
  TempDir d;
  const std::string dir = d.path() + "/state";
  StateStore s(dir);
  ASSERT_TRUE(s.Append("abc", "/tmp/a", Operation::kCreate).ok());
  EXPECT_EQ(std::filesystem::file_size(dir + "/abc.drift"), 0u);
  {
    StateStore other(dir);  // another reader of the file (a restarted agent)
    EXPECT_TRUE(other.Load("abc")->empty());
  }
  ASSERT_TRUE(s.Flush().ok());
  {
    StateStore other(dir);
    EXPECT_EQ(other.Load("abc")->size(), 1u);
  }
  ASSERT_TRUE(s.Append("abc", "/tmp/b", Operation::kCreate).ok());
  EXPECT_EQ(s.Load("abc")->size(), 2u);  // its own Load flushes first
  // Past the bound, written without Flush.
  const std::string line = StateStore::EncodeLine("/tmp/bulk-00000", Operation::kCreate);
  for (std::size_t i = 0; i < StateStore::kStateBufferBytes / line.size() + 1; ++i) {
    char p[32];
    std::snprintf(p, sizeof p, "/tmp/bulk-%05zu", i);
    ASSERT_TRUE(s.Append("def", p, Operation::kCreate).ok());
  }
  StateStore other(dir);
  EXPECT_GT(other.Load("def")->size(), 0u);
}

TEST(StateStore, RefusesIdsThatEscapeTheDirectory) {
  TempDir d;
  StateStore s(d.path());
  EXPECT_FALSE(s.Append("../evil", "/x", Operation::kWrite).ok());
  EXPECT_FALSE(s.Load("a/b").ok());
  EXPECT_FALSE(s.Append("", "/x", Operation::kWrite).ok());
}

TEST(StateStore, SkipsCorruptLinesInFile) {
  TempDir d;
  std::ofstream(d.path() + "/c1.drift") << "create\t/ok\ngarbage\n\x01\x02\ndelete\t/gone\n";
  StateStore s(d.path());
  auto m = s.Load("c1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 2u);
}

TEST(DriftTracker, ReportsNewPathsAndChangedOperationsOnly) {
  DriftTracker t;
  EXPECT_TRUE(t.Observe("/a", Operation::kCreate));
  EXPECT_FALSE(t.Observe("/a", Operation::kWrite));   // content of a new file is part of its creation
  EXPECT_FALSE(t.Observe("/a", Operation::kCreate));
  EXPECT_TRUE(t.Observe("/a", Operation::kChmod));
  EXPECT_TRUE(t.Observe("/a", Operation::kDelete));
  EXPECT_TRUE(t.Observe("/a", Operation::kCreate));   // recreated
  EXPECT_TRUE(t.Observe("/etc/x", Operation::kWrite));
  EXPECT_FALSE(t.Observe("/etc/x", Operation::kWrite));
  EXPECT_FALSE(t.Unknown("/a"));
  EXPECT_TRUE(t.Unknown("/b"));
  DriftTracker known({{"/b", Operation::kDelete}});
  EXPECT_FALSE(known.Unknown("/b"));
}

}  // namespace
}  // namespace invar::drift
