// SPDX-License-Identifier: Apache-2.0
// A small blocking HTTPS/1.1 client on OpenSSL for the webhook tests: real
// handshakes against the real server, a chosen TLS version range, raw bytes
// (for slowloris and malformed requests) and keep-alive. One client per
// connection; not thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace invar::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool ok() const { return status != 0; }
};

class TlsClient {
 public:
  // ca_pem: trust anchor (verification on, host name "localhost").
  TlsClient(uint16_t port, const std::string& ca_pem, int min_version = TLS1_2_VERSION,
            int max_version = TLS1_3_VERSION, bool plain = false, const std::string& host = "localhost")
      : plain_(plain) {
    // The server may answer (413) and close while a large body is still being sent.
    ::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      error_ = "connect failed";
      return;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetTimeout(10);
    if (plain_) {
      connected_ = true;
      return;
    }
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, min_version);
    SSL_CTX_set_max_proto_version(ctx_, max_version);
    if (min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx_, 0);
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      error_ = std::string("handshake failed: ") + buf;
      return;
    }
    connected_ = true;
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  // For tests that drive the connection by hand (partial writes, alerts).
  SSL* ssl() const { return ssl_; }
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }
  void SetTimeout(int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  // The leaf certificate's serial (hex) the server presented.
  std::string PeerSerial() const {
    if (!ssl_) return "";
    X509* peer = SSL_get1_peer_certificate(ssl_);
    if (!peer) return "";
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(peer), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(peer);
    return out;
  }
  std::string NegotiatedVersion() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

  bool SendRaw(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      int n = plain_ ? static_cast<int>(::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL))
                     : SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads one response (Content-Length bodies). status 0 on EOF/timeout/error.
  HttpResponse ReadResponse() {
    HttpResponse r;
    size_t header_end;
    while ((header_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string head = in_.substr(0, header_end);
    in_.erase(0, header_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return r;
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon);
        for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers[k] = v;
      }
      pos = e + 2;
    }
    size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (in_.size() < len) {
      if (!Fill()) return r;
    }
    r.body = in_.substr(0, len);
    in_.erase(0, len);
    r.status = std::stoi(status_line.substr(9, 3));
    return r;
  }

  HttpResponse Request(const std::string& method, const std::string& path, const std::string& body = "",
                       bool keep_alive = true) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
    if (!body.empty() || method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    if (!keep_alive) req += "Connection: close\r\n";
    req += "\r\n" + body;
    SendRaw(req);  // on failure the server may still have answered (413, then close)
    return ReadResponse();
  }

  // Whatever arrives next (buffered bytes first); "" on EOF or error.
  std::string ReadRawSome() {
    if (in_.empty() && !Fill()) return "";
    std::string out;
    out.swap(in_);
    return out;
  }

  // True when the server closed the connection (EOF) before `seconds`.
  bool WaitForClose(int seconds) {
    SetTimeout(seconds);
    char buf[256];
    int n = plain_ ? static_cast<int>(::recv(fd_, buf, sizeof(buf), 0)) : SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) return false;
    if (plain_) return n == 0;
    int err = SSL_get_error(ssl_, n);
    return err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL;
  }

 private:
  bool Fill() {
    char buf[16384];
    int n = plain_ ? static_cast<int>(::recv(fd_, buf, sizeof(buf), 0)) : SSL_read(ssl_, buf, sizeof(buf));
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool plain_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string error_;
  std::string in_;
};

}  // namespace invar::testing
