// SPDX-License-Identifier: Apache-2.0
// LoadResult: every error and warning found while loading rules files, as
// Falco's falco_load_result does. Loading never stops at the first problem of
// a file: the loader reports as much as it can (each item is checked on its
// own) so `invar rules validate` shows everything at once. Each message names
// the file, the line (1-based; 0 when unknown), the item (rule, macro, list,
// exception, ...) and carries a Falco code (LOAD_ERR_COMPILE_CONDITION, ...).
//
// Built by rules::Engine::Load; printed by `invar rules validate` and by the
// agent at startup. A value type: thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace invar::rules {

enum class Severity { kError, kWarning };

struct LoadMessage {
  Severity severity = Severity::kError;
  std::string code;       // "LOAD_ERR_VALIDATE", "LOAD_UNUSED_MACRO", ...
  std::string message;    // "Undefined macro 'foo' used in filter."
  std::string file;       // as given to the loader
  int line = 0;           // 1-based, 0 when unknown
  int column = 0;         // 1-based, 0 when unknown
  std::string item_type;  // "rule", "macro", "list", "exception", "required_engine_version", "rules content"
  std::string item_name;  // the item's name, "" when it has none
};

class LoadResult {
 public:
  void AddError(std::string code, std::string message, std::string file, int line, int column,
                std::string item_type, std::string item_name);
  void AddWarning(std::string code, std::string message, std::string file, int line, int column,
                  std::string item_type, std::string item_name);

  bool ok() const { return error_count_ == 0; }
  int error_count() const { return error_count_; }
  int warning_count() const { return static_cast<int>(messages_.size()) - error_count_; }
  // In the order found.
  const std::vector<LoadMessage>& messages() const { return messages_; }
  // The messages of one severity, in order.
  std::vector<LoadMessage> errors() const;
  std::vector<LoadMessage> warnings() const;

  // One line per message:
  //   rules.yaml:12:3: error: rule 'foo': LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception
  //   objects): Undefined macro 'bar' used in filter.
  std::string ToText() const;
  // {"errors":[{...}],"warnings":[{...}],"successful":bool}; each message has code, codedesc,
  // message, file, line, column, item_type, item_name.
  std::string ToJson() const;

  // Falco's short description of a code ("Error compiling condition"); "" for unknown codes.
  static std::string_view CodeDescription(std::string_view code);

 private:
  std::vector<LoadMessage> messages_;
  int error_count_ = 0;
};

}  // namespace invar::rules
