// SPDX-License-Identifier: Apache-2.0
// KubeClient: the one seam through which invar talks to the Kubernetes API
// (webhook: namespaces; agent: pods on its node, pod annotations, Events, pod
// deletion; report: pods, workload controllers, namespaces). Objects cross
// this API as nlohmann::json exactly as the server sent them; the cpprestsdk
// implementation lives in client.cpp and never leaks into this header.
//
// Thread-safety: every method may be called concurrently from any thread.
// Watch() blocks its calling thread until the stream ends or is stopped.
//
// Errors: every call returns a KubeResult<T>. When the server answered with a
// Kubernetes Status object, api_error() carries its code, reason and message;
// status().code() maps it (404 -> kNotFound, 409 AlreadyExists ->
// kAlreadyExists, 409 Conflict / 410 -> kFailedPrecondition, 401/403 ->
// kPermissionDenied, 400/415/422 -> kInvalidArgument, 429 ->
// kResourceExhausted, 5xx and connection/TLS failures -> kUnavailable,
// timeouts -> kDeadlineExceeded). Messages never contain credentials.
//
// Retries: GET, LIST, WATCH (the connect) and DELETE with a uid precondition
// are retried on 429, 5xx (except 501) and connection errors with
// exponential backoff and jitter, honouring Retry-After; POST and PATCH only
// on 429 (the server promises it did not act). See docs/kube-client.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "invar/kube/config.h"
#include "invar/platform/status.h"

namespace invar::kube {

using Json = nlohmann::json;

// A REST resource: {group, version, plural resource, namespaced, kind}.
struct Resource {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural: "pods"
  bool namespaced = true;
  std::string kind;      // "Pod": filled into list items, which the server sends without kind/apiVersion

  std::string ApiVersion() const;  // "v1", "apps/v1"
  std::string Prefix() const;      // "/api/v1", "/apis/apps/v1"

  static Resource Pods();
  static Resource Namespaces();
  static Resource Events();        // events.k8s.io/v1
  static Resource CoreEvents();    // v1 events (read-only use)
  static Resource Deployments();
  static Resource ReplicaSets();
  static Resource StatefulSets();
  static Resource DaemonSets();
  static Resource Jobs();          // batch/v1
  static Resource CronJobs();      // batch/v1
  static Resource ReplicationControllers();
  static Resource PodTemplates();
};

// The server's Status object, when it sent one (or a synthesized one for a
// non-Status error body).
struct ApiError {
  int code = 0;          // HTTP status code: 404
  std::string reason;    // NotFound, AlreadyExists, Conflict, Gone, Expired, Invalid, Forbidden,
                         // Unauthorized, TooManyRequests, UnsupportedMediaType, BadRequest, ...
  std::string message;   // the server's message
  Json details;          // Status.details (null when absent)
  std::optional<std::chrono::seconds> retry_after;  // from Retry-After / details.retryAfterSeconds
};

// Result<T> plus the Kubernetes Status when the server returned one.
template <typename T>
class [[nodiscard]] KubeResult : public Result<T> {
 public:
  KubeResult(T value) : Result<T>(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  KubeResult(Status status) : Result<T>(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  KubeResult(Status status, ApiError api) : Result<T>(std::move(status)), api_(std::move(api)) {}

  // Set when the failure came from an HTTP answer.
  const std::optional<ApiError>& api_error() const { return api_; }
  int http_code() const { return api_ ? api_->code : 0; }
  std::string_view reason() const { return api_ ? std::string_view(api_->reason) : std::string_view(); }
  bool IsNotFound() const { return http_code() == 404; }
  bool IsConflict() const { return http_code() == 409; }
  bool IsGone() const { return http_code() == 410; }

 private:
  std::optional<ApiError> api_;
};

struct ListOptions {
  std::string namespace_;       // empty: all namespaces (namespaced resources); ignored for cluster-scoped
  std::string label_selector;   // "app=web,tier!=db,env in (a,b),!legacy"
  std::string field_selector;   // "spec.nodeName=node-1"
  int64_t limit = 0;            // page size; 0: no limit
  std::string continue_token;
  std::string resource_version;  // "" (most recent, quorum read), "0" (any), or a version
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
  std::optional<int64_t> timeout_seconds;
};

struct ObjectList {
  std::string kind;              // "PodList"
  std::string api_version;
  std::string resource_version;  // metadata.resourceVersion: where a watch resumes
  std::string continue_token;    // metadata.continue; empty on the last page
  std::optional<int64_t> remaining_item_count;
  std::vector<Json> items;       // each with kind and apiVersion filled in
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view WatchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  Json object;  // the object (kind/apiVersion filled in), a BOOKMARK's bare object, or the ERROR's Status
};

struct WatchOptions {
  std::string namespace_;
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;   // start after this version; "" = start at the current state (synthetic ADDEDs)
  bool allow_bookmarks = true;
  int64_t timeout_seconds = 300;  // server-side timeoutSeconds; the client waits this + request timeout
};

// How a Watch() call ended.
struct WatchEnd {
  std::string resource_version;  // last version seen (event or bookmark); resume from here
  bool stopped = false;          // the stop_token fired or the callback returned false
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in types only)
  kJson,            // application/json-patch+json (RFC 6902)
};
std::string_view PatchContentType(PatchType type);

struct DeleteOptions {
  std::optional<std::string> uid_precondition;      // preconditions.uid: 409 Conflict if the object is another one
  std::optional<std::string> resource_version_precondition;
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;                   // "", "Orphan", "Background", "Foreground"
};

class KubeClient {
 public:
  KubeClient() = default;
  virtual ~KubeClient() = default;
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // GET one object. ns ignored for cluster-scoped resources.
  virtual KubeResult<Json> Get(const Resource& resource, const std::string& ns, const std::string& name) = 0;

