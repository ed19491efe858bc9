// SPDX-License-Identifier: Apache-2.0
// TestApiServer implementation: Boost.Beast over Asio/OpenSSL, one thread per
// connection, one mutex over the object store and the watch history. See
// api_server.h for what is modeled.
#include "invar/testing/api_server.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <list>
#include <mutex>
#include <set>
#include <thread>

namespace invar::testing {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using SslStream = ssl::stream<tcp::socket>;

struct ResInfo {
  std::string api;       // "v1", "apps/v1"
  std::string resource;  // "pods"
  std::string kind;      // "Pod"
  bool namespaced;
  std::set<std::string> fields;  // field selector labels beyond metadata.name/namespace
};

const std::vector<ResInfo>& Resources() {
  static const std::vector<ResInfo> kResources = {
      {"v1", "pods", "Pod", true,
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase",
        "status.podIP", "status.nominatedNodeName", "spec.hostNetwork"}},
      {"v1", "namespaces", "Namespace", false, {"status.phase"}},
      {"v1", "nodes", "Node", false, {"spec.unschedulable"}},
      {"v1", "events", "Event", true,
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "source", "type"}},
      {"v1", "replicationcontrollers", "ReplicationController", true, {"status.replicas"}},
      {"v1", "podtemplates", "PodTemplate", true, {}},
      {"v1", "configmaps", "ConfigMap", true, {}},
      {"apps/v1", "deployments", "Deployment", true, {}},
      {"apps/v1", "replicasets", "ReplicaSet", true, {"status.replicas"}},
      {"apps/v1", "statefulsets", "StatefulSet", true, {}},
      {"apps/v1", "daemonsets", "DaemonSet", true, {}},
      {"batch/v1", "jobs", "Job", true, {"status.successful"}},
      {"batch/v1", "cronjobs", "CronJob", true, {}},
      {"events.k8s.io/v1", "events", "Event", true,
       {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type",
        "reportingController"}},
  };
  return kResources;
}

const ResInfo* FindResource(const std::string& api, const std::string& resource) {
  for (const auto& r : Resources()) {
    if (r.api == api && r.resource == resource) return &r;
  }
  return nullptr;
}

std::string GroupOf(const std::string& api) {
  auto slash = api.find('/');
  return slash == std::string::npos ? "" : api.substr(0, slash);
}

// "pods" or "deployments.apps", as Kubernetes names a resource in messages.
std::string QualifiedResource(const ResInfo& r) {
  std::string group = GroupOf(r.api);
  return group.empty() ? r.resource : r.resource + "." + group;
}

Json StatusBody(int code, const std::string& reason, const std::string& message, Json details = Json()) {
  Json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Failure"},
            {"message", message}, {"reason", reason}, {"code", code}};
  if (!details.is_null()) s["details"] = std::move(details);
  return s;
}

Json Details(const ResInfo& r, const std::string& name) {
  Json d = {{"kind", r.resource}};
  if (!name.empty()) d["name"] = name;
  std::string group = GroupOf(r.api);
  if (!group.empty()) d["group"] = group;
  return d;
}

std::string ReasonFor(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Unknown";
  }
}

std::string NowRfc3339(std::chrono::seconds offset = std::chrono::seconds(0)) {
  std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NewUid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[40];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string UrlDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() + 0 && i + 2 <= in.size() - 1 + 0) {
      int v = 0;
      if (std::sscanf(std::string(in.substr(i + 1, 2)).c_str(), "%2x", &v) == 1) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i] == '+' ? ' ' : in[i]);
  }
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

bool IsDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

