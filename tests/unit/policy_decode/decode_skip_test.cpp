// SPDX-License-Identifier: Apache-2.0
// JsonAdapter::SkipContainer() (decode_json_adapter.h) steps over objects and
// arrays the schema does not read on simdjson's structural index itself,
// instead of letting on-demand's skip_child() walk them token by token. It
// must leave the iterator exactly where skip_child() would, for every input:
// these tests walk documents twice — once with simdjson's own skipping, once
// with SkipContainer() before every advance — and compare everything the walk
// observes (keys, the byte offset of every value, errors, where the walk
// ends). Inputs: hand-picked edge cases (mismatched and missing brackets,
// brackets in strings, empty containers, skips at the end of the document)
// and 3000 generated documents, a third of them broken on purpose.
// The walk itself is in skip_walk.h (shared with the fuzz_decode_json
// fuzzer). Also StringMap's copy-on-write storage (model.h).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "invar/policy/decode.h"
#include "invar/policy/model.h"
#include "skip_walk.h"

namespace invar::policy {
namespace {

using skip_walk::WalkDocument;

void ExpectSameWalk(const std::string& json) {
  EXPECT_EQ(WalkDocument(json, /*fast=*/true), WalkDocument(json, /*fast=*/false)) << json;
}

TEST(SkipContainer, MatchesSimdjsonSkipOnEdgeCases) {
  const std::vector<std::string> cases = {
      R"({"a": {}, "b": [], "c": 1, "r": {"x": [1, 2, {"y": [3]}]}, "d": "}]"})",
      R"({"s": {"a": {"b": {"c": {"d": {"e": {"f": [[[[[[1]]]]]]}}}}}}, "r": {"k": 2}})",
      R"({"s": [{"a": 1}, {"b": [1, 2, 3, 4, 5, 6, 7, 8, 9]}], "after": true})",
      R"({"s": "[{not a bracket}]", "t": ["]", "}", "{", "["], "r": {}})",
      R"({"s": {"a": [1, 2}, "r": {"x": 1}})",         // mismatched closer, counted like skip_child
      R"({"s": {"a": [1, 2]]}, "r": {"x": 1}})",        // one closer too many
      R"({"s": {"a": [1, 2, {"b": 3}})",                 // runs off the end
      R"({"s": [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]})",
      R"({"s": [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]})",  // unbalanced by one
      R"({"s": [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]})",   // one short
      R"({"managedFields": [{"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}], "r": {"x": [1, {"y": 2}]}})",
      R"([{"a": 1}, {"r": [1, 2]}, [[[]]], {"b": [{}]}, 5])",
      R"({"s": {}})",
      R"({"s": []})",
      R"({"s": [}})",
      R"({"s": {]})",
      R"({"s": {"k\"]}": "\\"}, "r": {"q": "\"{"}})",
      R"({"s": {"a": 1} "r": 2})",                       // missing comma after a skipped object
      R"({"s": {"a": 1},, "r": 2})",
      R"({"s": {"a": 1}})" "  ",
      R"({"s": {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]}, "x": [[1], [2], [3], [4]]})",
  };
  for (const auto& c : cases) ExpectSameWalk(c);
}

// Random documents: nested objects and arrays with keys that are read ('r')
// or skipped, strings holding brackets and escapes; one in three is then
// damaged (a bracket dropped, swapped or added, or the text cut short).
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string Document() {
    std::string s;
    Value(s, 0);
    switch (Pick(3)) {
      case 0: Damage(s); break;
      default: break;
    }
    return s;
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  void Value(std::string& s, int depth) {
    int kind = depth > 12 ? 2 + Pick(3) : Pick(5);
    switch (kind) {
      case 0: {
        s += '{';
        int n = Pick(6);
        for (int i = 0; i < n; ++i) {
          if (i > 0) s += ", ";
          s += Pick(3) == 0 ? "\"r" : "\"s";
          s += std::to_string(i);
          s += "\": ";
          Value(s, depth + 1);
        }
        s += '}';
        break;
      }
      case 1: {
        s += '[';
        int n = Pick(7);
        for (int i = 0; i < n; ++i) {
          if (i > 0) s += ", ";
          Value(s, depth + 1);
        }
        s += ']';
        break;
      }
      case 2: s += std::to_string(Pick(1000)); break;
      case 3: s += Pick(2) == 0 ? "\"[{\\\"}]\"" : "\"x]\""; break;
      default: s += Pick(2) == 0 ? "true" : "null"; break;
    }
  }

  void Damage(std::string& s) {
    std::vector<size_t> brackets;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '{' || s[i] == '}' || s[i] == '[' || s[i] == ']') brackets.push_back(i);
    }
    if (brackets.empty()) return;
    size_t at = brackets[static_cast<size_t>(Pick(static_cast<int>(brackets.size())))];
    switch (Pick(4)) {
      case 0: s.erase(at, 1); break;
      case 1: s[at] = s[at] == '{' ? '[' : s[at] == '[' ? '{' : s[at] == '}' ? ']' : '}'; break;
      case 2: s.insert(at, 1, s[at]); break;
      default: s.resize(at); break;
    }
  }

  std::mt19937 rng_;
};

