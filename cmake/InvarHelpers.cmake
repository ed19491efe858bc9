# SPDX-License-Identifier: Apache-2.0
# Shared compile settings and the helpers every folder uses.

add_library(invar_warnings INTERFACE)
target_compile_options(invar_warnings INTERFACE
  -Wall -Wextra -Wshadow=local -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2
  # GCC 12 reports false positives for std::variant/std::optional at -O2+ (GCC PR 105562 and friends).
  -Wno-maybe-uninitialized)
if(INVAR_WERROR)
  target_compile_options(invar_warnings INTERFACE -Werror)
endif()

if(INVAR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# invar_library(NAME <target> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# A static library for one folder: public headers in include/invar/<lib>/,
# everything else private beside the .cpp files.
function(invar_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SOURCES})
  target_include_directories(${ARG_NAME}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE invar_warnings ${ARG_PRIVATE_DEPS})
endfunction()

# Any target that includes cpprest must define this, or cpprest's U() macro
# breaks Boost and fmt headers included after it (see shared FACTS.md).
function(invar_cpprest_safe target)
  target_compile_definitions(${target} PRIVATE _TURN_OFF_PLATFORM_STRING)
endfunction()

# ---- Fuzzing (added by the decoders work; additive) ---------------------------
# With INVAR_FUZZ=ON (clang, preset `fuzz`) every target is instrumented for
# libFuzzer coverage plus ASan/UBSan; fuzz executables add -fsanitize=fuzzer
# (the libFuzzer main). `invar_fuzzers` builds them all (scripts/fuzz.sh).
if(INVAR_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_custom_target(invar_fuzzers)
endif()

# invar_add_fuzzer(<name> SOURCES ... [LIBS ...] [CORPUS dir])
# A libFuzzer target whose sources define LLVMFuzzerTestOneInput. The seed
# corpus defaults to tests/fuzz/corpus/<name without "fuzz_">, which is where
# scripts/fuzz.sh looks. With INVAR_FUZZ=OFF the same entry point is built
# into <name>_replay, a ctest (label unit) that replays the corpus plus
# deterministic mutations of it, so the normal and ASan test runs cover it.
# The positional form invar_add_fuzzer(<name> <source.cpp>... <lib>...) works
# too: arguments ending in .cpp/.cc/.c are sources, the rest libraries.
function(invar_add_fuzzer NAME)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  foreach(arg IN LISTS ARG_UNPARSED_ARGUMENTS)
    if(arg MATCHES "\\.(cpp|cc|c)$")
      list(APPEND ARG_SOURCES ${arg})
    else()
      list(APPEND ARG_LIBS ${arg})
    endif()
  endforeach()
  if(NOT ARG_CORPUS)
    string(REGEX REPLACE "^fuzz_" "" short ${NAME})
    set(ARG_CORPUS ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${short})
  endif()
  if(INVAR_FUZZ)
    add_executable(${NAME} ${ARG_SOURCES})
    target_link_libraries(${NAME} PRIVATE ${ARG_LIBS} invar_warnings)
    target_link_options(${NAME} PRIVATE -fsanitize=fuzzer)
    add_dependencies(invar_fuzzers ${NAME})
  elseif(INVAR_TESTS)
    add_executable(${NAME}_replay ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    target_link_libraries(${NAME}_replay PRIVATE ${ARG_LIBS} invar_warnings)
    add_test(NAME ${NAME}_replay COMMAND ${NAME}_replay ${ARG_CORPUS})
    set_tests_properties(${NAME}_replay PROPERTIES LABELS unit TIMEOUT 600)
  endif()
endfunction()
