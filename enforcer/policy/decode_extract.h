// SPDX-License-Identifier: Apache-2.0
// The one schema walk shared by the JSON (simdjson on-demand) and YAML
// (yaml-cpp) decoders: finds the pod spec inside every kind PodSpecKinds()
// lists, fills the Workload model, flattens `*List` objects and type-checks
// every field it reads, with error messages that name the JSON path and the
// type ("spec.containers[0].securityContext.privileged: expected boolean, got
// string"). Both decoders instantiate Extractor<Adapter> with their own node
// adapter, so they cannot disagree on what a field means.
//
// An Adapter provides (all return false on failure after calling
// Fail()/SyntaxError() with a message; `Node` is the adapter's node handle):
//   bool Type(Node&, JType*)
//   bool Bool(Node&, bool*), Int(Node&, int64_t*), Str(Node&, std::string*)
//   bool Fields(Node&, F)     F: bool(std::string_view key, Node& child); a
//                             second call on the same node re-iterates
//   bool Elements(Node&, F)   F: bool(Node& child)
//   int Line(Node&)           1-based, 0 if unknown
//   const std::string& error() / int error_line()  set by the adapter on
//                             syntax errors and budget overruns
// Only keys the model needs are visited; every other value is skipped by the
// adapter without recursion. Depth is bounded by max_depth (Lists inside
// Lists are the only unbounded recursion the schema allows).
//
// Private to enforcer/policy. Thread-compatible: one Extractor per decode.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "invar/policy/decode.h"
#include "invar/policy/model.h"

namespace invar::policy::decode_internal {

enum class JType : uint8_t { kNull, kBool, kNumber, kString, kObject, kArray };

inline std::string_view JTypeName(JType t) {
  switch (t) {
    case JType::kNull: return "null";
    case JType::kBool: return "boolean";
    case JType::kNumber: return "number";
    case JType::kString: return "string";
    case JType::kObject: return "object";
    case JType::kArray: return "array";
  }
  return "unknown";
}

// True for the API groups that own the kinds in PodSpecKinds(): a CRD that
// happens to be called "Job" (batch.volcano.sh) has another schema and is
// skipped, not misread.
inline bool IsBuiltinWorkloadApi(std::string_view api_version, std::string_view kind) {
  auto group = [&]() -> std::string_view {
    auto slash = api_version.find('/');
    return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
  }();
  if (kind == "Pod" || kind == "PodTemplate" || kind == "ReplicationController") return group.empty();
  if (kind == "Job" || kind == "CronJob") return group == "batch";
  // ReplicaSet, Deployment, StatefulSet, DaemonSet (extensions/v1beta1 is long
  // gone from the API server but still found in old manifests).
  return group == "apps" || group == "extensions";
}

// Receives what the walk produces.
struct Sink {
  virtual ~Sink() = default;
  virtual void OnWorkload(Workload w) = 0;
  virtual void OnSkipped(SkippedObject s) = 0;
  virtual void OnError(DecodeError e) = 0;
};

// The Sink both file decoders use: appends to a DecodeResult.
class ResultSink final : public Sink {
 public:
  explicit ResultSink(DecodeResult& r) : r_(r) {}
  void OnWorkload(Workload w) override { r_.workloads.push_back(std::move(w)); }
  void OnSkipped(SkippedObject s) override { r_.skipped.push_back(std::move(s)); }
  void OnError(DecodeError e) override { r_.errors.push_back(std::move(e)); }

 private:
  DecodeResult& r_;
};

// Key comparison against a literal: the length check and a fixed-size
// memcmp inline to a couple of loads (string_view::operator== did not inline
// inside the large lambdas and showed up in profiles).
template <size_t N>
inline bool Is(std::string_view key, const char (&literal)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), literal, N - 1) == 0;
}

// Workload storage reused across decodes (DecodeObjectJsonInto,
// DecodeObjectInto): the walk writes into the strings and vectors already
// there, so a Workload decoded again and again stops allocating once its
// buffers fit. DecodeSingle() first resets every field except the container
// and volume lists (ResetAllButLists, model.cpp); the lists' elements are
// reset one by one as the walk reaches them (SlotAt) and the lists are trimmed
// to what was read (Trim), or emptied when the object has none. Optional
// structures that own vectors (a container's securityContext and its
// capabilities) are kept engaged and reset in place while the walk reads
// them, and disengaged afterwards when the object turned out not to have
// them. On a fresh Workload all of this is the plain decode.
void ResetAllButLists(Workload& w);

// Element `i` of `v` for a walk that refills `v` in place: the existing
// element, after reset(element), or a new one (i is never past the end).
template <typename T, typename Reset>
T& SlotAt(std::vector<T>& v, size_t i, Reset&& reset) {
  if (i < v.size()) {
    T& e = v[i];
    reset(e);
    return e;
  }
  return v.emplace_back();
}

