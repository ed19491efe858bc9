// SPDX-License-Identifier: Apache-2.0
// Condition parser and compiler (see condition.h). The grammar follows
// libsinsp's filter language:
//   expr    := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | primary
//   primary := "(" expr ")" | check | macro
//   check   := field op value | field op "(" items ")" | field "exists"
//   field   := name("." name)+ ["[" arg "]"] | transformer "(" field ")"
//   value   := '"'...'"' | "'"...'"' | bare word (no spaces, quotes, parens, '=' or ',')
#include "condition.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <unordered_set>

#include "sv_hash.h"

namespace invar::rules::internal {
namespace {

constexpr std::array<std::string_view, 13> kWordOps = {
    "contains", "icontains", "startswith", "endswith", "glob",        "iglob",      "pmatch",
    "in",       "intersects", "exists",    "regex",    "bcontains", "bstartswith"};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}
bool IsBareChar(char c) {
  return !IsSpace(c) && c != '(' && c != ')' && c != '"' && c != '\'' && c != '=' && c != ',';
}

class Parser {
 public:
  Parser(std::string_view text, const ListLookup& lists, ConditionError* error)
      : text_(text), lists_(lists), error_(error) {}

  std::optional<AstPtr> Parse() {
    SkipSpace();
    if (AtEnd()) return Fail("empty condition", pos_);
    auto e = ParseOr(0);
    if (!e) return std::nullopt;
    SkipSpace();
    if (!AtEnd()) {
      if (text_[pos_] == ')') return Fail("unexpected ')' without a matching '('", pos_);
      return Fail("unexpected token '" + std::string(PeekToken()) + "' after expression", pos_);
    }
    return e;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }
  std::string_view PeekToken() const {
    size_t end = pos_;
    while (end < text_.size() && !IsSpace(text_[end]) && end - pos_ < 32) ++end;
    return text_.substr(pos_, std::max<size_t>(end - pos_, 1));
  }
  std::nullopt_t Fail(std::string message, size_t pos) {
    if (!failed_) {
      error_->message = std::move(message);
      error_->pos = pos;
      failed_ = true;
    }
    return std::nullopt;
  }
  // True (and consumes it) if the next word is `kw` followed by a non-word character.
  bool AcceptKeyword(std::string_view kw) {
    SkipSpace();
    if (text_.substr(pos_, kw.size()) != kw) return false;
    size_t end = pos_ + kw.size();
    if (end < text_.size() && IsWordChar(text_[end])) return false;
    pos_ = end;
    return true;
  }

  std::optional<AstPtr> ParseOr(int depth) {
    if (depth > kMaxDepth) return Fail("exceeded the maximum nesting depth of " + std::to_string(kMaxDepth), pos_);
    std::vector<AstPtr> terms;
    auto first = ParseAnd(depth);
    if (!first) return std::nullopt;
    terms.push_back(*first);
    while (AcceptKeyword("or")) {
      auto next = ParseAnd(depth);
      if (!next) return std::nullopt;
      terms.push_back(*next);
    }
    if (terms.size() == 1) return terms[0];
    return MakeNode(Ast::Kind::kOr, std::move(terms));
  }

  std::optional<AstPtr> ParseAnd(int depth) {
    std::vector<AstPtr> terms;
    auto first = ParseNot(depth);
    if (!first) return std::nullopt;
    terms.push_back(*first);
    while (AcceptKeyword("and")) {
      auto next = ParseNot(depth);
      if (!next) return std::nullopt;
      terms.push_back(*next);
    }
    if (terms.size() == 1) return terms[0];
    return MakeNode(Ast::Kind::kAnd, std::move(terms));
  }

  std::optional<AstPtr> ParseNot(int depth) {
    if (depth > kMaxDepth) return Fail("exceeded the maximum nesting depth of " + std::to_string(kMaxDepth), pos_);
    if (AcceptKeyword("not")) {
      auto inner = ParseNot(depth + 1);
      if (!inner) return std::nullopt;
      return MakeNode(Ast::Kind::kNot, {*inner});
    }
    return ParsePrimary(depth);
  }

