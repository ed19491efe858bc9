// SPDX-License-Identifier: Apache-2.0
// The cpprestsdk KubeClient (see client.h): one http_client for ordinary
// requests (the request timeout) and one for watches (timeoutSeconds plus
// the request timeout), TLS set up through set_ssl_context_callback with
// OpenSSL: our CA only (when given), TLS 1.2+, client certificate and key,
// hostname verification against tls-server-name or the URL host (SNI too).
// Thread-safe: cpprest's http_client takes concurrent requests; credentials
// sit behind CredentialSource's mutex; the TLS state is immutable except the
// exec-plugin client certificate (mutex).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cpprest/http_client.h>

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "invar/kube/client.h"
#include "invar/platform/log.h"
#include "kube_internal.h"

#ifndef INVAR_VERSION
#define INVAR_VERSION "dev"
#endif

namespace invar::kube {

// ------------------------------------------------------------------ Resource

std::string Resource::ApiVersion() const { return group.empty() ? version : group + "/" + version; }
std::string Resource::Prefix() const { return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version; }
Resource Resource::Pods() { return {"", "v1", "pods", true, "Pod"}; }
Resource Resource::Namespaces() { return {"", "v1", "namespaces", false, "Namespace"}; }
Resource Resource::Events() { return {"events.k8s.io", "v1", "events", true, "Event"}; }
Resource Resource::CoreEvents() { return {"", "v1", "events", true, "Event"}; }
Resource Resource::Deployments() { return {"apps", "v1", "deployments", true, "Deployment"}; }
Resource Resource::ReplicaSets() { return {"apps", "v1", "replicasets", true, "ReplicaSet"}; }
Resource Resource::StatefulSets() { return {"apps", "v1", "statefulsets", true, "StatefulSet"}; }
Resource Resource::DaemonSets() { return {"apps", "v1", "daemonsets", true, "DaemonSet"}; }
Resource Resource::Jobs() { return {"batch", "v1", "jobs", true, "Job"}; }
Resource Resource::CronJobs() { return {"batch", "v1", "cronjobs", true, "CronJob"}; }
Resource Resource::ReplicationControllers() { return {"", "v1", "replicationcontrollers", true, "ReplicationController"}; }
Resource Resource::PodTemplates() { return {"", "v1", "podtemplates", true, "PodTemplate"}; }

std::string ResourcePath(const Resource& resource, const std::string& ns, const std::string& name) {
  std::string path = resource.Prefix();
  if (resource.namespaced && !ns.empty()) path += "/namespaces/" + internal::UrlEncode(ns);
  path += "/" + resource.resource;
  if (!name.empty()) path += "/" + internal::UrlEncode(name);
  return path;
}

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "UNKNOWN";
}

std::string_view PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

namespace {

using web::http::http_request;
using web::http::http_response;
using web::http::method;
using web::http::client::http_client;
using web::http::client::http_client_config;

// ------------------------------------------------------------------ TLS

struct SslCtxFree {
  void operator()(X509* x) const { X509_free(x); }
};

// Everything the OpenSSL callbacks need; owned by the client, outlives its
// http_clients (declared before them).
struct TlsState {
  std::string ca_pem;        // empty: system roots
  std::string cert_pem;      // static client certificate (file or data)
  std::string key_pem;
  std::string verify_name;   // tls-server-name or the URL host
  bool custom_sni = false;
  bool insecure = false;
  internal::CredentialSource* credentials = nullptr;
  std::mutex mu;
  std::string last_verify_error;  // for error messages
};

int TlsExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Replaces OpenSSL's (and cpprest's) chain verification: verifies the chain
// against our store and the certificate name against verify_name.
int VerifyChain(X509_STORE_CTX* ctx, void* arg) {
  auto* tls = static_cast<TlsState*>(arg);
  // cpprest's per-certificate callback checks the URL host only; OpenSSL's
  // default behaviour is "return ok" (a null callback would be called).
  X509_STORE_CTX_set_verify_cb(ctx, [](int ok, X509_STORE_CTX*) { return ok; });
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  if (IsIpAddress(tls->verify_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, tls->verify_name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, tls->verify_name.c_str(), 0);
  }
  int ok = X509_verify_cert(ctx);
  if (ok <= 0) {
    std::lock_guard lock(tls->mu);
    tls->last_verify_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  return ok > 0 ? 1 : 0;
}

void SniCallback(const SSL* ssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  auto* tls = static_cast<TlsState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TlsExIndex()));
  if (tls != nullptr && tls->custom_sni && !IsIpAddress(tls->verify_name)) {
    SSL_set_tlsext_host_name(const_cast<SSL*>(ssl), tls->verify_name.c_str());
  }
}

