// SPDX-License-Identifier: Apache-2.0
// Names of drift operations (event.h). Pure; thread-safe.
#include "invar/drift/event.h"

namespace invar::drift {

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kCreate: return "create";
    case Operation::kWrite: return "write";
    case Operation::kTruncate: return "truncate";
    case Operation::kDelete: return "delete";
    case Operation::kRename: return "rename";
    case Operation::kChmod: return "chmod";
    case Operation::kChown: return "chown";
    case Operation::kLink: return "link";
    case Operation::kSymlink: return "symlink";
    case Operation::kXattr: return "xattr";
    case Operation::kExec: return "exec";
    case Operation::kShell: return "shell";
  }
  return "unknown";
}

std::string_view OperationSyscall(Operation op) {
  switch (op) {
    case Operation::kCreate: return "openat";
    case Operation::kWrite: return "write";
    case Operation::kTruncate: return "truncate";
    case Operation::kDelete: return "unlink";
    case Operation::kRename: return "rename";
    case Operation::kChmod: return "chmod";
    case Operation::kChown: return "chown";
    case Operation::kLink: return "link";
    case Operation::kSymlink: return "symlink";
    case Operation::kXattr: return "setxattr";
    case Operation::kExec: return "execve";
    case Operation::kShell: return "execve";
  }
  return "unknown";
}

}  // namespace invar::drift
