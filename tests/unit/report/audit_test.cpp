// SPDX-License-Identifier: Apache-2.0
// Audit-log reader: the fixtures (plain and gzip give the same entries),
// de-duplication by auditID and stage, command decoding, allowed/denied,
// invar's annotation, flagging, and bad lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace invar::report {
namespace {

using testing::kFixtures;

AuditResult ReadFixture(const std::string& name) {
  AuditOptions o;
  o.immutable_namespaces = {{"shop", "--immutable-namespaces"},
                            {"payments", "label invar.dev/enforce=immutable"}};
  AuditReader r(o);
  r.AddFile(kFixtures + "/audit/" + name);
  return r.Finish();
}

class Audit : public ::testing::Test {
 protected:
  void SetUp() override { testing::ChdirToSourceRoot(); }
};

TEST_F(Audit, ReadsEveryGuardedSubresourceOnceAndIgnoresOtherRequests) {
  auto r = ReadFixture("audit.log");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.events, 8);
  ASSERT_EQ(r.execs.size(), 6u);  // 7 pod-subresource events, one request logged in two stages
  std::vector<std::string> subs;
  for (const auto& e : r.execs) subs.push_back(e.subresource);
  EXPECT_EQ(subs, (std::vector<std::string>{"exec", "exec", "attach", "portforward", "ephemeralcontainers",
                                            "exec"}));
}

TEST_F(Audit, KeepsTheResponseCompleteStage) {
  auto r = ReadFixture("audit.log");
  const auto& e = r.execs[0];
  EXPECT_EQ(e.audit_id, "5f1c7a2e-2222-4c1d-8f00-000000000002");
  EXPECT_EQ(e.stage, "ResponseComplete");
  EXPECT_EQ(e.stage_time, "2026-11-20T10:09:40.553002Z");
  EXPECT_EQ(e.source_line, 3);
}

TEST_F(Audit, DecodesWhoWhatWhereAndTheCommand) {
  auto r = ReadFixture("audit.log");
  const auto& e = r.execs[0];
  EXPECT_EQ(e.user, "alice@example.com");
  EXPECT_EQ(e.groups, (std::vector<std::string>{"oncall", "system:authenticated"}));
  EXPECT_EQ(e.time, "2026-11-20T10:02:11.120034Z");
  EXPECT_EQ(e.namespace_, "shop");
  EXPECT_EQ(e.pod, "api-7c9d8f6b5-qx2lp");
  EXPECT_EQ(e.container, "api");
  EXPECT_EQ(e.command, (std::vector<std::string>{"sh", "-c", "cat /etc/passwd && id"}));
  EXPECT_TRUE(e.allowed);
  EXPECT_EQ(e.code, 101);
  EXPECT_EQ(e.invar_annotation, "allowed: break-glass group \"oncall\"");
  EXPECT_TRUE(e.flagged);
  EXPECT_EQ(e.Severity(), policy::Severity::kHigh);
}

TEST_F(Audit, DeniedByTheWebhookOrByRbac) {
  auto r = ReadFixture("audit.log");
  const auto& webhook = r.execs[1];
  EXPECT_FALSE(webhook.allowed);
  EXPECT_EQ(webhook.code, 403);
  EXPECT_NE(webhook.reason.find("admission webhook \"enforce.invar.dev\" denied"), std::string::npos);
  EXPECT_TRUE(webhook.flagged);
  EXPECT_EQ(webhook.Severity(), policy::Severity::kInfo);
  const auto& rbac = r.execs[2];
  EXPECT_FALSE(rbac.allowed);
  EXPECT_EQ(rbac.decision, "forbid");
  EXPECT_FALSE(rbac.flagged);  // dev is not immutable
}

