// SPDX-License-Identifier: Apache-2.0
// UniqueFd and WriteAll (invar/platform/fd.h): a write larger than a pipe's
// buffer arrives whole through short writes; a failed write is reported with
// errno; the fd is closed exactly once.
#include "invar/platform/fd.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace invar {
namespace {

TEST(WriteAll, WritesEverythingThroughShortWrites) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  ASSERT_GT(::fcntl(w.get(), F_SETPIPE_SZ, 4096), 0);  // each write(2) takes at most 4 KiB
  std::string data(256 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string got;
  std::thread reader([&] {
    char buf[1000];  // small reads: the writer sees many short writes
    for (ssize_t n; (n = ::read(r.get(), buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  });
  const bool ok = WriteAll(w.get(), data);
  w.Reset();
  reader.join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(got, data);
}

TEST(WriteAll, ReportsAFailedWriteWithErrno) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  r.Reset();  // no reader: EPIPE
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old), 0);
  errno = 0;
  EXPECT_FALSE(WriteAll(w.get(), "x"));
  EXPECT_EQ(errno, EPIPE);
  ::sigaction(SIGPIPE, &old, nullptr);
  EXPECT_FALSE(WriteAll(-1, "x"));
  EXPECT_EQ(errno, EBADF);
  EXPECT_TRUE(WriteAll(-1, ""));  // nothing to write: no syscall
}

TEST(UniqueFd, ClosesOnceAndMovesOwnership) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]);
  {
    UniqueFd w(p[1]);
    UniqueFd moved(std::move(w));
    EXPECT_FALSE(w.valid());
    EXPECT_EQ(moved.get(), p[1]);
  }
  EXPECT_EQ(::fcntl(p[1], F_GETFD), -1);  // closed when `moved` went
  EXPECT_EQ(errno, EBADF);
  char c;
  EXPECT_EQ(::read(r.get(), &c, 1), 0);  // the write end is gone: EOF
}

}  // namespace
}  // namespace invar