  std::optional<AstPtr> ParsePrimary(int depth) {
    SkipSpace();
    if (AtEnd()) return Fail("unexpected end of condition, expected a field, a macro or '('", pos_);
    size_t start = pos_;
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      auto inner = ParseOr(depth + 1);
      if (!inner) return std::nullopt;
      SkipSpace();
      if (AtEnd() || text_[pos_] != ')') {
        if (AtEnd()) return Fail("missing ')': unbalanced parentheses", pos_);
        return Fail("expected ')' but found '" + std::string(PeekToken()) + "'", pos_);
      }
      ++pos_;
      return inner;
    }
    if (!IsWordStart(c)) return Fail("unexpected token '" + std::string(PeekToken()) + "', expected a field, a macro or '('", pos_);
    std::string word = ReadWord();
    if (word == "and" || word == "or") return Fail("unexpected keyword '" + word + "'", start);
    // transformer(field)
    if (!AtEnd() && text_[pos_] == '(' && FindTransformer(word)) {
      ++pos_;
      SkipSpace();
      if (AtEnd() || !IsWordStart(text_[pos_])) return Fail("expected a field inside " + word + "()", pos_);
      size_t fstart = pos_;
      std::string field = ReadWord();
      if (field.find('.') == std::string::npos) return Fail("expected a field inside " + word + "(), found '" + field + "'", fstart);
      auto check = std::make_shared<Ast>();
      check->pos = start;
      check->field = std::move(field);
      check->transformer = word;
      if (!ReadFieldArg(check.get())) return std::nullopt;
      SkipSpace();
      if (AtEnd() || text_[pos_] != ')') return Fail("missing ')' after transformed field", pos_);
      ++pos_;
      if (!ReadOperatorAndValue(check.get())) return std::nullopt;
      return check;
    }
    if (word.find('.') == std::string::npos) {
      // A macro reference.
      auto m = std::make_shared<Ast>();
      m->kind = Ast::Kind::kMacro;
      m->name = std::move(word);
      m->pos = start;
      return m;
    }
    auto check = std::make_shared<Ast>();
    check->pos = start;
    check->field = std::move(word);
    if (!ReadFieldArg(check.get())) return std::nullopt;
    if (!ReadOperatorAndValue(check.get())) return std::nullopt;
    return check;
  }

  std::string ReadWord() {
    size_t start = pos_;
    while (!AtEnd() && IsWordChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  bool ReadFieldArg(Ast* check) {
    if (AtEnd() || text_[pos_] != '[') return true;
    size_t start = ++pos_;
    while (!AtEnd() && text_[pos_] != ']') ++pos_;
    if (AtEnd()) {
      Fail("missing ']' after field argument", start);
      return false;
    }
    check->field_arg = std::string(text_.substr(start, pos_ - start));
    ++pos_;
    return true;
  }

  bool ReadOperatorAndValue(Ast* check) {
    SkipSpace();
    size_t op_pos = pos_;
    std::string op;
    if (!AtEnd()) {
      static constexpr std::array<std::string_view, 7> kSymbolic = {"==", "!=", "<=", ">=", "=", "<", ">"};
      for (std::string_view s : kSymbolic) {
        if (text_.substr(pos_, s.size()) == s) {
          op = std::string(s);
          pos_ += s.size();
          break;
        }
      }
      if (op.empty() && IsWordStart(text_[pos_])) {
        size_t save = pos_;
        std::string w = ReadWord();
        if (CanonicalOperator(w)) {
          op = std::move(w);
        } else {
          pos_ = save;
          Fail("unknown operator '" + w + "' after field '" + check->field + "'", op_pos);
          return false;
        }
      }
    }
    if (op.empty()) {
      Fail("expected an operator after field '" + check->field + "'", op_pos);
      return false;
    }
    check->op = *CanonicalOperator(op);
    if (check->op == "exists") return true;
    SkipSpace();
    if (IsListOperator(check->op)) {
      if (AtEnd() || text_[pos_] != '(') {
        Fail("expected '(' and a list of values after '" + check->op + "'", pos_);
        return false;
      }
      return ReadList(check);
    }
    std::string v;
    if (!ReadValue(&v, /*in_list=*/false)) return false;
    check->values.push_back(std::move(v));
    return true;
  }

  bool ReadList(Ast* check) {
    ++pos_;  // '('
    SkipSpace();
    if (!AtEnd() && text_[pos_] == ')') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      size_t item_pos = pos_;
      bool quoted = !AtEnd() && (text_[pos_] == '"' || text_[pos_] == '\'');
      std::string v;
      if (!ReadValue(&v, /*in_list=*/true)) return false;
      const std::vector<std::string>* expanded = quoted ? nullptr : lists_(v);
      if (expanded != nullptr) {
        check->values.insert(check->values.end(), expanded->begin(), expanded->end());
      } else {
        check->values.push_back(std::move(v));
      }
      (void)item_pos;
      SkipSpace();
      if (AtEnd()) {
        Fail("missing ')': unbalanced parentheses in value list", pos_);
        return false;
      }
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ')') {
        ++pos_;
        return true;
      }
      Fail("expected ',' or ')' in value list but found '" + std::string(PeekToken()) + "'", pos_);
      return false;
    }
  }