bool UseCertAndKey(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  bool ok = cert != nullptr && SSL_CTX_use_certificate(ctx, cert) == 1;
  X509_free(cert);
  while (ok) {  // intermediates
    X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    SSL_CTX_add_extra_chain_cert(ctx, extra);  // takes ownership
  }
  BIO_free(bio);
  ERR_clear_error();
  if (!ok) return false;
  bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ok;
}

void ConfigureSsl(TlsState* tls, boost::asio::ssl::context& asio_ctx) {
  SSL_CTX* ctx = asio_ctx.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_ex_data(ctx, TlsExIndex(), tls);
  if (!tls->ca_pem.empty()) {
    X509_STORE* store = X509_STORE_new();
    BIO* bio = BIO_new_mem_buf(tls->ca_pem.data(), static_cast<int>(tls->ca_pem.size()));
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);
      X509_free(cert);
    }
    BIO_free(bio);
    ERR_clear_error();
    SSL_CTX_set_cert_store(ctx, store);  // only our CA, as kubectl does
  }
  std::string cert = tls->cert_pem, key = tls->key_pem;
  if (cert.empty() && tls->credentials != nullptr) std::tie(cert, key) = tls->credentials->ExecClientCert();
  if (!cert.empty()) UseCertAndKey(ctx, cert, key);
  if (!tls->insecure) SSL_CTX_set_cert_verify_callback(ctx, VerifyChain, tls);
  if (tls->custom_sni) SSL_CTX_set_info_callback(ctx, SniCallback);
}

Result<std::string> ReadPemFile(const std::string& path, const char* what) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return ErrnoStatus(std::string(what) + " " + path);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// ------------------------------------------------------------------ errors

Status StatusFor(int code, const std::string& reason, const std::string& text) {
  switch (code) {
    case 404: return Status::NotFound(text);
    case 409: return reason == "AlreadyExists" ? Status::AlreadyExists(text) : Status::FailedPrecondition(text);
    case 410: return Status::FailedPrecondition(text);
    case 401:
    case 403: return Status::PermissionDenied(text);
    case 400:
    case 405:
    case 406:
    case 415:
    case 422: return Status::InvalidArgument(text);
    case 429: return Status::ResourceExhausted(text);
    case 504: return Status::DeadlineExceeded(text);
    default: return code >= 500 ? Status::Unavailable(text) : Status::Internal(text);
  }
}

std::string DefaultReason(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Unknown";
  }
}

ApiError ParseApiError(int code, const std::string& body, const std::string& retry_after_header) {
  ApiError err;
  err.code = code;
  auto doc = Json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.value("kind", "") == "Status") {
    err.reason = doc.value("reason", "");
    err.message = doc.value("message", "");
    if (doc.contains("code") && doc["code"].is_number_integer()) err.code = doc["code"].get<int>();
    if (doc.contains("details")) err.details = doc["details"];
  }
  if (err.reason.empty()) err.reason = DefaultReason(err.code);
  if (err.message.empty()) {
    // Not a Status (a proxy's HTML page, say): keep a short, printable excerpt.
    std::string excerpt = body.substr(0, 200);
    for (char& c : excerpt) {
      if (c < 0x20 || c > 0x7e) c = ' ';
    }
    err.message = excerpt.empty() ? "the server returned HTTP " + std::to_string(code) : excerpt;
  }
  if (!retry_after_header.empty()) {
    try {
      err.retry_after = std::chrono::seconds(std::stoll(retry_after_header));
    } catch (...) {
      // HTTP-date form: ignored, the backoff applies.
    }
  } else if (err.details.is_object() && err.details.contains("retryAfterSeconds") &&
             err.details["retryAfterSeconds"].is_number_integer()) {
    err.retry_after = std::chrono::seconds(err.details["retryAfterSeconds"].get<int64_t>());
  }
  return err;
}

struct RawResponse {
  int code = 0;
  std::string body;
  std::string retry_after;
};

// One prepared request.
struct Call {
  std::string method;
  std::string path;   // already encoded
  std::string query;  // "a=b&c=d" (encoded)
  std::string body;
  std::string content_type;
  bool idempotent = true;
};

