// SPDX-License-Identifier: Apache-2.0
// DecodeObject(): the admission hot path. Reads one Kubernetes object from a
// simdjson on-demand value straight into a Workload (no DOM, no copies of
// fields the checks do not read), walking simdjson's structural index
// (IndexAdapter) with the on-demand walk as the fallback that reports errors.
// Called by the webhook's AdmissionReview codec on request.object.
// Thread-compatible: the value belongs to the caller's parser.
#include "invar/policy/json_object.h"

#include "decode_extract.h"
#include "decode_json_adapter.h"

namespace invar::policy {
namespace {

// The on-demand walk into `out`: DecodeObjectOnDemand, and DecodeObjectInto's
// fallback when the structural-index walk gives up.
Status DecodeOnDemandInto(simdjson::ondemand::value object, int max_depth, Workload* out) {
  decode_internal::JsonAdapter adapter;
  decode_internal::Extractor<decode_internal::JsonAdapter> extractor(adapter, max_depth);
  decode_internal::JsonAdapter::Node node{object};
  return extractor.DecodeSingle(node, out);
}

}  // namespace

Result<Workload> DecodeObject(simdjson::ondemand::value object, int max_depth, NestingCheck* nesting) {
  Result<Workload> result{std::in_place};  // decoded in place
  Status status = DecodeObjectInto(object, max_depth, &*result, nesting);
  if (!status.ok()) return status;
  return result;
}

Status DecodeObjectInto(simdjson::ondemand::value object, int max_depth, Workload* out,
                        NestingCheck* nesting) {
  // The walk over simdjson's structural index first (IndexAdapter, as in
  // DecodeObjectJson); on success on-demand's iterator is moved past the
  // object, so the caller's iteration of the review goes on as if the object
  // had been read. On any failure the on-demand walk decodes it again and
  // reports exactly what it always did. With `nesting`, the walk bounds the
  // nesting too (BoundedIndexAdapter; a deeper object takes the fallback,
  // unchecked).
  if (nesting == nullptr) {
    if (decode_internal::DecodeOnIndex(object, "", max_depth, /*step_past=*/true, out)) return Status::Ok();
  } else {
    nesting->checked = {};
    nesting->depth = 0;
    decode_internal::IndexNesting bound;
    bound.max_depth = nesting->max_depth;
    if (decode_internal::DecodeOnIndexBounded(object, max_depth, out, &bound)) {
      nesting->checked = bound.span;
      nesting->depth = bound.depth;
      return Status::Ok();
    }
  }
  return DecodeOnDemandInto(object, max_depth, out);
}

Result<Workload> DecodeObjectOnDemand(simdjson::ondemand::value object, int max_depth) {
  Result<Workload> result{std::in_place};  // decoded in place
  Status status = DecodeOnDemandInto(object, max_depth, &*result);
  if (!status.ok()) return status;
  return result;
}

}  // namespace invar::policy
