// SPDX-License-Identifier: Apache-2.0
// Label selector parsing and matching for the test API server, following
// k8s.io/apimachinery/pkg/labels: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
// `k notin (a,b)`, `k` (exists), `!k` (does not exist), comma-separated.
// Pure, thread-safe.
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "invar/testing/api_server.h"

namespace invar::testing {
namespace {

bool IsLabelChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
}

struct Requirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist } op;
  std::string key;
  std::set<std::string> values;
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Result<std::vector<Requirement>> Parse() {
    std::vector<Requirement> out;
    SkipSpace();
    if (pos_ == s_.size()) return out;
    while (true) {
      auto req = ParseRequirement();
      if (!req.ok()) return req.status();
      out.push_back(std::move(*req));
      SkipSpace();
      if (pos_ == s_.size()) return out;
      if (s_[pos_] != ',') return Error("expected ','");
      ++pos_;
    }
  }

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("unable to parse requirement: " + what + " at position " +
                                   std::to_string(pos_) + " in \"" + s_ + "\"");
  }
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  std::string Word() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < s_.size() && IsLabelChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  Result<Requirement> ParseRequirement() {
    SkipSpace();
    Requirement req{};
    if (pos_ < s_.size() && s_[pos_] == '!') {
      ++pos_;
      req.key = Word();
      if (req.key.empty()) return Error("expected a key after '!'");
      req.op = Requirement::Op::kDoesNotExist;
      return req;
    }
    req.key = Word();
    if (req.key.empty()) return Error("expected a key");
    SkipSpace();
    if (pos_ == s_.size() || s_[pos_] == ',') {
      req.op = Requirement::Op::kExists;
      return req;
    }
    if (s_.compare(pos_, 2, "==") == 0) {
      pos_ += 2;
      req.op = Requirement::Op::kEquals;
    } else if (s_.compare(pos_, 2, "!=") == 0) {
      pos_ += 2;
      req.op = Requirement::Op::kNotEquals;
    } else if (s_[pos_] == '=') {
      ++pos_;
      req.op = Requirement::Op::kEquals;
    } else {
      std::string word = Word();
      if (word == "in") {
        req.op = Requirement::Op::kIn;
      } else if (word == "notin") {
        req.op = Requirement::Op::kNotIn;
      } else {
        return Error("expected an operator");
      }
      SkipSpace();
      if (pos_ == s_.size() || s_[pos_] != '(') return Error("expected '('");
      ++pos_;
      while (true) {
        std::string value = Word();
        req.values.insert(value);
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ')') {
          ++pos_;
          break;
        }
        return Error("expected ',' or ')'");
      }
      return req;
    }
    req.values.insert(Word());
    return req;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

Result<bool> MatchLabelSelector(const std::string& selector, const Json& labels) {
  auto reqs = Parser(selector).Parse();
  if (!reqs.ok()) return reqs.status();
  for (const auto& req : *reqs) {
    bool has = labels.is_object() && labels.contains(req.key) && labels[req.key].is_string();
    std::string value = has ? labels[req.key].get<std::string>() : "";
    bool ok = false;
    switch (req.op) {
      case Requirement::Op::kEquals: ok = has && req.values.count(value) > 0; break;
      case Requirement::Op::kNotEquals: ok = !has || req.values.count(value) == 0; break;
      case Requirement::Op::kIn: ok = has && req.values.count(value) > 0; break;
      case Requirement::Op::kNotIn: ok = !has || req.values.count(value) == 0; break;
      case Requirement::Op::kExists: ok = has; break;
      case Requirement::Op::kDoesNotExist: ok = !has; break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace invar::testing
