// SPDX-License-Identifier: Apache-2.0
// Process lookup (drift/sources/procinfo.cpp): Falco's proc.cmdline (the
// process name, then the arguments after argv[0]), /proc reads against a
// fabricated proc directory and against this process, passwd lookup, shell names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "invar/drift/procinfo.h"

namespace invar::drift {
namespace {

using namespace std::string_literals;

TEST(FalcoCmdline, IsTheProcessNameThenTheArgumentsAfterArgv0) {
  EXPECT_EQ(FalcoCmdline("busybox", "/bin/busybox\0sh\0-c\0id\0"s), "busybox sh -c id");
  EXPECT_EQ(FalcoCmdline("sh", "/bin/sh\0-c\0echo a b\0"s), "sh -c echo a b");
  EXPECT_EQ(FalcoCmdline("nginx", "nginx\0"s), "nginx");
  EXPECT_EQ(FalcoCmdline("nginx", "nginx"s), "nginx");
  // A process that rewrote its title into one string: no arguments known.
  EXPECT_EQ(FalcoCmdline("nginx", "nginx: worker process"s), "nginx");
  EXPECT_EQ(FalcoCmdline("true", ""s), "true");
  EXPECT_EQ(FalcoCmdline("x", "a\0\0b\0\0\0"s), "x  b");  // an empty argument keeps its place
  // The exec tracer's truncated copy (no trailing NUL).
  EXPECT_EQ(FalcoCmdline("ash", "/bin/ash\0-c\0whi"s), "ash -c whi");
}

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("invar-procinfo-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "4242");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / "4242" / name, std::ios::binary) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(FakeProc, CmdlineStartsWithTheCommWhateverPathArgv0Was) {
  Write("comm", "busybox\n");
  Write("cmdline", "/bin/busybox\0sh\0-c\0id\0"s);
  auto p = ReadProcess(dir_.string(), 4242, nullptr);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pid, 4242);
  EXPECT_EQ(p->comm, "busybox");
  EXPECT_EQ(p->cmdline, "busybox sh -c id");
}

TEST_F(FakeProc, AGoneProcessIsNullopt) {
  EXPECT_FALSE(ReadProcess(dir_.string(), 4243, nullptr));
  EXPECT_FALSE(ReadProcess(dir_.string(), 0, nullptr));
}

TEST(ReadProcess, ThisProcess) {
  auto p = ReadProcess("/proc", ::getpid(), nullptr);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->comm.empty());
  EXPECT_EQ(p->cmdline.rfind(p->comm, 0), 0u) << p->cmdline;
  EXPECT_EQ(p->exe, std::filesystem::read_symlink("/proc/self/exe").string());
}

TEST(UserFromPasswd, FindsTheNameOfAUid) {
  const std::string passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\nweb:x:101:101::/home/web:/sbin/nologin\nbad line\n";
  EXPECT_EQ(UserFromPasswd(passwd, 0), "root");
  EXPECT_EQ(UserFromPasswd(passwd, 101), "web");
  EXPECT_EQ(UserFromPasswd(passwd, 1000), "");
  EXPECT_EQ(UserFromPasswd("", 0), "");
}

TEST(IsShellName, FalcosShellsOnly) {
  for (const char* s : {"sh", "bash", "ash", "dash", "zsh", "ksh"}) EXPECT_TRUE(IsShellName(s)) << s;
  for (const char* s : {"sha256sum", "shuf", "busybox", "nginx", ""}) EXPECT_FALSE(IsShellName(s)) << s;
}

}  // namespace
}  // namespace invar::drift