std::string AddQuery(std::string query, const std::string& key, const std::string& value) {
  if (value.empty()) return query;
  if (!query.empty()) query += "&";
  return query + key + "=" + internal::UrlEncode(value);
}

std::string ListQuery(const ListOptions& opts) {
  std::string q;
  q = AddQuery(q, "labelSelector", opts.label_selector);
  q = AddQuery(q, "fieldSelector", opts.field_selector);
  if (opts.limit > 0) q = AddQuery(q, "limit", std::to_string(opts.limit));
  q = AddQuery(q, "continue", opts.continue_token);
  if (opts.continue_token.empty()) {
    q = AddQuery(q, "resourceVersion", opts.resource_version);
    q = AddQuery(q, "resourceVersionMatch", opts.resource_version_match);
  }
  if (opts.timeout_seconds) q = AddQuery(q, "timeoutSeconds", std::to_string(*opts.timeout_seconds));
  return q;
}

void FillKind(Json& item, const Resource& resource) {
  if (!item.is_object()) return;
  if (!item.contains("kind")) item["kind"] = resource.kind;
  if (!item.contains("apiVersion")) item["apiVersion"] = resource.ApiVersion();
}

// ------------------------------------------------------------------ client

class CpprestKubeClient final : public KubeClient {
 public:
  CpprestKubeClient(RestConfig config, RetryPolicy retry)
      : config_(std::move(config)), retry_(retry), credentials_(config_) {}

  Status Init() {
    web::uri uri;
    try {
      uri = web::uri(config_.server);
    } catch (const std::exception&) {
      return Status::InvalidArgument("server URL \"" + config_.server + "\" is malformed");
    }
    if (uri.scheme() != "https" && uri.scheme() != "http") {
      return Status::InvalidArgument("server URL \"" + config_.server + "\" must be https://");
    }
    base_path_ = uri.path();
    if (base_path_ == "/") base_path_.clear();
    while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
    std::string origin = uri.scheme() + "://" + uri.host() + (uri.is_port_default() ? "" : ":" + std::to_string(uri.port()));
    if (!config_.proxy_url.empty()) {
      log::Warn("kube: proxy-url in the kubeconfig is ignored; invar connects to {} directly", origin);
    }

    tls_.insecure = config_.insecure_skip_tls_verify;
    tls_.verify_name = config_.tls_server_name.empty() ? uri.host() : config_.tls_server_name;
    if (!tls_.verify_name.empty() && tls_.verify_name.front() == '[') {
      tls_.verify_name = tls_.verify_name.substr(1, tls_.verify_name.size() - 2);
    }
    tls_.custom_sni = !config_.tls_server_name.empty();
    tls_.credentials = &credentials_;
    if (!config_.ca_data.empty()) {
      tls_.ca_pem = config_.ca_data;
    } else if (!config_.ca_file.empty()) {
      auto pem = ReadPemFile(config_.ca_file, "certificate-authority");
      if (!pem.ok()) return pem.status();
      tls_.ca_pem = *pem;
    }
    if (!tls_.ca_pem.empty() && tls_.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return Status::InvalidArgument("certificate-authority holds no PEM certificate");
    }
    if (!config_.client_cert_data.empty()) {
      tls_.cert_pem = config_.client_cert_data;
    } else if (!config_.client_cert_file.empty()) {
      auto pem = ReadPemFile(config_.client_cert_file, "client-certificate");
      if (!pem.ok()) return pem.status();
      tls_.cert_pem = *pem;
    }
    if (!config_.client_key_data.empty()) {
      tls_.key_pem = config_.client_key_data;
    } else if (!config_.client_key_file.empty()) {
      auto pem = ReadPemFile(config_.client_key_file, "client-key");
      if (!pem.ok()) return pem.status();
      tls_.key_pem = *pem;
    }
    if (!tls_.cert_pem.empty()) {
      // Fail now, with a message that names the field, not the bytes.
      SSL_CTX* probe = SSL_CTX_new(TLS_client_method());
      bool ok = UseCertAndKey(probe, tls_.cert_pem, tls_.key_pem);
      SSL_CTX_free(probe);
      if (!ok) return Status::InvalidArgument("client-certificate/client-key: unreadable or not a matching pair");
    }
    user_agent_ = config_.user_agent.empty() ? std::string("invar/") + INVAR_VERSION : config_.user_agent;

    auto make = [&](std::chrono::milliseconds timeout) {
      http_client_config cfg;
      cfg.set_timeout(timeout);
      cfg.set_validate_certificates(!config_.insecure_skip_tls_verify);
      cfg.set_tlsext_sni_enabled(config_.tls_server_name.empty());
      TlsState* tls = &tls_;
      cfg.set_ssl_context_callback([tls](boost::asio::ssl::context& ctx) { ConfigureSsl(tls, ctx); });
      return std::make_unique<http_client>(web::uri(origin), cfg);
    };
    try {
      client_ = make(config_.request_timeout);
      // Watches: cpprest's timeout is per socket operation, so it bounds
      // silence on the stream; the server ends the watch at timeoutSeconds.
      watch_client_ = make(std::chrono::hours(1));
    } catch (const std::exception& e) {
      return Status::InvalidArgument(std::string("cannot create HTTP client: ") + e.what());
    }
    return Status::Ok();
  }

