// SPDX-License-Identifier: Apache-2.0
// The rules loader: reads each YAML file (yaml-cpp) into lists, macros and
// rules, applying overrides and legacy appends in file order (the collect
// phase, as Falco's rule_loader::collector), then compiles everything once
// (Falco's rule_loader::compiler) with Falco's visibility rules:
//   - a list item naming a list defined earlier is replaced by its items;
//   - a macro sees the macros defined before it; a rule sees every macro;
//   - list names inside value lists of conditions see every list.
// Unlike Falco, which stops at the first error of a file, each item is checked
// on its own so every problem is reported. Called by Engine::Load; single
// threaded.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>

#include "condition.h"
#include "engine_impl.h"
#include "fields.h"
#include "output.h"

namespace invar::rules {
namespace {

using internal::Ast;
using internal::AstPtr;
using internal::Compiled;
using internal::ConditionError;

constexpr char kWarningAppend[] =
    "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
constexpr char kWarningEnabled[] =
    "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry "
    "under the 'override' key (i.e. 'enabled: replace').";
constexpr char kErrorOverrideAppend[] =
    "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: "
    "append') under 'override' instead.";
constexpr char kErrorNoPreviousMacro[] =
    "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists";
constexpr char kErrorNoPreviousList[] =
    "List uses 'append' or 'override.items: append' but no list by that name already exists";
constexpr char kErrorNoPreviousRuleAppend[] =
    "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists";
constexpr char kErrorNoPreviousRuleReplace[] =
    "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists";

struct Ctx {
  std::string file;
  int line = 0;
  int column = 0;
  std::string item_type;
  std::string item_name;
};

// Thrown inside the reader for one item; caught per item so the next item is still read.
struct ItemError {
  std::string code;
  std::string message;
  Ctx ctx;
};

Ctx At(const YAML::Node& node, const Ctx& parent) {
  Ctx c = parent;
  if (node.IsDefined()) {
    YAML::Mark m = node.Mark();
    if (m.line >= 0) {
      c.line = m.line + 1;
      c.column = m.column + 1;
    }
  }
  return c;
}

[[noreturn]] void Throw(std::string message, const Ctx& ctx, std::string code = "LOAD_ERR_YAML_VALIDATE") {
  throw ItemError{std::move(code), std::move(message), ctx};
}

// Falco's decode_val: required or optional scalar.
bool DecodeScalar(const YAML::Node& item, const char* key, std::string* out, const Ctx& ctx, bool optional) {
  const YAML::Node val = item[key];
  if (!val.IsDefined()) {
    if (optional) return false;
    Throw(std::string("Item has no mapping for key '") + key + "'", ctx);
  }
  if (val.IsNull()) Throw(std::string("Mapping for key '") + key + "' is empty", ctx);
  Ctx vctx = At(val, ctx);
  if (!val.IsScalar()) Throw("Value is not a scalar value", vctx);
  if (val.Scalar().empty()) Throw("Value must be non-empty", vctx);
  *out = val.Scalar();
  return true;
}

bool DecodeBool(const YAML::Node& item, const char* key, bool* out, const Ctx& ctx) {
  std::string s;
  if (!DecodeScalar(item, key, &s, ctx, true)) return false;
  if (!YAML::convert<bool>::decode(item[key], *out)) Throw("Can't decode YAML scalar value", At(item[key], ctx));
  return true;
}

std::vector<std::string> DecodeSeq(const YAML::Node& item, const char* key, const Ctx& ctx) {
  const YAML::Node val = item[key];
  if (!val.IsDefined()) Throw(std::string("Item has no mapping for key '") + key + "'", ctx);
  Ctx vctx = At(val, ctx);
  if (val.IsNull()) return {};
  if (!val.IsSequence()) Throw("Value is not a sequence", vctx);
  std::vector<std::string> out;
  for (const YAML::Node& v : val) {
    if (!v.IsScalar()) Throw("sequence value is not scalar", At(v, vctx));
    out.push_back(v.Scalar());
  }
  return out;
}

// A list item written with its own quotes ('"a b"', as Falco rules do for
// items with spaces) is the text between them.
std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// An exception's fields/comps/values entry: a scalar or a (nested) sequence.
struct Entry {
  bool is_list = false;
  std::string item;
  std::vector<Entry> items;
  bool valid = false;
};

Entry DecodeEntry(const YAML::Node& val, const Ctx& ctx) {
  Entry e;
  e.valid = true;
  if (val.IsScalar()) {
    if (val.Scalar().empty()) Throw("Value must be non-empty", At(val, ctx));
    e.item = val.Scalar();
  } else if (val.IsSequence()) {
    e.is_list = true;
    for (const YAML::Node& v : val) {
      if (!v.IsDefined() || v.IsNull()) Throw("Value must be non-empty", At(v, ctx));
      e.items.push_back(DecodeEntry(v, ctx));
    }
  } else {
    Throw("Value is not a scalar or a sequence", At(val, ctx));
  }
  return e;
}

struct ExceptionInfo {
  std::string name;
  Entry fields;
  Entry comps;
  std::vector<Entry> values;
  Ctx ctx;
};

struct ListInfo {
  std::string name;
  std::vector<std::string> items;
  Ctx ctx;
  std::size_t index = 0;
  std::size_t visibility = 0;
  bool used = false;
  std::vector<std::string> resolved;
};

struct MacroInfo {
  std::string name;
  std::string cond;
  Ctx ctx;
  Ctx cond_ctx;
  std::size_t index = 0;
  std::size_t visibility = 0;
  bool used = false;
  // compile state
  enum class State { kPending, kInProgress, kDone, kFailed } state = State::kPending;
  AstPtr ast;
  std::optional<Compiled> compiled;
  ConditionError error;
  bool error_reported_here = false;  // parse/undefined-macro errors belong to the macro itself
};

struct RuleDef {
  std::string name;
  std::string cond;
  std::string output;
  std::string desc;
  Priority priority = Priority::kDebug;
  std::set<std::string> tags;
  std::vector<ExceptionInfo> exceptions;
  bool enabled = true;
  bool skip_if_unknown_filter = false;
  bool warn_evttypes = true;
  Ctx ctx;
  Ctx cond_ctx;
  Ctx output_ctx;
  std::size_t index = 0;
  std::size_t visibility = 0;
};

template <typename T>
struct Indexed {
  std::vector<T> items;
  std::map<std::string, std::size_t, std::less<>> by_name;
  T* Find(std::string_view name) {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &items[it->second];
  }
  // Falco's define_info: a redefinition keeps the original position.
  void Define(T info, std::size_t id) {
    if (T* prev = Find(info.name)) {
      info.index = prev->index;
      info.visibility = id;
      *prev = std::move(info);
      return;
    }
    info.index = id;
    info.visibility = id;
    by_name[info.name] = items.size();
    items.push_back(std::move(info));
  }
};

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}
bool IsBareString(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return !std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')' && c != '"' && c != '\'' &&
           c != '=' && c != ',';
  });
}

