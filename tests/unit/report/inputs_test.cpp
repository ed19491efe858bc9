// SPDX-License-Identifier: Apache-2.0
// Manifest inputs: files, directories (sorted, recursive, filtered), stdin,
// kustomize, and every error path (missing file, not a directory, binary
// file, bad YAML with its line, oversized input, missing kubectl).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace invar::report {
namespace {

using testing::kFixtures;

class Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ChdirToSourceRoot();
    tmp_ = std::filesystem::temp_directory_path() /
           ("invar-report-inputs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(tmp_);
  }
  void TearDown() override { std::filesystem::remove_all(tmp_); }
  std::string Write(const std::string& name, const std::string& data) {
    auto p = tmp_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
    return p.string();
  }
  std::filesystem::path tmp_;
};

TEST_F(Inputs, DirectoryListsManifestFilesSortedAndSkipsOthers) {
  auto files = ListManifestFiles(kFixtures + "/manifests", false);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(*files, std::vector<std::string>{kFixtures + "/manifests/workloads.yaml"});
  auto rec = ListManifestFiles(kFixtures + "/manifests", true);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(*rec, (std::vector<std::string>{kFixtures + "/manifests/workloads.yaml",
                                            kFixtures + "/manifests/nested/job.json"}));
}

TEST_F(Inputs, DirectorySkipsHiddenEntriesAndSortsByName) {
  Write("b.yml", "");
  Write("a.json", "");
  Write(".hidden.yaml", "");
  Write(".git/x.yaml", "");
  Write("sub/c.yaml", "");
  Write("notes.txt", "");
  auto files = ListManifestFiles(tmp_.string(), true);
  ASSERT_TRUE(files.ok());
  std::string d = tmp_.string() + "/";
  EXPECT_EQ(*files, (std::vector<std::string>{d + "a.json", d + "b.yml", d + "sub/c.yaml"}));
}

TEST_F(Inputs, MissingFileIsAnInputErrorAndTheRestIsRead) {
  ManifestInputs in;
  in.files = {"does/not/exist.yaml", kFixtures + "/compliant.yaml"};
  auto loaded = LoadManifests(in);
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].file, "does/not/exist.yaml");
  EXPECT_EQ(loaded.errors[0].ToString(), "does/not/exist.yaml: no such file or directory");
  EXPECT_EQ(loaded.workloads.size(), 1u);
}

TEST_F(Inputs, NotADirectoryIsAnError) {
  std::string f = Write("plain.yaml", "a: b\n");
  auto files = ListManifestFiles(f, false);
  EXPECT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("cannot read directory"), std::string::npos);
}

TEST_F(Inputs, BinaryFileIsRejectedClearly) {
  std::string data =
      "\x7f"
      "ELF";
  data.push_back('\0');
  data += std::string(100, '\x01');
  std::string f = Write("garbage.yaml", data);
  ManifestInputs in;
  in.files = {f};
  auto loaded = LoadManifests(in);
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_NE(loaded.errors[0].message.find("binary file"), std::string::npos);
  EXPECT_TRUE(loaded.workloads.empty());
}

TEST_F(Inputs, BadYamlReportsItsLineAndTheOtherDocumentsAreEvaluated) {
  ManifestInputs in;
  in.files = {kFixtures + "/bad.yaml"};
  auto loaded = LoadManifests(in);
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].file, kFixtures + "/bad.yaml");
  EXPECT_GE(loaded.errors[0].line, 19);  // the broken document starts at line 18
  EXPECT_LE(loaded.errors[0].line, 22);
  ASSERT_EQ(loaded.workloads.size(), 2u);
  EXPECT_EQ(loaded.workloads[0].metadata.name, "good-before-bad");
  EXPECT_EQ(loaded.workloads[1].metadata.name, "after-bad");
}

TEST_F(Inputs, ObjectsWithoutPodSpecAreCountedAsSkipped) {
  ManifestInputs in;
  in.files = {kFixtures + "/manifests/workloads.yaml"};
  auto loaded = LoadManifests(in);
  EXPECT_TRUE(loaded.errors.empty());
  ASSERT_EQ(loaded.skipped.size(), 1u);
  EXPECT_EQ(loaded.skipped[0].kind, "Service");
  EXPECT_EQ(loaded.workloads.size(), 3u);
}

TEST_F(Inputs, OversizedFileIsRefused) {
  std::string f = Write("big.yaml", std::string(4096, '#'));
  auto data = ReadInputFile(f, 1024);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kResourceExhausted);
  EXPECT_NE(data.status().message().find("larger than"), std::string::npos);
}

TEST_F(Inputs, DirectoryGivenAsFileIsAnError) {
  auto data = ReadInputFile(tmp_.string(), 1024);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("is a directory"), std::string::npos);
}

TEST_F(Inputs, DashReadsStandardInput) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string doc = testing::ReadFile(kFixtures + "/compliant.yaml");
  ASSERT_EQ(::write(fds[1], doc.data(), doc.size()), static_cast<ssize_t>(doc.size()));
  ::close(fds[1]);
  FILE* in_stream = ::fdopen(fds[0], "r");
  ASSERT_NE(in_stream, nullptr);
  ManifestInputs in;
  in.files = {"-"};
  in.stdin_stream = in_stream;
  auto loaded = LoadManifests(in);
  std::fclose(in_stream);
  EXPECT_TRUE(loaded.errors.empty());
  ASSERT_EQ(loaded.workloads.size(), 1u);
  EXPECT_EQ(loaded.workloads[0].source.file, "-");
}

TEST_F(Inputs, KustomizeRendersWithKubectl) {
  if (::access("/usr/bin/kubectl", X_OK) != 0) GTEST_SKIP() << "kubectl not installed";
  ManifestInputs in;
  in.kustomizations = {kFixtures + "/kustomize"};
  auto loaded = LoadManifests(in);
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors[0].ToString();
  ASSERT_EQ(loaded.workloads.size(), 1u);
  EXPECT_EQ(loaded.workloads[0].metadata.namespace_, "kustomized");  // the kustomization's namespace applied
  EXPECT_EQ(loaded.workloads[0].source.file, "kustomize:" + kFixtures + "/kustomize");
}

TEST_F(Inputs, KustomizeFailureCarriesKubectlsMessage) {
  if (::access("/usr/bin/kubectl", X_OK) != 0) GTEST_SKIP() << "kubectl not installed";
  auto out = RunKustomize("kubectl", tmp_.string(), 1 << 20);  // no kustomization.yaml here
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("kubectl kustomize failed"), std::string::npos);
  EXPECT_NE(out.status().message().find("kustomization"), std::string::npos) << out.status().message();
}

TEST_F(Inputs, MissingKubectlIsAClearError) {
  auto out = RunKustomize("/nonexistent/bin/kubectl", kFixtures + "/kustomize", 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(out.status().message().find("needs kubectl on PATH"), std::string::npos);
}

TEST_F(Inputs, ProfileConfigAddsCustomProfiles) {
  auto set = LoadProfileConfig(kFixtures + "/profiles.yaml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->Get("relaxed-tags").ok());
  auto missing = LoadProfileConfig(kFixtures + "/nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--config"), std::string::npos);
}

}  // namespace
}  // namespace invar::report
