// SPDX-License-Identifier: Apache-2.0
// The fields rule conditions and output templates may name, resolved once at
// load time to a FieldId, and the accessors that read them from an Event.
// Private to invar_drift_rules. Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "invar/rules/event.h"

namespace invar::rules::internal {

enum class FieldType : std::uint8_t { kString, kInt, kBool, kList };

enum class FieldId : std::uint8_t {
  kEvtType,
  kEvtDir,
  kEvtTime,
  kEvtSource,
  kInvarOrigin,
  kContainerId,
  kContainerName,
  kContainerImageRepository,
  kContainerImageTag,
  kK8sNsName,
  kK8sPodName,
  kK8sPodLabels,
  kK8sPodLabel,  // takes an argument: k8s.pod.label[app]
  kProcName,
  kProcPname,
  kProcExe,
  kProcCmdline,
  kProcPid,
  kProcIsExeUpperLayer,
  kUserName,
  kUserUid,
  kFdName,
  kFdDirectory,
  kFdFilename,
  kFdIsUpperLayer,
  // Added after the first release of the table; kept last so FieldId order
  // (and the order of AllFields) stays stable.
  kContainerFullId,
  kK8sPodUid,
  kK8sPodOwnerKind,
  kK8sPodOwnerName,
  kFsPathSource,
  kInvarOp,
  kInvarAction,
  kInvarRuleAction,
  kInvarActionReason,
};

struct FieldInfo {
  std::string_view name;
  FieldId id;
  FieldType type;
  bool takes_arg;
  std::string_view desc;
};

// nullptr when `name` is not a field.
const FieldInfo* FindField(std::string_view name);
// For docs and tests: every field, in FieldId order.
const FieldInfo* AllFields(std::size_t* count);

enum class Transformer : std::uint8_t { kNone, kToUpper, kToLower, kBasename };
std::optional<Transformer> FindTransformer(std::string_view name);
std::string_view TransformerName(Transformer t);

// A field with its argument and transformer, resolved.
struct FieldRef {
  const FieldInfo* info = nullptr;
  std::string arg;  // k8s.pod.label[arg]
  Transformer transformer = Transformer::kNone;
  std::string ToString() const;  // as written: "toupper(proc.name)", "k8s.pod.label[app]"
};

// Direct access to the Event member behind a string field, resolved once at
// load so evaluation needs no switch; both null for derived fields.
struct StringAccessor {
  std::string Event::*plain = nullptr;
  std::optional<std::string> Event::*optional = nullptr;
};
StringAccessor AccessorFor(FieldId id);

// The untransformed value of a string field; false when absent.
bool GetRawString(const Event& e, const FieldRef& f, std::string_view* out);

// String fields (and transformed ones): false when absent. `scratch` holds the
// value when it has to be built (transformers); *out may point into it.
bool GetString(const Event& e, const FieldRef& f, std::string_view* out, std::string* scratch);
bool GetInt(const Event& e, FieldId id, std::int64_t* out);
bool GetBool(const Event& e, FieldId id, bool* out);

// Renders any field for outputs; false when absent (the caller prints <NA>).
// evt.time renders as HH:MM:SS.nnnnnnnnn in local time, as in Falco outputs.
bool RenderField(const Event& e, const FieldRef& f, std::string* out);

std::string_view OriginName(Origin origin);

}  // namespace invar::rules::internal