  const RestConfig& config() const override { return config_; }

  KubeResult<Json> Get(const Resource& resource, const std::string& ns, const std::string& name) override {
    if (name.empty()) return Status::InvalidArgument("Get: empty name");
    auto raw = Execute({"GET", ResourcePath(resource, ns, name), "", "", "", true});
    if (!raw.ok()) return Forward<Json>(raw);
    return ParseObject(raw->body, resource);
  }

  KubeResult<ObjectList> List(const Resource& resource, const ListOptions& opts) override {
    auto raw = Execute({"GET", ResourcePath(resource, opts.namespace_, ""), ListQuery(opts), "", "", true});
    if (!raw.ok()) return Forward<ObjectList>(raw);
    return ParseList(raw->body, resource);
  }

  KubeResult<std::string> ListPages(const Resource& resource, const ListOptions& opts,
                                    const std::function<Status(std::string_view page)>& on_page) override {
    ListOptions page_opts = opts;
    if (page_opts.limit <= 0) page_opts.limit = 500;
    bool restarted = false;
    std::string list_rv;
    while (true) {
      auto raw = Execute({"GET", ResourcePath(resource, opts.namespace_, ""), ListQuery(page_opts), "", "", true});
      if (!raw.ok()) {
        if (raw.IsGone() && !page_opts.continue_token.empty() && !restarted) {
          // The continue token expired mid-list: start over without paging
          // (the pager in client-go does the same).
          log::Warn("kube: list of {} expired mid-way (410); relisting without paging", resource.resource);
          restarted = true;
          page_opts = opts;
          page_opts.limit = 0;
          page_opts.continue_token.clear();
          INVAR_RETURN_IF_ERROR(on_page(std::string_view()));  // tells the caller to drop what it has
          continue;
        }
        return Forward<std::string>(raw);
      }
      // Only metadata is needed here; the caller parses the items.
      auto meta = PeekListMetadata(raw->body);
      if (!meta.ok()) return meta.status();
      if (list_rv.empty()) list_rv = meta->first;
      INVAR_RETURN_IF_ERROR(on_page(raw->body));
      if (meta->second.empty()) return list_rv;
      page_opts.continue_token = meta->second;
    }
  }

  KubeResult<ObjectList> ListAll(const Resource& resource, const ListOptions& opts) override {
    ObjectList all;
    bool first = true;
    auto rv = ListPages(resource, opts, [&](std::string_view page) -> Status {
      if (page.empty()) {  // restart
        all = ObjectList();
        first = true;
        return Status::Ok();
      }
      auto list = ParseList(std::string(page), resource);
      if (!list.ok()) return list.status();
      if (first) {
        all.kind = list->kind;
        all.api_version = list->api_version;
        all.resource_version = list->resource_version;
        first = false;
      }
      for (auto& item : list->items) all.items.push_back(std::move(item));
      return Status::Ok();
    });
    if (!rv.ok()) return Forward<ObjectList>(rv);
    return all;
  }

  KubeResult<std::string> ListEach(const Resource& resource, const ListOptions& opts,
                                   const std::function<Status(Json&& item)>& on_item) override {
    return ListPages(resource, opts, [&](std::string_view page) -> Status {
      if (page.empty()) return Status::Ok();
      auto list = ParseList(std::string(page), resource);
      if (!list.ok()) return list.status();
      for (auto& item : list->items) INVAR_RETURN_IF_ERROR(on_item(std::move(item)));
      return Status::Ok();
    });
  }

