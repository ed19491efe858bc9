// SPDX-License-Identifier: Apache-2.0
// AdmissionReview codec (see review.h). simdjson on-demand walks the body once
// in document order; request.object/oldObject are captured as raw JSON and
// decoded later by decide.cpp. Thread-safe: one parser per thread.
#include "invar/admission/review.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstring>

#include "invar/platform/json_escape.h"

namespace invar::admission {
namespace {

namespace od = simdjson::ondemand;

static_assert(kReviewPadding == simdjson::SIMDJSON_PADDING, "review.h's kReviewPadding must match simdjson");

Status Bad(std::string msg) { return Status::InvalidArgument(std::move(msg)); }

std::string ErrorText(simdjson::error_code e) { return simdjson::error_message(e); }

od::parser& ThreadParser(int max_depth) {
  thread_local od::parser parser;
  thread_local int depth = -1;
  if (depth != max_depth) {
    // Capacity grows on demand inside iterate(); max_depth is kept.
    if (parser.allocate(64u << 10, static_cast<size_t>(max_depth)) == simdjson::SUCCESS) depth = max_depth;
  }
  return parser;
}

// Reads a string field; `path` names it in errors.
Status GetString(od::value v, std::string_view path, std::string* out) {
  std::string_view s;
  if (auto e = v.get_string().get(s); e) {
    return Bad(fmt::format("{}: expected string ({})", path, ErrorText(e)));
  }
  out->assign(s);
  return Status::Ok();
}

Status KeepRaw(od::value v, std::string_view path, std::string* out) {
  bool is_null = false;
  if (auto e = v.is_null().get(is_null); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
  if (is_null) {
    out->clear();
    return Status::Ok();
  }
  od::object obj;
  if (auto e = v.get_object().get(obj); e) {
    return Bad(fmt::format("{}: expected object ({})", path, ErrorText(e)));
  }
  std::string_view raw;
  if (auto e = obj.raw_json().get(raw); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
  out->reserve(raw.size() + simdjson::SIMDJSON_PADDING);
  out->assign(raw);
  return Status::Ok();
}

template <typename F>
Status ForEachField(od::value v, std::string_view path, F&& f) {
  od::object obj;
  if (auto e = v.get_object().get(obj); e) {
    return Bad(fmt::format("{}: expected object ({})", path, ErrorText(e)));
  }
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
    od::value value;
    if (auto e = field.value().get(value); e) return Bad(fmt::format("{}.{}: {}", path, key, ErrorText(e)));
    INVAR_RETURN_IF_ERROR(f(key, value));
  }
  return Status::Ok();
}

Status DecodeRequest(od::value v, ReviewRequest* r, bool* has_object) {
  return ForEachField(v, "request", [&](std::string_view key, od::value value) -> Status {
    if (key == "uid") return GetString(value, "request.uid", &r->uid);
    if (key == "kind" || key == "resource") {
      bool is_kind = key == "kind";
      return ForEachField(value, is_kind ? "request.kind" : "request.resource",
                          [&](std::string_view k, od::value x) -> Status {
                            std::string path = fmt::format("request.{}.{}", is_kind ? "kind" : "resource", k);
                            if (k == "group") return GetString(x, path, is_kind ? &r->kind.group : &r->resource.group);
                            if (k == "version") {
                              return GetString(x, path, is_kind ? &r->kind.version : &r->resource.version);
                            }
                            if (is_kind && k == "kind") return GetString(x, path, &r->kind.kind);
                            if (!is_kind && k == "resource") return GetString(x, path, &r->resource.resource);
                            return Status::Ok();
                          });
    }
    if (key == "subResource") return GetString(value, "request.subResource", &r->sub_resource);
    if (key == "name") return GetString(value, "request.name", &r->name);
    if (key == "namespace") return GetString(value, "request.namespace", &r->namespace_);
    if (key == "operation") return GetString(value, "request.operation", &r->operation);
    if (key == "dryRun") {
      bool b = false;
      if (value.get_bool().get(b)) return Bad("request.dryRun: expected boolean");
      r->dry_run = b;
      return Status::Ok();
    }
    if (key == "userInfo") {
      return ForEachField(value, "request.userInfo", [&](std::string_view k, od::value x) -> Status {
        if (k == "username") return GetString(x, "request.userInfo.username", &r->user.username);
        if (k == "uid") return GetString(x, "request.userInfo.uid", &r->user.uid);
        if (k == "groups") {
          od::array arr;
          if (x.get_array().get(arr)) return Bad("request.userInfo.groups: expected array");
          for (auto item : arr) {
            std::string_view g;
            if (item.get_string().get(g)) return Bad("request.userInfo.groups: expected strings");
            r->user.groups.emplace_back(g);
          }
        }
        return Status::Ok();
      });
    }
    if (key == "object") {
      INVAR_RETURN_IF_ERROR(KeepRaw(value, "request.object", &r->object));
      *has_object = !r->object.empty();
      return Status::Ok();
    }
    if (key == "oldObject") return KeepRaw(value, "request.oldObject", &r->old_object);
    return Status::Ok();  // requestKind, options, userInfo.extra, ...: skipped
  });
}

// Maximum nesting of objects/arrays, outside strings. simdjson on-demand
// skips unread values without a depth check, so the bound is enforced here.
// Strings (most of a review's bytes) are skipped with memchr to their closing
// quote, so this costs well under a microsecond for a 5 KB review.
bool DepthExceeds(std::string_view s, int max_depth) {
  const char* p = s.data();
  const char* const end = p + s.size();
  int depth = 0;
  while (p < end) {
    char c = *p++;
    if (c == '"') {
      // The closing quote is the first one preceded by an even number of
      // backslashes. Unterminated: the parser reports the malformed JSON.
      for (;;) {
        const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        if (q == nullptr) return false;
        const char* b = q;
        while (b > p && b[-1] == '\\') --b;
        p = q + 1;
        if (((q - b) & 1) == 0) break;
      }
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::string_view ReviewApiVersion(ReviewVersion v) {
  return v == ReviewVersion::kV1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1";
}

Result<ReviewRequest> DecodeReview(std::string_view body, const ReviewLimits& limits, size_t readable_bytes) {
  if (body.size() > limits.max_bytes) {
    return Status::ResourceExhausted(fmt::format("body of {} bytes exceeds the limit of {}", body.size(), limits.max_bytes));
  }
  if (body.empty()) return Bad("empty body: expected an AdmissionReview JSON object");
  if (DepthExceeds(body, limits.max_depth)) {
    return Bad(fmt::format("JSON nesting deeper than {} levels", limits.max_depth));
  }
  // Parse in place when the caller's buffer has simdjson's padding after the body.
  simdjson::padded_string copy;
  simdjson::padded_string_view view(body.data(), body.size(), readable_bytes);
  if (readable_bytes < body.size() + simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(body);
    view = copy;
  }
  od::parser& parser = ThreadParser(limits.max_depth);
  od::document doc;
  if (auto e = parser.iterate(view).get(doc); e) return Bad(fmt::format("malformed JSON: {}", ErrorText(e)));
  od::object root;
  if (auto e = doc.get_object().get(root); e) {
    return Bad(fmt::format("malformed JSON or not an object: {}", ErrorText(e)));
  }
  ReviewRequest r;
  std::string api_version, kind;
  bool has_request = false, has_object = false;
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return Bad(fmt::format("malformed JSON: {}", ErrorText(e)));
    od::value value;
    if (auto e = field.value().get(value); e) return Bad(fmt::format("malformed JSON: {}", ErrorText(e)));
    if (key == "apiVersion") {
      INVAR_RETURN_IF_ERROR(GetString(value, "apiVersion", &api_version));
    } else if (key == "kind") {
      INVAR_RETURN_IF_ERROR(GetString(value, "kind", &kind));
    } else if (key == "request") {
      has_request = true;
      INVAR_RETURN_IF_ERROR(DecodeRequest(value, &r, &has_object));
    }
  }
  // A truncated or trailing-garbage document must not pass as a review.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) return Bad("malformed JSON: trailing content after the AdmissionReview object");
  if (api_version == "admission.k8s.io/v1") {
    r.version = ReviewVersion::kV1;
  } else if (api_version == "admission.k8s.io/v1beta1") {
    r.version = ReviewVersion::kV1beta1;
  } else if (api_version.empty()) {
    return Bad("apiVersion: missing (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)");
  } else {
    return Bad(fmt::format("apiVersion: \"{}\" is not supported (expected admission.k8s.io/v1 or v1beta1)", api_version));
  }
  if (kind != "AdmissionReview") {
    return Bad(kind.empty() ? std::string("kind: missing (expected AdmissionReview)")
                            : fmt::format("kind: \"{}\" is not AdmissionReview", kind));
  }
  if (!has_request) return Bad("request: missing");
  if (r.uid.empty()) return Bad("request.uid: missing");
  if (r.operation.empty()) return Bad("request.operation: missing");
  if (r.resource.resource.empty()) return Bad("request.resource.resource: missing");
  if (!has_object && (r.operation == "CREATE" || r.operation == "UPDATE" || r.operation == "CONNECT")) {
    return Bad(fmt::format("request.object: missing (required for {})", r.operation));
  }
  if (r.operation == "UPDATE" && r.old_object.empty() && r.sub_resource.empty()) {
    return Bad("request.oldObject: missing (required for UPDATE)");
  }
  return r;
}

std::string EncodeReview(const ReviewResponse& response) {
  std::string out;
  out.reserve(256 + response.message.size());
  out += R"({"apiVersion":")";
  out += ReviewApiVersion(response.version);
  out += R"(","kind":"AdmissionReview","response":{"uid":)";
  AppendJsonString(out, response.uid);
  out += response.allowed ? R"(,"allowed":true)" : R"(,"allowed":false)";
  if (response.code != 0 || !response.message.empty()) {
    out += R"(,"status":{)";
    bool first = true;
    if (response.code != 0) {
      out += fmt::format(R"("code":{})", response.code);
      first = false;
    }
    if (!response.reason.empty()) {
      out += first ? "" : ",";
      out += R"("reason":)";
      AppendJsonString(out, response.reason);
      first = false;
    }
    if (!response.message.empty()) {
      out += first ? "" : ",";
      out += R"("message":)";
      AppendJsonString(out, response.message);
    }
    out += "}";
  }
  if (!response.warnings.empty()) {
    out += R"(,"warnings":[)";
    for (size_t i = 0; i < response.warnings.size(); ++i) {
      if (i) out += ",";
      AppendJsonString(out, response.warnings[i]);
    }
    out += "]";
  }
  if (!response.audit_annotations.empty()) {
    out += R"(,"auditAnnotations":{)";
    for (size_t i = 0; i < response.audit_annotations.size(); ++i) {
      if (i) out += ",";
      AppendJsonString(out, response.audit_annotations[i].first);
      out += ":";
      AppendJsonString(out, response.audit_annotations[i].second);
    }
    out += "}";
  }
  out += "}}";
  return out;
}

}  // namespace invar::admission
