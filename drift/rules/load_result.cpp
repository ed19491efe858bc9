// SPDX-License-Identifier: Apache-2.0
// LoadResult: accumulation and rendering (see load_result.h).
#include "invar/rules/load_result.h"

#include <nlohmann/json.hpp>

#include <utility>

namespace invar::rules {
namespace {

struct CodeDesc {
  std::string_view code;
  std::string_view desc;
};

// Falco's falco_load_result codes and their short descriptions.
constexpr CodeDesc kCodes[] = {
    {"LOAD_ERR_FILE_READ", "File read error"},
    {"LOAD_ERR_YAML_PARSE", "YAML parse error"},
    {"LOAD_ERR_YAML_VALIDATE", "Error validating internal structure of YAML file"},
    {"LOAD_ERR_COMPILE_CONDITION", "Error compiling condition"},
    {"LOAD_ERR_COMPILE_OUTPUT", "Error compiling output"},
    {"LOAD_ERR_VALIDATE", "Error validating rule/macro/list/exception objects"},
    {"LOAD_UNKNOWN_SOURCE", "Unknown event source"},
    {"LOAD_NO_EVTTYPE", "Condition has no event-type restriction"},
    {"LOAD_UNKNOWN_FILTER", "Unknown field or event-type in condition or output"},
    {"LOAD_UNUSED_MACRO", "Unused macro"},
    {"LOAD_UNUSED_LIST", "Unused list"},
    {"LOAD_UNKNOWN_ITEM", "Unknown rules file item"},
    {"LOAD_DEPRECATED_ITEM", "Used deprecated item"},
    {"LOAD_APPEND_NO_VALUES", "Overriding/appending with no values"},
    {"LOAD_UNKNOWN_KEY", "Unknown key in item definition"},
};

}  // namespace

std::string_view LoadResult::CodeDescription(std::string_view code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c.desc;
  }
  return "";
}

void LoadResult::AddError(std::string code, std::string message, std::string file, int line, int column,
                          std::string item_type, std::string item_name) {
  messages_.push_back({Severity::kError, std::move(code), std::move(message), std::move(file), line, column,
                       std::move(item_type), std::move(item_name)});
  ++error_count_;
}

void LoadResult::AddWarning(std::string code, std::string message, std::string file, int line, int column,
                            std::string item_type, std::string item_name) {
  messages_.push_back({Severity::kWarning, std::move(code), std::move(message), std::move(file), line, column,
                       std::move(item_type), std::move(item_name)});
}

std::vector<LoadMessage> LoadResult::errors() const {
  std::vector<LoadMessage> out;
  for (const auto& m : messages_) {
    if (m.severity == Severity::kError) out.push_back(m);
  }
  return out;
}

std::vector<LoadMessage> LoadResult::warnings() const {
  std::vector<LoadMessage> out;
  for (const auto& m : messages_) {
    if (m.severity == Severity::kWarning) out.push_back(m);
  }
  return out;
}

std::string LoadResult::ToText() const {
  std::string out;
  for (const auto& m : messages_) {
    out += m.file;
    if (m.line > 0) {
      out.push_back(':');
      out += std::to_string(m.line);
      if (m.column > 0) {
        out.push_back(':');
        out += std::to_string(m.column);
      }
    }
    out += m.severity == Severity::kError ? ": error: " : ": warning: ";
    if (!m.item_type.empty()) {
      out += m.item_type;
      if (!m.item_name.empty()) {
        out += " '";
        out += m.item_name;
        out += "'";
      }
      out += ": ";
    }
    out += m.code;
    std::string_view desc = CodeDescription(m.code);
    if (!desc.empty()) {
      out += " (";
      out += desc;
      out += ")";
    }
    out += ": ";
    out += m.message;
    out.push_back('\n');
  }
  return out;
}

std::string LoadResult::ToJson() const {
  using nlohmann::json;
  json errors = json::array(), warnings = json::array();
  for (const auto& m : messages_) {
    json j = {{"code", m.code},           {"codedesc", std::string(CodeDescription(m.code))},
              {"message", m.message},     {"file", m.file},
              {"line", m.line},           {"column", m.column},
              {"item_type", m.item_type}, {"item_name", m.item_name}};
    (m.severity == Severity::kError ? errors : warnings).push_back(std::move(j));
  }
  json out = {{"successful", ok()}, {"errors", std::move(errors)}, {"warnings", std::move(warnings)}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace invar::rules
