// SPDX-License-Identifier: Apache-2.0
// Patch semantics of the test API server: RFC 7386 merge patch, RFC 6902 JSON
// patch (both via nlohmann::json) and a documented subset of Kubernetes
// strategic merge patch. Pure functions, thread-safe.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "invar/testing/api_server.h"

namespace invar::testing {
namespace {

// List fields merged by key in strategic merge patch (the built-in types'
// patchMergeKey tags); every other list is replaced.
std::string MergeKeyFor(const std::string& field) {
  static const std::map<std::string, std::string> kKeys = {
      {"containers", "name"},       {"initContainers", "name"}, {"ephemeralContainers", "name"},
      {"volumes", "name"},          {"env", "name"},            {"imagePullSecrets", "name"},
      {"volumeMounts", "mountPath"}, {"ports", "containerPort"}, {"ownerReferences", "uid"},
      {"conditions", "type"},
  };
  auto it = kKeys.find(field);
  return it == kKeys.end() ? std::string() : it->second;
}

bool IsDirective(const std::string& key) {
  return key.rfind("$setElementOrder/", 0) == 0 || key == "$retainKeys" ||
         key.rfind("$deleteFromPrimitiveList/", 0) == 0;
}

Result<Json> StrategicMerge(const Json& target, const Json& patch, int depth);

Result<Json> MergeList(const Json& target, const Json& patch, const std::string& key, int depth) {
  if (!patch.is_array()) return Status::InvalidArgument("expected a list in the patch");
  Json out = target.is_array() ? target : Json::array();
  for (const auto& element : patch) {
    if (!element.is_object() || !element.contains(key)) {
      return Status::InvalidArgument("list element without merge key \"" + key + "\"");
    }
    bool remove = element.contains("$patch") && element["$patch"] == "delete";
    auto found = std::find_if(out.begin(), out.end(),
                              [&](const Json& existing) { return existing.is_object() && existing.contains(key) &&
                                                                 existing[key] == element[key]; });
    if (remove) {
      if (found != out.end()) out.erase(found);
      continue;
    }
    if (found == out.end()) {
      Json fresh = element;
      fresh.erase("$patch");
      out.push_back(std::move(fresh));
    } else {
      auto merged = StrategicMerge(*found, element, depth + 1);
      if (!merged.ok()) return merged.status();
      *found = std::move(*merged);
    }
  }
  return out;
}

Result<Json> StrategicMerge(const Json& target, const Json& patch, int depth) {
  if (depth > 100) return Status::InvalidArgument("patch nested too deeply");
  if (!patch.is_object()) return patch;
  if (patch.contains("$patch")) {
    const Json& directive = patch["$patch"];
    if (directive == "delete") return Json();  // caller drops the key
    if (directive == "replace") {
      Json copy = patch;
      copy.erase("$patch");
      return copy;
    }
    if (directive != "merge") return Status::InvalidArgument("unknown $patch directive " + directive.dump());
  }
  Json out = target.is_object() ? target : Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (key == "$patch" || IsDirective(key)) continue;
    const Json& value = it.value();
    if (value.is_null()) {
      out.erase(key);
      continue;
    }
    if (value.is_object()) {
      const Json& existing = out.contains(key) ? out[key] : Json();
      auto merged = StrategicMerge(existing, value, depth + 1);
      if (!merged.ok()) return merged.status();
      if (merged->is_null()) {
        out.erase(key);
      } else {
        out[key] = std::move(*merged);
      }
      continue;
    }
    std::string merge_key = MergeKeyFor(key);
    if (value.is_array() && !merge_key.empty()) {
      const Json& existing = out.contains(key) ? out[key] : Json();
      auto merged = MergeList(existing, value, merge_key, depth + 1);
      if (!merged.ok()) return merged.status();
      out[key] = std::move(*merged);
      continue;
    }
    out[key] = value;
  }
  return out;
}

}  // namespace

Json ApplyMergePatch(const Json& target, const Json& patch) {
  Json out = target;
  out.merge_patch(patch);
  return out;
}

Result<Json> ApplyStrategicMergePatch(const Json& target, const Json& patch) {
  if (!patch.is_object()) return Status::InvalidArgument("strategic merge patch must be a JSON object");
  return StrategicMerge(target, patch, 0);
}

Result<Json> ApplyJsonPatch(const Json& target, const Json& patch) {
  if (!patch.is_array()) return Status::InvalidArgument("JSON patch must be an array of operations");
  try {
    return target.patch(patch);
  } catch (const Json::exception& e) {
    return Status::FailedPrecondition(e.what());
  }
}

}  // namespace invar::testing
