// SPDX-License-Identifier: Apache-2.0
// The AdmissionReview codec: the HTTP body the API server POSTs to a
// validating webhook (admission.k8s.io/v1 or v1beta1) in, the typed request
// out; a typed response in, the JSON body the API server expects out, in the
// version it asked for and with the same uid.
//
// DecodeReview() never throws and never crashes on hostile input: every
// malformed body becomes an InvalidArgument Status whose message says what is
// wrong ("request.uid: missing"), which the server turns into a 400.
//
// One parse per review: simdjson indexes the body once, and for a CREATE the
// request's `object` is decoded into the policy model during the same walk
// (ReviewRequest::workload). `object`/`oldObject` are also kept as views of
// their raw JSON in the body (no copy) for what needs the text: the UPDATE
// pod-spec comparison, exec options, and objects decoded later by Decide().
// The views point into the caller's body, so the body must outlive the
// request (or into ReviewRequest::storage when the body had to be copied).
// Called by the server's worker threads; thread-safe (one simdjson parser
// per thread inside).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "invar/platform/json_escape.h"
#include "invar/platform/status.h"
#include "invar/policy/model.h"

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

// A JSON value inside an AdmissionReview body, not copied.
struct RawJson {
  std::string_view json;  // empty when absent or null
  // Bytes readable from json.data() (at least json.size()). With
  // kReviewPadding or more past the value it is parsed in place.
  size_t readable = 0;
  bool empty() const { return json.empty(); }
};

// request.object as DecodeReview decoded it in the review's own pass (see
// ReviewRequest::workload). Reads like the std::optional<Result<
// policy::Workload>> it replaced -- has_value(), ->ok(), ->status(), and
// ** for the Workload -- but Reset() keeps the Workload's storage, so a
// worker thread's steady stream of reviews is decoded into the same strings
// and vectors (policy::DecodeObjectInto) instead of allocating them anew.
class DecodedWorkload {
 public:
  // A decode's outcome: the Workload when ok(), else the decoder's error.
  class Outcome {
   public:
    bool ok() const { return status_.ok(); }
    const Status& status() const { return status_; }
    const policy::Workload& operator*() const { return workload_; }  // meaningful when ok()
    const policy::Workload* operator->() const { return &workload_; }

   private:
    friend class DecodedWorkload;
    Status status_;
    policy::Workload workload_;
  };

  bool has_value() const { return has_value_; }
  explicit operator bool() const { return has_value_; }
  const Outcome& operator*() const { return outcome_; }
  const Outcome* operator->() const { return &outcome_; }

  // Where to decode (policy::DecodeObjectInto), then Set() its status, which
  // makes has_value() true.
  policy::Workload* Storage() { return &outcome_.workload_; }
  void Set(Status status) {
    outcome_.status_ = std::move(status);
    has_value_ = true;
  }
  // has_value() false again. The Workload's storage is kept for the next
  // decode, unless the last object was far larger than usual (then it is
  // released, so one huge review does not pin its memory to a worker).
  void Reset();

 private:
  bool has_value_ = false;
  Outcome outcome_;
};

// A new field must also be reset in ResetForReuse() (review.cpp); the test
// ReviewCodec.DecodingIntoAUsedRequestEqualsAFreshDecode checks it.
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
  RawJson object;
  RawJson old_object;
  // request.object decoded in DecodeReview's single pass (a CREATE whose
  // operation and resource precede the object in the body, as the API server
  // writes them); unset otherwise, and then Decide() decodes `object` itself.
  // An error here is the decoder's verdict on the object (Decide denies in
  // enforce mode), not a malformed review.
  DecodedWorkload workload;
  // Owns the copy of the body that `object`/`old_object` point into when the
  // caller's buffer had no padding; null when they point into the caller's body.
  std::shared_ptr<const std::string> storage;
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
  // Decode a CREATE's object in the review's own pass (see
  // ReviewRequest::workload). Off only in tests of the later path.
  bool decode_workload = true;
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
// Nesting bound of the policy decoder's walk of one object.
inline constexpr int kMaxObjectDepth = 128;
Result<ReviewRequest> DecodeReview(std::string_view body, const ReviewLimits& limits = {}, size_t readable_bytes = 0);
// The same into a ReviewRequest the caller reuses (the server keeps one per
// worker thread): every field is reset first (ResetForReuse), and strings and
// vectors keep their capacity, so a steady stream of reviews allocates less
// and moves no ReviewRequest. On error `out` holds a partial decode.
Status DecodeReviewInto(std::string_view body, const ReviewLimits& limits, size_t readable_bytes, ReviewRequest& out);
// Sets every field of `r` to its default, keeping string and vector capacity.
void ResetForReuse(ReviewRequest& r);

// The nesting scan of DecodeReview's bound: true when objects and arrays
// (outside strings) nest deeper than max_depth anywhere in `s`. DecodeReview
// scans the whole body, or only the bytes outside request.object when the
// object's decode checked the bound on its own bytes (a CREATE decoded on
// simdjson's structural index); either way a body nested too deep is
// rejected for that, before any other error it has.
// kBest picks the fastest scan the CPU runs; the others exist so tests can
// check every implementation against the others (kAvx2 falls back to kSse2
// on a CPU without AVX2, kSse2 to kPortable without SSE2).
enum class NestingScan { kBest, kAvx2, kSse2, kPortable };
bool NestingDeeperThan(std::string_view s, int max_depth, NestingScan scan = NestingScan::kBest);

// The AdmissionReview JSON for `response` (apiVersion from response.version).
std::string EncodeReview(const ReviewResponse& response);
// The same, appended to `out` (the server's reused response buffer).
void AppendReview(const ReviewResponse& response, std::string& out);

// Appends `s` to `out` as a JSON string literal (quotes included).
using ::invar::AppendJsonString;
// The same output as AppendJsonString (UTF-8 passed through), 16 bytes at a
// time: for the long texts of a reply (the deny message, warnings, audit
// values). `s` must not point into `out`.
void AppendJsonStringForReply(std::string& out, std::string_view s);

}  // namespace invar::admission