  // One page of a LIST (opts.limit/continue_token control paging).
  virtual KubeResult<ObjectList> List(const Resource& resource, const ListOptions& opts) = 0;

  // Every page, following `continue` (page size opts.limit, 500 when 0). If a
  // continue token expires (410) the list restarts once without paging.
  // Returns the first page's metadata with all items; resource_version is the
  // snapshot's version to watch from.
  virtual KubeResult<ObjectList> ListAll(const Resource& resource, const ListOptions& opts) = 0;

  // Streaming variant of ListAll: calls `on_item` per item as each page
  // arrives (items are not kept). A non-OK Status from on_item stops the
  // listing and is returned. Returns the list's resourceVersion.
  virtual KubeResult<std::string> ListEach(const Resource& resource, const ListOptions& opts,
                                           const std::function<Status(Json&& item)>& on_item) = 0;

  // Raw paging for bulk readers (the report, the benchmark): calls on_page
  // with each LIST response body exactly as the server sent it (a *List
  // object whose items carry no kind/apiVersion). Paging, retries and the
  // 410 restart as ListAll. Returns the list's resourceVersion.
  virtual KubeResult<std::string> ListPages(const Resource& resource, const ListOptions& opts,
                                            const std::function<Status(std::string_view page)>& on_page) = 0;

  // Opens one watch stream and calls on_event for every event in order, on
  // the calling thread, until the server ends the stream (timeoutSeconds or a
  // dropped connection: returns OK with the last version so the caller can
  // resume), `stop` fires, or on_event returns false. An ERROR event with a
  // 410 Status is returned as a 410 KubeResult (the caller must relist);
  // other ERROR events are passed to on_event. Connection setup is retried
  // (see above); a stream that breaks mid-way is not (resume from the
  // returned version).
  virtual KubeResult<WatchEnd> Watch(const Resource& resource, const WatchOptions& opts,
                                     const std::function<bool(WatchEvent&&)>& on_event,
                                     std::stop_token stop = {}) = 0;

  // PATCH; `patch` is serialized as given (a JSON array for kJson).
  virtual KubeResult<Json> Patch(const Resource& resource, const std::string& ns, const std::string& name,
                                 PatchType type, const Json& patch) = 0;

  // POST a new object into ns (metadata.namespace may be omitted). Returns the created object.
  virtual KubeResult<Json> Create(const Resource& resource, const std::string& ns, const Json& object) = 0;

  // DELETE; returns the server's answer (the object being deleted, or a Status).
  virtual KubeResult<Json> Delete(const Resource& resource, const std::string& ns, const std::string& name,
                                  const DeleteOptions& opts) = 0;

  // The configuration in use (credentials included: do not log it).
  virtual const RestConfig& config() const = 0;
};

// Creates the cpprestsdk client. Fails on unreadable certificates/keys or a
// malformed server URL; never contacts the server.
Result<std::unique_ptr<KubeClient>> NewKubeClient(RestConfig config);

// Retry tuning (tests shorten it). Defaults: 5 attempts, 200 ms .. 5 s.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds max_retry_after{30000};  // cap on a server's Retry-After
};
Result<std::unique_ptr<KubeClient>> NewKubeClient(RestConfig config, RetryPolicy retry);

// "/api/v1/namespaces/ns/pods/name" (name and ns may be empty).
std::string ResourcePath(const Resource& resource, const std::string& ns, const std::string& name);

}  // namespace invar::kube