  bool ReadValue(std::string* out, bool in_list) {
    SkipSpace();
    if (AtEnd()) {
      Fail("unexpected end of condition, expected a value", pos_);
      return false;
    }
    char q = text_[pos_];
    if (q == '"' || q == '\'') {
      size_t start = pos_++;
      while (!AtEnd() && text_[pos_] != q) {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
          char n = text_[pos_ + 1];
          if (n == q || n == '\\') {
            out->push_back(n);
            pos_ += 2;
            continue;
          }
        }
        out->push_back(text_[pos_++]);
      }
      if (AtEnd()) {
        Fail("unterminated quoted string", start);
        return false;
      }
      ++pos_;
      return true;
    }
    size_t start = pos_;
    while (!AtEnd() && IsBareChar(text_[pos_])) ++pos_;
    if (pos_ == start) {
      Fail(std::string(in_list ? "expected a list item" : "expected a value") + " but found '" +
               std::string(PeekToken()) + "'",
           pos_);
      return false;
    }
    out->assign(text_.substr(start, pos_ - start));
    return true;
  }

  std::string_view text_;
  const ListLookup& lists_;
  ConditionError* error_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------
// Predicates

class ConstPred final : public Pred {
 public:
  explicit ConstPred(bool v) : v_(v) {}
  bool Eval(const Event&) const override { return v_; }
  int Cost() const override { return 0; }

 private:
  bool v_;
};

// And/Or keep owning pointers and evaluate through a flat array of raw ones.
template <bool kIsAnd>
class JunctionPred final : public Pred {
 public:
  // Children are reordered cheapest first: checks have no side effects, so
  // the result is the same and the expensive ones (regex, glob) run last.
  explicit JunctionPred(std::vector<PredPtr> c) : owned_(std::move(c)) {
    std::stable_sort(owned_.begin(), owned_.end(),
                     [](const PredPtr& a, const PredPtr& b) { return a->Cost() < b->Cost(); });
    for (const auto& p : owned_) {
      raw_.push_back(p.get());
      cost_ += p->Cost();
    }
  }
  int Cost() const override { return cost_; }
  bool Eval(const Event& e) const override {
    for (const Pred* p : raw_) {
      if (p->Eval(e) != kIsAnd) return !kIsAnd;
    }
    return kIsAnd;
  }
  const std::vector<PredPtr>& children() const { return owned_; }

 private:
  std::vector<PredPtr> owned_;
  std::vector<const Pred*> raw_;
  int cost_ = 0;
};
using AndPred = JunctionPred<true>;
using OrPred = JunctionPred<false>;

class NotPred final : public Pred {
 public:
  explicit NotPred(PredPtr c) : c_(std::move(c)) {}
  bool Eval(const Event& e) const override { return !c_->Eval(e); }
  int Cost() const override { return c_->Cost(); }
  const PredPtr& child() const { return c_; }

 private:
  PredPtr c_;
};

using StringSet = std::unordered_set<std::string, SvHash, SvEq>;  // sv_hash.h

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
std::string ToLower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = Lower(c);
  return r;
}

// Reads a string field: through the resolved member pointer when there is one
// (the common case), else through the generic accessor.
class StringReader {
 public:
  explicit StringReader(const FieldRef& f) : f_(f), acc_(f.transformer == Transformer::kNone ? AccessorFor(f.info->id) : StringAccessor{}) {}
  // `scratch` is only touched for transformed fields.
  bool Read(const Event& e, std::string_view* out, std::string* scratch) const {
    if (acc_.plain != nullptr) {
      *out = e.*acc_.plain;
      return true;
    }
    if (acc_.optional != nullptr) {
      const auto& v = e.*acc_.optional;
      if (!v) return false;
      *out = *v;
      return true;
    }
    if (f_.transformer == Transformer::kNone) return GetRawString(e, f_, out);
    return GetString(e, f_, out, scratch);
  }
  bool transformed() const { return f_.transformer != Transformer::kNone; }

 private:
  FieldRef f_;
  StringAccessor acc_;
};

enum class StrOp { kEq, kNe, kContains, kIContains, kStartsWith, kEndsWith, kGlob, kIGlob };

// String comparisons. The plain (untransformed) fields take the fast path.
template <StrOp kOp>
class StrPred final : public Pred {
 public:
  StrPred(FieldRef f, std::string v) : f_(std::move(f)), reader_(f_), v_(std::move(v)) {
    if (kOp == StrOp::kIContains || kOp == StrOp::kIGlob) v_ = ToLower(v_);
  }
  bool Eval(const Event& e) const override {
    std::string_view s;
    if (!reader_.transformed()) return reader_.Read(e, &s, nullptr) && Compare(s);
    std::string scratch;
    return reader_.Read(e, &s, &scratch) && Compare(s);
  }
  bool DependsOnlyOnEventType() const override { return f_.info->id == FieldId::kEvtType; }
  int Cost() const override {
    int base = reader_.transformed() ? 4 : 0;
    switch (kOp) {
      case StrOp::kEq:
      case StrOp::kNe:
      case StrOp::kStartsWith:
      case StrOp::kEndsWith: return base + 2;
      case StrOp::kContains: return base + 5;
      case StrOp::kIContains: return base + 6;
      case StrOp::kGlob: return base + 6;
      case StrOp::kIGlob: return base + 7;
    }
    return base + 5;
  }

