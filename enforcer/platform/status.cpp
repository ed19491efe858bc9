// SPDX-License-Identifier: Apache-2.0
// Status helpers and the errno -> Status::Code mapping.
#include "invar/platform/status.h"

#include <cstring>

namespace invar {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kAlreadyExists: return "already exists";
    case Status::Code::kPermissionDenied: return "permission denied";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kDeadlineExceeded: return "deadline exceeded";
    case Status::Code::kResourceExhausted: return "resource exhausted";
    case Status::Code::kFailedPrecondition: return "failed precondition";
    case Status::Code::kUnimplemented: return "unimplemented";
    case Status::Code::kInternal: return "internal error";
    case Status::Code::kIo: return "I/O error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

Status ErrnoStatus(std::string_view context, int err) {
  char buf[256];
  // GNU strerror_r returns the message pointer.
  const char* text = strerror_r(err, buf, sizeof buf);
  std::string msg(context);
  msg += ": ";
  msg += text;
  switch (err) {
    case ENOENT: case ESRCH: return Status::NotFound(std::move(msg));
    case EEXIST: return Status::AlreadyExists(std::move(msg));
    case EACCES: case EPERM: return Status::PermissionDenied(std::move(msg));
    case EAGAIN: case EINTR: case ECONNREFUSED: case ECONNRESET: case EHOSTUNREACH:
      return Status::Unavailable(std::move(msg));
    case ETIMEDOUT: return Status::DeadlineExceeded(std::move(msg));
    case ENOMEM: case ENOSPC: case EMFILE: case ENFILE: return Status::ResourceExhausted(std::move(msg));
    case EINVAL: case ENAMETOOLONG: case ELOOP: return Status::InvalidArgument(std::move(msg));
    case ENOSYS: case EOPNOTSUPP: return Status::Unimplemented(std::move(msg));
    default: return Status::Io(std::move(msg));
  }
}

}  // namespace invar