  KubeResult<WatchEnd> Watch(const Resource& resource, const WatchOptions& opts,
                             const std::function<bool(WatchEvent&&)>& on_event, std::stop_token stop) override;

  KubeResult<Json> Patch(const Resource& resource, const std::string& ns, const std::string& name, PatchType type,
                         const Json& patch) override {
    if (name.empty()) return Status::InvalidArgument("Patch: empty name");
    auto raw = Execute({"PATCH", ResourcePath(resource, ns, name), "", patch.dump(), std::string(PatchContentType(type)),
                        false});
    if (!raw.ok()) return Forward<Json>(raw);
    return ParseObject(raw->body, resource);
  }

  KubeResult<Json> Create(const Resource& resource, const std::string& ns, const Json& object) override {
    if (resource.namespaced && ns.empty()) return Status::InvalidArgument("Create: a namespace is required");
    auto raw = Execute({"POST", ResourcePath(resource, ns, ""), "", object.dump(), "application/json", false});
    if (!raw.ok()) return Forward<Json>(raw);
    return ParseObject(raw->body, resource);
  }

  KubeResult<Json> Delete(const Resource& resource, const std::string& ns, const std::string& name,
                          const DeleteOptions& opts) override {
    if (name.empty()) return Status::InvalidArgument("Delete: empty name");
    Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (opts.uid_precondition) body["preconditions"]["uid"] = *opts.uid_precondition;
    if (opts.resource_version_precondition) body["preconditions"]["resourceVersion"] = *opts.resource_version_precondition;
    if (opts.grace_period_seconds) body["gracePeriodSeconds"] = *opts.grace_period_seconds;
    if (!opts.propagation_policy.empty()) body["propagationPolicy"] = opts.propagation_policy;
    // A DELETE is safe to repeat only when it cannot hit a different object.
    bool idempotent = opts.uid_precondition.has_value();
    auto raw = Execute({"DELETE", ResourcePath(resource, ns, name), "", body.dump(), "application/json", idempotent});
    if (!raw.ok()) return Forward<Json>(raw);
    auto doc = Json::parse(raw->body, nullptr, false);
    if (doc.is_discarded()) return Status::Internal("DELETE: the server answered with invalid JSON");
    return doc;
  }

 private:
  template <typename T, typename U>
  static KubeResult<T> Forward(const KubeResult<U>& from) {
    if (from.api_error()) return KubeResult<T>(from.status(), *from.api_error());
    return KubeResult<T>(from.status());
  }