 private:
  bool Compare(std::string_view s) const {
    if constexpr (kOp == StrOp::kEq) return s == v_;
    if constexpr (kOp == StrOp::kNe) return s != v_;
    if constexpr (kOp == StrOp::kContains) return s.find(v_) != std::string_view::npos;
    if constexpr (kOp == StrOp::kIContains) {
      if (v_.size() > s.size()) return false;
      auto it = std::search(s.begin(), s.end(), v_.begin(), v_.end(), [](char a, char b) { return Lower(a) == b; });
      return it != s.end() || v_.empty();
    }
    if constexpr (kOp == StrOp::kStartsWith) return s.starts_with(v_);
    if constexpr (kOp == StrOp::kEndsWith) return s.ends_with(v_);
    if constexpr (kOp == StrOp::kGlob) return GlobMatch(v_, s);
    if constexpr (kOp == StrOp::kIGlob) return GlobMatch(v_, ToLower(s));
    return false;
  }

  FieldRef f_;
  StringReader reader_;
  std::string v_;
};

PredPtr MakeStrPred(const FieldRef& f, StrOp op, const std::string& v) {
  switch (op) {
    case StrOp::kEq: return std::make_shared<StrPred<StrOp::kEq>>(f, v);
    case StrOp::kNe: return std::make_shared<StrPred<StrOp::kNe>>(f, v);
    case StrOp::kContains: return std::make_shared<StrPred<StrOp::kContains>>(f, v);
    case StrOp::kIContains: return std::make_shared<StrPred<StrOp::kIContains>>(f, v);
    case StrOp::kStartsWith: return std::make_shared<StrPred<StrOp::kStartsWith>>(f, v);
    case StrOp::kEndsWith: return std::make_shared<StrPred<StrOp::kEndsWith>>(f, v);
    case StrOp::kGlob: return std::make_shared<StrPred<StrOp::kGlob>>(f, v);
    case StrOp::kIGlob: return std::make_shared<StrPred<StrOp::kIGlob>>(f, v);
  }
  return nullptr;
}

class StrInPred final : public Pred {
 public:
  StrInPred(FieldRef f, const std::vector<std::string>& values)
      : f_(std::move(f)), reader_(f_), set_(values.begin(), values.end()) {
    for (const auto& v : set_) {
      min_len_ = std::min(min_len_, v.size());
      max_len_ = std::max(max_len_, v.size());
    }
  }
  bool Eval(const Event& e) const override {
    std::string_view s;
    if (!reader_.transformed()) return reader_.Read(e, &s, nullptr) && Contains(s);
    std::string scratch;
    return reader_.Read(e, &s, &scratch) && Contains(s);
  }
  bool DependsOnlyOnEventType() const override { return f_.info->id == FieldId::kEvtType; }
  int Cost() const override { return 4; }

 private:
  bool Contains(std::string_view s) const {
    // Most values miss by length alone, before any hashing (as libsinsp does).
    if (s.size() < min_len_ || s.size() > max_len_) return false;
    return set_.find(s) != set_.end();
  }
  FieldRef f_;
  StringReader reader_;
  StringSet set_;
  size_t min_len_ = SIZE_MAX;
  size_t max_len_ = 0;
};

std::string_view TrimTrailingSlashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

// pmatch: the path equals one of the prefixes or lies below one of them
// (component-wise: /etc matches /etc and /etc/passwd, not /etcx). Each
// ancestor of the path is one hash lookup.
class PathMatchPred final : public Pred {
 public:
  PathMatchPred(FieldRef f, const std::vector<std::string>& values) : f_(std::move(f)) {
    for (const auto& v : values) set_.emplace(TrimTrailingSlashes(v));
  }
  bool Eval(const Event& e) const override {
    std::string scratch;
    std::string_view s;
    if (!GetString(e, f_, &s, &scratch) || set_.empty()) return false;
    s = TrimTrailingSlashes(s);
    while (true) {
      if (set_.find(s) != set_.end()) return true;
      size_t slash = s.rfind('/');
      if (slash == std::string_view::npos) return false;
      if (slash == 0) return s.size() > 1 && set_.find(std::string_view("/")) != set_.end();
      s = s.substr(0, slash);
    }
  }
  bool DependsOnlyOnEventType() const override { return f_.info->id == FieldId::kEvtType; }

 private:
  FieldRef f_;
  StringSet set_;
};

class RegexPred final : public Pred {
 public:
  RegexPred(FieldRef f, std::unique_ptr<re2::RE2> re) : f_(std::move(f)), reader_(f_), re_(std::move(re)) {
    // Every string the (start-anchored) regex can match lies in [min_, max_]:
    // most values are rejected by two comparisons, without running RE2.
    has_range_ = re_->PossibleMatchRange(&min_, &max_, 16);
  }
  bool Eval(const Event& e) const override {
    std::string scratch;
    std::string_view s;
    if (!reader_.Read(e, &s, &scratch)) return false;
    if (has_range_ && (s < min_ || s > max_)) return false;
    return re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *re_);
  }
  int Cost() const override { return 10; }
  bool DependsOnlyOnEventType() const override { return f_.info->id == FieldId::kEvtType; }

 private:
  FieldRef f_;
  StringReader reader_;
  std::unique_ptr<re2::RE2> re_;
  bool has_range_ = false;
  std::string min_, max_;
};

