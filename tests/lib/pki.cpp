// SPDX-License-Identifier: Apache-2.0
// TestCa: OpenSSL 3 certificate issuing for tests (see pki.h).
#include "invar/testing/pki.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <memory>

#include "invar/platform/fd.h"

namespace invar::testing {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return Status::Internal("PEM_write_bio_PrivateKey failed");
  }
  return BioString(bio.get());
}

Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return Status::Internal("PEM_write_bio_X509 failed");
  return BioString(bio.get());
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return Status::Internal("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return Status::Ok();
}

Result<X509Ptr> MakeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool is_ca) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(spec.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.not_after.count()));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& org : spec.organizations) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(org.c_str()), -1,
                               -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_subject_key_identifier, "hash"));
  } else {
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
    INVAR_RETURN_IF_ERROR(
        AddExt(cert.get(), signer, NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
    std::string san;
    for (const auto& dns : spec.dns_names) {
      if (!san.empty()) san.append(",");
      san.append("DNS:").append(dns);
    }
    for (const auto& ip : spec.ip_addresses) {
      if (!san.empty()) san.append(",");
      san.append("IP:").append(ip);
    }
    if (!san.empty()) INVAR_RETURN_IF_ERROR(AddExt(cert.get(), signer, NID_subject_alt_name, san));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return Status::Internal("X509_sign failed");
  return cert;
}

Result<KeyPtr> ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument("bad key PEM");
  return key;
}

Result<X509Ptr> ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument("bad certificate PEM");
  return cert;
}

}  // namespace

Result<TestCa> TestCa::Create(const std::string& name) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::Internal("EVP_EC_gen failed");
  CertSpec spec;
  spec.common_name = name;
  spec.not_after = std::chrono::hours(24 * 30);
  auto cert = MakeCert(spec, key.get(), nullptr, key.get(), true);
  if (!cert.ok()) return cert.status();
  TestCa ca;
  auto cert_pem = CertPem(cert->get());
  auto key_pem = KeyPem(key.get());
  if (!cert_pem.ok()) return cert_pem.status();
  if (!key_pem.ok()) return key_pem.status();
  ca.ca_ = {*cert_pem, *key_pem};
  return ca;
}

Result<CertKey> TestCa::Issue(const CertSpec& spec) const {
  auto ca_key = ParseKey(ca_.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  auto ca_cert = ParseCert(ca_.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::Internal("EVP_EC_gen failed");
  auto cert = MakeCert(spec, key.get(), ca_cert->get(), ca_key->get(), false);
  if (!cert.ok()) return cert.status();
  auto cert_pem = CertPem(cert->get());
  auto key_pem = KeyPem(key.get());
  if (!cert_pem.ok()) return cert_pem.status();
  if (!key_pem.ok()) return key_pem.status();
  return CertKey{*cert_pem, *key_pem};
}

Result<CertKey> TestCa::IssueServer(std::chrono::seconds not_after) const {
  CertSpec spec;
  spec.common_name = "kube-apiserver";
  spec.dns_names = {"localhost", "kubernetes.default.svc"};
  spec.ip_addresses = {"127.0.0.1", "::1"};
  spec.not_after = not_after;
  if (not_after.count() < 0) spec.not_before = not_after - std::chrono::hours(48);
  return Issue(spec);
}

Result<CertKey> TestCa::IssueClient(const std::string& user, const std::vector<std::string>& groups) const {
  CertSpec spec;
  spec.common_name = user;
  spec.organizations = groups;
  spec.server = false;
  return Issue(spec);
}

Status WriteFile(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("open " + path);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + path);
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace invar::testing