  static KubeResult<Json> ParseObject(const std::string& body, const Resource& resource) {
    auto doc = Json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Status::Internal(resource.resource + ": the server answered with invalid JSON");
    }
    return doc;
  }

  static KubeResult<ObjectList> ParseList(const std::string& body, const Resource& resource) {
    auto doc = Json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("items") || !doc["items"].is_array()) {
      return Status::Internal(resource.resource + ": the server answered with an invalid list");
    }
    ObjectList list;
    list.kind = doc.value("kind", "");
    list.api_version = doc.value("apiVersion", "");
    if (doc.contains("metadata") && doc["metadata"].is_object()) {
      const Json& meta = doc["metadata"];
      list.resource_version = meta.value("resourceVersion", "");
      list.continue_token = meta.value("continue", "");
      if (meta.contains("remainingItemCount") && meta["remainingItemCount"].is_number_integer()) {
        list.remaining_item_count = meta["remainingItemCount"].get<int64_t>();
      }
    }
    list.items.reserve(doc["items"].size());
    for (auto& item : doc["items"]) {
      FillKind(item, resource);
      list.items.push_back(std::move(item));
    }
    return list;
  }

  // {resourceVersion, continue} without parsing the items into a DOM.
  static Result<std::pair<std::string, std::string>> PeekListMetadata(const std::string& body) {
    std::pair<std::string, std::string> out;
    int depth = 0;
    bool in_metadata = false;
    bool found = false;
    std::string key;
    // SAX: stop at the top-level "items" key; metadata normally precedes it,
    // and if it does not, fall back to a full parse.
    struct Sax : nlohmann::json_sax<Json> {
      std::pair<std::string, std::string>* out;
      int* depth;
      bool* in_metadata;
      bool* found;
      std::string* cur_key;
      bool null() override { return true; }
      bool boolean(bool) override { return true; }
      bool number_integer(number_integer_t) override { return true; }
      bool number_unsigned(number_unsigned_t) override { return true; }
      bool number_float(number_float_t, const string_t&) override { return true; }
      bool string(string_t& val) override {
        if (*in_metadata && *depth == 2) {
          if (*cur_key == "resourceVersion") out->first = val;
          if (*cur_key == "continue") out->second = val;
        }
        return true;
      }
      bool binary(binary_t&) override { return true; }
      bool start_object(std::size_t) override {
        ++*depth;
        if (*depth == 2 && *cur_key == "metadata") *in_metadata = true;
        return true;
      }
      bool end_object() override {
        if (*depth == 2 && *in_metadata) {
          *in_metadata = false;
          *found = true;
        }
        --*depth;
        return true;
      }
      bool start_array(std::size_t) override {
        ++*depth;
        return !(*depth == 2 && *cur_key == "items" && *found);  // metadata known: stop here
      }
      bool end_array() override {
        --*depth;
        return true;
      }
      bool key(string_t& val) override {
        *cur_key = val;
        return true;
      }
      bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
    } sax;
    sax.out = &out;
    sax.depth = &depth;
    sax.in_metadata = &in_metadata;
    sax.found = &found;
    sax.cur_key = &key;
    Json::sax_parse(body, &sax);
    if (found) return out;
    auto doc = Json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return Status::Internal("the server answered with an invalid list");
    const Json& meta = doc.contains("metadata") ? doc["metadata"] : Json::object();
    return std::make_pair(meta.value("resourceVersion", ""), meta.value("continue", ""));
  }

  std::chrono::milliseconds Backoff(int attempt, const std::optional<ApiError>& api) {
    if (api && api->retry_after) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*api->retry_after);
      return std::min(ms, retry_.max_retry_after);
    }
    std::chrono::milliseconds base(retry_.initial_backoff.count() * (int64_t{1} << std::min(attempt, 16)));
    base = std::min(base, retry_.max_backoff);
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.5, 1.0);  // "equal jitter"
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * jitter(rng)));
  }

  static bool SleepUnlessStopped(std::chrono::milliseconds d, const std::stop_token& stop) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (stop.stop_requested()) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
    return !stop.stop_requested();
  }

  // Classifies a cpprest exception. Never includes credentials (cpprest's
  // messages name the operation and the OS/TLS error only).
  Status TransportError(const Call& call, const std::exception& e) {
    std::string what = e.what();
    std::string context = call.method + " " + config_.server + call.path;
    std::string tls_error;
    {
      std::lock_guard lock(tls_.mu);
      tls_error.swap(tls_.last_verify_error);
    }
    if (!tls_error.empty() || what.find("certificate") != std::string::npos ||
        what.find("handshake") != std::string::npos || what.find("SSL") != std::string::npos) {
      return Status::Unavailable(context + ": TLS handshake failed" +
                                 (tls_error.empty() ? ": " + what : ": server certificate: " + tls_error));
    }
    if (what.find("timed out") != std::string::npos || what.find("Timeout") != std::string::npos ||
        what.find("timeout") != std::string::npos) {
      return Status::DeadlineExceeded(context + ": request timed out after " +
                                      std::to_string(config_.request_timeout.count()) + " ms");
    }
    return Status::Unavailable(context + ": " + what);
  }

  http_request BuildRequest(const Call& call, const std::string& authorization) {
    http_request req{method(call.method)};
    std::string uri = base_path_ + call.path;
    if (!call.query.empty()) uri += "?" + call.query;
    req.set_request_uri(web::uri(uri));
    req.headers().add("Accept", "application/json");
    req.headers().add("User-Agent", user_agent_);
    if (!authorization.empty()) req.headers().add("Authorization", authorization);
    if (!call.content_type.empty()) {
      // The body goes in as bytes over a byte container. cpprest's
      // set_body(std::string, type) wraps a container_buffer<std::string>
      // (a basic_streambuf<char>) in an istream of unsigned char through
      // streambuf's converting constructor, which static_pointer_casts the
      // buffer via void* to basic_streambuf<unsigned char> and then calls
      // virtual functions on it: a call through a pointer to an unrelated
      // type, undefined behaviour that UBSan's vptr check stops on
      // (astreambuf.h, streambuf(const streambuf<AlterCharType>&);
      // microsoft/cpprestsdk#472, open). A vector<unsigned char> buffer is
      // a basic_streambuf<unsigned char>: no cast. Same bytes, same
      // Content-Type and Content-Length on the wire.
      std::vector<unsigned char> bytes(call.body.begin(), call.body.end());
      const auto length = static_cast<utility::size64_t>(bytes.size());
      req.set_body(concurrency::streams::bytestream::open_istream(std::move(bytes)), length, call.content_type);
    }
    return req;
  }

  // Sends with retries; returns the 2xx response or a typed error. With
  // `stream` set, the response is handed back without reading its body.
  KubeResult<RawResponse> Execute(const Call& call, http_client* client = nullptr,
                                  http_response* stream = nullptr,
                                  pplx::cancellation_token token = pplx::cancellation_token::none(),
                                  const std::stop_token& stop = {}) {
    if (client == nullptr) client = client_.get();
    bool reauthenticated = false;
    for (int attempt = 0;; ++attempt) {
      auto auth = credentials_.Authorization();
      if (!auth.ok()) return auth.status().WithContext("credentials");
      std::optional<ApiError> api;
      Status failure;
      bool retryable = false;
      try {
        http_response resp = client->request(BuildRequest(call, *auth), token).get();
        int code = resp.status_code();
        if (code >= 200 && code < 300) {
          if (stream != nullptr) {
            *stream = resp;
            return RawResponse{code, "", ""};
          }
          auto body = resp.extract_utf8string(true).get();
          return RawResponse{code, std::move(body), ""};
        }
        std::string body = resp.extract_utf8string(true).get();
        std::string retry_after;
        auto h = resp.headers().find("Retry-After");
        if (h != resp.headers().end()) retry_after = h->second;
        api = ParseApiError(code, body, retry_after);
        if (code == 401 && !reauthenticated && credentials_.Invalidate()) {
          reauthenticated = true;
          --attempt;
          continue;  // a rotated token or an expired exec credential: reload once
        }
        failure = StatusFor(api->code, api->reason,
                            call.method + " " + call.path + ": " + std::to_string(code) + " " + api->reason + ": " +
                                api->message);
        retryable = code == 429 || (call.idempotent && (code == 500 || code == 502 || code == 503 || code == 504));
      } catch (const pplx::task_canceled&) {
        return Status::Unavailable(call.method + " " + call.path + ": cancelled");
      } catch (const web::http::http_exception& e) {
        if (e.error_code() == std::errc::timed_out || e.error_code().value() == ETIMEDOUT) {
          // Not retried: the request timeout bounds the whole call.
          return Status::DeadlineExceeded(call.method + " " + config_.server + call.path + ": request timed out after " +
                                          std::to_string(config_.request_timeout.count()) + " ms");
        }
        failure = TransportError(call, e);
        retryable = call.idempotent && failure.code() == Status::Code::kUnavailable &&
                    failure.message().find("TLS") == std::string::npos;
        if (stop.stop_requested()) return failure;
      } catch (const std::exception& e) {
        failure = TransportError(call, e);
        retryable = call.idempotent && failure.code() == Status::Code::kUnavailable &&
                    failure.message().find("TLS") == std::string::npos;
        if (stop.stop_requested()) return failure;
      }
      if (!retryable || attempt + 1 >= retry_.max_attempts) {
        if (api) return KubeResult<RawResponse>(failure, *api);
        return failure;
      }
      auto wait = Backoff(attempt, api);
      log::Debug("kube: {} {} failed ({}); retry {} in {} ms", call.method, call.path, CodeName(failure.code()),
                 attempt + 1, wait.count());
      if (!SleepUnlessStopped(wait, stop)) return failure;
    }
  }

  RestConfig config_;
  RetryPolicy retry_;
  internal::CredentialSource credentials_;
  TlsState tls_;
  std::string base_path_;
  std::string user_agent_;
  std::unique_ptr<http_client> client_;
  std::unique_ptr<http_client> watch_client_;
};