enum class NumOp { kEq, kNe, kLt, kLe, kGt, kGe };

class IntPred final : public Pred {
 public:
  IntPred(FieldId id, NumOp op, std::int64_t v) : id_(id), op_(op), v_(v) {}
  int Cost() const override { return 1; }
  bool Eval(const Event& e) const override {
    std::int64_t x = 0;
    if (!GetInt(e, id_, &x)) return false;
    switch (op_) {
      case NumOp::kEq: return x == v_;
      case NumOp::kNe: return x != v_;
      case NumOp::kLt: return x < v_;
      case NumOp::kLe: return x <= v_;
      case NumOp::kGt: return x > v_;
      case NumOp::kGe: return x >= v_;
    }
    return false;
  }

 private:
  FieldId id_;
  NumOp op_;
  std::int64_t v_;
};

class IntInPred final : public Pred {
 public:
  IntInPred(FieldId id, std::vector<std::int64_t> v) : id_(id), v_(std::move(v)) {}
  bool Eval(const Event& e) const override {
    std::int64_t x = 0;
    if (!GetInt(e, id_, &x)) return false;
    return std::find(v_.begin(), v_.end(), x) != v_.end();
  }

 private:
  FieldId id_;
  std::vector<std::int64_t> v_;
};

class BoolPred final : public Pred {
 public:
  BoolPred(FieldId id, bool ne, std::vector<bool> values) : id_(id), ne_(ne), values_(std::move(values)) {}
  int Cost() const override { return 1; }
  bool Eval(const Event& e) const override {
    bool x = false;
    if (!GetBool(e, id_, &x)) return false;
    bool found = std::find(values_.begin(), values_.end(), x) != values_.end();
    return ne_ ? !found : found;
  }

 private:
  FieldId id_;
  bool ne_;
  std::vector<bool> values_;
};

class ExistsPred final : public Pred {
 public:
  explicit ExistsPred(FieldRef f) : f_(std::move(f)) {}
  bool Eval(const Event& e) const override {
    switch (f_.info->type) {
      case FieldType::kString: {
        std::string scratch;
        std::string_view s;
        return GetString(e, f_, &s, &scratch);
      }
      case FieldType::kInt: {
        std::int64_t x;
        return GetInt(e, f_.info->id, &x);
      }
      case FieldType::kBool: {
        bool b;
        return GetBool(e, f_.info->id, &b);
      }
      case FieldType::kList: return e.k8s_pod_labels.has_value();
    }
    return false;
  }

 private:
  FieldRef f_;
};

// k8s.pod.labels: a list of "key:value". `in`: every label is in the set;
// `intersects`: at least one is.
class LabelsPred final : public Pred {
 public:
  LabelsPred(bool intersects, const std::vector<std::string>& values)
      : intersects_(intersects), set_(values.begin(), values.end()) {}
  bool Eval(const Event& e) const override {
    if (!e.k8s_pod_labels) return false;
    std::string kv;
    for (const auto& [k, v] : *e.k8s_pod_labels) {
      kv.assign(k);
      kv.push_back(':');
      kv += v;
      bool in = set_.find(kv) != set_.end();
      if (intersects_ && in) return true;
      if (!intersects_ && !in) return false;
    }
    return !intersects_;
  }

 private:
  bool intersects_;
  StringSet set_;
};

PredPtr Const(bool v) {
  static const PredPtr kTrue = std::make_shared<ConstPred>(true);
  static const PredPtr kFalse = std::make_shared<ConstPred>(false);
  return v ? kTrue : kFalse;
}

// a and (b and c) -> a and b and c: one loop instead of nested calls.
// Only small children are spliced: splicing copies pointers, and a chain of
// macros each splicing the previous one would otherwise grow quadratically.
constexpr std::size_t kMaxSpliced = 32;

void AppendFlattened(bool is_and, const PredPtr& p, std::vector<PredPtr>* out) {
  if (is_and) {
    if (auto* a = dynamic_cast<const AndPred*>(p.get()); a != nullptr && a->children().size() <= kMaxSpliced) {
      out->insert(out->end(), a->children().begin(), a->children().end());
      return;
    }
  } else if (auto* o = dynamic_cast<const OrPred*>(p.get()); o != nullptr && o->children().size() <= kMaxSpliced) {
    out->insert(out->end(), o->children().begin(), o->children().end());
    return;
  }
  out->push_back(p);
}

Compiled MakeConst(bool v) { return Compiled{Const(v), v ? TypeSet::All() : TypeSet::None(), v}; }

