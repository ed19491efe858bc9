// SPDX-License-Identifier: Apache-2.0
// AppendJsonEscaped: every byte value at every offset of the 8-byte scan
// against a byte-by-byte reference, JSON round trips through nlohmann::json,
// and appending to existing content; in Utf8::kSanitize mode, against a
// reference UTF-8 decoder written from the definition (code point ranges,
// not RFC 3629's byte table): every byte value and every byte pair at every
// offset, three- and four-byte sequences over every lead and second byte,
// the named classes of invalid input, and random strings that a strict
// parser (nlohmann) must accept.
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

std::string Sanitized(std::string_view s) {
  std::string out;
  AppendJsonEscaped(out, s, Utf8::kSanitize);
  return out;
}

// The reference for kSanitize: decode one code point from its bit pattern
// (110xxxxx, 1110xxxx, 11110xxx lead + 10xxxxxx continuations), reject it if
// it is overlong (fewer bytes would do), a surrogate (U+D800..U+DFFF) or
// above U+10FFFF; a rejected or truncated sequence costs one U+FFFD for its
// first byte and decoding restarts at the next byte.
std::string SanitizedReference(std::string_view s) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c < 0x80) {
      out += Reference(std::string_view(s.data() + i, 1));
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xc0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    static constexpr unsigned kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && cp >= kMin[len] && !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff;
    if (ok) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
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

TEST(JsonEscapeSanitize, ReplacesEachClassOfInvalidUtf8) {
  // Well formed: copied, at every length, including the extremes of each range.
  for (const char* ok : {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                         "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "Gr\xc3\xbc\xc3\x9f" "e \xe4\xb8\x96 \xf0\x9f\x98\x80"}) {
    EXPECT_EQ(Sanitized(ok), ok) << ok;
  }
  const std::string r = "\\ufffd";
  // Overlong forms of '/' and of U+07FF / U+FFFF.
  EXPECT_EQ(Sanitized("\xc0\xaf"), r + r);
  EXPECT_EQ(Sanitized("\xc1\xbf"), r + r);
  EXPECT_EQ(Sanitized("\xe0\x9f\xbf"), r + r + r);
  EXPECT_EQ(Sanitized("\xf0\x8f\xbf\xbf"), r + r + r + r);
  // Surrogates (UTF-16 halves encoded as UTF-8, CESU-8).
  EXPECT_EQ(Sanitized("\xed\xa0\x80"), r + r + r);
  EXPECT_EQ(Sanitized("\xed\xbf\xbf"), r + r + r);
  // Above U+10FFFF, and the lead bytes that can only start one.
  EXPECT_EQ(Sanitized("\xf4\x90\x80\x80"), r + r + r + r);
  EXPECT_EQ(Sanitized("\xf5\x80\x80\x80"), r + r + r + r);
  EXPECT_EQ(Sanitized("\xf8\x88\x80"), r + r + r);  // 5-byte lead (the old alert escaper let this through)
  EXPECT_EQ(Sanitized("\xff\xfe"), r + r);
  // Truncated: at the end, or cut by ASCII.
  EXPECT_EQ(Sanitized("a\xe2\x82"), "a" + r + r);
  EXPECT_EQ(Sanitized("\xe2\x82" "a"), r + r + "a");
  EXPECT_EQ(Sanitized("\xf0\x9f\x98"), r + r + r);
  EXPECT_EQ(Sanitized("\xc3"), r);
  // A stray continuation byte; then escapes still apply around replacements.
  EXPECT_EQ(Sanitized("\x80"), r);
  EXPECT_EQ(Sanitized("\"\x80\n\xc3\xbc\\"), "\\\"" + r + "\\n\xc3\xbc\\\\");
  // ASCII is escaped exactly as without sanitising.
  EXPECT_EQ(Sanitized("say \"hi\"\t\x01"), Escaped("say \"hi\"\t\x01"));
}

TEST(JsonEscapeSanitize, MatchesReferenceForEveryByteAtEveryOffset) {
  for (int c = 0; c < 256; ++c) {
    for (size_t len = 1; len <= 19; ++len) {
      for (size_t pos = 0; pos < len; ++pos) {
        std::string s(len, 'x');
        s[pos] = static_cast<char>(c);
        ASSERT_EQ(Sanitized(s), SanitizedReference(s)) << "byte " << c << " at " << pos << " of " << len;
      }
    }
  }
}

TEST(JsonEscapeSanitize, MatchesReferenceForEveryBytePair) {
  // Each pair at the start of a word, across a word boundary, in the tail.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (size_t pos : {size_t{0}, size_t{7}, size_t{9}}) {
        std::string s(11, 'x');
        s[pos] = static_cast<char>(a);
        s[pos + 1] = static_cast<char>(b);
        ASSERT_EQ(Sanitized(s), SanitizedReference(s)) << a << " " << b << " at " << pos;
      }
    }
  }
}

TEST(JsonEscapeSanitize, MatchesReferenceForLongSequencesOverEveryLeadAndSecondByte) {
  // Third and fourth bytes from the boundaries of the continuation range.
  const unsigned char tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  for (int lead = 0xc0; lead < 0x100; ++lead) {
    for (int second = 0; second < 256; ++second) {
      for (unsigned char third : tails) {
        for (unsigned char fourth : tails) {
          const char seq[] = {'a', static_cast<char>(lead), static_cast<char>(second), static_cast<char>(third),
                              static_cast<char>(fourth), 'z'};
          const std::string_view s(seq, sizeof seq);
          ASSERT_EQ(Sanitized(s), SanitizedReference(s)) << lead << " " << second << " " << int{third} << " "
                                                         << int{fourth};
          // Truncated by the end of the input.
          ASSERT_EQ(Sanitized(s.substr(0, 3)), SanitizedReference(s.substr(0, 3)));
          ASSERT_EQ(Sanitized(s.substr(0, 4)), SanitizedReference(s.substr(0, 4)));
        }
      }
    }
  }
}

TEST(JsonEscapeSanitize, RandomBytesAlwaysGiveJsonAStrictParserAccepts) {
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 64, '\0');
    for (char& ch : s) {
      unsigned v = rng() % 256;
      // Mostly UTF-8-ish bytes, so valid sequences occur too.
      ch = static_cast<char>(i % 3 == 0 ? v : (v < 128 ? 'a' + v % 26 : 0x80 + v % 0x75));
    }
    ASSERT_EQ(Sanitized(s), SanitizedReference(s));
    std::string doc;
    AppendJsonString(doc, s, Utf8::kSanitize);
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(doc)) << doc;
    // Valid input survives unchanged.
    if (doc.find("\\ufffd") == std::string::npos) {
      EXPECT_EQ(parsed.get<std::string>(), s);
    }
  }
}

TEST(JsonEscapeSanitize, PassThroughModeIsTheDefaultFastPath) {
  const std::string s = "\xff\x80 \"q\" \xc3\xbc";
  std::string a, b;
  AppendJsonEscaped(a, s);
  AppendJsonEscaped(b, s, Utf8::kPassThrough);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, "\xff\x80 \\\"q\\\" \xc3\xbc");
}

TEST(JsonEscape, AppendsToExistingContent) {
  std::string out = R"({"msg":)";
  AppendJsonString(out, "a\"b");
  out += "}";
  EXPECT_EQ(out, R"({"msg":"a\"b"})");
}

}  // namespace
}  // namespace invar
