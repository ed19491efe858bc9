// SPDX-License-Identifier: Apache-2.0
// TLS material for the webhook: loading the serving certificate and key into
// an OpenSSL server context (TLS 1.2 and 1.3 only, AEAD ciphers), the
// private-key permission check, and `invar certs` (a CA plus a serving
// certificate for clusters without cert-manager). OpenSSL types only appear
// as opaque pointers here. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "invar/platform/status.h"

struct ssl_ctx_st;  // SSL_CTX

namespace invar::admission {

struct SslCtxFree {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxFree>;

struct TlsMaterial {
  SslCtxPtr ctx;
  int64_t not_after_unix = 0;  // the leaf certificate's notAfter, unix seconds
  std::string subject;         // for logs
};

// Refuses a private key that anyone but this process can read or write:
// world-readable/writable, or group-readable by a group this process is not
// in (a Secret volume mounted 0440 with fsGroup = our group is accepted).
// FailedPrecondition with a message saying what to chmod.
Status CheckKeyPermissions(const std::string& key_path);

// Loads `cert_path` (PEM chain, leaf first) and `key_path` into a new server
// context. Checks the key's permissions and that it matches the certificate.
Result<TlsMaterial> LoadServerTls(const std::string& cert_path, const std::string& key_path);

struct CertsOptions {
  std::string service;     // Service name: invar-webhook
  std::string namespace_;  // its namespace: invar-system
  std::string out_dir;     // created if missing (0700)
  int days = 365;
};

struct CertsResult {
  std::string ca_cert_path, ca_key_path, cert_path, key_path;
  std::string ca_bundle;  // base64 of the CA certificate PEM, for caBundle
  std::vector<std::string> dns_names;
};

// Creates ca.crt/ca.key and tls.crt/tls.key (ECDSA P-256, keys 0600) in
// out_dir: a CA, and a serving certificate for NAME, NAME.NS, NAME.NS.svc and
// NAME.NS.svc.cluster.local signed by it. Refuses to overwrite existing files.
Result<CertsResult> GenerateCerts(const CertsOptions& options);

}  // namespace invar::admission
