// SPDX-License-Identifier: Apache-2.0
#include "invar/platform/log.h"

#include <gtest/gtest.h>

namespace invar::log {
namespace {

TEST(Redact, HidesBearerTokens) {
  std::string out = Redact("GET /api Authorization: Bearer eyJhbGciOiJSUzI1NiIs.abc-def_ghi");
  EXPECT_EQ(out.find("eyJhbGci"), std::string::npos);
  EXPECT_NE(out.find("Bearer <redacted>"), std::string::npos);
}

TEST(Redact, HidesPemBlocksAndKubeconfigData) {
  std::string pem = "key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY----- done";
  std::string out = Redact(pem);
  EXPECT_EQ(out.find("MHcCAQEEI"), std::string::npos);
  EXPECT_NE(out.find("done"), std::string::npos);
  out = Redact(R"({"client-key-data": "LS0tLS1CRUdJTg==", "token": "s3cr3t"})");
  EXPECT_EQ(out.find("LS0tLS1CRUdJTg"), std::string::npos);
  EXPECT_EQ(out.find("s3cr3t"), std::string::npos);
}

TEST(Redact, LeavesOrdinaryTextAlone) {
  EXPECT_EQ(Redact("pod default/web denied: 3 checks failed"), "pod default/web denied: 3 checks failed");
}

TEST(JsonLog, WritesOneValidJsonObjectPerLine) {
  Init(Level::kInfo, Format::kJson);
  ::testing::internal::CaptureStderr();
  Info("pod {} denied: \"quoted\"\n\tnext\x01 \\ end", "default/web");
  std::string line = ::testing::internal::GetCapturedStderr();
  Init(Level::kInfo, Format::kText);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  // Exactly one closing brace: the object ends with the escaped message.
  const std::string tail = R"("msg":"pod default/web denied: \"quoted\"\n\tnext\u0001 \\ end"})";
  ASSERT_GE(line.size(), tail.size());
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail) << line;
  EXPECT_EQ(line.rfind(R"({"time":")", 0), 0u) << line;
}

TEST(Level, ParsesNames) {
  Level l;
  ASSERT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace invar::log