// Drops the elements of `v` past the first n (the stale tail of a refill).
template <typename T>
void Trim(std::vector<T>& v, size_t n) {
  if (v.size() > n) v.erase(v.begin() + static_cast<std::ptrdiff_t>(n), v.end());
}

// Path segments shown in error messages (the outermost ones). A namespace-scope
// constant rather than a static member: decode_json_avx2.cpp is compiled with
// -fno-weak, where GCC cannot give an inline variable one definition.
constexpr int kMaxPathSegments = 128;

// One path segment: a literal key or an array index.
struct Segment {
  std::string_view key;
  int index = -1;
};

template <typename Adapter>
class Extractor {
 public:
  using Node = typename Adapter::Node;

  Extractor(Adapter& a, int max_depth) : a_(a), max_depth_(max_depth) {}

  // Decodes one top-level value (an object, or null which is ignored). `loc`
  // carries file and document; line is filled from the node.
  // Returns false when the adapter reported a syntax error that makes the rest
  // of this value unreadable.
  bool DecodeTop(Node& n, SourceLocation loc, Sink& sink) {
    JType t;
    if (!a_.Type(n, &t)) return ReportAdapterError(loc, sink);
    if (t == JType::kNull) return true;  // an empty document is no object
    loc.line = a_.Line(n);
    if (t != JType::kObject) {
      sink.OnError({loc, Where(loc) + "expected object, got " + std::string(JTypeName(t))});
      return true;
    }
    return DecodeObjectAt(n, std::move(loc), sink, 0);
  }

  // The admission entry point: exactly one object that must carry a pod spec.
  // Fills `out`; returns the failure as Status.
  // `out` may hold an earlier decode: its storage is reused (see SlotAt).
  // On failure `out` holds a partial decode.
  Status DecodeSingle(Node& n, Workload* out) {
    Workload& w = *out;
    ResetAllButLists(w);
    lists_read_ = 0;
    JType t;
    if (!a_.Type(n, &t)) {
      TrimUnreadLists(w);
      return Status::InvalidArgument(a_.error());
    }
    if (t != JType::kObject) {
      TrimUnreadLists(w);
      return Status::InvalidArgument("expected object, got " + std::string(JTypeName(t)));
    }
    Header h;
    const bool ok = ReadObject(n, w, h, /*allow_list=*/false);
    TrimUnreadLists(w);
    if (!ok) return Status::InvalidArgument(TakeError());
    if (h.kind.empty()) return Status::InvalidArgument("kind: missing");
    if (h.loc == nullptr) {
      return Status::NotFound("kind " + w.api_version + " " + w.kind + " carries no pod spec");
    }
    return Status::Ok();
  }

 private:
  struct Header {
    std::string kind;  // also in the workload; kept for lists
    const PodSpecLocation* loc = nullptr;
    bool is_list = false;
    bool saw_spec = false;
  };

  // ---- reused storage (see SlotAt) ------------------------------------------

  // An enum, not static constexpr members: see kMaxPathSegments (-fno-weak).
  enum : unsigned { kReadInit = 1, kReadRegular = 2, kReadEphemeral = 4, kReadVolumes = 8 };
  static unsigned ListBit(ContainerKind kind) {
    return kind == ContainerKind::kInit      ? kReadInit
           : kind == ContainerKind::kRegular ? kReadRegular
                                             : kReadEphemeral;
  }
  // Empties the lists the walk did not reach (a reused Workload's old ones).
  void TrimUnreadLists(Workload& w) const {
    if ((lists_read_ & kReadInit) == 0) w.spec.init_containers.clear();
    if ((lists_read_ & kReadRegular) == 0) w.spec.containers.clear();
    if ((lists_read_ & kReadEphemeral) == 0) w.spec.ephemeral_containers.clear();
    if ((lists_read_ & kReadVolumes) == 0) w.spec.volumes.clear();
  }

  // ---- errors -------------------------------------------------------------

  static std::string Where(const SourceLocation& loc) {
    return loc.item.empty() ? std::string() : loc.item + ": ";
  }

  // The path of a failed read is collected while the failure returns up the
  // walk (each Field() and array element on the way adds its segment), so
  // reads that succeed pay nothing for it. Innermost first.
  void AddSegment(Segment s) {
    if (failed_) error_path_.push_back(s);
  }

  // "spec.containers[0].securityContext": the outermost kMaxPathSegments
  // segments (only max_depth > 64 reaches more), as the walk went down.
  std::string PathString() const {
    std::string s;
    size_t shown = 0;
    for (auto it = error_path_.rbegin(); it != error_path_.rend() && shown < static_cast<size_t>(kMaxPathSegments); ++it, ++shown) {
      const Segment& seg = *it;
      if (seg.index >= 0) {
        s += '[';
        s += std::to_string(seg.index);
        s += ']';
      } else {
        if (!s.empty()) s += '.';
        s += seg.key;
      }
    }
    return s;
  }

