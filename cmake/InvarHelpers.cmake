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