TEST_F(Audit, PortForwardPortsAndEphemeralContainerName) {
  auto r = ReadFixture("audit.log");
  EXPECT_EQ(r.execs[3].ports, (std::vector<std::string>{"5432", "9187"}));
  EXPECT_EQ(r.execs[4].container, "debugger-8xk2p");
  EXPECT_TRUE(r.execs[4].flagged);
  EXPECT_NE(r.execs[4].flag_reason.find("label invar.dev/enforce=immutable"), std::string::npos);
}

TEST_F(Audit, UnknownOutcomeCountsAsPossiblyAllowed) {
  auto r = ReadFixture("audit.log");
  const auto& e = r.execs[5];
  EXPECT_EQ(e.stage, "RequestReceived");
  EXPECT_TRUE(e.allowed);
  EXPECT_NE(e.reason.find("outcome not recorded"), std::string::npos);
}

TEST_F(Audit, GzipGivesTheSameEntriesAsPlain) {
  auto plain = ReadFixture("audit.log");
  auto gz = ReadFixture("audit.log.gz");
  ASSERT_TRUE(gz.errors.empty()) << gz.errors[0].ToString();
  ASSERT_EQ(plain.execs.size(), gz.execs.size());
  for (size_t i = 0; i < plain.execs.size(); ++i) {
    EXPECT_EQ(plain.execs[i].audit_id, gz.execs[i].audit_id);
    EXPECT_EQ(plain.execs[i].command, gz.execs[i].command);
    EXPECT_EQ(plain.execs[i].source_line, gz.execs[i].source_line);
  }
}

TEST_F(Audit, BadLinesAreErrorsWithLineNumbersAndTheRestIsRead) {
  auto r = ReadFixture("bad-lines.log");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[1].line, 2);
  EXPECT_EQ(r.errors[2].line, 3);
  EXPECT_NE(r.errors[2].message.find("not an audit.k8s.io Event"), std::string::npos);
  EXPECT_EQ(r.execs.size(), 2u);
}

TEST_F(Audit, MissingFileIsAnError) {
  auto r = ReadFixture("nope.log");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cannot open"), std::string::npos);
}

TEST_F(Audit, HostileLinesNeverCrash) {
  AuditReader r({});
  std::string deep(20000, '[');
  r.AddText(deep + "\n" + std::string("\0\x01\x02", 3) +
                "\n{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\","
                "\"objectRef\":{\"resource\":\"pods\",\"subresource\":\"exec\",\"name\":7},\"user\":\"x\","
                "\"responseStatus\":"
                "{\"code\":\"oops\"},\"requestURI\":\"/x?command=%zz&command=%4\"}\n",
            "hostile.log");
  auto res = r.Finish();
  EXPECT_EQ(res.errors.size(), 2u);
  ASSERT_EQ(res.execs.size(), 1u);
  EXPECT_EQ(res.execs[0].pod, "");  // wrong type -> empty, not a crash
  EXPECT_EQ(res.execs[0].command, (std::vector<std::string>{"%zz", "%4"}));
}

TEST_F(Audit, LongLinesAreBounded) {
  AuditOptions o;
  o.max_line_bytes = 64;
  AuditReader r(o);
  std::string path =
      std::filesystem::temp_directory_path() / ("invar-audit-long-" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << std::string(1000, 'x') << "\n" << testing::ReadFile(kFixtures + "/audit/audit.log").substr(0, 0);
  }
  r.AddFile(path);
  auto res = r.Finish();
  std::filesystem::remove(path);
  ASSERT_EQ(res.errors.size(), 1u);
  EXPECT_NE(res.errors[0].message.find("line longer than 64 bytes"), std::string::npos);
}

TEST(UrlDecode, FormEncoding) {
  EXPECT_EQ(UrlDecode("cat+%2Fetc%2Fpasswd%20%26%26%20id"), "cat /etc/passwd && id");
  EXPECT_EQ(UrlDecode("100%"), "100%");
  EXPECT_EQ(UrlDecode("%e2%9c%93"), "\xe2\x9c\x93");
}

}  // namespace
}  // namespace invar::report
