// SPDX-License-Identifier: Apache-2.0
// The entry points of the two builds of the JSON decoder (see
// decode_json_kernel.h): `generic` (decode_json.cpp, the default flags, runs
// on any x86-64) and `avx2` (decode_json_avx2.cpp, compiled for Haswell; only
// present when INVAR_JSON_AVX2 is defined and only called after the CPU check
// in decode_json.cpp). Plain types only: no simdjson type crosses the seam.
// Private to enforcer/policy. Thread-safe (each call owns or borrows a
// thread_local parser).
#pragma once

#include <cstddef>
#include <string_view>

#include "invar/platform/status.h"
#include "invar/policy/decode.h"
#include "invar/policy/model.h"

#define INVAR_DECLARE_JSON_KERNEL(ns)                                                                   \
  namespace ns {                                                                                        \
  DecodeResult DecodeJson(std::string_view json, std::string_view file, const DecodeLimits& limits);    \
  Status DecodeObjectJsonInto(const char* data, size_t size, size_t capacity, std::string_view pointer, \
                              int max_depth, Workload* out);                                            \
  }

namespace invar::policy::json_kernel {
INVAR_DECLARE_JSON_KERNEL(generic)
INVAR_DECLARE_JSON_KERNEL(avx2)
}  // namespace invar::policy::json_kernel

#undef INVAR_DECLARE_JSON_KERNEL