TEST(SkipContainer, MatchesSimdjsonSkipOnGeneratedDocuments) {
  Generator gen(20261127);
  for (int i = 0; i < 3000; ++i) {
    std::string doc = "{\"s\": ";
    std::string body = gen.Document();
    doc += body;
    doc += ", \"r\": ";
    doc += gen.Document();
    doc += ", \"t\": [";
    doc += gen.Document();
    doc += "]}";
    ExpectSameWalk(doc);
    ExpectSameWalk(body);
    if (HasFailure()) break;  // one readable failure is enough
  }
}

TEST(SkipContainer, LeavesDecodeResultsOfTheReviewAndBrokenCopiesUnchanged) {
  // The decoder skips managedFields, status, env, resources... with
  // SkipContainer(); a damaged skipped subtree must give the same errors as
  // before: these are the messages simdjson's skip_child() path produced.
  const std::string ok = R"({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "managedFields": [{"a": {"b": []}}]},
    "spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "X"}], "resources": {}}]}, "status": {"phase": "x"}})";
  Result<Workload> w = DecodeObjectJson(ok, 0);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->metadata.name, "p");
  ASSERT_EQ(w->spec.containers.size(), 1u);
  EXPECT_EQ(w->spec.containers[0].image, "i");

  // managedFields one closer short: the count closes it at metadata's '}',
  // so "spec" is read as a key of metadata and the root object then runs out
  // of tokens: the root's iterator reports it (no path). This is what
  // skip_child() gave: the walks above show both stop on the same token.
  const std::string short_closer = R"({"kind": "Pod", "metadata": {"managedFields": [{"a": {"b": []}], "name": "p"}, "spec": {}})";
  Result<Workload> bad = DecodeObjectJson(short_closer, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid JSON: The JSON document has an improper structure: missing or superfluous commas, braces, missing keys, etc.");
}

// ---- StringMap ---------------------------------------------------------------

TEST(StringMap, CopiesShareUntilOneIsWritten) {
  StringMap a;
  a.Set("app", "web");
  a.Set("kubectl.kubernetes.io/restartedAt", "2026-11-20T10:00:00Z");
  StringMap b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.entries().data(), b.entries().data());  // shared, not copied
  b.Set("app", "db");                                  // replaces in b only
  EXPECT_EQ(*a.Find("app"), "web");
  EXPECT_EQ(*b.Find("app"), "db");
  StringMap c = a;
  c.Set("tier", "front");  // adds in c only
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(a.Find("tier"), nullptr);
  EXPECT_NE(a, c);
}

TEST(StringMap, GrowsKeepsOrderAndMovesOut) {
  StringMap m;
  for (int i = 0; i < 20; ++i) m.Set("key-" + std::to_string(i), "value-" + std::to_string(i));
  m.Set("key-3", "three");
  ASSERT_EQ(m.size(), 20u);
  EXPECT_EQ(m.entries()[3].second, "three");
  EXPECT_EQ(m.entries()[19].first, "key-19");
  StringMap moved = std::move(m);
  EXPECT_EQ(moved.size(), 20u);
  EXPECT_TRUE(m.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(m.Find("key-1"), nullptr);
  m.Set("again", "1");
  EXPECT_EQ(*m.Find("again"), "1");
  EXPECT_EQ(StringMap(), StringMap());
}

}  // namespace
}  // namespace invar::policy