TypeSet Intersect(const TypeSet& a, const TypeSet& b) {
  if (a.all) return b;
  if (b.all) return a;
  TypeSet r = TypeSet::None();
  std::set_intersection(a.names.begin(), a.names.end(), b.names.begin(), b.names.end(),
                        std::inserter(r.names, r.names.end()));
  return r;
}

TypeSet Union(const TypeSet& a, const TypeSet& b) {
  if (a.all || b.all) return TypeSet::All();
  TypeSet r = a;
  r.names.insert(b.names.begin(), b.names.end());
  return r;
}

bool ParseInt(std::string_view s, std::int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseBool(std::string_view s, bool* out) {
  std::string l = ToLower(s);
  if (l == "true") {
    *out = true;
    return true;
  }
  if (l == "false") {
    *out = false;
    return true;
  }
  return false;
}

std::optional<Compiled> CompileCheck(const Ast& a, ConditionError* error) {
  auto fail = [&](std::string msg, bool unknown = false) -> std::optional<Compiled> {
    error->message = std::move(msg);
    error->pos = a.pos;
    error->unknown_field = unknown;
    return std::nullopt;
  };
  FieldRef f;
  f.info = FindField(a.field);
  if (f.info == nullptr) return fail("filter_check called with nonexistent field " + a.field, true);
  if (f.info->takes_arg && !a.field_arg) return fail("filter " + a.field + " requires an argument: " + a.field + "[key]");
  if (!f.info->takes_arg && a.field_arg) return fail("filter " + a.field + " does not take an argument");
  if (a.field_arg) f.arg = *a.field_arg;
  if (!a.transformer.empty()) {
    if (f.info->type != FieldType::kString) {
      return fail("can't add field transformer: '" + a.transformer + "' supports only string fields, not '" +
                  a.field + "'");
    }
    f.transformer = *FindTransformer(a.transformer);
  }
  const std::string& op = a.op;
  const std::string shown = f.ToString();
  Compiled c;
  c.types = TypeSet::All();
  if (f.info->id == FieldId::kEvtType && f.transformer == Transformer::kNone &&
      (op == "=" || op == "in" || op == "intersects")) {
    c.types = TypeSet::None();
    c.types.names.insert(a.values.begin(), a.values.end());
  }
  if (op == "exists") {
    c.pred = std::make_shared<ExistsPred>(f);
    return c;
  }
  bool list_op = IsListOperator(op);
  if (list_op && a.values.empty()) return MakeConst(false);  // x in () never holds
  switch (f.info->type) {
    case FieldType::kList: {
      if (op != "in" && op != "intersects") {
        return fail("list filter '" + shown + "' only supports operators 'exists', 'in' and 'intersects'");
      }
      c.pred = std::make_shared<LabelsPred>(op == "intersects", a.values);
      return c;
    }
    case FieldType::kString: {
      if (op == "in" || op == "intersects") {
        c.pred = std::make_shared<StrInPred>(f, a.values);
        return c;
      }
      if (op == "pmatch") {
        c.pred = std::make_shared<PathMatchPred>(f, a.values);
        return c;
      }
      const std::string& v = a.values.at(0);
      if (op == "regex") {
        re2::RE2::Options opts;
        opts.set_log_errors(false);
        auto re = std::make_unique<re2::RE2>(v, opts);
        if (!re->ok()) return fail("invalid regular expression '" + v + "': " + re->error());
        c.pred = std::make_shared<RegexPred>(f, std::move(re));
        return c;
      }
      StrOp sop;
      if (op == "=") sop = StrOp::kEq;
      else if (op == "!=") sop = StrOp::kNe;
      else if (op == "contains" || op == "bcontains") sop = StrOp::kContains;
      else if (op == "icontains") sop = StrOp::kIContains;
      else if (op == "startswith" || op == "bstartswith") sop = StrOp::kStartsWith;
      else if (op == "endswith") sop = StrOp::kEndsWith;
      else if (op == "glob") sop = StrOp::kGlob;
      else if (op == "iglob") sop = StrOp::kIGlob;
      else return fail("operator '" + op + "' is not supported for string field '" + shown + "'");
      c.pred = MakeStrPred(f, sop, v);
      return c;
    }
    case FieldType::kInt: {
      std::vector<std::int64_t> nums;
      for (const auto& v : a.values) {
        std::int64_t n = 0;
        if (!ParseInt(v, &n)) return fail("invalid numeric value '" + v + "' for field '" + shown + "'");
        nums.push_back(n);
      }
      if (op == "in" || op == "intersects") {
        c.pred = std::make_shared<IntInPred>(f.info->id, std::move(nums));
        return c;
      }
      NumOp nop;
      if (op == "=") nop = NumOp::kEq;
      else if (op == "!=") nop = NumOp::kNe;
      else if (op == "<") nop = NumOp::kLt;
      else if (op == "<=") nop = NumOp::kLe;
      else if (op == ">") nop = NumOp::kGt;
      else if (op == ">=") nop = NumOp::kGe;
      else return fail("operator '" + op + "' is not supported for numeric field '" + shown + "'");
      c.pred = std::make_shared<IntPred>(f.info->id, nop, nums.at(0));
      return c;
    }
    case FieldType::kBool: {
      std::vector<bool> bools;
      for (const auto& v : a.values) {
        bool b = false;
        if (!ParseBool(v, &b)) return fail("invalid boolean value '" + v + "' for field '" + shown + "'");
        bools.push_back(b);
      }
      if (op != "=" && op != "!=" && op != "in" && op != "intersects") {
        return fail("operator '" + op + "' is not supported for boolean field '" + shown + "'");
      }
      c.pred = std::make_shared<BoolPred>(f.info->id, op == "!=", std::move(bools));
      return c;
    }
  }
  return fail("unsupported field type");
}

}  // namespace

