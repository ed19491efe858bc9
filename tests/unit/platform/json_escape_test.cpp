// SPDX-License-Identifier: Apache-2.0
// AppendJsonEscaped: every byte value at every offset of the 8-byte scan
// against a byte-by-byte reference, JSON round trips through nlohmann::json,
// and appending to existing content.
#include "invar/platform/json_escape.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace invar {
namespace {

std::string Reference(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string Escaped(std::string_view s) {
  std::string out;
  AppendJsonEscaped(out, s);
  return out;
}

TEST(JsonEscape, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Escaped(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(Escaped("a\nb\rc\td"), R"(a\nb\rc\td)");
  EXPECT_EQ(Escaped(std::string_view("\0\x01\x1f", 3)), R"(\u0000\u0001\u001f)");
  EXPECT_EQ(Escaped("\b\f\x7f"), "\\u0008\\u000c\x7f");
  EXPECT_EQ(Escaped(""), "");
}

TEST(JsonEscape, PassesUtf8AndHighBytesThrough) {
  EXPECT_EQ(Escaped("Grüße, 世界 ✓"), "Grüße, 世界 ✓");
  EXPECT_EQ(Escaped("\xff\x80\xc0"), "\xff\x80\xc0");
}

TEST(JsonEscape, MatchesReferenceForEveryByteAtEveryOffset) {
  // The byte lands at each position of a word and in the byte-wise tail.
  for (int c = 0; c < 256; ++c) {
    for (size_t len = 1; len <= 19; ++len) {
      for (size_t pos = 0; pos < len; ++pos) {
        std::string s(len, 'x');
        s[pos] = static_cast<char>(c);
        ASSERT_EQ(Escaped(s), Reference(s)) << "byte " << c << " at " << pos << " of " << len;
      }
    }
  }
}

TEST(JsonEscape, MatchesReferenceOnRandomStrings) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 100, '\0');
    bool sparse = i % 2 == 0;  // long clean runs, or anything goes
    for (char& ch : s) {
      unsigned v = rng() % 256;
      ch = static_cast<char>(sparse && v > 24 ? 'a' + v % 26 : v);
    }
    ASSERT_EQ(Escaped(s), Reference(s));
  }
}

TEST(JsonEscape, RoundTripsThroughAJsonParser) {
  std::string s = "spec.containers[0].securityContext: \"readOnlyRootFilesystem\" must be true\n\tfix: set it\\";
  for (int c = 0; c < 0x80; ++c) s.push_back(static_cast<char>(c));
  s += "ünïcødé";
  std::string doc;
  AppendJsonString(doc, s);
  EXPECT_EQ(doc.front(), '"');
  EXPECT_EQ(nlohmann::json::parse(doc).get<std::string>(), s);
}

TEST(JsonEscape, AppendsToExistingContent) {
  std::string out = R"({"msg":)";
  AppendJsonString(out, "a\"b");
  out += "}";
  EXPECT_EQ(out, R"({"msg":"a\"b"})");
}

}  // namespace
}  // namespace invar
