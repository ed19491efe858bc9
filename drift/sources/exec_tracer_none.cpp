// SPDX-License-Identifier: Apache-2.0
// The ExecTracer backend of builds without eBPF (CMake found no clang with
// the BPF target or no libbpf): Open() always fails, so the exec source uses
// its /proc/<pid>/comm fallback. Stateless, thread-safe.
#include "invar/drift/exec_tracer.h"

namespace invar::drift {

Result<std::unique_ptr<ExecTracer>> OpenExecTracer(const ExecTracerOptions&) {
  return Status::Unimplemented("built without eBPF (clang -target bpf and libbpf-dev were not found)");
}

}  // namespace invar::drift