int CompareVersions(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view v) {
    std::array<long, 3> p{0, 0, 0};
    for (int i = 0; i < 3 && !v.empty(); ++i) {
      size_t dot = v.find('.');
      std::string_view s = v.substr(0, dot);
      p[i] = std::strtol(std::string(s).c_str(), nullptr, 10);
      v = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
    }
    return p;
  };
  auto pa = parts(a), pb = parts(b);
  return pa < pb ? -1 : (pa > pb ? 1 : 0);
}

bool IsSemver(std::string_view v) {
  int dots = 0;
  bool digit = false;
  for (char c : v) {
    if (c == '.') {
      if (!digit) return false;
      ++dots;
      digit = false;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else {
      return false;
    }
  }
  return dots == 2 && digit;
}

class Loader {
 public:
  Loader(LoadResult* result, const EngineOptions& options) : res_(result), options_(options) {}

  void ReadFile(const RulesFile& file) {
    Ctx fctx{file.name, 0, 0, "rules content", ""};
    // yaml-cpp 0.7 (Debian 12) never returns, allocating without bound, when
    // a line starts with ',' in block context. No rules file needs that, so
    // such a line is refused before the parser sees it.
    for (size_t pos = 0, line = 1; pos < file.content.size(); ++line) {
      if (file.content[pos] == ',') {
        Ctx c = fctx;
        c.line = static_cast<int>(line);
        c.column = 1;
        Error("LOAD_ERR_YAML_PARSE", "a line may not start with ','", c);
        return;
      }
      size_t nl = file.content.find('\n', pos);
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(file.content);
    } catch (const YAML::ParserException& e) {
      Ctx c = fctx;
      c.line = e.mark.line + 1;
      c.column = e.mark.column + 1;
      Error("LOAD_ERR_YAML_PARSE", e.msg, c);
      return;
    } catch (const std::exception& e) {
      Error("LOAD_ERR_YAML_PARSE", e.what(), fctx);
      return;
    }
    for (const YAML::Node& doc : docs) {
      if (!doc.IsDefined() || doc.IsNull()) continue;
      if (!doc.IsSequence()) {
        Error("LOAD_ERR_YAML_VALIDATE",
              doc.IsMap() ? "Rules content is not yaml array of objects" : "Rules content is not yaml", At(doc, fctx));
        continue;
      }
      for (const YAML::Node& item : doc) {
        if (item.IsNull()) continue;
        try {
          ReadItem(item, fctx);
        } catch (const ItemError& e) {
          Error(e.code, e.message, e.ctx);
        } catch (const YAML::Exception& e) {
          Error("LOAD_ERR_YAML_VALIDATE", e.msg, At(item, fctx));
        }
      }
    }
  }

  std::unique_ptr<Engine::Impl> Compile();

 private:
  void Error(const std::string& code, const std::string& msg, const Ctx& c) {
    res_->AddError(code, msg, c.file, c.line, c.column, c.item_type, c.item_name);
  }
  void Warn(const std::string& code, const std::string& msg, const Ctx& c) {
    res_->AddWarning(code, msg, c.file, c.line, c.column, c.item_type, c.item_name);
  }

  void WarnUnknownKeys(const YAML::Node& item, const std::set<std::string>& known, const Ctx& ctx) {
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& key = it->first.Scalar();
      if (known.count(key) == 0) {
        Warn("LOAD_UNKNOWN_KEY", "Unknown key '" + key + "'. The key will be ignored.", At(it->first, ctx));
      }
    }
  }

  // Falco's decode_overrides.
  void DecodeOverrides(const YAML::Node& item, const std::set<std::string>& can_append,
                       const std::set<std::string>& can_replace, std::set<std::string>* out_append,
                       std::set<std::string>* out_replace, const Ctx& ctx) {
    const YAML::Node val = item["override"];
    if (!val.IsDefined()) return;
    Ctx octx = At(val, ctx);
    if (!val.IsMap()) Throw("Value of 'override' must be a mapping", octx);
    for (auto it = val.begin(); it != val.end(); ++it) {
      if (!it->first.IsScalar() || !it->second.IsScalar()) Throw("Value is not a scalar value", octx);
      const std::string key = it->first.Scalar();
      const std::string op = it->second.Scalar();
      Ctx kctx = At(it->first, ctx);
      bool a = can_append.count(key) > 0, r = can_replace.count(key) > 0;
      if (op == "append") {
        if (!a) Throw("Key '" + key + "' cannot be appended to, use 'replace' instead", kctx);
        out_append->insert(key);
      } else if (op == "replace") {
        if (!r) Throw("Key '" + key + "' cannot be replaced", kctx);
        out_replace->insert(key);
      } else {
        std::string msg = "Invalid override operation for key '" + key + "': '" + op + "'. Allowed values are: ";
        if (a) msg += "append ";
        if (r) msg += "replace ";
        Throw(msg, At(it->second, ctx));
      }
    }
  }

  std::vector<ExceptionInfo> ReadExceptions(const YAML::Node& item, const Ctx& parent, bool append) {
    std::vector<ExceptionInfo> out;
    const YAML::Node exs = item["exceptions"];
    if (!exs.IsDefined() || exs.IsNull()) return out;
    Ctx exs_ctx = At(exs, parent);
    if (!exs.IsSequence()) Throw("Rule exceptions must be a sequence", exs_ctx);
    for (const YAML::Node& ex : exs) {
      Ctx tmp = At(ex, exs_ctx);
      tmp.item_type = "exception";
      tmp.item_name.clear();
      if (!ex.IsMap()) Throw("Rule exception must be a mapping", tmp);
      std::string name;
      DecodeScalar(ex, "name", &name, tmp, false);
      ExceptionInfo info;
      info.name = name;
      info.ctx = tmp;
      info.ctx.item_name = name;
      for (const auto& prev : out) {
        if (prev.name == name) Throw("Exceptions names in the same object must be unique", info.ctx);
      }
      if (ex["fields"].IsDefined()) {
        info.fields = DecodeEntry(ex["fields"], info.ctx);
      } else if (!append) {
        Throw("Item has no mapping for key 'fields'", info.ctx);
      }
      if (ex["comps"].IsDefined()) info.comps = DecodeEntry(ex["comps"], info.ctx);
      const YAML::Node vals = ex["values"];
      if (vals.IsDefined()) {
        Ctx vctx = At(vals, info.ctx);
        if (!vals.IsSequence()) Throw("Rule exception values must be a sequence", vctx);
        for (const YAML::Node& v : vals) info.values.push_back(DecodeEntry(v, At(v, vctx)));
      } else if (append) {
        Warn("LOAD_APPEND_NO_VALUES", "Overriding/appending exception with no values", info.ctx);
      }
      out.push_back(std::move(info));
    }
    return out;
  }

  // Falco's validate_exception_info: defaults comps and checks shapes.
  void ValidateException(ExceptionInfo* ex) {
    if (ex->fields.is_list) {
      if (!ex->comps.valid) {
        ex->comps.valid = true;
        ex->comps.is_list = true;
        for (size_t i = 0; i < ex->fields.items.size(); ++i) ex->comps.items.push_back(Entry{false, "=", {}, true});
      }
      if (!ex->comps.is_list || ex->fields.items.size() != ex->comps.items.size()) {
        Throw("Fields and comps lists must have equal length", ex->ctx, "LOAD_ERR_VALIDATE");
      }
      for (const auto& c : ex->comps.items) {
        if (c.is_list || !internal::CanonicalOperator(c.item)) {
          Throw("'" + c.item + "' is not a supported comparison operator", ex->ctx, "LOAD_ERR_VALIDATE");
        }
      }
      for (const auto& f : ex->fields.items) {
        if (f.is_list || !KnownField(f.item)) {
          Throw("'" + f.item + "' is not a supported filter field", ex->ctx, "LOAD_ERR_VALIDATE");
        }
      }
    } else {
      if (!ex->comps.valid) ex->comps = Entry{false, "in", {}, true};
      if (ex->comps.is_list) {
        Throw("Rule exception comps property must be a single value when fields is a single value", ex->ctx,
              "LOAD_ERR_VALIDATE");
      }
      if (!internal::CanonicalOperator(ex->comps.item)) {
        Throw("'" + ex->comps.item + "' is not a supported comparison operator", ex->ctx, "LOAD_ERR_VALIDATE");
      }
      if (!KnownField(ex->fields.item)) {
        Throw("'" + ex->fields.item + "' is not a supported filter field", ex->ctx, "LOAD_ERR_VALIDATE");
      }
    }
  }

  static bool KnownField(const std::string& f) {
    AstPtr a = internal::MakeCheck(f, "exists", {});
    return internal::FindField(a->field) != nullptr;
  }

  void ReadItem(const YAML::Node& item, const Ctx& parent) {
    Ctx tmp = At(item, parent);
    if (!item.IsMap()) Throw("Unexpected element type. Each element should be a yaml associative array.", tmp);
    if (item["required_engine_version"].IsDefined()) {
      tmp.item_type = "required_engine_version";
      std::string ver;
      DecodeScalar(item, "required_engine_version", &ver, tmp, false);
      if (!ver.empty() && std::all_of(ver.begin(), ver.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        ver = "0." + ver + ".0";  // Falco's implicit form: 17 -> 0.17.0
      }
      if (!IsSemver(ver)) {
        Throw("Unable to parse engine version '" + ver + "' as a semver string. Expected \"x.y.z\" semver format.", tmp);
      }
      if (CompareVersions(ver, Engine::kEngineVersion) > 0) {
        Throw("Rules require engine version " + ver + ", but engine version is " + std::string(Engine::kEngineVersion),
              tmp, "LOAD_ERR_VALIDATE");
      }
      return;
    }
    if (item["required_plugin_versions"].IsDefined()) {
      tmp.item_type = "required_plugin_versions";
      Warn("LOAD_UNKNOWN_ITEM", "required_plugin_versions is ignored: invar loads no plugins", tmp);
      return;
    }
    if (item["list"].IsDefined()) return ReadList(item, tmp);
    if (item["macro"].IsDefined()) return ReadMacro(item, tmp);
    if (item["rule"].IsDefined()) return ReadRule(item, tmp);
    Warn("LOAD_UNKNOWN_ITEM", "Unknown top level item", tmp);
  }

  void ReadList(const YAML::Node& item, Ctx ctx) {
    ctx.item_type = "list";
    std::string name;
    DecodeScalar(item, "list", &name, ctx, false);
    ctx.item_name = name;
    if (!IsBareString(name)) {
      Throw("List has an invalid name. List names must match a regular expression: ([^()\"'[:space:]=,]+)", ctx);
    }
    WarnUnknownKeys(item, {"list", "items", "append", "override"}, ctx);
    ListInfo v;
    v.name = name;
    v.ctx = ctx;
    v.items = DecodeSeq(item, "items", ctx);
    bool append = false;
    DecodeBool(item, "append", &append, ctx);
    if (append) Warn("LOAD_DEPRECATED_ITEM", kWarningAppend, ctx);
    std::set<std::string> oa, orp;
    DecodeOverrides(item, {"items"}, {"items"}, &oa, &orp, ctx);
    if (append && (!oa.empty() || !orp.empty())) Throw(kErrorOverrideAppend, ctx);
    append = append || oa.count("items") > 0;
    std::size_t id = next_id_++;
    if (append) {
      ListInfo* prev = lists_.Find(name);
      if (prev == nullptr) Throw(kErrorNoPreviousList, ctx, "LOAD_ERR_VALIDATE");
      prev->visibility = id;
      prev->items.insert(prev->items.end(), v.items.begin(), v.items.end());
      return;
    }
    lists_.Define(std::move(v), id);
  }

  void ReadMacro(const YAML::Node& item, Ctx ctx) {
    ctx.item_type = "macro";
    std::string name;
    DecodeScalar(item, "macro", &name, ctx, false);
    ctx.item_name = name;
    if (!IsIdentifier(name)) {
      Throw("Macro has an invalid name. Macro names must match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)", ctx);
    }
    WarnUnknownKeys(item, {"macro", "condition", "append", "override"}, ctx);
    MacroInfo v;
    v.name = name;
    v.ctx = ctx;
    DecodeScalar(item, "condition", &v.cond, ctx, false);
    v.cond_ctx = At(item["condition"], ctx);
    bool append = false;
    DecodeBool(item, "append", &append, ctx);
    if (append) Warn("LOAD_DEPRECATED_ITEM", kWarningAppend, ctx);
    std::set<std::string> oa, orp;
    DecodeOverrides(item, {"condition"}, {"condition"}, &oa, &orp, ctx);
    if (append && (!oa.empty() || !orp.empty())) Throw(kErrorOverrideAppend, ctx);
    append = append || oa.count("condition") > 0;
    std::size_t id = next_id_++;
    if (append) {
      MacroInfo* prev = macros_.Find(name);
      if (prev == nullptr) Throw(kErrorNoPreviousMacro, ctx, "LOAD_ERR_VALIDATE");
      prev->visibility = id;
      prev->cond += " ";
      prev->cond += v.cond;
      return;
    }
    macros_.Define(std::move(v), id);
  }

  // Tags; an invar.action.* tag must name an action the agent has. A bad one
  // is reported on the tag's line and the rule is still defined (so later
  // overrides of it do not cascade into more errors), but the load fails.
  std::set<std::string> ReadTags(const YAML::Node& item, const Ctx& ctx) {
    if (!item["tags"].IsDefined()) return {};
    auto v = DecodeSeq(item, "tags", ctx);
    constexpr std::string_view kActionPrefix = "invar.action.";
    std::size_t k = 0;
    for (const auto& tag : v) {
      const std::string_view t(tag);
      if (t.substr(0, kActionPrefix.size()) == kActionPrefix && t != "invar.action.flag" &&
          t != "invar.action.kill" && t != "invar.action.prevent") {
        const YAML::Node tags = item["tags"];
        Ctx tctx = At(tags, ctx);
        if (tags.IsSequence() && k < tags.size()) tctx = At(tags[k], ctx);
        Error("LOAD_ERR_VALIDATE",
              "Unknown action tag '" + tag +
                  "': an invar.action tag must be invar.action.flag, invar.action.kill or invar.action.prevent",
              tctx);
      }
      ++k;
    }
    return {v.begin(), v.end()};
  }

  Priority ReadPriority(const YAML::Node& item, const Ctx& ctx) {
    std::string p;
    DecodeScalar(item, "priority", &p, ctx, false);
    Priority out;
    if (!ParsePriority(p, &out)) Throw("Invalid priority", At(item["priority"], ctx));
    return out;
  }

  void AppendExceptions(RuleDef* prev, std::vector<ExceptionInfo> exs) {
    for (auto& ex : exs) {
      auto it = std::find_if(prev->exceptions.begin(), prev->exceptions.end(),
                             [&](const ExceptionInfo& e) { return e.name == ex.name; });
      if (it == prev->exceptions.end()) {
        if (!ex.fields.valid) Throw("Rule exception must have fields property with a list of fields", ex.ctx, "LOAD_ERR_VALIDATE");
        if (ex.values.empty()) Throw("Rule exception must have values property with a list of values", ex.ctx, "LOAD_ERR_VALIDATE");
        ValidateException(&ex);
        prev->exceptions.push_back(std::move(ex));
      } else {
        if (ex.fields.valid) Throw("Can not append exception fields to existing exception, only values", ex.ctx, "LOAD_ERR_VALIDATE");
        if (ex.comps.valid) Throw("Can not append exception comps to existing exception, only values", ex.ctx, "LOAD_ERR_VALIDATE");
        it->values.insert(it->values.end(), ex.values.begin(), ex.values.end());
      }
    }
  }

  void ReadRule(const YAML::Node& item, Ctx ctx) {
    ctx.item_type = "rule";
    std::string name;
    DecodeScalar(item, "rule", &name, ctx, false);
    ctx.item_name = name;
    WarnUnknownKeys(item,
                    {"rule", "condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "append",
                     "override", "source", "skip-if-unknown-filter", "warn_evttypes"},
                    ctx);
    bool has_append = false;
    DecodeBool(item, "append", &has_append, ctx);
    if (has_append) Warn("LOAD_DEPRECATED_ITEM", kWarningAppend, ctx);
    std::set<std::string> oa, orp;
    const std::set<std::string> can_append = {"condition", "output", "desc", "tags", "exceptions"};
    const std::set<std::string> can_replace = {"condition", "output", "desc", "priority", "tags",
                                               "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter"};
    DecodeOverrides(item, can_append, can_replace, &oa, &orp, ctx);
    bool has_overrides = !oa.empty() || !orp.empty();
    if (has_append && has_overrides) Throw(kErrorOverrideAppend, ctx);
    std::size_t id = next_id_++;

    if (has_overrides) {
      std::set<std::string> expected;
      for (const auto& k : can_replace) {
        if (item[k].IsDefined()) expected.insert(k);
      }
      auto check = [&](const std::set<std::string>& ops, const char* kind, const std::string& key) {
        if (ops.count(key) == 0) return false;
        if (expected.count(key) == 0) {
          Throw(std::string("An ") + kind + " override for '" + key + "' was specified but '" + key + "' is not defined", ctx);
        }
        expected.erase(key);
        return true;
      };
      // Validate every key before touching the previous rule.
      for (const auto& k : oa) check(oa, "append", k);
      for (const auto& k : orp) check(orp, "replace", k);
      if (!expected.empty()) {
        const std::string& key = *expected.begin();
        Ctx kctx = At(item[key], ctx);
        Throw("Unexpected key '" + key + "': no corresponding entry under 'override' is defined.", kctx);
      }
      RuleDef* prev = rules_.Find(name);
      if (prev == nullptr) {
        if (skipped_rules_.count(name) > 0) return;  // overriding a rule skipped for its source
        Throw(oa.empty() ? kErrorNoPreviousRuleReplace : kErrorNoPreviousRuleAppend, ctx, "LOAD_ERR_VALIDATE");
      }
      std::string s;
      if (oa.count("condition")) {
        DecodeScalar(item, "condition", &s, ctx, false);
        prev->cond += " " + s;
      }
      if (oa.count("output")) {
        DecodeScalar(item, "output", &s, ctx, false);
        prev->output += " " + s;
      }
      if (oa.count("desc")) {
        DecodeScalar(item, "desc", &s, ctx, false);
        prev->desc += " " + s;
      }
      if (oa.count("tags")) {
        auto t = ReadTags(item, ctx);
        prev->tags.insert(t.begin(), t.end());
      }
      if (oa.count("exceptions")) AppendExceptions(prev, ReadExceptions(item, ctx, true));
      if (orp.count("condition")) {
        DecodeScalar(item, "condition", &prev->cond, ctx, false);
        prev->cond_ctx = At(item["condition"], ctx);
      }
      if (orp.count("output")) {
        DecodeScalar(item, "output", &prev->output, ctx, false);
        prev->output_ctx = At(item["output"], ctx);
      }
      if (orp.count("desc")) DecodeScalar(item, "desc", &prev->desc, ctx, false);
      if (orp.count("priority")) prev->priority = ReadPriority(item, ctx);
      if (orp.count("tags")) prev->tags = ReadTags(item, ctx);
      if (orp.count("exceptions")) {
        auto exs = ReadExceptions(item, ctx, true);
        for (auto& ex : exs) ValidateException(&ex);
        prev->exceptions = std::move(exs);
      }
      if (orp.count("enabled")) DecodeBool(item, "enabled", &prev->enabled, ctx);
      if (orp.count("warn_evttypes")) DecodeBool(item, "warn_evttypes", &prev->warn_evttypes, ctx);
      if (orp.count("skip-if-unknown-filter")) {
        DecodeBool(item, "skip-if-unknown-filter", &prev->skip_if_unknown_filter, ctx);
      }
      return;
    }

    if (has_append) {
      RuleDef* prev = rules_.Find(name);
      if (prev == nullptr) {
        if (skipped_rules_.count(name) > 0) return;
        Throw(kErrorNoPreviousRuleAppend, ctx, "LOAD_ERR_VALIDATE");
      }
      std::string s;
      bool any = false;
      if (DecodeScalar(item, "condition", &s, ctx, true)) {
        prev->cond += " " + s;
        any = true;
      }
      if (item["exceptions"].IsDefined()) {
        AppendExceptions(prev, ReadExceptions(item, ctx, true));
        any = true;
      }
      if (!any) Throw("Appended rule must have exceptions or condition property", ctx, "LOAD_ERR_VALIDATE");
      return;
    }

    if (!item["condition"].IsDefined() && !item["output"].IsDefined() && !item["desc"].IsDefined() &&
        !item["priority"].IsDefined()) {
      // Legacy: only `enabled`, to switch an earlier rule on or off.
      bool enabled = true;
      if (!DecodeBool(item, "enabled", &enabled, ctx)) Throw("Item has no mapping for key 'enabled'", ctx);
      Warn("LOAD_DEPRECATED_ITEM", kWarningEnabled, ctx);
      RuleDef* prev = rules_.Find(name);
      if (prev == nullptr) {
        if (skipped_rules_.count(name) > 0) return;
        Throw("Rule has 'enabled' key but no rule by that name already exists", ctx, "LOAD_ERR_VALIDATE");
      }
      prev->enabled = enabled;
      return;
    }

    RuleDef v;
    v.name = name;
    v.ctx = ctx;
    DecodeScalar(item, "condition", &v.cond, ctx, false);
    v.cond_ctx = At(item["condition"], ctx);
    DecodeScalar(item, "output", &v.output, ctx, false);
    v.output_ctx = At(item["output"], ctx);
    DecodeScalar(item, "desc", &v.desc, ctx, false);
    v.priority = ReadPriority(item, ctx);
    // Falco trims the output.
    while (!v.output.empty() && std::isspace(static_cast<unsigned char>(v.output.back()))) v.output.pop_back();
    while (!v.output.empty() && std::isspace(static_cast<unsigned char>(v.output.front()))) v.output.erase(0, 1);
    std::string source = "syscall";
    DecodeScalar(item, "source", &source, ctx, true);
    DecodeBool(item, "enabled", &v.enabled, ctx);
    DecodeBool(item, "warn_evttypes", &v.warn_evttypes, ctx);
    DecodeBool(item, "skip-if-unknown-filter", &v.skip_if_unknown_filter, ctx);
    v.tags = ReadTags(item, ctx);
    v.exceptions = ReadExceptions(item, ctx, false);
    for (auto& ex : v.exceptions) ValidateException(&ex);
    if (source != "syscall") {
      Warn("LOAD_UNKNOWN_SOURCE", "Unknown source " + source + ", skipping", ctx);
      skipped_rules_.insert(name);
      return;
    }
    skipped_rules_.erase(name);
    rules_.Define(std::move(v), id);
  }

  // ---- compile phase -------------------------------------------------------

  const std::vector<std::string>* LookupListForCondition(std::string_view name) {
    ListInfo* l = lists_.Find(name);
    if (l == nullptr) return nullptr;
    l->used = true;
    return &l->resolved;
  }

  void ResolveLists() {
    // In definition order: a list sees the lists defined before its last definition or append.
    std::vector<ListInfo*> order;
    for (auto& l : lists_.items) order.push_back(&l);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->index < b->index; });
    for (ListInfo* l : order) {
      l->resolved.clear();
      for (const auto& raw : l->items) {
        ListInfo* ref = lists_.Find(raw);
        if (ref != nullptr && ref != l && ref->index < l->visibility) {
          ref->used = true;
          l->resolved.insert(l->resolved.end(), ref->resolved.begin(), ref->resolved.end());
        } else {
          l->resolved.push_back(Unquote(raw));
        }
      }
    }
  }

  void ParseMacros() {
    for (auto& m : macros_.items) {
      ConditionError err;
      auto ast = internal::ParseCondition(
          m.cond, [this](std::string_view n) { return LookupListForCondition(n); }, &err);
      if (!ast) {
        Error("LOAD_ERR_COMPILE_CONDITION", err.message, m.cond_ctx.line ? WithItem(m.cond_ctx, m.ctx) : m.ctx);
        m.state = MacroInfo::State::kFailed;
        m.error = err;
        m.error_reported_here = true;
        continue;
      }
      m.ast = *ast;
      // Undefined macros are reported on the macro itself, as Falco does.
      std::vector<std::pair<std::string, std::size_t>> refs;
      internal::CollectMacroRefs(*m.ast, &refs);
      for (const auto& [ref, pos] : refs) {
        MacroInfo* r = macros_.Find(ref);
        if (r != nullptr && r != &m && r->index < m.visibility) r->used = true;  // as Falco: referenced = used
        if (r == nullptr || r->index >= m.visibility || r == &m) {
          Error("LOAD_ERR_VALIDATE", "Undefined macro '" + ref + "' used in filter.", m.ctx);
          m.state = MacroInfo::State::kFailed;
          m.error.message = "Undefined macro '" + ref + "' used in filter.";
          m.error_reported_here = true;
          break;
        }
      }
    }
  }

  static Ctx WithItem(Ctx c, const Ctx& item) {
    c.item_type = item.item_type;
    c.item_name = item.item_name;
    return c;
  }

  // Compiles a macro on first use; fields are checked only for macros rules use, as in Falco.
  const Compiled* CompileMacro(MacroInfo* m, const ConditionError** err) {
    if (m->state == MacroInfo::State::kDone) return &*m->compiled;
    if (m->state == MacroInfo::State::kFailed) {
      *err = &m->error;
      return nullptr;
    }
    if (m->state == MacroInfo::State::kInProgress) {
      m->error.message = "Macro '" + m->name + "' references itself";
      *err = &m->error;
      return nullptr;
    }
    m->state = MacroInfo::State::kInProgress;
    std::size_t visibility = m->visibility;
    ConditionError e;
    auto c = internal::CompileAst(
        *m->ast,
        [this, visibility, m](std::string_view n, const ConditionError** merr) -> const Compiled* {
          MacroInfo* r = macros_.Find(n);
          if (r == nullptr || r->index >= visibility || r == m) return nullptr;
          r->used = true;
          return CompileMacro(r, merr);
        },
        &e);
    if (!c) {
      m->state = MacroInfo::State::kFailed;
      m->error = e;
      *err = &m->error;
      return nullptr;
    }
    m->state = MacroInfo::State::kDone;
    m->compiled = std::move(*c);
    return &*m->compiled;
  }

  // Builds the exceptions into `cond and not (ex1) and not (ex2) ...` (Falco's build_rule_exception_infos).
  AstPtr BuildExceptions(AstPtr cond, const std::vector<ExceptionInfo>& exs) {
    std::vector<AstPtr> terms{cond};
    auto values_of = [this](const Entry& v) {
      std::vector<std::string> out;
      auto add = [&](const std::string& s) {
        const std::vector<std::string>* l = LookupListForCondition(s);
        if (l != nullptr) {
          out.insert(out.end(), l->begin(), l->end());
        } else {
          out.push_back(s);
        }
      };
      if (v.is_list) {
        for (const auto& i : v.items) add(i.item);
      } else {
        add(v.item);
      }
      return out;
    };
    for (const auto& ex : exs) {
      if (ex.values.empty()) continue;
      if (!ex.fields.is_list) {
        // One field: `field comp (v1, v2, ...)`.
        std::vector<std::string> vals;
        for (const auto& v : ex.values) {
          auto part = values_of(v);
          vals.insert(vals.end(), part.begin(), part.end());
        }
        std::string op = ex.comps.item;
        if (internal::IsListOperator(op)) {
          terms.push_back(internal::MakeNode(Ast::Kind::kNot, {internal::MakeCheck(ex.fields.item, op, vals)}));
        } else {
          std::vector<AstPtr> ors;
          for (auto& v : vals) ors.push_back(internal::MakeCheck(ex.fields.item, op, {v}));
          AstPtr any = ors.size() == 1 ? ors[0] : internal::MakeNode(Ast::Kind::kOr, std::move(ors));
          terms.push_back(internal::MakeNode(Ast::Kind::kNot, {any}));
        }
        continue;
      }
      std::vector<AstPtr> ors;
      for (const auto& tuple : ex.values) {
        if (!tuple.is_list || tuple.items.size() != ex.fields.items.size()) {
          Throw("Fields and values lists must have equal length", ex.ctx, "LOAD_ERR_VALIDATE");
        }
        std::vector<AstPtr> ands;
        for (size_t k = 0; k < ex.fields.items.size(); ++k) {
          const std::string& op = ex.comps.items[k].item;
          const Entry& val = tuple.items[k];
          if (internal::IsListOperator(op)) {
            ands.push_back(internal::MakeCheck(ex.fields.items[k].item, op, values_of(val)));
          } else {
            if (val.is_list) Throw("Expected a single value for comparison operator '" + op + "'", ex.ctx, "LOAD_ERR_VALIDATE");
            ands.push_back(internal::MakeCheck(ex.fields.items[k].item, op, {val.item}));
          }
        }
        ors.push_back(ands.size() == 1 ? ands[0] : internal::MakeNode(Ast::Kind::kAnd, std::move(ands)));
      }
      if (ors.empty()) continue;
      AstPtr any = ors.size() == 1 ? ors[0] : internal::MakeNode(Ast::Kind::kOr, std::move(ors));
      terms.push_back(internal::MakeNode(Ast::Kind::kNot, {any}));
    }
    if (terms.size() == 1) return cond;
    return internal::MakeNode(Ast::Kind::kAnd, std::move(terms));
  }

  LoadResult* res_;
  EngineOptions options_;
  std::size_t next_id_ = 0;
  Indexed<ListInfo> lists_;
  Indexed<MacroInfo> macros_;
  Indexed<RuleDef> rules_;
  std::set<std::string> skipped_rules_;
};