bool IsLabelValue(const std::string& s) {
  if (s.size() > 63) return false;
  if (s.empty()) return true;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

// Looks up a dotted field path ("spec.nodeName") as a string, "" when absent.
std::string FieldValue(const Json& obj, const std::string& path) {
  const Json* cur = &obj;
  for (const auto& part : Split(path, '.')) {
    if (!cur->is_object() || !cur->contains(part)) return "";
    cur = &(*cur)[part];
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number()) return cur->dump();
  return "";
}

struct FieldReq {
  std::string field;
  bool equals;
  std::string value;
};

Result<std::vector<FieldReq>> ParseFieldSelector(const std::string& selector, const ResInfo& r) {
  std::vector<FieldReq> out;
  if (selector.empty()) return out;
  for (const auto& term : Split(selector, ',')) {
    FieldReq req;
    size_t pos;
    if ((pos = term.find("!=")) != std::string::npos) {
      req = {term.substr(0, pos), false, term.substr(pos + 2)};
    } else if ((pos = term.find("==")) != std::string::npos) {
      req = {term.substr(0, pos), true, term.substr(pos + 2)};
    } else if ((pos = term.find('=')) != std::string::npos) {
      req = {term.substr(0, pos), true, term.substr(pos + 1)};
    } else {
      return Status::InvalidArgument("invalid selector: '" + selector + "'; can't understand '" + term + "'");
    }
    if (req.field != "metadata.name" && req.field != "metadata.namespace" && r.fields.count(req.field) == 0) {
      return Status::InvalidArgument("field label not supported: " + req.field);
    }
    out.push_back(std::move(req));
  }
  return out;
}

struct Filter {
  std::string ns;
  std::string label_selector;
  std::vector<FieldReq> fields;

  bool Matches(const Json& obj) const {
    static const Json kEmpty = Json::object();
    auto mit = obj.find("metadata");
    const Json& meta = mit != obj.end() ? *mit : kEmpty;  // no copies: LIST scans every object
    if (!ns.empty()) {
      auto nit = meta.find("namespace");
      if (nit == meta.end() || !nit->is_string() || nit->get_ref<const std::string&>() != ns) return false;
    }
    if (!label_selector.empty()) {
      auto lit = meta.find("labels");
      auto m = MatchLabelSelector(label_selector, lit != meta.end() ? *lit : kEmpty);
      if (!m.ok() || !*m) return false;
    }
    for (const auto& f : fields) {
      if ((FieldValue(obj, f.field) == f.value) != f.equals) return false;
    }
    return true;
  }
};

struct Entry {
  Json object;            // with kind and apiVersion
  std::string item_json;  // serialized without kind/apiVersion, as list items are
};

struct HistoryEvent {
  int64_t rv;
  std::string store;  // "api/resource"
  std::string type;   // ADDED, MODIFIED, DELETED
  std::shared_ptr<const Json> object;
  std::shared_ptr<const Json> old_object;  // MODIFIED only
};

struct Request {
  http::request<http::string_body> http;
  std::string path;
  std::map<std::string, std::string> query;
  std::string user;
};

struct Response {
  int status = 200;
  Json body;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::string StoreKey(const std::string& api, const std::string& resource) { return api + "/" + resource; }
std::string ObjKey(const std::string& ns, const std::string& name) { return ns + "/" + name; }

}  // namespace

struct TestApiServer::Impl {
  explicit Impl(ApiServerOptions opts) : options(std::move(opts)) {}

  ApiServerOptions options;
  net::io_context ioc;
  std::unique_ptr<ssl::context> ssl_ctx;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  int port = 0;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::map<std::string, Entry>> stores;
  int64_t rv = 100;
  int64_t min_rv = 100;  // a watch or continue from a version < min_rv gets 410
  std::deque<HistoryEvent> history;
  uint64_t close_generation = 0;
  uint64_t bookmark_generation = 0;
  size_t open_watches = 0;
  std::list<std::pair<Fault, int>> faults;
  std::vector<RecordedRequest> requests;
  std::list<std::thread> conn_threads;
  std::set<int> conn_fds;

  // ---- store (mu held)
  void RecordEvent(const std::string& store, const std::string& type, const Json& object, const Json* old) {
    HistoryEvent ev{rv, store, type, std::make_shared<const Json>(object),
                    old ? std::make_shared<const Json>(*old) : nullptr};
    history.push_back(std::move(ev));
    while (history.size() > options.history_window) {
      min_rv = history.front().rv;
      history.pop_front();
    }
    cv.notify_all();
  }

  static Entry MakeEntry(Json object) {
    Entry e;
    Json item = object;
    item.erase("kind");
    item.erase("apiVersion");
    e.item_json = item.dump();
    e.object = std::move(object);
    return e;
  }

  Json Upsert(const ResInfo& r, Json object) {
    Json& meta = object["metadata"];
    std::string ns = r.namespaced ? meta.value("namespace", "default") : "";
    if (r.namespaced) meta["namespace"] = ns;
    std::string name = meta.value("name", "");
    object["kind"] = r.kind;
    object["apiVersion"] = r.api;
    auto& store = stores[StoreKey(r.api, r.resource)];
    auto it = store.find(ObjKey(ns, name));
    ++rv;
    meta["resourceVersion"] = std::to_string(rv);
    if (it == store.end()) {
      if (!meta.contains("uid")) meta["uid"] = NewUid();
      if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = NowRfc3339();
      store[ObjKey(ns, name)] = MakeEntry(object);
      RecordEvent(StoreKey(r.api, r.resource), "ADDED", object, nullptr);
    } else {
      Json old = it->second.object;
      const Json& old_meta = old["metadata"];
      if (!meta.contains("uid")) meta["uid"] = old_meta.value("uid", NewUid());
      if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = old_meta.value("creationTimestamp", "");
      it->second = MakeEntry(object);
      RecordEvent(StoreKey(r.api, r.resource), "MODIFIED", object, &old);
    }
    return object;
  }

  void Erase(const ResInfo& r, const std::string& ns, const std::string& name) {
    auto& store = stores[StoreKey(r.api, r.resource)];
    auto it = store.find(ObjKey(ns, name));
    if (it == store.end()) return;
    Json object = std::move(it->second.object);
    store.erase(it);
    ++rv;
    object["metadata"]["resourceVersion"] = std::to_string(rv);
    RecordEvent(StoreKey(r.api, r.resource), "DELETED", object, nullptr);
  }

  // ---- HTTP plumbing
  static Response Error(int code, const std::string& message, Json details = Json()) {
    return Response{code, StatusBody(code, ReasonFor(code), message, std::move(details)), {}};
  }
  static Response NotFoundPath() {
    return Response{404, StatusBody(404, "NotFound", "the server could not find the requested resource", Json::object()),
                    {}};
  }

  void Serve(tcp::socket socket);
  Response Handle(Request& req, SslStream& stream, bool* streamed);
  Response HandleWatch(const ResInfo& r, Request& req, const Filter& filter, SslStream& stream, bool* streamed);
  Response HandleList(const ResInfo& r, Request& req, const Filter& filter);
  Response HandleCreate(const ResInfo& r, Request& req, const std::string& ns);
  Response HandlePatch(const ResInfo& r, Request& req, const std::string& ns, const std::string& name);
  Response HandleDelete(const ResInfo& r, Request& req, const std::string& ns, const std::string& name);
  Response HandleUpdate(const ResInfo& r, Request& req, const std::string& ns, const std::string& name);
  std::optional<Json> ValidateObject(const ResInfo& r, const Json& obj, const std::string& name);
};

namespace {

std::string Authenticate(const ApiServerOptions& options, const Request& req, SslStream& stream, bool* bad_token) {
  *bad_token = false;
  auto auth = req.http.find(http::field::authorization);
  if (auth != req.http.end()) {
    std::string value(auth->value());
    if (value.rfind("Bearer ", 0) == 0) {
      auto it = options.tokens.find(value.substr(7));
      if (it != options.tokens.end()) return it->second;
    }
    *bad_token = true;
    return "";
  }
  X509* peer = SSL_get1_peer_certificate(stream.native_handle());
  if (peer == nullptr) return "";
  std::string user;
  if (SSL_get_verify_result(stream.native_handle()) == X509_V_OK) {
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
    user = cn;
  }
  X509_free(peer);
  return user;
}

std::string VerbFor(const std::string& method, bool collection, bool watch) {
  if (method == "GET") return collection ? (watch ? "watch" : "list") : "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return collection ? "deletecollection" : "delete";
  return "";
}

}  // namespace

std::optional<Json> TestApiServer::Impl::ValidateObject(const ResInfo& r, const Json& obj, const std::string& name) {
  Json causes = Json::array();
  auto cause = [&](const std::string& field, const std::string& reason, const std::string& message) {
    causes.push_back({{"reason", reason}, {"message", message}, {"field", field}});
  };
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) {
    cause("metadata", "FieldValueRequired", "Required value");
  } else {
    const Json& meta = obj["metadata"];
    for (const char* map_field : {"labels", "annotations"}) {
      if (!meta.contains(map_field)) continue;
      const Json& m = meta[map_field];
      if (!m.is_object()) {
        cause(std::string("metadata.") + map_field, "FieldValueInvalid", "Invalid value: must be a map of strings");
        continue;
      }
      size_t total = 0;
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (!it.value().is_string()) {
          cause(std::string("metadata.") + map_field + "." + it.key(), "FieldValueInvalid",
                "Invalid value: value must be a string");
          continue;
        }
        total += it.key().size() + it.value().get<std::string>().size();
        if (std::string(map_field) == "labels" && !IsLabelValue(it.value().get<std::string>())) {
          cause("metadata.labels", "FieldValueInvalid",
                "Invalid value: \"" + it.value().get<std::string>() + "\": a valid label must be 63 characters or less");
        }
      }
      if (std::string(map_field) == "annotations" && total > 256 * 1024) {
        cause("metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes");
      }
    }
  }
  if (r.api == "events.k8s.io/v1") {
    for (const char* f : {"eventTime", "reportingController", "reportingInstance", "action", "reason"}) {
      if (!obj.contains(f) || !obj[f].is_string() || obj[f].get<std::string>().empty()) {
        cause(f, "FieldValueRequired", "Required value");
      }
    }
    std::string type = obj.value("type", "");
    if (type != "Normal" && type != "Warning") {
      cause("type", "FieldValueNotSupported", "Unsupported value: \"" + type + "\": supported values: \"Normal\", \"Warning\"");
    }
    if (obj.contains("note") && obj["note"].is_string() && obj["note"].get<std::string>().size() > 1024) {
      cause("note", "FieldValueTooLong", "Too long: may not be longer than 1024");
    }
  }
  if (causes.empty()) return std::nullopt;
  std::string message = r.kind + " \"" + name + "\" is invalid: ";
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i) message += ", ";
    message += causes[i]["field"].get<std::string>() + ": " + causes[i]["message"].get<std::string>();
  }
  Json details = Details(r, name);
  details["kind"] = r.kind;
  details["causes"] = causes;
  return StatusBody(422, "Invalid", message, details);
}

