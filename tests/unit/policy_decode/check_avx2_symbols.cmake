# SPDX-License-Identifier: Apache-2.0
# ctest policy_json_avx2_symbols: the AVX2 build of the JSON decoder
# (enforcer/policy/decode_json_avx2.cpp, compiled with -mavx2 ... -fno-weak)
# must export nothing the linker could share with generic code but its two
# entry points. Any other global or weak symbol - an inline function from
# libstdc++, simdjson or our headers (T/W/i), or a vtable or other data that
# may point at such code (V/D/R/B/u) - could be picked by the linker for
# generic callers and run AVX2 code on a CPU without it. Allowed besides the
# entry points: common (C) symbols, which are zero-filled data, and the
# exception personality pointer DW.ref.__gxx_personality_v0.
# Usage: cmake -DNM=<nm> -DOBJECTS=<obj;...> -P check_avx2_symbols.cmake
execute_process(COMMAND ${NM} -C --defined-only ${OBJECTS} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed (${rc})")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(entry_points 0)
set(bad "")
foreach(line IN LISTS lines)
  # "<address> <type> <name>"; upper case (and u, v, w) = visible to the linker.
  if(line MATCHES "^[0-9a-f]* *([A-Zuvw]) (.*)$")
    set(type "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    if(type STREQUAL "T" AND name MATCHES "^invar::policy::json_kernel::avx2::Decode(Json|ObjectJsonInto)\\(")
      math(EXPR entry_points "${entry_points} + 1")
    elseif(type STREQUAL "C" OR type STREQUAL "U" OR name STREQUAL "DW.ref.__gxx_personality_v0")
      # zero-filled data, undefined references, the personality pointer
    else()
      string(APPEND bad "  ${CMAKE_MATCH_1} ${name}\n")
    endif()
  endif()
endforeach()
if(NOT bad STREQUAL "")
  message(FATAL_ERROR "AVX2 kernel object exports code the linker could share with generic callers:\n${bad}")
endif()
if(NOT entry_points EQUAL 2)
  message(FATAL_ERROR "expected the 2 entry points of json_kernel::avx2, found ${entry_points}")
endif()
message(STATUS "AVX2 kernel exports only its 2 entry points")
