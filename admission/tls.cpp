// SPDX-License-Identifier: Apache-2.0
// Server TLS contexts, the key permission check and `invar certs`, on the
// OpenSSL 3 APIs (no openssl CLI). Thread-safe: no shared state.
#include "invar/admission/tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "invar/platform/fd.h"

namespace invar::admission {
namespace {

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr const char* kTls13Ciphers =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

bool InOurGroups(gid_t gid) {
  if (gid == getegid()) return true;
  gid_t groups[256];
  int n = getgroups(256, groups);
  for (int i = 0; i < n; ++i) {
    if (groups[i] == gid) return true;
  }
  return false;
}

int64_t NotAfterUnix(const X509* cert) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

PkeyPtr NewP256Key() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return Status::Internal("X509V3_EXT_conf_nid: " + OpenSslError());
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : Status::Internal("X509_add_ext: " + OpenSslError());
}

Result<X509Ptr> MakeCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, int days,
                         bool ca, const std::vector<std::string>& dns) {
  X509Ptr cert(X509_new());
  if (!cert) return Status::Internal("X509_new: " + OpenSslError());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Status::Internal("RAND_bytes: " + OpenSslError());
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400L);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("invar"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                             0);
  X509* iss = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  if (ca) {
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature"));
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth"));
    std::string san;
    for (const auto& d : dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_subject_alt_name, san));
  }
  INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_subject_key_identifier, "hash"));
  if (issuer) INVAR_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    return Status::Internal("X509_sign: " + OpenSslError());
  }
  return cert;
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Creates `path` exclusively with `mode` and writes `content`.
Status WriteNew(const std::string& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoStatus("creating " + path);
  if (::fchmod(fd.get(), mode) != 0) return ErrnoStatus("chmod " + path);
  if (!WriteAll(fd.get(), content)) return ErrnoStatus("writing " + path);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + path);
  return Status::Ok();
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

void SslCtxFree::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

Status CheckKeyPermissions(const std::string& key_path) {
  struct stat st {};
  if (::stat(key_path.c_str(), &st) != 0) return ErrnoStatus("private key " + key_path);
  if (!S_ISREG(st.st_mode)) return Status::FailedPrecondition("private key " + key_path + " is not a regular file");
  if (st.st_mode & (S_IROTH | S_IWOTH)) {
    return Status::FailedPrecondition(
        fmt::format("private key {} is accessible by other users (mode {:04o}); refusing to start. Fix: chmod 0600 {} "
                    "(or 0440 with a group only this process is in, as a Secret volume with fsGroup does)",
                    key_path, st.st_mode & 07777, key_path));
  }
  if ((st.st_mode & (S_IRGRP | S_IWGRP)) && !InOurGroups(st.st_gid)) {
    return Status::FailedPrecondition(
        fmt::format("private key {} is readable by group {} (mode {:04o}), which this process is not in; refusing to "
                    "start. Fix: chmod 0600 {}",
                    key_path, st.st_gid, st.st_mode & 07777, key_path));
  }
  return Status::Ok();
}

Result<TlsMaterial> LoadServerTls(const std::string& cert_path, const std::string& key_path) {
  INVAR_RETURN_IF_ERROR(CheckKeyPermissions(key_path));
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Status::Internal("SSL_CTX_new: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // A client's EOF without close_notify ends the connection like close_notify
  // does (HTTP framing, not TLS, tells a truncated request).
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    return Status::Internal("SSL_CTX_set_cipher_list: " + OpenSslError());
  }
  // TLS 1.3: AES-128-GCM first (server preference; OpenSSL's default order
  // puts AES-256 first, ~25% more AES work per record for the same AEAD).
  if (SSL_CTX_set_ciphersuites(ctx.get(), kTls13Ciphers) != 1) {
    return Status::Internal("SSL_CTX_set_ciphersuites: " + OpenSslError());
  }
  // The server reads with SSL_read_ex on the socket: read-ahead fills the
  // record buffer with one recv() instead of a header read and a body read.
  // The record buffers are kept for the connection (no RELEASE_BUFFERS: that
  // was a malloc and free of each buffer per request).
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_path.c_str()) != 1) {
    return Status::InvalidArgument(fmt::format("TLS certificate {}: {}", cert_path, OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::InvalidArgument(fmt::format("TLS key {}: {}", key_path, OpenSslError()));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Status::InvalidArgument(
        fmt::format("TLS key {} does not match certificate {}: {}", key_path, cert_path, OpenSslError()));
  }
  TlsMaterial m;
  X509* leaf = SSL_CTX_get0_certificate(ctx.get());
  if (leaf) {
    m.not_after_unix = NotAfterUnix(leaf);
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(leaf), buf, sizeof(buf));
    m.subject = buf;
  }
  m.ctx = std::move(ctx);
  return m;
}

Result<CertsResult> GenerateCerts(const CertsOptions& o) {
  if (o.service.empty() || o.namespace_.empty()) return Status::InvalidArgument("--service and --namespace are required");
  if (o.days < 1 || o.days > 3650) return Status::InvalidArgument("--days must be between 1 and 3650");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return Status::Io(fmt::format("creating {}: {}", o.out_dir, ec.message()));
  CertsResult r;
  r.ca_cert_path = o.out_dir + "/ca.crt";
  r.ca_key_path = o.out_dir + "/ca.key";
  r.cert_path = o.out_dir + "/tls.crt";
  r.key_path = o.out_dir + "/tls.key";
  for (const auto* p : {&r.ca_cert_path, &r.ca_key_path, &r.cert_path, &r.key_path}) {
    if (std::filesystem::exists(*p)) {
      return Status::AlreadyExists(fmt::format("{} exists; refusing to overwrite (use an empty --out directory)", *p));
    }
  }
  r.dns_names = {o.service, o.service + "." + o.namespace_, o.service + "." + o.namespace_ + ".svc",
                 o.service + "." + o.namespace_ + ".svc.cluster.local"};
  PkeyPtr ca_key = NewP256Key();
  PkeyPtr key = NewP256Key();
  if (!ca_key || !key) return Status::Internal("EC key generation: " + OpenSslError());
  // The CA outlives a few rotations of the serving certificate.
  auto ca = MakeCert(fmt::format("invar webhook CA ({}.{})", o.service, o.namespace_), ca_key.get(), nullptr,
                     nullptr, o.days * 2, true, {});
  if (!ca.ok()) return ca.status();
  auto leaf = MakeCert(r.dns_names[2], key.get(), ca->get(), ca_key.get(), o.days, false, r.dns_names);
  if (!leaf.ok()) return leaf.status();
  std::string ca_pem = ToPem(ca->get());
  INVAR_RETURN_IF_ERROR(WriteNew(r.ca_key_path, ToPem(ca_key.get()), 0600));
  INVAR_RETURN_IF_ERROR(WriteNew(r.ca_cert_path, ca_pem, 0644));
  INVAR_RETURN_IF_ERROR(WriteNew(r.key_path, ToPem(key.get()), 0600));
  INVAR_RETURN_IF_ERROR(WriteNew(r.cert_path, ToPem(leaf->get()) + ca_pem, 0644));
  r.ca_bundle = Base64(ca_pem);
  return r;
}

}  // namespace invar::admission
