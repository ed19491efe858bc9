// SPDX-License-Identifier: Apache-2.0
// Falco-compatible text and JSON formatting of alerts (alert.h).
#include <ctime>

#include "invar/drift/alert.h"

namespace invar::drift {
namespace {

std::string OrNa(const std::string& s) { return s.empty() ? "<NA>" : s; }

std::string ImageRepository(const std::string& image) {
  // "docker.io/library/busybox:1.36" -> "docker.io/library/busybox"; digests kept out.
  std::string repo = image.substr(0, image.find('@'));
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) repo.resize(colon);
  return repo;
}

std::string ImageTag(const std::string& image) {
  std::string repo = image.substr(0, image.find('@'));
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) return repo.substr(colon + 1);
  return {};
}

}  // namespace

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kEmergency: return "Emergency";
    case Priority::kAlert: return "Alert";
    case Priority::kCritical: return "Critical";
    case Priority::kError: return "Error";
    case Priority::kWarning: return "Warning";
    case Priority::kNotice: return "Notice";
    case Priority::kInformational: return "Informational";
    case Priority::kDebug: return "Debug";
  }
  return "Warning";
}

std::string Rfc3339Nanos(std::uint64_t time_ns) {
  time_t secs = static_cast<time_t>(time_ns / 1000000000ull);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<unsigned long long>(time_ns % 1000000000ull));
  return buf;
}

Alert MakeAlert(DriftEvent event, const std::string& hostname) {
  Alert a;
  a.hostname = hostname;
  const Container* c = event.container.get();
  const std::string cid = c ? c->ShortId() : "host";
  const std::string ctx = " container_id=" + cid + " container_name=" + OrNa(c ? c->name : "") +
                          " image=" + OrNa(c ? c->image : "") + " k8s.ns=" + OrNa(c ? c->pod_namespace : "") +
                          " k8s.pod=" + OrNa(c ? c->pod : "");
  const ProcessInfo none;
  const ProcessInfo& p = event.process ? *event.process : none;
  const std::string proc = " proc=" + OrNa(p.comm) + " pid=" + (event.process ? std::to_string(p.pid) : "<NA>") +
                           " exe=" + OrNa(p.exe) + " cmdline=" + OrNa(p.cmdline) + " user=" + OrNa(p.user) +
                           " uid=" + (p.uid ? std::to_string(*p.uid) : "<NA>");
  const std::string action = event.action.empty() ? "" : " action=" + event.action;
  switch (event.op) {
    case Operation::kExec:
      a.rule = "Drop and execute new binary in container";
      a.priority = Priority::kCritical;
      a.message = "Executing binary not part of base image (file=" + event.path + proc + ctx + action + ")";
      a.tags = {"container", "drift", "mitre_persistence", "TA0003"};
      break;
    case Operation::kShell:
      a.rule = "Shell spawned in container";
      a.priority = Priority::kWarning;
      a.message = "Shell spawned (" + OrNa(p.user) + ",container_id=" + cid + ")" + " (shell=" + OrNa(p.comm) +
                  " parent=" + OrNa(p.pcomm) + " cmdline=" + OrNa(p.cmdline) + ctx + action + ")";
      a.tags = {"container", "shell", "mitre_execution", "T1059"};
      break;
    default:
      a.rule = "Container drift detected";
      a.priority = Priority::kWarning;
      a.message = "File changed in container after start (op=" + std::string(OperationName(event.op)) +
                  " file=" + event.path + (event.old_path.empty() ? "" : " from=" + event.old_path) +
                  " source=" + (event.origin == EventOrigin::kScan ? "scan" : "fanotify") + proc + ctx + action +
                  ")";
      a.tags = {"container", "drift", "filesystem"};
      break;
  }
  a.event = std::move(event);
  return a;
}