std::optional<std::string> CanonicalOperator(std::string_view op) {
  if (op == "==") return std::string("=");
  static constexpr std::array<std::string_view, 6> kSym = {"=", "!=", "<", "<=", ">", ">="};
  for (auto s : kSym) {
    if (s == op) return std::string(op);
  }
  for (auto s : kWordOps) {
    if (s == op) return std::string(op);
  }
  return std::nullopt;
}

bool IsListOperator(std::string_view op) { return op == "in" || op == "intersects" || op == "pmatch"; }

std::optional<AstPtr> ParseCondition(std::string_view text, const ListLookup& lists, ConditionError* error) {
  Parser p(text, lists, error);
  return p.Parse();
}

AstPtr MakeCheck(std::string field, std::string op, std::vector<std::string> values) {
  auto a = std::make_shared<Ast>();
  a->kind = Ast::Kind::kCheck;
  // Accept "k8s.pod.label[app]" and "toupper(proc.name)" spelled as one string.
  std::string_view fv = field;
  size_t paren = fv.find('(');
  if (paren != std::string_view::npos && fv.ends_with(")")) {
    a->transformer = std::string(fv.substr(0, paren));
    fv = fv.substr(paren + 1, fv.size() - paren - 2);
  }
  size_t br = fv.find('[');
  if (br != std::string_view::npos && fv.ends_with("]")) {
    a->field_arg = std::string(fv.substr(br + 1, fv.size() - br - 2));
    fv = fv.substr(0, br);
  }
  a->field = std::string(fv);
  a->op = CanonicalOperator(op).value_or(op);
  a->values = std::move(values);
  return a;
}

AstPtr MakeNode(Ast::Kind kind, std::vector<AstPtr> children) {
  auto a = std::make_shared<Ast>();
  a->kind = kind;
  a->children = std::move(children);
  if (!a->children.empty()) a->pos = a->children[0]->pos;
  return a;
}

void CollectMacroRefs(const Ast& ast, std::vector<std::pair<std::string, std::size_t>>* out) {
  if (ast.kind == Ast::Kind::kMacro) out->emplace_back(ast.name, ast.pos);
  for (const auto& c : ast.children) CollectMacroRefs(*c, out);
}

namespace {
// Nesting of CompileAst, through macros too (a macro compiles inside the rule
// that uses it). Compilation runs on the loading thread only.
thread_local int compile_depth = 0;

struct DepthGuard {
  DepthGuard() { ++compile_depth; }
  ~DepthGuard() { --compile_depth; }
};

std::optional<Compiled> CheckSize(Compiled c, const Ast& ast, ConditionError* error) {
  if (c.size > kMaxExpandedSize) {
    error->message = "condition has more than " + std::to_string(kMaxExpandedSize) + " checks after macro expansion";
    error->pos = ast.pos;
    return std::nullopt;
  }
  return c;
}
}  // namespace

