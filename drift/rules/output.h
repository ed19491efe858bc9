// SPDX-License-Identifier: Apache-2.0
// Output templates: "Shell spawned (%user.name,container_id=%container.id)"
// compiled once at load into literal and field segments, rendered per match.
// Supports %field, %field[arg] and %transformer(field). Private to
// invar_drift_rules. A compiled template is immutable: thread-safe to render.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fields.h"
#include "invar/rules/event.h"

namespace invar::rules::internal {

struct OutputTemplate {
  struct Segment {
    std::string literal;            // text before the field (may be empty)
    std::optional<FieldRef> field;  // absent for a trailing literal
  };
  std::vector<Segment> segments;
  std::vector<FieldRef> fields;  // each distinct field once, in order of appearance (JSON output_fields)
};

struct OutputError {
  std::string message;
  bool unknown_field = false;
};

std::optional<OutputTemplate> CompileOutput(std::string_view text, OutputError* error);

// Missing values render as <NA>; control characters in values as '.'.
std::string RenderOutput(const OutputTemplate& t, const Event& e);

// Replaces control characters (< 0x20, 0x7f) with '.', as Falco sanitizes strings.
void Sanitize(std::string* s);

}  // namespace invar::rules::internal