  bool Fail(Node& n, std::string_view what) {
    if (!failed_) {
      failed_ = true;
      error_ = std::string(what);
      error_path_.clear();
      error_line_ = a_.Line(n);
    }
    return false;
  }
  bool TypeError(Node& n, std::string_view expected, JType got) {
    return Fail(n, "expected " + std::string(expected) + ", got " + std::string(JTypeName(got)));
  }
  // Called when an adapter call returned false: takes the adapter's message.
  bool AdapterFailed() {
    if (!failed_) {
      failed_ = true;
      error_ = a_.error();
      error_path_.clear();
      error_line_ = a_.error_line();
    }
    return false;
  }
  // "<path>: <what>", and resets the error state.
  std::string TakeError() {
    std::string e;
    if (!failed_) {
      e = "decode failed";
    } else {
      e = PathString();
      if (!e.empty()) e += ": ";
      e += error_;
    }
    ResetError();
    return e;
  }
  void ResetError() {
    failed_ = false;
    error_.clear();
    error_path_.clear();
  }
  bool ReportAdapterError(const SourceLocation& loc, Sink& sink) {
    SourceLocation l = loc;
    l.line = a_.error_line();
    sink.OnError({std::move(l), Where(loc) + a_.error()});
    return false;
  }

  // ---- typed leaves ---------------------------------------------------------
  // Each returns false on error. null leaves the field unset (as Kubernetes).

  bool GetType(Node& n, JType* t) { return a_.Type(n, t) || AdapterFailed(); }

  bool ReadBool(Node& n, std::optional<bool>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    if (t != JType::kBool) return TypeError(n, "boolean", t);
    bool v;
    if (!a_.Bool(n, &v)) return AdapterFailed();
    out = v;
    return true;
  }

