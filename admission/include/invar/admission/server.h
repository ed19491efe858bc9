// SPDX-License-Identifier: Apache-2.0
// The webhook's HTTPS server (Boost.Beast over Asio + OpenSSL, kept inside
// server.cpp): POST /validate (AdmissionReview v1/v1beta1), GET /healthz,
// /readyz and /metrics (Prometheus text). HTTP/1.1 keep-alive, one
// io_context per worker thread, bounded bodies, headers and nesting,
// handshake/idle/read/write timeouts and a connection cap. The serving
// certificate and the config file are polled and reloaded when they change
// (a new SSL_CTX serves new connections; open ones keep theirs).
//
// Lifecycle (main thread): Create() loads config and certificates and binds;
// Start() spawns the workers; Drain() makes /readyz fail, stops accepting,
// closes idle connections, lets in-flight requests finish and stops the
// workers, waiting at most `grace`. Ready()/port() may be called from any
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "invar/admission/namespace_source.h"
#include "invar/platform/status.h"

namespace invar::admission {

struct ServerOptions {
  std::string listen = ":8443";  // [host]:port; an empty host means every IPv4 address; port 0 picks one
  std::string metrics_listen;    // plain-HTTP /metrics, /healthz, /readyz; "" = none (all on the HTTPS port)
  int threads = 0;               // 0 = one per CPU
  std::string tls_cert;
  std::string tls_key;
  std::string config_path;       // "" = empty config (modes from namespace labels only)
  // Standalone: no cluster; namespace labels come from the config's `namespaces:`.
  bool standalone = false;
  std::chrono::milliseconds reload_interval{2000};  // cert and config poll period
  size_t max_body_bytes = 3u << 20;   // larger bodies get 413
  size_t max_header_bytes = 16u << 10;
  int max_json_depth = 128;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive connection waiting for a request
  std::chrono::milliseconds read_timeout{10000};  // first byte to complete request
  std::chrono::milliseconds write_timeout{10000};
  size_t max_connections = 4096;  // beyond it new connections are closed at once
};

class Server {
 public:
  // `namespaces` is the cluster's namespace cache; ignored (may be null) with
  // options.standalone. Fails on a bad config, unreadable or insecure
  // certificates, or an address that cannot be bound.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options, std::shared_ptr<NamespaceSource> namespaces);
  ~Server();  // Drain(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;          // the bound HTTPS port
  uint16_t metrics_port() const;  // 0 without metrics_listen
  void Start();
  // Returns true when every connection finished within `grace`.
  bool Drain(std::chrono::milliseconds grace);
  bool Ready() const;
  std::string NotReadyReason() const;  // "" when ready
  size_t open_connections() const;

  struct Impl;  // server.cpp

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace invar::admission