std::string FormatText(const Alert& a) {
  time_t secs = static_cast<time_t>(a.event.time_ns / 1000000000ull);
  tm t{};
  localtime_r(&secs, &t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%09llu: ", t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<unsigned long long>(a.event.time_ns % 1000000000ull));
  return std::string(buf) + std::string(PriorityName(a.priority)) + " " + a.message;
}

namespace {

// JSON string escaping: '"', '\\', control characters; invalid UTF-8 becomes
// U+FFFD, so any path the kernel gives prints as valid JSON. (A hand-written
// writer: nlohmann's DOM build and dump were the agent's top CPU cost per alert.)
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  static const char* kHex = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    // Fast path: a run of printable ASCII needing no escape, appended at once.
    std::size_t run = i;
    while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') ++run;
    if (run > i) {
      out.append(reinterpret_cast<const char*>(p + i), run - i);
      i = run;
      continue;
    }
    unsigned char ch = p[i];
    if (ch < 0x80) {
      switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (ch < 0x20) {
            out += "\\u00";
            out += kHex[ch >> 4];
            out += kHex[ch & 15];
          } else {
            out += static_cast<char>(ch);
          }
      }
      ++i;
      continue;
    }
    std::size_t len = ch >= 0xf0 && ch <= 0xf4 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc2 && ch <= 0xdf ? 2 : 0;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
    if (ok && len == 3) {
      const unsigned cp = ((ch & 0x0fu) << 12) | ((p[i + 1] & 0x3fu) << 6);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok && len == 4) {
      const unsigned cp = ((ch & 0x07u) << 18) | ((p[i + 1] & 0x3fu) << 12);
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (ok) {
      out.append(reinterpret_cast<const char*>(p + i), len);
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
}

class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  void Close() { out_ += '}'; }
  void Key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendJsonString(out_, k);
    out_ += ':';
  }
  void Str(std::string_view k, std::string_view v) {
    Key(k);
    AppendJsonString(out_, v);
  }
  void StrOrNull(std::string_view k, std::string_view v) {
    if (v.empty()) {
      Null(k);
    } else {
      Str(k, v);
    }
  }
  void Null(std::string_view k) {
    Key(k);
    out_ += "null";
  }
  void Num(std::string_view k, std::uint64_t v) {
    Key(k);
    out_ += std::to_string(v);
  }
  void Int(std::string_view k, std::int64_t v) {
    Key(k);
    out_ += std::to_string(v);
  }
  void Bool(std::string_view k, bool v) {
    Key(k);
    out_ += v ? "true" : "false";
  }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

std::string FormatJson(const Alert& a) {
  const Container* c = a.event.container.get();
  std::string out;
  out.reserve(1024);
  JsonObject j(out);
  j.Str("hostname", a.hostname);
  j.Str("output", FormatText(a));
  j.Str("priority", PriorityName(a.priority));
  j.Str("rule", a.rule);
  j.Str("source", "syscall");
  j.Key("tags");
  out += '[';
  for (std::size_t i = 0; i < a.tags.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, a.tags[i]);
  }
  out += ']';
  j.Str("time", Rfc3339Nanos(a.event.time_ns));
  j.Key("output_fields");
  JsonObject f(out);
  f.Num("evt.time", a.event.time_ns);
  f.Str("evt.type", OperationSyscall(a.event.op));
  f.Str("invar.op", OperationName(a.event.op));
  f.Str("invar.origin", a.event.origin == EventOrigin::kScan ? "scan" : "fanotify");
  f.StrOrNull("invar.action", a.event.action);
  f.Str("container.id", c ? c->ShortId() : "host");
  f.Str("container.full_id", c ? c->id : "");
  f.StrOrNull("container.name", c ? c->name : "");
  f.StrOrNull("container.image.repository", c ? ImageRepository(c->image) : "");
  f.StrOrNull("container.image.tag", c ? ImageTag(c->image) : "");
  f.StrOrNull("k8s.ns.name", c ? c->pod_namespace : "");
  f.StrOrNull("k8s.pod.name", c ? c->pod : "");
  f.StrOrNull("k8s.pod.uid", c ? c->pod_uid : "");
  f.Str("fd.name", a.event.path);
  if (!a.event.old_path.empty()) f.Str("fd.oldname", a.event.old_path);
  if (a.event.op == Operation::kExec || a.event.op == Operation::kShell) {
    f.Bool("proc.is_exe_upper_layer", a.event.exe_upper_layer);
  }
  if (a.event.process) {
    const auto& p = *a.event.process;
    f.Int("proc.pid", p.pid);
    f.StrOrNull("proc.name", p.comm);
    f.StrOrNull("proc.pname", p.pcomm);
    f.StrOrNull("proc.exe", p.exe);
    f.StrOrNull("proc.cmdline", p.cmdline);
    if (p.uid) {
      f.Int("user.uid", *p.uid);
    } else {
      f.Null("user.uid");
    }
    f.StrOrNull("user.name", p.user);
  } else {
    for (const char* k : {"proc.pid", "proc.name", "proc.pname", "proc.exe", "proc.cmdline", "user.uid", "user.name"}) {
      f.Null(k);
    }
  }
  f.Close();
  j.Close();
  return out;
}

}  // namespace invar::drift
