// SPDX-License-Identifier: Apache-2.0
// Audit-log reader (see audit.h). zlib's gz* API reads gzip and plain files
// alike; lines are parsed with nlohmann::json without exceptions and every
// field is type-checked, so a hostile log yields errors, never a crash.
#include "invar/report/audit.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

namespace invar::report {
namespace {

using Json = nlohmann::json;

struct GzCloser {
  void operator()(gzFile f) const {
    if (f != nullptr) gzclose(f);
  }
};

const Json* Member(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string Str(const Json& j, std::string_view key) {
  const Json* m = Member(j, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : std::string();
}

int StageRank(std::string_view stage) {
  if (stage == "RequestReceived") return 0;
  if (stage == "ResponseStarted") return 1;
  if (stage == "ResponseComplete") return 2;
  if (stage == "Panic") return 3;
  return -1;
}

bool IsGuardedSubresource(std::string_view s) {
  return s == "exec" || s == "attach" || s == "portforward" || s == "ephemeralcontainers";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AuditReader::AddFile(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) {
    errors_.push_back(
        InputError{path, 0, std::string("cannot open: ") + std::strerror(errno != 0 ? errno : ENOENT)});
    return;
  }
  gzbuffer(f.get(), 128 * 1024);
  std::string pending;
  std::vector<char> buf(64 * 1024);
  int line_no = 0;
  bool skipping_long_line = false;
  for (;;) {
    int n = gzread(f.get(), buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(f.get(), &err);
      errors_.push_back(
          InputError{path, line_no + 1, std::string("cannot read: ") + (msg != nullptr ? msg : "error")});
      return;
    }
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    while (!chunk.empty()) {
      auto nl = chunk.find('\n');
      std::string_view part = chunk.substr(0, nl);
      if (!skipping_long_line) {
        if (pending.size() + part.size() > options_.max_line_bytes) {
          errors_.push_back(InputError{
              path, line_no + 1, "line longer than " + std::to_string(options_.max_line_bytes) + " bytes"});
          skipping_long_line = true;
          pending.clear();
        } else {
          pending.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      ++line_no;
      if (!skipping_long_line) AddLine(pending, path, line_no);
      pending.clear();
      skipping_long_line = false;
      chunk.remove_prefix(nl + 1);
    }
  }
  if (!pending.empty() && !skipping_long_line) AddLine(pending, path, line_no + 1);
}

void AuditReader::AddText(std::string_view text, const std::string& file) {
  int line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    ++line_no;
    AddLine(text.substr(0, nl), file, line_no);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

void AuditReader::AddLine(std::string_view line, const std::string& file, int line_no) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) return;
  line.remove_prefix(start);
  if (line.find('\0') != std::string_view::npos) {
    errors_.push_back(InputError{file, line_no, "binary data, not an audit.k8s.io/v1 Event"});
    return;
  }
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    errors_.push_back(
        InputError{file, line_no, "not a JSON object (expected one audit.k8s.io/v1 Event per line)"});
    return;
  }
  std::string api_version = Str(j, "apiVersion");
  if (Str(j, "kind") != "Event" || api_version.rfind("audit.k8s.io/", 0) != 0) {
    errors_.push_back(InputError{
        file, line_no,
        "not an audit.k8s.io Event (kind \"" + Str(j, "kind") + "\", apiVersion \"" + api_version + "\")"});
    return;
  }
  ++events_;
  const Json* ref = Member(j, "objectRef");
  if (ref == nullptr || Str(*ref, "resource") != "pods" || !IsGuardedSubresource(Str(*ref, "subresource")))
    return;

  ExecEntry e;
  e.audit_id = Str(j, "auditID");
  e.stage = Str(j, "stage");
  e.time = Str(j, "requestReceivedTimestamp");
  e.stage_time = Str(j, "stageTimestamp");
  e.verb = Str(j, "verb");
  e.subresource = Str(*ref, "subresource");
  e.namespace_ = Str(*ref, "namespace");
  e.pod = Str(*ref, "name");
  e.source_file = file;
  e.source_line = line_no;
  if (const Json* user = Member(j, "user")) {
    e.user = Str(*user, "username");
    if (const Json* groups = Member(*user, "groups"); groups != nullptr && groups->is_array()) {
      for (const auto& g : *groups) {
        if (g.is_string()) e.groups.push_back(g.get<std::string>());
      }
    }
  }
  // Query parameters: command (repeated), container, ports.
  std::string uri = Str(j, "requestURI");
  if (auto q = uri.find('?'); q != std::string::npos) {
    std::string_view query(uri);
    query.remove_prefix(q + 1);
    if (auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      auto eq = pair.find('=');
      std::string key = UrlDecode(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? std::string() : UrlDecode(pair.substr(eq + 1));
      if (key == "command") {
        e.command.push_back(std::move(value));
      } else if (key == "container") {
        e.container = std::move(value);
      } else if (key == "ports") {
        e.ports.push_back(std::move(value));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  // Ephemeral containers: the name is in the request body when the audit
  // level records it (Request or RequestResponse).
  if (e.subresource == "ephemeralcontainers" && e.container.empty()) {
    if (const Json* obj = Member(j, "requestObject")) {
      if (const Json* spec = Member(*obj, "spec")) {
        if (const Json* list = Member(*spec, "ephemeralContainers");
            list != nullptr && list->is_array() && !list->empty()) {
          e.container = Str(list->back(), "name");
        }
      }
    }
  }
  std::string auth_reason;
  if (const Json* ann = Member(j, "annotations"); ann != nullptr && ann->is_object()) {
    e.decision = Str(*ann, "authorization.k8s.io/decision");
    auth_reason = Str(*ann, "authorization.k8s.io/reason");
    for (const auto& [key, value] : ann->items()) {
      std::string_view k(key);
      constexpr std::string_view kInvar = "invar.dev/exec";
      if (value.is_string() && k.size() >= kInvar.size() && k.substr(k.size() - kInvar.size()) == kInvar) {
        // The webhook's audit annotation ("enforce.invar.dev/exec" once the
        // apiserver prefixes the webhook name) is a JSON object whose
        // "decision" says what invar decided; older or foreign writers may
        // put plain text there.
        std::string text = value.get<std::string>();
        Json inner = Json::parse(text, nullptr, /*allow_exceptions=*/false);
        std::string decision = inner.is_object() ? Str(inner, "decision") : std::string();
        e.invar_annotation = decision.empty() ? text : decision;
      }
    }
  }
  std::string status_message;
  bool has_code = false;
  if (const Json* rs = Member(j, "responseStatus")) {
    if (const Json* code = Member(*rs, "code"); code != nullptr && code->is_number_integer()) {
      e.code = code->get<int>();
      has_code = true;
    }
    status_message = Str(*rs, "message");
  }
  if (e.decision == "forbid") {
    e.allowed = false;
    e.reason = !status_message.empty() ? status_message : "forbidden by authorization";
  } else if (has_code && e.code >= 400) {
    e.allowed = false;
    e.reason =
        !status_message.empty() ? status_message : "request failed with HTTP " + std::to_string(e.code);
  } else if (has_code) {
    e.allowed = true;
    e.reason = auth_reason;
  } else {
    // Only the RequestReceived stage was logged: the outcome is unknown, so
    // count it as possibly allowed.
    e.allowed = true;
    e.reason = "outcome not recorded (stage " + (e.stage.empty() ? std::string("unknown") : e.stage) + ")";
  }
  if (!e.invar_annotation.empty()) {
    e.reason =
        e.reason.empty() ? "invar: " + e.invar_annotation : e.reason + "; invar: " + e.invar_annotation;
  }
  if (auto it = options_.immutable_namespaces.find(e.namespace_); it != options_.immutable_namespaces.end()) {
    e.flagged = true;
    e.flag_reason = "namespace " + e.namespace_ + " is in immutable mode (" + it->second + ")";
  }

  if (e.audit_id.empty()) {
    without_id_.push_back(std::move(e));
    return;
  }
  int rank = StageRank(e.stage);
  auto it = stage_rank_.find(e.audit_id);
  if (it != stage_rank_.end() && it->second > rank) return;
  stage_rank_[e.audit_id] = rank;
  by_id_[e.audit_id] = std::move(e);
}

AuditResult AuditReader::Finish() {
  AuditResult r;
  r.events = events_;
  for (auto& [id, e] : by_id_) r.execs.push_back(std::move(e));
  for (auto& e : without_id_) r.execs.push_back(std::move(e));
  std::stable_sort(r.execs.begin(), r.execs.end(), [](const ExecEntry& a, const ExecEntry& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.audit_id < b.audit_id;
  });
  r.errors = std::move(errors_);
  by_id_.clear();
  stage_rank_.clear();
  without_id_.clear();
  return r;
}

}  // namespace invar::report
