# SPDX-License-Identifier: Apache-2.0
# Regenerates docs/checks.md into the build tree and compares it with the
# committed copy. Run by ctest (report_docs_checks_md_fresh).
execute_process(COMMAND ${INVAR} checks -o markdown
  OUTPUT_FILE ${GENERATED} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "`invar checks -o markdown` failed (exit ${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${COMMITTED} ${GENERATED} RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "docs/checks.md is stale: run build/release/enforcer/cli/invar checks -o markdown > docs/checks.md "
                      "(generated copy: ${GENERATED})")
endif()
