# SPDX-License-Identifier: Apache-2.0
# bench_kube_list outside the main tree (a scratch build of the kube area only).
add_executable(bench_kube_list ${INVAR_KUBE_BENCH_DIR}/bench_kube_list.cpp)
target_link_libraries(bench_kube_list PRIVATE benchmark::benchmark invar_warnings invar_kube invar_policy
  invar_testapiserver invar_testpki simdjson::simdjson)
target_compile_definitions(bench_kube_list PRIVATE INVAR_SOURCE_DIR="${SRC}")
