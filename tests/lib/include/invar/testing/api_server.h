// SPDX-License-Identifier: Apache-2.0
// TestApiServer: a strict, in-process Kubernetes API server for tests. No
// kube-apiserver can run on these machines, so this speaks the real wire
// format over real TLS (Boost.Beast + OpenSSL) and answers wrong paths, verbs,
// content types and bodies with the errors a real apiserver gives, so that
// client bugs fail tests. See docs/kube-client.md ("Test API server") for
// what it models and what it simplifies.
//
// Modeled: bearer-token and client-certificate authentication (401), a
// minimal authorizer (403), the core/apps/batch/events.k8s.io resources,
// GET/LIST (limit/continue, label and field selectors), WATCH (chunked
// {"type","object"} lines, bookmarks, resourceVersion, 410 Expired beyond a
// bounded history window), POST (uid/resourceVersion/creationTimestamp,
// AlreadyExists, namespace existence), PATCH (merge, strategic-merge subset,
// JSON patch; 415/422), DELETE (uid preconditions, grace periods), injected
// faults (429 + Retry-After, 5xx, dropped connections, delays) and request
// recording.
//
// Thread-safety: every public method is thread-safe. The server runs one
// thread per connection plus an acceptor thread; Stop() (or the destructor)
// closes every connection and joins every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "invar/platform/status.h"

namespace invar::testing {

using Json = nlohmann::json;

struct ApiServerOptions {
  std::string server_cert_pem;
  std::string server_key_pem;
  std::string client_ca_pem;                       // client certificates must chain to this
  std::map<std::string, std::string> tokens;       // bearer token -> user name
  // Minimal RBAC: return false to answer 403. Default: every authenticated user may do anything.
  std::function<bool(const std::string& user, const std::string& verb, const std::string& resource,
                     const std::string& ns)>
      authorize;
  size_t history_window = 1000;                    // watch events kept; older versions get 410 Expired
  std::chrono::milliseconds bookmark_interval{0};  // 0: bookmarks only on BroadcastBookmark()
  bool require_namespace_exists = true;            // creates into a missing namespace get 404
};

struct RecordedRequest {
  std::string method;
  std::string path;    // decoded path without the query
  std::string target;  // raw request target
  std::map<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string user;    // authenticated user ("" when unauthenticated)
  int status = 0;      // the status code answered
};

struct Fault {
  int code = 500;                    // HTTP status to answer; 0 = drop the connection without answering
  std::optional<int> retry_after_seconds;
  std::string method;                // only requests with this method ("" = any)
  std::string path_contains;         // only requests whose path contains this ("" = any)
  std::chrono::milliseconds delay{0};  // wait before answering (request-timeout tests); with code -1: delay then serve normally
};

class TestApiServer {
 public:
  explicit TestApiServer(ApiServerOptions options);
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  // Binds 127.0.0.1 on an ephemeral port and starts serving.
  Status Start();
  void Stop();
  int port() const;
  std::string url() const;  // "https://127.0.0.1:<port>"

  // --- server-side state changes (as if another client made them); each
  // bumps the resourceVersion and notifies watches. `api` is "v1",
  // "apps/v1", "events.k8s.io/v1"...; the object's metadata.namespace selects the namespace.
  Json Put(const std::string& api, const std::string& resource, Json object);  // create or replace
  bool Remove(const std::string& api, const std::string& resource, const std::string& ns, const std::string& name);
  std::optional<Json> Object(const std::string& api, const std::string& resource, const std::string& ns,
                             const std::string& name) const;
  size_t Count(const std::string& api, const std::string& resource) const;
  // Convenience: a namespace with labels.
  Json AddNamespace(const std::string& name, const std::map<std::string, std::string>& labels = {});
  // Finishes graceful pod deletions (as the kubelet would).
  void FinalizeDeletions();
  int64_t ResourceVersion() const;

  // --- faults and stream control
  // The next `count` matching requests answer with `fault`.
  void InjectFault(const Fault& fault, int count = 1);
  void ClearFaults();
  // Drops every history entry: any watch or continue older than now gets 410.
  void Compact();
  // Closes every open watch stream (as an apiserver restart or a load balancer would).
  void CloseWatches();
  // Sends a BOOKMARK to every watch that asked for them.
  void BroadcastBookmark();
  size_t OpenWatches() const;

  // --- recording
  std::vector<RecordedRequest> Requests() const;
  void ClearRequests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A raw HTTPS exchange with the server (one request, connection closed), for
// tests of the server's own strictness: wrong paths, verbs, content types.
struct RawHttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};
Result<RawHttpResponse> SendRawRequest(int port, const std::string& ca_pem, const std::string& method,
                                       const std::string& target, const std::map<std::string, std::string>& headers,
                                       const std::string& body = "");

// Selector matching, exposed for unit tests of the server itself.
// Returns an error message for an unparsable selector.
Result<bool> MatchLabelSelector(const std::string& selector, const Json& labels);

// RFC 7386 merge patch; the strategic-merge subset documented in docs/kube-client.md; RFC 6902 JSON patch.
Json ApplyMergePatch(const Json& target, const Json& patch);
Result<Json> ApplyStrategicMergePatch(const Json& target, const Json& patch);
Result<Json> ApplyJsonPatch(const Json& target, const Json& patch);

}  // namespace invar::testing
