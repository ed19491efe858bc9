// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the AdmissionReview decoder and the decision on whatever
// it accepts (standalone config, one enforced namespace). Must never crash,
// leak or hang; a decoded review must always get an answer with its uid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "invar/admission/config.h"
#include "invar/admission/decide.h"
#include "invar/admission/review.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace invar::admission;
  static const Config* config = [] {
    auto c = ParseConfig("breakGlass: {groups: [bg]}\nexemptions: {namespaces: [kube-system]}\n");
    return new Config(std::move(*c));
  }();
  static FixedNamespaceSource* ns = [] {
    auto* s = new FixedNamespaceSource();
    invar::policy::StringMap labels;
    labels.Set("invar.dev/enforce", "immutable");
    labels.Set("invar.dev/warn", "restricted");
    labels.Set("invar.dev/audit", "baseline");
    s->Set("prod", labels);
    return s;
  }();
  auto review = DecodeReview(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!review.ok()) return 0;
  Decision d = Decide(*review, *config, *ns);
  if (d.response.uid != review->uid) std::abort();
  (void)EncodeReview(d.response);
  return 0;
}