KubeResult<WatchEnd> CpprestKubeClient::Watch(const Resource& resource, const WatchOptions& opts,
                                              const std::function<bool(WatchEvent&&)>& on_event,
                                              std::stop_token stop) {
  std::string q = "watch=1";
  q = AddQuery(q, "labelSelector", opts.label_selector);
  q = AddQuery(q, "fieldSelector", opts.field_selector);
  q = AddQuery(q, "resourceVersion", opts.resource_version);
  if (opts.allow_bookmarks) q = AddQuery(q, "allowWatchBookmarks", "true");
  if (opts.timeout_seconds > 0) q = AddQuery(q, "timeoutSeconds", std::to_string(opts.timeout_seconds));
  Call call{"GET", ResourcePath(resource, opts.namespace_, ""), q, "", "", true};

  WatchEnd end;
  end.resource_version = opts.resource_version;
  pplx::cancellation_token_source cts;
  std::stop_callback on_stop(stop, [&cts] { cts.cancel(); });
  http_response resp;
  auto opened = Execute(call, watch_client_.get(), &resp, cts.get_token(), stop);
  if (!opened.ok()) {
    if (stop.stop_requested()) {
      end.stopped = true;
      return end;
    }
    return Forward<WatchEnd>(opened);
  }
  auto buf = resp.body().streambuf();
  std::string pending;
  std::vector<uint8_t> chunk(64 * 1024);
  constexpr size_t kMaxLine = 64u << 20;
  KubeResult<WatchEnd> result = end;
  bool done = false;
  while (!done) {
    if (stop.stop_requested()) {
      end.stopped = true;
      break;
    }
    size_t n = 0;
    try {
      size_t avail = buf.in_avail();
      size_t want = avail > 0 ? std::min(avail, chunk.size()) : 1;
      n = buf.getn(chunk.data(), want).get();
    } catch (const std::exception& e) {
      if (stop.stop_requested()) {
        end.stopped = true;
      } else {
        log::Debug("kube: watch of {} broke: {}; resume from {}", resource.resource, e.what(), end.resource_version);
      }
      break;
    }
    if (n == 0) break;  // the server ended the stream (timeoutSeconds, restart)
    pending.append(reinterpret_cast<const char*>(chunk.data()), n);
    if (pending.size() > kMaxLine) {
      result = Status::ResourceExhausted("watch " + resource.resource + ": event larger than 64 MiB");
      done = true;
      break;
    }
    size_t start = 0;
    while (!done) {
      size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      if (line.empty() || line == "\r") continue;
      auto doc = Json::parse(line, nullptr, false);
      if (doc.is_discarded() || !doc.is_object() || !doc.contains("type") || !doc["type"].is_string() ||
          !doc.contains("object")) {
        result = Status::Internal("watch " + resource.resource + ": malformed event from the server");
        done = true;
        break;
      }
      std::string type = doc["type"].get<std::string>();
      WatchEvent ev;
      ev.object = std::move(doc["object"]);
      if (type == "ERROR") {
        int code = ev.object.is_object() ? ev.object.value("code", 500) : 500;
        ApiError api = ParseApiError(code, ev.object.dump(), "");
        result = KubeResult<WatchEnd>(
            StatusFor(api.code, api.reason, "watch " + call.path + ": " + std::to_string(api.code) + " " + api.reason +
                                                ": " + api.message),
            api);
        done = true;
        break;
      }
      if (type == "ADDED") ev.type = WatchEventType::kAdded;
      else if (type == "MODIFIED") ev.type = WatchEventType::kModified;
      else if (type == "DELETED") ev.type = WatchEventType::kDeleted;
      else if (type == "BOOKMARK") ev.type = WatchEventType::kBookmark;
      else {
        result = Status::Internal("watch " + resource.resource + ": unknown event type \"" + type + "\"");
        done = true;
        break;
      }
      if (ev.object.is_object() && ev.object.contains("metadata") && ev.object["metadata"].is_object()) {
        std::string rv = ev.object["metadata"].value("resourceVersion", "");
        if (!rv.empty()) end.resource_version = rv;
      }
      if (ev.type != WatchEventType::kBookmark) FillKind(ev.object, resource);
      if (!on_event(std::move(ev))) {
        end.stopped = true;
        done = true;
        break;
      }
    }
    pending.erase(0, start);
  }
  cts.cancel();  // abandon the connection if we stopped early
  if (!result.ok()) return result;
  return end;
}

}  // namespace

Result<std::unique_ptr<KubeClient>> NewKubeClient(RestConfig config, RetryPolicy retry) {
  auto client = std::make_unique<CpprestKubeClient>(std::move(config), retry);
  INVAR_RETURN_IF_ERROR(client->Init());
  return std::unique_ptr<KubeClient>(std::move(client));
}

Result<std::unique_ptr<KubeClient>> NewKubeClient(RestConfig config) {
  return NewKubeClient(std::move(config), RetryPolicy{});
}

}  // namespace invar::kube
