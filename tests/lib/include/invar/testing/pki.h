// SPDX-License-Identifier: Apache-2.0
// Test PKI: an in-memory CA that issues server and client certificates (EC
// P-256, OpenSSL), so TLS tests run real handshakes without fixtures on disk.
// Used by the kube client tests, the test API server and the webhook tests.
// Thread-compatible (one TestCa per test).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "invar/platform/status.h"

namespace invar::testing {

struct CertKey {
  std::string cert_pem;
  std::string key_pem;
};

struct CertSpec {
  std::string common_name;
  std::vector<std::string> organizations;  // Kubernetes reads O= as groups
  std::vector<std::string> dns_names;      // subjectAltName DNS
  std::vector<std::string> ip_addresses;   // subjectAltName IP
  bool server = true;                      // extendedKeyUsage serverAuth (else clientAuth)
  // Validity window relative to now; a negative not_after makes an expired certificate.
  std::chrono::seconds not_before{-3600};
  std::chrono::seconds not_after{24 * 3600};
};

class TestCa {
 public:
  // A new self-signed CA named `name`.
  static Result<TestCa> Create(const std::string& name = "invar-test-ca");

  const std::string& cert_pem() const { return ca_.cert_pem; }
  const std::string& key_pem() const { return ca_.key_pem; }

  Result<CertKey> Issue(const CertSpec& spec) const;
  // SANs: localhost, kubernetes.default.svc, 127.0.0.1 and ::1. A negative
  // not_after issues an already-expired certificate.
  Result<CertKey> IssueServer(std::chrono::seconds not_after = std::chrono::hours(24)) const;
  Result<CertKey> IssueClient(const std::string& user, const std::vector<std::string>& groups = {}) const;

 private:
  CertKey ca_;
};

// Writes `content` to `path` (mode 0600). Test helper.
Status WriteFile(const std::string& path, const std::string& content);

}  // namespace invar::testing