  bool ReadString(Node& n, std::string& out) {
    // Adapters that can try a string read without a type probe first (JSON:
    // a wrong type consumes nothing) skip Type() on the usual path; any other
    // outcome goes the general way below, with the same results and errors.
    if constexpr (requires { a_.TryStr(n, &out); }) {
      switch (a_.TryStr(n, &out)) {
        case Adapter::kStrRead: return true;
        case Adapter::kStrFailed: return AdapterFailed();
        case Adapter::kStrNotString: break;
      }
    }
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.clear();
      return true;
    }
    if (t != JType::kString) return TypeError(n, "string", t);
    return a_.Str(n, &out) || AdapterFailed();
  }

  bool ReadOptString(Node& n, std::optional<std::string>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    if (t != JType::kString) return TypeError(n, "string", t);
    out.emplace();
    return a_.Str(n, &*out) || AdapterFailed();
  }

  // Integers: JSON integers only; floats ("1.0", "1e3") and strings are
  // rejected like Kubernetes' decoder does.
  bool ReadInt(Node& n, int64_t min, int64_t max, std::string_view type_name, std::optional<int64_t>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    if (t != JType::kNumber) return TypeError(n, "integer", t);
    int64_t v;
    if (!a_.Int(n, &v)) return AdapterFailed();
    if (v < min || v > max) return Fail(n, "integer " + std::to_string(v) + " out of range for " + std::string(type_name));
    out = v;
    return true;
  }
  bool ReadInt64(Node& n, std::optional<int64_t>& out) {
    return ReadInt(n, INT64_MIN, INT64_MAX, "int64", out);
  }
  bool ReadInt32(Node& n, std::optional<int32_t>& out) {
    std::optional<int64_t> v;
    if (!ReadInt(n, INT32_MIN, INT32_MAX, "int32", v)) return false;
    if (v) {
      out = static_cast<int32_t>(*v);
    } else {
      out.reset();
    }
    return true;
  }

  // Calls f(key, child) for each field of an object. null is an empty object.
  template <typename F>
  bool ForFields(Node& n, F&& f) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) return true;
    if (t != JType::kObject) return TypeError(n, "object", t);
    if (++depth_ > max_depth_) return Fail(n, "nesting deeper than " + std::to_string(max_depth_));
    bool ok = a_.Fields(n, [&](std::string_view key, Node& child) { return f(key, child); });
    --depth_;
    return ok || AdapterFailed();
  }

  // Calls f(index, child) for each element of an array. null is empty.
  template <typename F>
  bool ForElements(Node& n, F&& f) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) return true;
    if (t != JType::kArray) return TypeError(n, "array", t);
    if (++depth_ > max_depth_) return Fail(n, "nesting deeper than " + std::to_string(max_depth_));
    int i = 0;
    bool ok = a_.Elements(n, [&](Node& child) {
      if (f(i, child)) {
        ++i;
        return true;
      }
      AddSegment(Segment{{}, i});
      return false;
    });
    --depth_;
    return ok || AdapterFailed();
  }

  // Reads a key; `field` is a string literal (or a view into
  // PodSpecLocation's) that outlives the error path.
  template <typename F>
  bool Field(std::string_view field, F&& f) {
    if (f()) return true;
    AddSegment(Segment{field, -1});
    return false;
  }

  bool ReadStringMap(Node& n, StringMap& out) {
    out.Clear();
    return ForFields(n, [&](std::string_view key, Node& child) {
      // Keys of labels/annotations are data, not literals: the error path
      // names the map, which is enough to find the entry.
      JType t;
      if (!GetType(child, &t)) return false;
      if (t == JType::kNull) {
        out.ValueFor(key).clear();
        return true;
      }
      if (t != JType::kString) {
        std::string what = "value of \"" + std::string(key) + "\": expected string, got " + std::string(JTypeName(t));
        return Fail(child, what);
      }
      return a_.Str(child, &out.ValueFor(key)) || AdapterFailed();
    });
  }

  bool ReadStringList(Node& n, std::vector<std::string>& out) {
    size_t used = 0;
    const bool ok = ForElements(n, [&](int, Node& child) {
      return ReadString(child, SlotAt(out, used++, [](std::string& s) { s.clear(); }));
    });
    Trim(out, used);
    return ok;
  }

  // ---- structures -----------------------------------------------------------

  bool ReadSELinux(Node& n, std::optional<SELinuxOptions>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    out.emplace();
    SELinuxOptions& o = *out;
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "user")) return Field("user", [&] { return ReadString(c, o.user); });
      if (Is(key, "role")) return Field("role", [&] { return ReadString(c, o.role); });
      if (Is(key, "type")) return Field("type", [&] { return ReadString(c, o.type); });
      if (Is(key, "level")) return Field("level", [&] { return ReadString(c, o.level); });
      return true;
    });
  }

  template <typename Profile>
  bool ReadProfile(Node& n, std::optional<Profile>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    out.emplace();
    Profile& p = *out;
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "type")) return Field("type", [&] { return ReadString(c, p.type); });
      if (Is(key, "localhostProfile")) {
        return Field("localhostProfile", [&] { return ReadString(c, p.localhost_profile); });
      }
      return true;
    });
  }

  bool ReadWindows(Node& n, std::optional<WindowsOptions>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    out.emplace();
    WindowsOptions& w = *out;
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "hostProcess")) return Field("hostProcess", [&] { return ReadBool(c, w.host_process); });
      return true;
    });
  }

  bool ReadCapabilities(Node& n, std::optional<Capabilities>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    if (!out) out.emplace();  // else refilled in place (see SlotAt)
    Capabilities& caps = *out;
    bool saw_add = false, saw_drop = false;
    const bool ok = ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "add")) {
        saw_add = true;
        return Field("add", [&] { return ReadStringList(c, caps.add); });
      }
      if (Is(key, "drop")) {
        saw_drop = true;
        return Field("drop", [&] { return ReadStringList(c, caps.drop); });
      }
      return true;
    });
    if (!saw_add) caps.add.clear();
    if (!saw_drop) caps.drop.clear();
    return ok;
  }

  // Every field but `capabilities`, which ReadContainerSecurityContext
  // refills in place or disengages. A new SecurityContext field must be
  // reset here too (the ReusedStorage tests compare with fresh decodes).
  static void ResetAllButCapabilities(SecurityContext& sc) {
    sc.privileged.reset();
    sc.allow_privilege_escalation.reset();
    sc.read_only_root_filesystem.reset();
    sc.run_as_non_root.reset();
    sc.run_as_user.reset();
    sc.proc_mount.reset();
    sc.se_linux_options.reset();
    sc.seccomp_profile.reset();
    sc.app_armor_profile.reset();
    sc.windows_options.reset();
  }

  bool ReadContainerSecurityContext(Node& n, std::optional<SecurityContext>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    if (out) {
      ResetAllButCapabilities(*out);  // refilled in place (see SlotAt)
    } else {
      out.emplace();
    }
    SecurityContext& sc = *out;
    bool saw_capabilities = false;
    const bool ok = ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "privileged")) return Field("privileged", [&] { return ReadBool(c, sc.privileged); });
      if (Is(key, "allowPrivilegeEscalation")) {
        return Field("allowPrivilegeEscalation", [&] { return ReadBool(c, sc.allow_privilege_escalation); });
      }
      if (Is(key, "readOnlyRootFilesystem")) {
        return Field("readOnlyRootFilesystem", [&] { return ReadBool(c, sc.read_only_root_filesystem); });
      }
      if (Is(key, "runAsNonRoot"))
        return Field("runAsNonRoot", [&] { return ReadBool(c, sc.run_as_non_root); });
      if (Is(key, "runAsUser")) return Field("runAsUser", [&] { return ReadInt64(c, sc.run_as_user); });
      if (Is(key, "procMount")) return Field("procMount", [&] { return ReadOptString(c, sc.proc_mount); });
      if (Is(key, "capabilities")) {
        saw_capabilities = true;
        return Field("capabilities", [&] { return ReadCapabilities(c, sc.capabilities); });
      }
      if (Is(key, "seLinuxOptions"))
        return Field("seLinuxOptions", [&] { return ReadSELinux(c, sc.se_linux_options); });
      if (Is(key, "seccompProfile")) {
        return Field("seccompProfile", [&] { return ReadProfile(c, sc.seccomp_profile); });
      }
      if (Is(key, "appArmorProfile")) {
        return Field("appArmorProfile", [&] { return ReadProfile(c, sc.app_armor_profile); });
      }
      if (Is(key, "windowsOptions"))
        return Field("windowsOptions", [&] { return ReadWindows(c, sc.windows_options); });
      return true;
    });
    if (!saw_capabilities) sc.capabilities.reset();
    return ok;
  }

  bool ReadPodSecurityContext(Node& n, std::optional<PodSecurityContext>& out) {
    JType t;
    if (!GetType(n, &t)) return false;
    if (t == JType::kNull) {
      out.reset();
      return true;
    }
    out.emplace();
    PodSecurityContext& sc = *out;
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "runAsNonRoot")) return Field("runAsNonRoot", [&] { return ReadBool(c, sc.run_as_non_root); });
      if (Is(key, "runAsUser")) return Field("runAsUser", [&] { return ReadInt64(c, sc.run_as_user); });
      if (Is(key, "seLinuxOptions")) return Field("seLinuxOptions", [&] { return ReadSELinux(c, sc.se_linux_options); });
      if (Is(key, "seccompProfile")) {
        return Field("seccompProfile", [&] { return ReadProfile(c, sc.seccomp_profile); });
      }
      if (Is(key, "appArmorProfile")) {
        return Field("appArmorProfile", [&] { return ReadProfile(c, sc.app_armor_profile); });
      }
      if (Is(key, "windowsOptions")) return Field("windowsOptions", [&] { return ReadWindows(c, sc.windows_options); });
      if (Is(key, "sysctls")) {
        return Field("sysctls", [&] {
          sc.sysctls.clear();
          return ForElements(c, [&](int, Node& item) {
            std::string name;
            bool ok = ForFields(item, [&](std::string_view k, Node& v) {
              if (Is(k, "name")) return Field("name", [&] { return ReadString(v, name); });
              return true;
            });
            sc.sysctls.push_back(std::move(name));
            return ok;
          });
        });
      }
      return true;
    });
  }

  // httpGet/tcpSocket of a probe or lifecycle handler: records a non-empty host.
  bool ReadHandler(Node& n, std::string_view prefix, Container& ctr) {
    return ForFields(n, [&](std::string_view key, Node& c) {
      std::string_view field;
      if (Is(key, "httpGet")) {
        field = "httpGet";
      } else if (Is(key, "tcpSocket")) {
        field = "tcpSocket";
      } else {
        return true;
      }
      return Field(field, [&] {
        return ForFields(c, [&](std::string_view k, Node& v) {
          if (!Is(k, "host")) return true;
          return Field("host", [&] {
            std::string host;
            if (!ReadString(v, host)) return false;
            if (!host.empty()) {
              std::string path;
              path.reserve(prefix.size() + field.size() + 6);
              path.append(prefix).append(".").append(field).append(".host");
              ctr.handler_hosts.push_back({std::move(path), std::move(host)});
            }
            return true;
          });
        });
      });
    });
  }

  bool ReadContainer(Node& n, Container& ctr) {
    bool saw_security_context = false;
    const bool read = ForFields(n, [&](std::string_view key, Node& c) {
      switch (key.size()) {
        case 4:
          if (Is(key, "name")) return Field("name", [&] { return ReadString(c, ctr.name); });
          break;
        case 5:
          if (Is(key, "image")) return Field("image", [&] { return ReadString(c, ctr.image); });
          if (Is(key, "ports")) {
            return Field("ports", [&] {
              ctr.ports.clear();
              return ForElements(c, [&](int, Node& item) {
                ContainerPort port;
                std::optional<int32_t> container_port;
                bool ok = ForFields(item, [&](std::string_view k, Node& v) {
                  if (Is(k, "containerPort")) return Field("containerPort", [&] { return ReadInt32(v, container_port); });
                  if (Is(k, "hostPort")) return Field("hostPort", [&] { return ReadInt32(v, port.host_port); });
                  return true;
                });
                port.container_port = container_port.value_or(0);
                ctr.ports.push_back(port);
                return ok;
              });
            });
          }
          break;
        case 9:
          if (Is(key, "lifecycle")) {
            return Field("lifecycle", [&] {
              return ForFields(c, [&](std::string_view k, Node& v) {
                if (Is(k, "postStart")) {
                  return Field("postStart", [&] { return ReadHandler(v, "lifecycle.postStart", ctr); });
                }
                if (Is(k, "preStop")) return Field("preStop", [&] { return ReadHandler(v, "lifecycle.preStop", ctr); });
                return true;
              });
            });
          }
          break;
        case 12:
          if (Is(key, "startupProbe"))
            return Field("startupProbe", [&] { return ReadHandler(c, "startupProbe", ctr); });
          break;
        case 13:
          if (Is(key, "livenessProbe"))
            return Field("livenessProbe", [&] { return ReadHandler(c, "livenessProbe", ctr); });
          break;
        case 14:
          if (Is(key, "readinessProbe")) {
            return Field("readinessProbe", [&] { return ReadHandler(c, "readinessProbe", ctr); });
          }
          break;
        case 15:
          if (Is(key, "securityContext")) {
            saw_security_context = true;
            return Field("securityContext", [&] { return ReadContainerSecurityContext(c, ctr.security_context); });
          }
          break;
        default:
          break;
      }
      return true;
    });
    if (!saw_security_context) ctr.security_context.reset();
    return read;
  }

  // A reused element of a container list, but its security_context (which
  // ReadContainer refills in place or disengages).
  static void ResetContainerSlot(Container& c) {
    c.name.clear();
    c.image.clear();
    c.ports.clear();
    c.handler_hosts.clear();
  }

  bool ReadContainers(Node& n, ContainerKind kind, std::vector<Container>& out) {
    lists_read_ |= ListBit(kind);
    out.reserve(4);
    size_t used = 0;
    const bool ok = ForElements(n, [&](int i, Node& item) {
      Container& ctr = SlotAt(out, used++, ResetContainerSlot);
      ctr.kind = kind;
      ctr.index = i;
      return ReadContainer(item, ctr);
    });
    Trim(out, used);
    return ok;
  }

  bool ReadVolumes(Node& n, std::vector<Volume>& out) {
    lists_read_ |= kReadVolumes;
    out.reserve(4);
    size_t used = 0;
    const bool ok = ForElements(n, [&](int, Node& item) {
      Volume& vol = SlotAt(out, used++, [](Volume& v) {
        v.name.clear();
        v.source.clear();
        v.host_path.clear();
      });
      return ForFields(item, [&](std::string_view key, Node& c) {
        if (Is(key, "name")) return Field("name", [&] { return ReadString(c, vol.name); });
        JType t;
        if (!GetType(c, &t)) return false;
        if (t == JType::kNull) return true;  // an unset source
        if (vol.source.empty()) vol.source.assign(key.data(), key.size());
        if (Is(key, "hostPath")) {
          return Field("hostPath", [&] {
            return ForFields(c, [&](std::string_view k, Node& v) {
              if (Is(k, "path")) return Field("path", [&] { return ReadString(v, vol.host_path); });
              return true;
            });
          });
        }
        return true;
      });
    });
    Trim(out, used);
    return ok;
  }

  bool ReadPodSpec(Node& n, PodSpec& spec) {
    return ForFields(n, [&](std::string_view key, Node& c) {
      switch (key[0]) {
        case 'a':
          if (Is(key, "automountServiceAccountToken")) {
            return Field("automountServiceAccountToken", [&] { return ReadBool(c, spec.automount_service_account_token); });
          }
          break;
        case 'c':
          if (Is(key, "containers")) {
            return Field("containers", [&] { return ReadContainers(c, ContainerKind::kRegular, spec.containers); });
          }
          break;
        case 'e':
          if (Is(key, "ephemeralContainers")) {
            return Field("ephemeralContainers",
                         [&] { return ReadContainers(c, ContainerKind::kEphemeral, spec.ephemeral_containers); });
          }
          break;
        case 'h':
          if (Is(key, "hostNetwork")) return Field("hostNetwork", [&] { return ReadBool(c, spec.host_network); });
          if (Is(key, "hostPID")) return Field("hostPID", [&] { return ReadBool(c, spec.host_pid); });
          if (Is(key, "hostIPC")) return Field("hostIPC", [&] { return ReadBool(c, spec.host_ipc); });
          if (Is(key, "hostUsers")) return Field("hostUsers", [&] { return ReadBool(c, spec.host_users); });
          break;
        case 'i':
          if (Is(key, "initContainers")) {
            return Field("initContainers", [&] { return ReadContainers(c, ContainerKind::kInit, spec.init_containers); });
          }
          break;
        case 'o':
          if (Is(key, "os")) {
            return Field("os", [&] {
              return ForFields(c, [&](std::string_view k, Node& v) {
                if (Is(k, "name")) return Field("name", [&] { return ReadString(v, spec.os_name); });
                return true;
              });
            });
          }
          break;
        case 'r':
          if (Is(key, "runtimeClassName")) {
            return Field("runtimeClassName", [&] { return ReadString(c, spec.runtime_class_name); });
          }
          break;
        case 's':
          if (Is(key, "securityContext")) {
            return Field("securityContext", [&] { return ReadPodSecurityContext(c, spec.security_context); });
          }
          break;
        case 'v':
          if (Is(key, "volumes")) return Field("volumes", [&] { return ReadVolumes(c, spec.volumes); });
          break;
        default:
          break;
      }
      return true;
    });
  }

  bool ReadObjectMeta(Node& n, ObjectMeta& m) {
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "name")) return Field("name", [&] { return ReadString(c, m.name); });
      if (Is(key, "namespace")) return Field("namespace", [&] { return ReadString(c, m.namespace_); });
      if (Is(key, "labels")) return Field("labels", [&] { return ReadStringMap(c, m.labels); });
      if (Is(key, "annotations")) return Field("annotations", [&] { return ReadStringMap(c, m.annotations); });
      if (Is(key, "generateName")) return Field("generateName", [&] { return ReadString(c, m.generate_name); });
      if (Is(key, "uid")) return Field("uid", [&] { return ReadString(c, m.uid); });
      if (Is(key, "resourceVersion")) return Field("resourceVersion", [&] { return ReadString(c, m.resource_version); });
      if (Is(key, "ownerReferences")) {
        return Field("ownerReferences", [&] {
          bool found = false;
          std::string other_kind, other_name, other_uid;  // refs after the controller's
          const bool ok = ForElements(c, [&](int, Node& item) {
            // Until the controller's ref is found each ref is read into the
            // owner fields themselves (no copy, and a reused Workload's
            // strings keep their capacity), and cleared again if it is not.
            std::string& kind = found ? other_kind : m.owner_kind;
            std::string& name = found ? other_name : m.owner_name;
            std::string& uid = found ? other_uid : m.owner_uid;
            kind.clear();
            name.clear();
            uid.clear();
            std::optional<bool> controller;
            bool item_ok = ForFields(item, [&](std::string_view k, Node& v) {
              if (Is(k, "kind")) return Field("kind", [&] { return ReadString(v, kind); });
              if (Is(k, "name")) return Field("name", [&] { return ReadString(v, name); });
              if (Is(k, "uid")) return Field("uid", [&] { return ReadString(v, uid); });
              if (Is(k, "controller")) return Field("controller", [&] { return ReadBool(v, controller); });
              return true;
            });
            if (item_ok && !found) found = controller.value_or(false);
            return item_ok;
          });
          if (!found) {
            m.owner_kind.clear();
            m.owner_name.clear();
            m.owner_uid.clear();
          }
          return ok;
        });
      }
      return true;
    });
  }

  // The pod template: {metadata: {labels, annotations}, spec: PodSpec}.
  bool ReadTemplate(Node& n, Workload& w, bool* saw_spec) {
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "spec")) {
        *saw_spec = true;
        return Field("spec", [&] { return ReadPodSpec(c, w.spec); });
      }
      if (Is(key, "metadata")) {
        return Field("metadata", [&] {
          return ForFields(c, [&](std::string_view k, Node& v) {
            if (Is(k, "labels")) return Field("labels", [&] { return ReadStringMap(v, w.pod_labels); });
            if (Is(k, "annotations")) return Field("annotations", [&] { return ReadStringMap(v, w.pod_annotations); });
            return true;
          });
        });
      }
      return true;
    });
  }

  // Walks `prefix` (dot-separated keys, literals from PodSpecLocation) down
  // to the pod template object, then reads it.
  bool ReadAlong(Node& n, std::string_view prefix, Workload& w, bool* saw_spec) {
    if (prefix.empty()) return ReadTemplate(n, w, saw_spec);
    auto dot = prefix.find('.');
    std::string_view head = prefix.substr(0, dot);
    std::string_view rest = dot == std::string_view::npos ? std::string_view() : prefix.substr(dot + 1);
    return ForFields(n, [&](std::string_view key, Node& c) {
      if (key != head) return true;
      return Field(head, [&] { return ReadAlong(c, rest, w, saw_spec); });
    });
  }

  // Handles a top-level field once the kind is known. For Pod the template is
  // the object itself, so spec is read here and metadata by the caller.
  bool ReadKindField(std::string_view key, Node& c, Workload& w, Header& h) {
    std::string_view template_path = h.loc->spec_path.substr(0, h.loc->spec_path.size() - 4);  // strip "spec"
    if (!template_path.empty()) template_path.remove_suffix(1);                              // and the dot
    if (template_path.empty()) {
      if (!Is(key, "spec")) return true;
      h.saw_spec = true;
      return Field("spec", [&] { return ReadPodSpec(c, w.spec); });
    }
    auto dot = template_path.find('.');
    std::string_view head = template_path.substr(0, dot);
    std::string_view rest = dot == std::string_view::npos ? std::string_view() : template_path.substr(dot + 1);
    if (key != head) return true;
    return Field(head, [&] { return ReadAlong(c, rest, w, &h.saw_spec); });
  }

  // Reads one object's header and, for pod-spec kinds, the whole workload.
  // Lists are handled by the caller (DecodeObjectAt) through `items_node`.
  bool ReadObject(Node& n, Workload& w, Header& h, bool allow_list) {
    bool deferred = false;
    bool ok = ForFields(n, [&](std::string_view key, Node& c) {
      if (Is(key, "kind")) {
        if (!Field("kind", [&] { return ReadString(c, w.kind); })) return false;
        h.kind = w.kind;
        return true;
      }
      if (Is(key, "apiVersion")) return Field("apiVersion", [&] { return ReadString(c, w.api_version); });
      if (Is(key, "metadata")) return Field("metadata", [&] { return ReadObjectMeta(c, w.metadata); });
      if (h.kind.empty()) {
        if (Is(key, "spec") || Is(key, "template") || Is(key, "items")) deferred = true;
        return true;
      }
      if (!Classify(w, h, allow_list)) return true;
      if (h.loc != nullptr) return ReadKindField(key, c, w, h);
      return true;
    });
    if (!ok) return false;
    if (!Classify(w, h, allow_list)) return true;
    if (deferred && h.loc != nullptr) {
      // kind came after the spec: read the object again, now knowing where
      // the pod spec lives (rare: kubectl and the API server write kind first).
      ok = ForFields(n, [&](std::string_view key, Node& c) {
        if (Is(key, "kind") || Is(key, "apiVersion") || Is(key, "metadata")) return true;
        return ReadKindField(key, c, w, h);
      });
      if (!ok) return false;
    }
    if (h.loc != nullptr) {
      w.spec_path.assign(h.loc->spec_path);
      w.pod_metadata_path.assign(h.loc->pod_metadata_path);
      if (w.pod_metadata_path == "metadata") {
        w.pod_labels = w.metadata.labels;
        w.pod_annotations = w.metadata.annotations;
      }
    }
    return true;
  }

  // Decides (once kind is known) whether this object is a pod-spec kind.
  bool Classify(const Workload& w, Header& h, bool allow_list) {
    if (h.kind.empty()) return false;
    if (h.loc == nullptr && !h.is_list) {
      const PodSpecLocation* loc = FindPodSpecLocation(h.kind);
      if (loc != nullptr && IsBuiltinWorkloadApi(w.api_version, h.kind)) h.loc = loc;
      if (allow_list && h.loc == nullptr && h.kind.size() >= 4 &&
          std::string_view(h.kind).substr(h.kind.size() - 4) == "List") {
        h.is_list = true;
      }
    }
    return true;
  }

  bool DecodeObjectAt(Node& n, SourceLocation loc, Sink& sink, int list_depth) {
    Workload w;
    Header h;
    depth_ = 0;
    ResetError();
    if (!ReadObject(n, w, h, /*allow_list=*/true)) {
      SourceLocation l = loc;
      if (error_line_ > 0) l.line = error_line_;
      sink.OnError({std::move(l), Where(loc) + TakeError()});
      return !a_.syntax_error();
    }
    if (h.kind.empty()) {
      sink.OnError({loc, Where(loc) + "kind: missing (not a Kubernetes object)"});
      return true;
    }
    if (h.is_list) {
      if (list_depth >= max_depth_) {
        sink.OnError({loc, Where(loc) + "Lists nested deeper than " + std::to_string(max_depth_)});
        return true;
      }
      // Second pass over the List: decode each item as its own object.
      bool alive = true;
      bool ok = a_.Fields(n, [&](std::string_view key, Node& c) {
        if (!Is(key, "items")) return true;
        JType t;
        if (!a_.Type(c, &t)) return false;
        if (t == JType::kNull) return true;
        if (t != JType::kArray) {
          sink.OnError({loc, Where(loc) + "items: expected array, got " + std::string(JTypeName(t))});
          return true;
        }
        int i = 0;
        return a_.Elements(c, [&](Node& item) {
          SourceLocation item_loc = loc;
          item_loc.item = (loc.item.empty() ? "" : loc.item + ".") + "items[" + std::to_string(i++) + "]";
          JType it;
          if (!a_.Type(item, &it)) return false;
          item_loc.line = a_.Line(item);
          if (it == JType::kNull) return true;
          if (it != JType::kObject) {
            sink.OnError({item_loc, item_loc.item + ": expected object, got " + std::string(JTypeName(it))});
            return true;
          }
          alive = DecodeObjectAt(item, std::move(item_loc), sink, list_depth + 1);
          return alive;
        });
      });
      if (!ok && alive) return ReportAdapterError(loc, sink);
      return alive;
    }
    if (h.loc == nullptr) {
      sink.OnSkipped({loc, std::move(w.api_version), std::move(w.kind), std::move(w.metadata.name),
                      std::move(w.metadata.namespace_)});
      return true;
    }
    w.source = std::move(loc);
    sink.OnWorkload(std::move(w));
    return true;
  }

  Adapter& a_;
  int max_depth_;
  int depth_ = 0;
  unsigned lists_read_ = 0;  // kRead* bits: the lists DecodeSingle's walk reached
  bool failed_ = false;
  std::string error_;                 // what failed, without the path
  std::vector<Segment> error_path_;  // innermost first; allocated only on errors
  int error_line_ = 0;
};

}  // namespace invar::policy::decode_internal