std::optional<Compiled> CompileAst(const Ast& ast, const MacroLookup& macros, ConditionError* error) {
  DepthGuard guard;
  if (compile_depth > kMaxCompileDepth) {
    error->message = "condition nesting exceeds " + std::to_string(kMaxCompileDepth) + " levels after macro expansion";
    error->pos = ast.pos;
    return std::nullopt;
  }
  switch (ast.kind) {
    case Ast::Kind::kCheck: {
      // Validate the operator here too: exceptions build checks directly.
      if (!CanonicalOperator(ast.op)) {
        error->message = "unknown operator '" + ast.op + "'";
        error->pos = ast.pos;
        return std::nullopt;
      }
      return CompileCheck(ast, error);
    }
    case Ast::Kind::kMacro: {
      const ConditionError* merr = nullptr;
      const Compiled* m = macros(ast.name, &merr);
      if (merr != nullptr) {
        *error = *merr;
        return std::nullopt;
      }
      if (m == nullptr) {
        error->message = "Undefined macro '" + ast.name + "' used in filter.";
        error->pos = ast.pos;
        return std::nullopt;
      }
      return *m;
    }
    case Ast::Kind::kNot: {
      auto inner = CompileAst(*ast.children.at(0), macros, error);
      if (!inner) return std::nullopt;
      if (inner->constant) return MakeConst(!*inner->constant);
      return Compiled{std::make_shared<NotPred>(inner->pred), TypeSet::All(), std::nullopt, inner->size + 1};
    }
    case Ast::Kind::kAnd:
    case Ast::Kind::kOr: {
      bool is_and = ast.kind == Ast::Kind::kAnd;
      std::vector<PredPtr> preds;
      TypeSet types = is_and ? TypeSet::All() : TypeSet::None();
      bool decided = false;
      std::uint64_t size = 1;
      for (const auto& child : ast.children) {
        auto c = CompileAst(*child, macros, error);
        if (!c) return std::nullopt;
        size = std::min<std::uint64_t>(size + c->size, kMaxExpandedSize + 1);
        if (size > kMaxExpandedSize) return CheckSize(Compiled{nullptr, TypeSet::All(), std::nullopt, size}, ast, error);
        if (decided) continue;
        if (c->constant) {
          if (*c->constant == is_and) continue;  // neutral element: drop it
          decided = true;                        // absorbing element: the whole node is constant
          continue;
        }
        types = is_and ? Intersect(types, c->types) : Union(types, c->types);
        AppendFlattened(is_and, c->pred, &preds);
      }
      if (decided) return MakeConst(!is_and);
      if (preds.empty()) return MakeConst(is_and);
      if (preds.size() == 1) return Compiled{preds[0], types, std::nullopt, size};
      PredPtr p = is_and ? PredPtr(std::make_shared<AndPred>(std::move(preds)))
                         : PredPtr(std::make_shared<OrPred>(std::move(preds)));
      return Compiled{p, types, std::nullopt, size};
    }
  }
  return std::nullopt;
}

PredPtr SpecializeForType(const PredPtr& pred, const std::string& type) {
  if (pred->DependsOnlyOnEventType()) {
    Event typed;
    typed.type = type;
    return Const(pred->Eval(typed));
  }
  if (auto* n = dynamic_cast<const NotPred*>(pred.get())) {
    PredPtr c = SpecializeForType(n->child(), type);
    if (auto* k = dynamic_cast<const ConstPred*>(c.get())) return Const(!k->Eval(Event{}));
    return c == n->child() ? pred : std::make_shared<NotPred>(c);
  }
  bool is_and = dynamic_cast<const AndPred*>(pred.get()) != nullptr;
  bool is_or = dynamic_cast<const OrPred*>(pred.get()) != nullptr;
  if (!is_and && !is_or) return pred;
  const auto& children = is_and ? static_cast<const AndPred*>(pred.get())->children()
                                : static_cast<const OrPred*>(pred.get())->children();
  std::vector<PredPtr> kept;
  bool changed = false;
  for (const auto& child : children) {
    PredPtr c = SpecializeForType(child, type);
    changed = changed || c != child;
    if (auto* k = dynamic_cast<const ConstPred*>(c.get())) {
      bool v = k->Eval(Event{});
      if (v == is_and) continue;  // neutral: drop
      return Const(!is_and);      // absorbing
    }
    AppendFlattened(is_and, c, &kept);
  }
  if (!changed) return pred;
  if (kept.empty()) return Const(is_and);
  if (kept.size() == 1) return kept[0];
  return is_and ? PredPtr(std::make_shared<AndPred>(std::move(kept))) : PredPtr(std::make_shared<OrPred>(std::move(kept)));
}

std::vector<PredPtr> Conjuncts(const PredPtr& pred) {
  if (auto* a = dynamic_cast<const AndPred*>(pred.get())) return a->children();
  return {pred};
}

PredPtr MakeAnd(std::vector<PredPtr> preds) {
  if (preds.empty()) return Const(true);
  if (preds.size() == 1) return preds[0];
  return std::make_shared<AndPred>(std::move(preds));
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  auto class_match = [&](size_t pi, char c, size_t* next) -> bool {
    // pattern[pi] == '['
    size_t i = pi + 1;
    bool negate = false;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
      negate = true;
      ++i;
    }
    bool matched = false;
    bool first = true;
    while (i < pattern.size() && (first || pattern[i] != ']')) {
      first = false;
      char lo = pattern[i];
      if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
        char hi = pattern[i + 2];
        if (lo <= c && c <= hi) matched = true;
        i += 3;
      } else {
        if (lo == c) matched = true;
        ++i;
      }
    }
    if (i >= pattern.size()) {  // no closing ']': '[' is a literal
      *next = pi + 1;
      return c == '[';
    }
    *next = i + 1;
    return matched != negate;
  };
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t next = 0;
        if (class_match(p, text[t], &next)) {
          p = next;
          ++t;
          continue;
        }
      } else if (pc == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace invar::rules::internal
