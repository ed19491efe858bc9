// SPDX-License-Identifier: Apache-2.0
// docs/rules.md cannot drift from the engine: every field the engine knows is
// in its field table, and every field the table lists is known.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "fields.h"

namespace invar::rules::internal {
namespace {

TEST(Docs, FieldTableMatchesTheEngine) {
  std::ifstream in(std::string(INVAR_SOURCE_DIR) + "/docs/rules.md");
  ASSERT_TRUE(in) << "docs/rules.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  std::size_t start = doc.find("## Fields");
  std::size_t end = doc.find("\n## ", start + 1);
  ASSERT_NE(start, std::string::npos);
  std::string table = doc.substr(start, end - start);
  std::set<std::string> documented;
  std::regex row(R"(\n\| `([a-z0-9_.]+)(\[key\])?` \|)");
  for (auto it = std::sregex_iterator(table.begin(), table.end(), row); it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1]);
  }
  std::size_t count = 0;
  const FieldInfo* fields = AllFields(&count);
  std::set<std::string> known;
  for (std::size_t i = 0; i < count; ++i) known.insert(std::string(fields[i].name));
  EXPECT_EQ(documented, known);
}

}  // namespace
}  // namespace invar::rules::internal
