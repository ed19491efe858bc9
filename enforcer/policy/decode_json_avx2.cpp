// SPDX-License-Identifier: Apache-2.0
// The `avx2` build of the JSON decoder: decode_json_kernel.h compiled with
// -mavx2 -mbmi -mbmi2 -mpclmul -mlzcnt -mpopcnt (and -fno-weak with GCC; see
// enforcer/policy/CMakeLists.txt), so simdjson's builtin on-demand
// implementation here is `haswell`. Only decode_json.cpp calls in, and only
// after its CPU check; the ODR reasoning is in decode_json_kernel.h.
// Thread-safe like the generic build.
#include <simdjson.h>

#if !SIMDJSON_CAN_ALWAYS_RUN_HASWELL
#error "decode_json_avx2.cpp must be compiled with -mavx2 -mbmi -mbmi2 -mpclmul -mlzcnt -mpopcnt"
#endif

#define INVAR_JSON_KERNEL avx2
#include "decode_json_kernel.h"
