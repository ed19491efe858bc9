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

TEST(Level, ParsesNames) {
  Level l;
  ASSERT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace invar::log