Action ActionFromTags(const std::set<std::string>& tags) {
  if (tags.count("invar.action.kill")) return Action::kKill;
  if (tags.count("invar.action.prevent")) return Action::kPrevent;
  if (tags.count("invar.action.flag")) return Action::kFlag;
  return Action::kNone;
}

std::unique_ptr<Engine::Impl> Loader::Compile() {
  auto impl = std::make_unique<Engine::Impl>();
  impl->options = options_;
  ResolveLists();
  ParseMacros();

  std::vector<RuleDef*> order;
  for (auto& r : rules_.items) order.push_back(&r);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->index < b->index; });

  std::vector<internal::TypeSet> types;
  for (RuleDef* r : order) {
    Ctx cctx = WithItem(r->cond_ctx, r->ctx);
    ConditionError err;
    auto ast = internal::ParseCondition(
        r->cond, [this](std::string_view n) { return LookupListForCondition(n); }, &err);
    if (!ast) {
      Error("LOAD_ERR_COMPILE_CONDITION", err.message, cctx);
      continue;
    }
    std::vector<std::pair<std::string, std::size_t>> refs;
    internal::CollectMacroRefs(**ast, &refs);
    bool undefined = false;
    for (const auto& [ref, pos] : refs) {
      if (macros_.Find(ref) == nullptr) {
        Error("LOAD_ERR_VALIDATE", "Undefined macro '" + ref + "' used in filter.", r->ctx);
        undefined = true;
        break;
      }
    }
    if (undefined) continue;
    AstPtr full;
    try {
      full = BuildExceptions(*ast, r->exceptions);
    } catch (const ItemError& e) {
      Error(e.code, e.message, e.ctx);
      continue;
    }
    bool macro_failed_elsewhere = false;
    auto compiled = internal::CompileAst(
        *full,
        [this, &macro_failed_elsewhere](std::string_view n, const ConditionError** merr) -> const Compiled* {
          MacroInfo* m = macros_.Find(n);
          if (m == nullptr) return nullptr;
          m->used = true;
          const Compiled* c = CompileMacro(m, merr);
          if (c == nullptr && m->error_reported_here) macro_failed_elsewhere = true;
          return c;
        },
        &err);
    if (!compiled) {
      if (macro_failed_elsewhere) continue;  // already reported on the macro
      if (err.unknown_field && r->skip_if_unknown_filter) {
        Warn("LOAD_UNKNOWN_FILTER", err.message, cctx);
        continue;
      }
      Error("LOAD_ERR_COMPILE_CONDITION", err.message, cctx);
      continue;
    }
    internal::OutputError oerr;
    auto output = internal::CompileOutput(r->output, &oerr);
    if (!output) {
      Ctx octx = WithItem(r->output_ctx, r->ctx);
      if (oerr.unknown_field && r->skip_if_unknown_filter) {
        Warn("LOAD_UNKNOWN_FILTER", oerr.message, octx);
        continue;
      }
      Error("LOAD_ERR_COMPILE_OUTPUT", oerr.message, octx);
      continue;
    }
    if (static_cast<int>(r->priority) > static_cast<int>(options_.min_priority)) continue;
    if (r->enabled && r->warn_evttypes && compiled->types.all && !compiled->constant) {
      Warn("LOAD_NO_EVTTYPE", "Rule matches too many evt.type values. This has a significant performance penalty.",
           r->ctx);
    }
    RuleInfo info;
    info.name = r->name;
    info.desc = r->desc;
    info.output = r->output;
    info.priority = r->priority;
    info.tags.assign(r->tags.begin(), r->tags.end());
    info.action = ActionFromTags(r->tags);
    info.enabled = r->enabled;
    info.file = r->ctx.file;
    info.line = r->ctx.line;
    impl->rules.push_back(std::move(info));
    impl->preds.push_back(r->enabled ? compiled->pred : nullptr);
    impl->outputs.push_back(std::move(*output));
    types.push_back(compiled->types);
  }

  for (const auto& l : lists_.items) {
    if (!l.used) Warn("LOAD_UNUSED_LIST", "List not referred to by any other rule/macro/list", l.ctx);
  }
  for (const auto& m : macros_.items) {
    if (!m.used) Warn("LOAD_UNUSED_MACRO", "Macro not referred to by any other rule/macro", m.ctx);
  }
  if (!res_->ok()) return nullptr;

  // The evt.type index: one bucket per type any rule names, plus the catch-all.
  for (const auto& t : types) {
    for (const auto& n : t.names) impl->type_index.emplace(n, 0);
  }
  std::uint32_t next = 0;
  std::vector<const std::string*> type_names;
  for (auto& [name, idx] : impl->type_index) {
    idx = next++;
    type_names.push_back(&name);
  }
  impl->buckets.assign(next + 1, {});
  // First the (specialized) condition of every rule in every bucket ...
  std::vector<std::vector<std::pair<std::uint32_t, internal::PredPtr>>> members(next + 1);
  auto add = [&](std::uint32_t bucket, std::uint32_t rule) {
    const internal::PredPtr& general = impl->preds[rule];
    if (!options_.index_by_event_type || bucket == next) {
      members[bucket].emplace_back(rule, general);
    } else {
      members[bucket].emplace_back(rule, internal::SpecializeForType(general, *type_names[bucket]));
    }
  };
  for (std::uint32_t i = 0; i < impl->rules.size(); ++i) {
    if (!impl->preds[i]) continue;
    ++impl->enabled;
    if (types[i].all || !options_.index_by_event_type) {
      for (std::uint32_t b = 0; b <= next; ++b) add(b, i);
    } else {
      for (const auto& n : types[i].names) add(impl->type_index.find(n)->second, i);
    }
  }
  // ... then split out the cheap conjuncts several rules of the bucket share.
  for (std::uint32_t b = 0; b <= next; ++b) {
    Engine::Impl::Bucket& bucket = impl->buckets[b];
    std::map<const internal::Pred*, int> uses;
    std::vector<std::vector<internal::PredPtr>> conj;
    for (const auto& [rule, pred] : members[b]) {
      conj.push_back(internal::Conjuncts(pred));
      std::set<const internal::Pred*> seen;
      for (const auto& c : conj.back()) {
        if (seen.insert(c.get()).second) ++uses[c.get()];
      }
    }
    std::map<const internal::Pred*, std::uint8_t> guard_index;
    for (std::size_t k = 0; k < members[b].size(); ++k) {
      Engine::Impl::Entry entry{members[b][k].first, static_cast<std::uint32_t>(bucket.guard_refs.size()), 0, nullptr};
      std::vector<internal::PredPtr> rest;
      for (const auto& c : conj[k]) {
        bool shared = options_.index_by_event_type && uses[c.get()] >= 2 && c->Cost() <= 4;
        auto it = guard_index.find(c.get());
        if (shared && it == guard_index.end() && bucket.guards.size() < Engine::Impl::kMaxGuards) {
          it = guard_index.emplace(c.get(), static_cast<std::uint8_t>(bucket.guards.size())).first;
          bucket.guards.push_back(c.get());
          impl->specialized.push_back(c);
        }
        if (shared && it != guard_index.end()) {
          bucket.guard_refs.push_back(it->second);
          ++entry.guard_count;
        } else {
          rest.push_back(c);
        }
      }
      internal::PredPtr r = internal::MakeAnd(std::move(rest));
      impl->specialized.push_back(r);
      entry.rest = r.get();
      bucket.entries.push_back(entry);
    }
  }
  return impl;
}

}  // namespace

std::unique_ptr<Engine::Impl> LoadImpl(const std::vector<RulesFile>& files, LoadResult* result,
                                       const EngineOptions& options) {
  Loader loader(result, options);
  for (const auto& f : files) loader.ReadFile(f);
  return loader.Compile();
}

}  // namespace invar::rules