void TestApiServer::Impl::Serve(tcp::socket socket) {
  int fd = socket.native_handle();
  {
    std::lock_guard lock(mu);
    conn_fds.insert(fd);
  }
  SslStream stream(std::move(socket), *ssl_ctx);
  boost::system::error_code ec;
  stream.handshake(ssl::stream_base::server, ec);
  boost::beast::flat_buffer buffer;
  while (!ec && !stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(stream, buffer, parser, ec);
    if (ec) break;
    Request req;
    req.http = parser.release();
    std::string target(req.http.target());
    auto qpos = target.find('?');
    req.path = UrlDecode(target.substr(0, qpos));
    if (qpos != std::string::npos) {
      for (const auto& kv : Split(target.substr(qpos + 1), '&')) {
        if (kv.empty()) continue;
        auto eq = kv.find('=');
        req.query[UrlDecode(kv.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(kv.substr(eq + 1));
      }
    }
    RecordedRequest rec;
    rec.method = std::string(req.http.method_string());
    rec.path = req.path;
    rec.target = target;
    rec.query = req.query;
    for (const auto& h : req.http) {
      std::string name(h.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      rec.headers[name] = std::string(h.value());
    }
    rec.body = req.http.body();

    // Faults first: they model an overloaded or broken server.
    std::optional<Fault> fault;
    {
      std::lock_guard lock(mu);
      for (auto it = faults.begin(); it != faults.end(); ++it) {
        if (!it->first.method.empty() && it->first.method != rec.method) continue;
        if (!it->first.path_contains.empty() && req.path.find(it->first.path_contains) == std::string::npos) continue;
        fault = it->first;
        if (--it->second <= 0) faults.erase(it);
        break;
      }
    }
    Response resp;
    bool streamed = false;
    bool drop = false;
    if (fault) {
      auto until = std::chrono::steady_clock::now() + fault->delay;
      while (!stopping && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (fault->code == 0) {
        drop = true;
      } else if (fault->code > 0) {
        std::string message = fault->code == 429 ? "Too many requests, please try again later."
                                                 : "injected fault " + std::to_string(fault->code);
        Json details = Json::object();
        if (fault->retry_after_seconds) details["retryAfterSeconds"] = *fault->retry_after_seconds;
        resp = Response{fault->code, StatusBody(fault->code, ReasonFor(fault->code), message, details), {}};
        if (fault->retry_after_seconds) resp.headers.emplace_back("Retry-After", std::to_string(*fault->retry_after_seconds));
      } else {
        fault.reset();
      }
    }
    if (drop) {
      rec.status = 0;
      std::lock_guard lock(mu);
      requests.push_back(std::move(rec));
      break;
    }
    // Watches are recorded when they start (they may stream for long).
    bool is_watch = !fault && req.http.method() == http::verb::get &&
                    (req.query["watch"] == "1" || req.query["watch"] == "true");
    size_t index = 0;
    if (is_watch) {
      std::lock_guard lock(mu);
      index = requests.size();
      requests.push_back(rec);
    }
    if (!fault) resp = Handle(req, stream, &streamed);
    rec.user = req.user;
    rec.status = resp.status;
    {
      std::lock_guard lock(mu);
      if (is_watch && index < requests.size()) {
        requests[index].user = rec.user;
        requests[index].status = rec.status;
      } else {
        requests.push_back(std::move(rec));
      }
    }
    if (streamed) break;  // watch streams end the connection
    http::response<http::string_body> res{static_cast<http::status>(resp.status), req.http.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-cache, private");
    res.set("Audit-Id", NewUid());
    for (const auto& [k, v] : resp.headers) res.set(k, v);
    res.body() = resp.body.is_string() ? resp.body.get<std::string>() : resp.body.dump();
    res.keep_alive(req.http.keep_alive());
    res.prepare_payload();
    http::write(stream, res, ec);
    if (!req.http.keep_alive()) break;
  }
  {
    std::lock_guard lock(mu);
    conn_fds.erase(fd);
  }
  stream.shutdown(ec);
  stream.next_layer().close(ec);
}

Response TestApiServer::Impl::Handle(Request& req, SslStream& stream, bool* streamed) {
  bool bad_token = false;
  req.user = Authenticate(options, req, stream, &bad_token);
  if (req.user.empty()) return Response{401, StatusBody(401, "Unauthorized", "Unauthorized"), {}};

  auto accept = req.http.find(http::field::accept);
  if (accept != req.http.end()) {
    std::string a(accept->value());
    if (a.find("application/json") == std::string::npos && a.find("*/*") == std::string::npos &&
        a.find("application/*") == std::string::npos) {
      return Error(406, "only the following media types are accepted: application/json, application/yaml, "
                        "application/vnd.kubernetes.protobuf");
    }
  }

  // Route: /api/v1/... or /apis/<group>/<version>/...
  auto segs = Split(req.path, '/');
  if (segs.size() < 2 || !segs[0].empty()) return NotFoundPath();
  segs.erase(segs.begin());
  if (!segs.empty() && segs.back().empty()) return NotFoundPath();  // trailing slash
  std::string api;
  std::vector<std::string> rest;
  if (segs[0] == "api" && segs.size() >= 3 && segs[1] == "v1") {
    api = "v1";
    rest.assign(segs.begin() + 2, segs.end());
  } else if (segs[0] == "apis" && segs.size() >= 4) {
    api = segs[1] + "/" + segs[2];
    rest.assign(segs.begin() + 3, segs.end());
  } else {
    return NotFoundPath();
  }
  std::string ns, resource, name, sub;
  if (rest.size() >= 3 && rest[0] == "namespaces" && FindResource(api, rest[2]) != nullptr &&
      FindResource(api, rest[2])->namespaced) {
    ns = rest[1];
    resource = rest[2];
    if (rest.size() >= 4) name = rest[3];
    if (rest.size() >= 5) sub = rest[4];
    if (rest.size() > 5) return NotFoundPath();
  } else {
    resource = rest[0];
    if (rest.size() >= 2) name = rest[1];
    if (rest.size() >= 3) sub = rest[2];
    if (rest.size() > 3) return NotFoundPath();
  }
  const ResInfo* r = FindResource(api, resource);
  if (r == nullptr) return NotFoundPath();
  if (!r->namespaced && !ns.empty()) return NotFoundPath();
  if (r->namespaced && ns.empty() && !name.empty()) return NotFoundPath();  // /api/v1/pods/x does not exist
  if (!sub.empty() && sub != "status") return NotFoundPath();
  if (name.empty() && ns.empty() && r->namespaced && req.http.method() != http::verb::get) {
    return Error(405, "the server does not allow this method on the requested resource", Json::object());
  }

  bool collection = name.empty();
  std::string watch_param = req.query.count("watch") ? req.query["watch"] : "";
  if (!watch_param.empty() && watch_param != "true" && watch_param != "1" && watch_param != "false" &&
      watch_param != "0") {
    return Error(400, "invalid value for watch: " + watch_param);
  }
  bool watch = watch_param == "true" || watch_param == "1";
  std::string verb = VerbFor(std::string(req.http.method_string()), collection, watch);
  if (verb.empty() || (verb == "create" && !collection) || ((verb == "update" || verb == "patch") && collection) ||
      verb == "deletecollection" || (watch && !collection)) {
    return Error(405, "the server does not allow this method on the requested resource", Json::object());
  }
  if (options.authorize && !options.authorize(req.user, verb, resource, ns)) {
    std::string group = GroupOf(api);
    std::string where = r->namespaced && !ns.empty() ? "in the namespace \"" + ns + "\"" : "at the cluster scope";
    std::string what = name.empty() ? resource : resource + " \"" + name + "\"";
    return Response{403,
                    StatusBody(403, "Forbidden",
                               what + " is forbidden: User \"" + req.user + "\" cannot " + verb + " resource \"" +
                                   resource + "\" in API group \"" + group + "\" " + where,
                               Details(*r, name)),
                    {}};
  }

  if (verb == "list" || verb == "watch") {
    Filter filter;
    filter.ns = ns;
    filter.label_selector = req.query.count("labelSelector") ? req.query["labelSelector"] : "";
    if (!filter.label_selector.empty()) {
      auto check = MatchLabelSelector(filter.label_selector, Json::object());
      if (!check.ok()) return Error(400, check.status().message());
    }
    auto fields = ParseFieldSelector(req.query.count("fieldSelector") ? req.query["fieldSelector"] : "", *r);
    if (!fields.ok()) return Error(400, fields.status().message());
    filter.fields = std::move(*fields);
    if (verb == "watch") return HandleWatch(*r, req, filter, stream, streamed);
    return HandleList(*r, req, filter);
  }
  if (verb == "get") {
    std::lock_guard lock(mu);
    auto& store = stores[StoreKey(api, resource)];
    auto it = store.find(ObjKey(ns, name));
    if (it == store.end()) {
      return Error(404, QualifiedResource(*r) + " \"" + name + "\" not found", Details(*r, name));
    }
    return Response{200, it->second.object, {}};
  }
  if (verb == "create") return HandleCreate(*r, req, ns);
  if (verb == "patch") return HandlePatch(*r, req, ns, name);
  if (verb == "update") return HandleUpdate(*r, req, ns, name);
  return HandleDelete(*r, req, ns, name);
}

Response TestApiServer::Impl::HandleList(const ResInfo& r, Request& req, const Filter& filter) {
  int64_t limit = 0;
  if (req.query.count("limit")) {
    try {
      limit = std::stoll(req.query["limit"]);
    } catch (...) {
      return Error(400, "limit: Invalid value: \"" + req.query["limit"] + "\"");
    }
    if (limit < 0) limit = 0;
  }
  std::string cont = req.query.count("continue") ? req.query["continue"] : "";
  std::string rv_param = req.query.count("resourceVersion") ? req.query["resourceVersion"] : "";
  if (!cont.empty() && !rv_param.empty()) {
    return Error(400, "specifying resource version is not allowed when using continue");
  }
  std::lock_guard lock(mu);
  int64_t list_rv = rv;
  std::string start_key;
  if (!cont.empty()) {
    std::string decoded;
    decoded.resize(boost::beast::detail::base64::decoded_size(cont.size()));
    auto res = boost::beast::detail::base64::decode(decoded.data(), cont.data(), cont.size());
    decoded.resize(res.first);
    Json token = Json::parse(decoded, nullptr, false);
    if (token.is_discarded() || !token.is_object() || !token.contains("rv") || !token["rv"].is_number_integer() ||
        !token.contains("start") || !token["start"].is_string()) {
      return Error(400, "continue key is not valid: invalid continue token");
    }
    list_rv = token["rv"].get<int64_t>();
    start_key = token["start"].get<std::string>();
    if (list_rv < min_rv) {
      return Response{410,
                      StatusBody(410, "Expired",
                                 "The provided continue parameter is too old to display a consistent list result. "
                                 "You can start a new list without the continue parameter."),
                      {}};
    }
  } else if (!rv_param.empty() && rv_param != "0") {
    int64_t want = 0;
    try {
      want = std::stoll(rv_param);
    } catch (...) {
      return Error(400, "resourceVersion: Invalid value: \"" + rv_param + "\"");
    }
    if (want > rv) return Error(504, "Too large resource version: " + rv_param + ", current: " + std::to_string(rv));
  }
  auto& store = stores[StoreKey(r.api, r.resource)];
  std::string out = "{\"kind\":\"" + r.kind + "List\",\"apiVersion\":\"" + r.api + "\",\"metadata\":{";
  std::string items;
  int64_t count = 0;
  int64_t remaining = 0;
  std::string next_key;
  auto it = start_key.empty() ? store.begin() : store.lower_bound(start_key);
  for (; it != store.end(); ++it) {
    if (!filter.Matches(it->second.object)) continue;
    if (limit > 0 && count >= limit) {
      if (next_key.empty()) next_key = it->first;
      ++remaining;
      continue;
    }
    if (count++) items += ",";
    items += it->second.item_json;
  }
  out += "\"resourceVersion\":\"" + std::to_string(list_rv) + "\"";
  if (!next_key.empty()) {
    std::string token = Json{{"rv", list_rv}, {"start", next_key}}.dump();
    std::string encoded(boost::beast::detail::base64::encoded_size(token.size()), '\0');
    encoded.resize(boost::beast::detail::base64::encode(encoded.data(), token.data(), token.size()));
    out += ",\"continue\":\"" + encoded + "\",\"remainingItemCount\":" + std::to_string(remaining);
  }
  out += "},\"items\":[" + items + "]}";
  return Response{200, Json(out), {}};
}

Response TestApiServer::Impl::HandleWatch(const ResInfo& r, Request& req, const Filter& filter,
                                                               SslStream& stream, bool* streamed) {
  bool bookmarks = req.query.count("allowWatchBookmarks") &&
                   (req.query["allowWatchBookmarks"] == "true" || req.query["allowWatchBookmarks"] == "1");
  std::string rv_param = req.query.count("resourceVersion") ? req.query["resourceVersion"] : "";
  int64_t timeout_s = 1800;
  if (req.query.count("timeoutSeconds")) {
    try {
      timeout_s = std::stoll(req.query["timeoutSeconds"]);
    } catch (...) {
      return Error(400, "timeoutSeconds: Invalid value");
    }
  }
  int64_t start_rv = 0;
  if (!rv_param.empty() && rv_param != "0") {
    try {
      start_rv = std::stoll(rv_param);
    } catch (...) {
      return Error(400, "resourceVersion: Invalid value: \"" + rv_param + "\"");
    }
  }
  const std::string store_key = StoreKey(r.api, r.resource);
  boost::system::error_code ec;
  http::response<http::empty_body> head{http::status::ok, req.http.version()};
  head.set(http::field::content_type, "application/json");
  head.set(http::field::cache_control, "no-cache, private");
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  http::write_header(stream, sr, ec);
  *streamed = true;
  if (ec) return Response{200, Json(), {}};

  auto send = [&](const std::string& type, const Json& object) {
    std::string line = Json{{"type", type}, {"object", object}}.dump() + "\n";
    net::write(stream, http::make_chunk(net::buffer(line)), ec);
    return !ec;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::unique_lock lock(mu);
  ++open_watches;
  uint64_t my_close = close_generation;
  uint64_t my_bookmark = bookmark_generation;
  int64_t cursor;
  std::vector<std::pair<std::string, Json>> pending;
  if (start_rv == 0) {
    for (const auto& [key, entry] : stores[store_key]) {
      if (filter.Matches(entry.object)) pending.emplace_back("ADDED", entry.object);
    }
    cursor = rv;
  } else if (start_rv < min_rv) {
    pending.emplace_back("ERROR", StatusBody(410, "Expired",
                                             "too old resource version: " + std::to_string(start_rv) + " (" +
                                                 std::to_string(min_rv) + ")"));
    cursor = -1;
  } else {
    cursor = start_rv;
  }
  auto next_bookmark = std::chrono::steady_clock::now() + options.bookmark_interval;
  while (true) {
    // A closed watch ends at once: events after the close are for the next watch.
    if (stopping || my_close != close_generation) break;
    if (cursor >= 0) {
      if (cursor < min_rv) {
        pending.emplace_back("ERROR", StatusBody(410, "Expired",
                                                 "too old resource version: " + std::to_string(cursor) + " (" +
                                                     std::to_string(min_rv) + ")"));
        cursor = -1;
      } else {
        for (const auto& ev : history) {
          if (ev.rv <= cursor) continue;
          cursor = ev.rv;
          if (ev.store != store_key) continue;
          bool now = filter.Matches(*ev.object);
          if (ev.type == "MODIFIED") {
            bool before = ev.old_object && filter.Matches(*ev.old_object);
            if (before && now) pending.emplace_back("MODIFIED", *ev.object);
            else if (!before && now) pending.emplace_back("ADDED", *ev.object);
            else if (before && !now) pending.emplace_back("DELETED", *ev.object);
          } else if (now) {
            pending.emplace_back(ev.type, *ev.object);
          }
        }
        if (cursor < rv) cursor = rv;
      }
    }
    bool want_bookmark = false;
    if (bookmarks && cursor >= 0 && my_bookmark != bookmark_generation) want_bookmark = true;
    my_bookmark = bookmark_generation;
    if (bookmarks && cursor >= 0 && options.bookmark_interval.count() > 0 &&
        std::chrono::steady_clock::now() >= next_bookmark) {
      want_bookmark = true;
      next_bookmark = std::chrono::steady_clock::now() + options.bookmark_interval;
    }
    if (want_bookmark) {
      pending.emplace_back("BOOKMARK", Json{{"kind", r.kind},
                                            {"apiVersion", r.api},
                                            {"metadata", {{"resourceVersion", std::to_string(cursor)},
                                                          {"creationTimestamp", nullptr}}}});
    }
    if (!pending.empty()) {
      auto batch = std::move(pending);
      pending.clear();
      lock.unlock();
      bool ok = true;
      for (const auto& [type, object] : batch) {
        if (!(ok = send(type, object))) break;
      }
      lock.lock();
      if (!ok) break;
    }
    if (cursor < 0) break;  // after an ERROR the server ends the watch
    if (stopping || my_close != close_generation) break;
    auto wake = deadline;
    if (bookmarks && options.bookmark_interval.count() > 0) wake = std::min(wake, next_bookmark);
    if (std::chrono::steady_clock::now() >= deadline) break;
    wake = std::min(wake, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    cv.wait_until(lock, wake, [&] {
      return stopping || my_close != close_generation || my_bookmark != bookmark_generation ||
             (!history.empty() && history.back().rv > cursor) || cursor < min_rv;
    });
    // Anything readable on a watch connection (EOF, a TLS close_notify)
    // means the client went away: end the watch as the apiserver does.
    char probe;
    ssize_t peeked = ::recv(stream.next_layer().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked >= 0) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  --open_watches;
  lock.unlock();
  if (!ec) net::write(stream, http::make_chunk_last(), ec);
  return Response{200, Json(), {}};
}

Response TestApiServer::Impl::HandleCreate(const ResInfo& r, Request& req, const std::string& ns) {
  std::string ctype(req.http[http::field::content_type]);
  if (ctype.rfind("application/json", 0) != 0) {
    return Error(415, "the body of the request was in an unknown format - accepted media types include: "
                      "application/json, application/yaml, application/vnd.kubernetes.protobuf");
  }
  Json obj = Json::parse(req.http.body(), nullptr, false);
  if (obj.is_discarded() || !obj.is_object()) {
    return Error(400, "the object provided is unrecognized (must be of type " + r.kind + "): couldn't decode body");
  }
  if (obj.contains("kind") && obj["kind"] != r.kind) {
    return Error(400, "the kind of the provided object (" + obj["kind"].dump() + ") does not match " + r.kind);
  }
  if (obj.contains("apiVersion") && obj["apiVersion"] != r.api) {
    return Error(400, "the API version in the data (" + obj["apiVersion"].dump() +
                          ") does not match the expected API version (" + r.api + ")");
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  Json& meta = obj["metadata"];
  if (r.namespaced) {
    if (meta.contains("namespace") && meta["namespace"] != ns) {
      return Error(400, "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta["namespace"] = ns;
  }
  std::string name = meta.value("name", "");
  if (name.empty() && meta.contains("generateName") && meta["generateName"].is_string()) {
    name = meta["generateName"].get<std::string>() + NewUid().substr(0, 5);
    meta["name"] = name;
  }
  if (name.empty()) {
    Json details = Details(r, "");
    details["kind"] = r.kind;
    details["causes"] = Json::array({{{"reason", "FieldValueRequired"},
                                      {"message", "Required value: name or generateName is required"},
                                      {"field", "metadata.name"}}});
    return Response{422, StatusBody(422, "Invalid",
                                    r.kind + " \"\" is invalid: metadata.name: Required value: name or generateName is required",
                                    details),
                    {}};
  }
  if (!IsDns1123Subdomain(name)) {
    Json details = Details(r, name);
    details["kind"] = r.kind;
    details["causes"] = Json::array({{{"reason", "FieldValueInvalid"},
                                      {"message", "Invalid value: \"" + name + "\": a lowercase RFC 1123 subdomain"},
                                      {"field", "metadata.name"}}});
    return Response{422, StatusBody(422, "Invalid", r.kind + " \"" + name + "\" is invalid: metadata.name: Invalid value",
                                    details),
                    {}};
  }
  if (auto invalid = ValidateObject(r, obj, name)) return Response{422, *invalid, {}};
  for (const char* server_field : {"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"}) {
    meta.erase(server_field);
  }
  if (meta.contains("resourceVersion")) meta.erase("resourceVersion");
  std::lock_guard lock(mu);
  if (r.namespaced && options.require_namespace_exists) {
    auto& namespaces = stores[StoreKey("v1", "namespaces")];
    if (namespaces.find(ObjKey("", ns)) == namespaces.end()) {
      return Error(404, "namespaces \"" + ns + "\" not found", Json{{"name", ns}, {"kind", "namespaces"}});
    }
  }
  auto& store = stores[StoreKey(r.api, r.resource)];
  if (store.count(ObjKey(r.namespaced ? ns : "", name))) {
    return Response{409, StatusBody(409, "AlreadyExists", QualifiedResource(r) + " \"" + name + "\" already exists",
                                    Details(r, name)),
                    {}};
  }
  return Response{201, Upsert(r, std::move(obj)), {}};
}

Response TestApiServer::Impl::HandlePatch(const ResInfo& r, Request& req, const std::string& ns,
                                                               const std::string& name) {
  std::string ctype(req.http[http::field::content_type]);
  auto semi = ctype.find(';');
  if (semi != std::string::npos) ctype.resize(semi);
  if (ctype != "application/merge-patch+json" && ctype != "application/strategic-merge-patch+json" &&
      ctype != "application/json-patch+json") {
    return Error(415, "the body of the request was in an unknown format - accepted media types include: "
                      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
                      "application/strategic-merge-patch+json");
  }
  Json patch = Json::parse(req.http.body(), nullptr, false);
  if (patch.is_discarded()) return Error(400, "error decoding patch: invalid JSON");
  std::lock_guard lock(mu);
  auto& store = stores[StoreKey(r.api, r.resource)];
  auto it = store.find(ObjKey(ns, name));
  if (it == store.end()) return Error(404, QualifiedResource(r) + " \"" + name + "\" not found", Details(r, name));
  const Json& current = it->second.object;
  Json patched;
  if (ctype == "application/merge-patch+json") {
    if (!patch.is_object()) return Error(400, "error decoding patch: merge patch must be a JSON object");
    patched = ApplyMergePatch(current, patch);
  } else if (ctype == "application/strategic-merge-patch+json") {
    auto p = ApplyStrategicMergePatch(current, patch);
    if (!p.ok()) return Response{422, StatusBody(422, "Invalid", p.status().message(), Details(r, name)), {}};
    patched = std::move(*p);
  } else {
    if (!patch.is_array()) return Error(400, "error decoding patch: JSON patch must be an array");
    auto p = ApplyJsonPatch(current, patch);
    if (!p.ok()) {
      return Response{422, StatusBody(422, "Invalid", "the server rejected our request due to an error in our request: " +
                                                          p.status().message(), Details(r, name)),
                      {}};
    }
    patched = std::move(*p);
  }
  const Json& old_meta = current["metadata"];
  if (!patched.is_object() || !patched.contains("metadata") || !patched["metadata"].is_object()) {
    return Response{422, StatusBody(422, "Invalid", r.kind + " \"" + name + "\" is invalid: metadata: Required value",
                                    Details(r, name)),
                    {}};
  }
  Json& meta = patched["metadata"];
  if (meta.value("resourceVersion", "") != old_meta.value("resourceVersion", "") && meta.contains("resourceVersion")) {
    return Error(409, "Operation cannot be fulfilled on " + QualifiedResource(r) + " \"" + name +
                          "\": the object has been modified; please apply your changes to the latest version and try again",
                 Details(r, name));
  }
  for (const char* immutable : {"name", "namespace", "uid", "creationTimestamp"}) {
    if (meta.value(immutable, "") != old_meta.value(immutable, "")) {
      return Response{422, StatusBody(422, "Invalid",
                                      r.kind + " \"" + name + "\" is invalid: metadata." + immutable +
                                          ": Invalid value: field is immutable",
                                      Details(r, name)),
                      {}};
    }
  }
  if (patched.value("kind", "") != r.kind || patched.value("apiVersion", "") != r.api) {
    return Response{422, StatusBody(422, "Invalid", r.kind + " \"" + name + "\" is invalid: kind/apiVersion changed",
                                    Details(r, name)),
                    {}};
  }
  if (auto invalid = ValidateObject(r, patched, name)) return Response{422, *invalid, {}};
  if (patched == current) return Response{200, current, {}};
  return Response{200, Upsert(r, std::move(patched)), {}};
}

Response TestApiServer::Impl::HandleUpdate(const ResInfo& r, Request& req, const std::string& ns,
                                                                const std::string& name) {
  std::string ctype(req.http[http::field::content_type]);
  if (ctype.rfind("application/json", 0) != 0) {
    return Error(415, "the body of the request was in an unknown format - accepted media types include: "
                      "application/json, application/yaml, application/vnd.kubernetes.protobuf");
  }
  Json obj = Json::parse(req.http.body(), nullptr, false);
  if (obj.is_discarded() || !obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) {
    return Error(400, "the object provided is unrecognized (must be of type " + r.kind + ")");
  }
  if (obj["metadata"].value("name", "") != name) {
    return Error(400, "the name of the object (" + obj["metadata"].value("name", "") +
                          ") does not match the name on the URL (" + name + ")");
  }
  if (auto invalid = ValidateObject(r, obj, name)) return Response{422, *invalid, {}};
  std::lock_guard lock(mu);
  auto& store = stores[StoreKey(r.api, r.resource)];
  auto it = store.find(ObjKey(ns, name));
  if (it == store.end()) return Error(404, QualifiedResource(r) + " \"" + name + "\" not found", Details(r, name));
  std::string want = obj["metadata"].value("resourceVersion", "");
  if (want.empty()) {
    return Response{422, StatusBody(422, "Invalid", r.kind + " \"" + name +
                                                        "\" is invalid: metadata.resourceVersion: Invalid value: 0x0: "
                                                        "must be specified for an update",
                                    Details(r, name)),
                    {}};
  }
  if (want != it->second.object["metadata"].value("resourceVersion", "")) {
    return Error(409, "Operation cannot be fulfilled on " + QualifiedResource(r) + " \"" + name +
                          "\": the object has been modified; please apply your changes to the latest version and try again",
                 Details(r, name));
  }
  obj["metadata"]["uid"] = it->second.object["metadata"]["uid"];
  obj["metadata"]["creationTimestamp"] = it->second.object["metadata"]["creationTimestamp"];
  if (r.namespaced) obj["metadata"]["namespace"] = ns;
  return Response{200, Upsert(r, std::move(obj)), {}};
}

Response TestApiServer::Impl::HandleDelete(const ResInfo& r, Request& req, const std::string& ns,
                                                                const std::string& name) {
  Json opts = Json::object();
  if (!req.http.body().empty()) {
    std::string ctype(req.http[http::field::content_type]);
    if (ctype.rfind("application/json", 0) != 0) {
      return Error(415, "the body of the request was in an unknown format - accepted media types include: "
                        "application/json, application/yaml, application/vnd.kubernetes.protobuf");
    }
    opts = Json::parse(req.http.body(), nullptr, false);
    if (opts.is_discarded() || !opts.is_object()) return Error(400, "couldn't decode DeleteOptions");
    if (opts.contains("kind") && opts["kind"] != "DeleteOptions") {
      return Error(400, "the kind of the provided object (" + opts["kind"].dump() + ") is not DeleteOptions");
    }
  }
  std::optional<int64_t> grace;
  if (opts.contains("gracePeriodSeconds")) {
    if (!opts["gracePeriodSeconds"].is_number_integer()) return Error(400, "gracePeriodSeconds must be an integer");
    grace = opts["gracePeriodSeconds"].get<int64_t>();
  }
  if (req.query.count("gracePeriodSeconds")) {
    try {
      grace = std::stoll(req.query["gracePeriodSeconds"]);
    } catch (...) {
      return Error(400, "gracePeriodSeconds: Invalid value");
    }
  }
  std::string policy = opts.value("propagationPolicy", req.query.count("propagationPolicy") ? req.query["propagationPolicy"] : "");
  if (!policy.empty() && policy != "Orphan" && policy != "Background" && policy != "Foreground") {
    return Response{422, StatusBody(422, "Invalid",
                                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" +
                                        policy + "\"",
                                    Details(r, name)),
                    {}};
  }
  std::lock_guard lock(mu);
  auto& store = stores[StoreKey(r.api, r.resource)];
  auto it = store.find(ObjKey(ns, name));
  if (it == store.end()) return Error(404, QualifiedResource(r) + " \"" + name + "\" not found", Details(r, name));
  Json object = it->second.object;
  const Json& meta = object["metadata"];
  if (opts.contains("preconditions") && opts["preconditions"].is_object()) {
    const Json& pre = opts["preconditions"];
    if (pre.contains("uid") && pre["uid"].is_string() && pre["uid"] != meta["uid"]) {
      return Error(409, "Operation cannot be fulfilled on " + QualifiedResource(r) + " \"" + name +
                            "\": Precondition failed: UID in precondition: " + pre["uid"].get<std::string>() +
                            ", UID in object meta: " + meta.value("uid", ""),
                   Details(r, name));
    }
    if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() &&
        pre["resourceVersion"] != meta["resourceVersion"]) {
      return Error(409, "Operation cannot be fulfilled on " + QualifiedResource(r) + " \"" + name +
                            "\": Precondition failed: ResourceVersion in precondition: " +
                            pre["resourceVersion"].get<std::string>() +
                            ", ResourceVersion in object meta: " + meta.value("resourceVersion", ""),
                   Details(r, name));
    }
  }
  if (r.resource == "pods" && r.api == "v1") {
    int64_t g = grace.value_or(object.contains("spec") && object["spec"].contains("terminationGracePeriodSeconds") &&
                                       object["spec"]["terminationGracePeriodSeconds"].is_number_integer()
                                   ? object["spec"]["terminationGracePeriodSeconds"].get<int64_t>()
                                   : 30);
    if (g > 0) {
      if (!meta.contains("deletionTimestamp")) {
        object["metadata"]["deletionTimestamp"] = NowRfc3339(std::chrono::seconds(g));
        object["metadata"]["deletionGracePeriodSeconds"] = g;
        return Response{200, Upsert(r, std::move(object)), {}};
      }
      return Response{200, object, {}};
    }
    Erase(r, ns, name);
    return Response{200, object, {}};
  }
  std::string uid = meta.value("uid", "");
  Erase(r, ns, name);
  Json details = Details(r, name);
  details["uid"] = uid;
  return Response{200,
                  Json{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"},
                       {"details", details}},
                  {}};
}

// ---------------------------------------------------------------- public API

TestApiServer::TestApiServer(ApiServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

TestApiServer::~TestApiServer() { Stop(); }

Status TestApiServer::Start() {
  try {
    impl_->ssl_ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(impl_->ssl_ctx->native_handle(), TLS1_2_VERSION);
    impl_->ssl_ctx->use_certificate_chain(net::buffer(impl_->options.server_cert_pem));
    impl_->ssl_ctx->use_private_key(net::buffer(impl_->options.server_key_pem), ssl::context::pem);
    if (!impl_->options.client_ca_pem.empty()) {
      impl_->ssl_ctx->add_certificate_authority(net::buffer(impl_->options.client_ca_pem));
      // Request a client certificate; verify it if given (Go's VerifyClientCertIfGiven).
      impl_->ssl_ctx->set_verify_mode(ssl::verify_peer);
    }
    impl_->acceptor = std::make_unique<tcp::acceptor>(impl_->ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    impl_->port = impl_->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("test api server: ") + e.what());
  }
  impl_->accept_thread = std::thread([impl = impl_.get()] {
    while (!impl->stopping) {
      boost::system::error_code ec;
      tcp::socket socket(impl->ioc);
      impl->acceptor->accept(socket, ec);
      if (ec || impl->stopping) break;
      std::lock_guard lock(impl->mu);
      impl->conn_threads.emplace_back([impl, s = std::move(socket)]() mutable {
        try {
          impl->Serve(std::move(s));
        } catch (const std::exception&) {
          // A connection failing is the client's problem; the server keeps serving.
        }
      });
    }
  });
  return Status::Ok();
}

void TestApiServer::Stop() {
  if (!impl_->acceptor || impl_->stopping.exchange(true)) return;
  ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  boost::system::error_code ec;
  impl_->acceptor->close(ec);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::list<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    for (int fd : impl_->conn_fds) ::shutdown(fd, SHUT_RDWR);
    impl_->cv.notify_all();
    threads = std::move(impl_->conn_threads);
  }
  for (auto& t : threads) t.join();
}

int TestApiServer::port() const { return impl_->port; }
std::string TestApiServer::url() const { return "https://127.0.0.1:" + std::to_string(impl_->port); }

Json TestApiServer::Put(const std::string& api, const std::string& resource, Json object) {
  const ResInfo* r = FindResource(api, resource);
  if (r == nullptr) throw std::invalid_argument("unknown resource " + api + "/" + resource);
  std::lock_guard lock(impl_->mu);
  return impl_->Upsert(*r, std::move(object));
}

bool TestApiServer::Remove(const std::string& api, const std::string& resource, const std::string& ns,
                           const std::string& name) {
  const ResInfo* r = FindResource(api, resource);
  if (r == nullptr) return false;
  std::lock_guard lock(impl_->mu);
  auto& store = impl_->stores[StoreKey(api, resource)];
  if (!store.count(ObjKey(r->namespaced ? ns : "", name))) return false;
  impl_->Erase(*r, r->namespaced ? ns : "", name);
  return true;
}

std::optional<Json> TestApiServer::Object(const std::string& api, const std::string& resource, const std::string& ns,
                                          const std::string& name) const {
  const ResInfo* r = FindResource(api, resource);
  if (r == nullptr) return std::nullopt;
  std::lock_guard lock(impl_->mu);
  auto sit = impl_->stores.find(StoreKey(api, resource));
  if (sit == impl_->stores.end()) return std::nullopt;
  auto it = sit->second.find(ObjKey(r->namespaced ? ns : "", name));
  if (it == sit->second.end()) return std::nullopt;
  return it->second.object;
}

size_t TestApiServer::Count(const std::string& api, const std::string& resource) const {
  std::lock_guard lock(impl_->mu);
  auto sit = impl_->stores.find(StoreKey(api, resource));
  return sit == impl_->stores.end() ? 0 : sit->second.size();
}

Json TestApiServer::AddNamespace(const std::string& name, const std::map<std::string, std::string>& labels) {
  Json ns = {{"metadata", {{"name", name}, {"labels", labels}}}, {"spec", {{"finalizers", {"kubernetes"}}}},
             {"status", {{"phase", "Active"}}}};
  ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
  return Put("v1", "namespaces", std::move(ns));
}

void TestApiServer::FinalizeDeletions() {
  const ResInfo* r = FindResource("v1", "pods");
  std::lock_guard lock(impl_->mu);
  std::vector<std::pair<std::string, std::string>> doomed;
  for (const auto& [key, entry] : impl_->stores[StoreKey("v1", "pods")]) {
    if (entry.object["metadata"].contains("deletionTimestamp")) {
      doomed.emplace_back(entry.object["metadata"].value("namespace", ""), entry.object["metadata"].value("name", ""));
    }
  }
  for (const auto& [ns, name] : doomed) impl_->Erase(*r, ns, name);
}

int64_t TestApiServer::ResourceVersion() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rv;
}

void TestApiServer::InjectFault(const Fault& fault, int count) {
  std::lock_guard lock(impl_->mu);
  impl_->faults.emplace_back(fault, count);
}

void TestApiServer::ClearFaults() {
  std::lock_guard lock(impl_->mu);
  impl_->faults.clear();
}

void TestApiServer::Compact() {
  std::lock_guard lock(impl_->mu);
  impl_->history.clear();
  impl_->min_rv = impl_->rv;
  impl_->cv.notify_all();
}

void TestApiServer::CloseWatches() {
  std::lock_guard lock(impl_->mu);
  ++impl_->close_generation;
  impl_->cv.notify_all();
}

void TestApiServer::BroadcastBookmark() {
  std::lock_guard lock(impl_->mu);
  ++impl_->bookmark_generation;
  impl_->cv.notify_all();
}

size_t TestApiServer::OpenWatches() const {
  std::lock_guard lock(impl_->mu);
  return impl_->open_watches;
}

std::vector<RecordedRequest> TestApiServer::Requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

void TestApiServer::ClearRequests() {
  std::lock_guard lock(impl_->mu);
  impl_->requests.clear();
}

Result<RawHttpResponse> SendRawRequest(int port, const std::string& ca_pem, const std::string& method,
                                       const std::string& target, const std::map<std::string, std::string>& headers,
                                       const std::string& body) {
  try {
    net::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.add_certificate_authority(net::buffer(ca_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    SslStream stream(ioc, ctx);
    stream.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    stream.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.keep_alive(false);
    req.prepare_payload();
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    boost::system::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec && ec != http::error::end_of_stream) return Status::Unavailable("read: " + ec.message());
    auto res = parser.release();
    RawHttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& h : res) {
      std::string name(h.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      out.headers[name] = std::string(h.value());
    }
    out.body = res.body();
    stream.shutdown(ec);
    return out;
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("raw request: ") + e.what());
  }
}

}  // namespace invar::testing
