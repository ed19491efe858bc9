// SPDX-License-Identifier: Apache-2.0
// The AdmissionReview codec: the HTTP body the API server POSTs to a
// validating webhook (admission.k8s.io/v1 or v1beta1) in, the typed request
// out; a typed response in, the JSON body the API server expects out, in the
// version it asked for and with the same uid.
//
// DecodeReview() never throws and never crashes on hostile input: every
// malformed body becomes an InvalidArgument Status whose message says what is
// wrong ("request.uid: missing"), which the server turns into a 400. The
// request's `object`/`oldObject` are kept as raw JSON text (with simdjson
// padding reserved) so the decision code can decode exactly the subtree it
// needs. Called by the server's worker threads; thread-safe (one simdjson
// parser per thread inside).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "invar/platform/json_escape.h"
#include "invar/platform/status.h"

namespace invar::admission {

enum class ReviewVersion { kV1, kV1beta1 };
std::string_view ReviewApiVersion(ReviewVersion v);  // "admission.k8s.io/v1"

struct GroupVersionKind {
  std::string group, version, kind;
};
struct GroupVersionResource {
  std::string group, version, resource;
};

struct UserInfo {
  std::string username;
  std::string uid;
  std::vector<std::string> groups;
};

struct ReviewRequest {
  ReviewVersion version = ReviewVersion::kV1;
  std::string uid;
  GroupVersionKind kind;          // the object's kind ("apps", "v1", "Deployment")
  GroupVersionResource resource;  // ("", "v1", "pods")
  std::string sub_resource;       // "", "ephemeralcontainers", "exec", "attach", ...
  std::string name;
  std::string namespace_;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  UserInfo user;
  bool dry_run = false;
  // Raw JSON of request.object / request.oldObject; empty when absent or null.
  // Capacity is at least size() + simdjson padding, so it can be parsed in place.
  std::string object;
  std::string old_object;
};

struct ReviewResponse {
  ReviewVersion version = ReviewVersion::kV1;
  std::string uid;
  bool allowed = false;  // the safe default: an unfilled response denies
  int code = 0;          // status.code; 0 = no status object
  std::string reason;    // status.reason ("Forbidden")
  std::string message;   // status.message
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> audit_annotations;
};

struct ReviewLimits {
  size_t max_bytes = 3u << 20;  // the server enforces this before decoding too
  int max_depth = 128;          // nesting of objects/arrays anywhere in the body
};

// Decodes one AdmissionReview body. InvalidArgument (-> HTTP 400) for
// anything that is not a well-formed AdmissionReview request: malformed JSON,
// wrong apiVersion or kind, missing request, request.uid, request.operation,
// or request.object on CREATE/UPDATE/CONNECT, wrong field types, nesting
// deeper than limits.max_depth. ResourceExhausted (-> 413) over max_bytes.
// `readable_bytes`: how many bytes from body.data() may be read (a
// std::string's capacity); with at least kReviewPadding past the body it is
// parsed in place, otherwise it is copied first.
inline constexpr size_t kReviewPadding = 64;  // simdjson::SIMDJSON_PADDING
Result<ReviewRequest> DecodeReview(std::string_view body, const ReviewLimits& limits = {}, size_t readable_bytes = 0);

// The AdmissionReview JSON for `response` (apiVersion from response.version).
std::string EncodeReview(const ReviewResponse& response);

// Appends `s` to `out` as a JSON string literal (quotes included).
using ::invar::AppendJsonString;

}  // namespace invar::admission
