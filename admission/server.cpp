// SPDX-License-Identifier: Apache-2.0
// The webhook server (see server.h). One io_context per worker thread: the
// acceptor lives on worker 0 and hands each new socket to the next worker
// round-robin, so a session's handlers all run on one thread and need no
// strand. Beast and Asio stay in this file.
//
// A session: TLS handshake (handshake_timeout) -> wait for the first byte of
// a request (idle_timeout) -> read the whole request (read_timeout, body and
// header limits) -> handle -> write (write_timeout) -> loop or close. While
// waiting for a first byte a session is idle and Drain() may close it; once a
// byte has arrived the request is in flight and is finished first. Timeouts
// are deadlines on the session, checked by one sweep timer per worker (a
// phase change is a store, not a timer re-arm and a cancelled handler).
//
// TLS is OpenSSL directly on the socket (no asio::ssl memory-BIO pair, whose
// engine copied every record in and out): an SSL object per connection over
// a small socket BIO (recv/send with MSG_DONTWAIT|MSG_NOSIGNAL), read-ahead
// on, and SSL_do_handshake/SSL_read_ex/SSL_write_ex retried from
// socket.async_wait(wait_read|wait_write) on WANT_READ/WANT_WRITE, in the
// worker's io_context. Plain-HTTP sessions (the metrics port) use the same
// code with recv/send.
//
// Hot path (POST /validate): the session decrypts into one reused input
// buffer; a Beast basic_parser (RequestParser: keeps the method, target,
// version and body, stores no header field) is fed from it with put(), and
// the body is a view into that buffer while it arrives in one run, so the
// AdmissionReview is parsed in place (the buffer always keeps
// kReviewPadding spare bytes after its data). The response (status line,
// three headers, body) is serialized into one reused string and sent with
// one SSL_write: one TLS record, one send().
#include "invar/admission/server.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "invar/admission/config.h"
#include "invar/admission/decide.h"
#include "invar/admission/review.h"
#include "invar/admission/tls.h"
#include "invar/platform/log.h"

namespace invar::admission {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// ---- metrics ----

class Metrics {
 public:
  Metrics()
      : registry_(std::make_shared<prometheus::Registry>()),
        reviews_(prometheus::BuildCounter()
                     .Name("invar_admission_reviews_total")
                     .Help("AdmissionReviews answered, by operation, kind, decision, mode and profile")
                     .Register(*registry_)),
        latency_(prometheus::BuildHistogram()
                     .Name("invar_admission_review_duration_seconds")
                     .Help("Time to decode, decide and encode one AdmissionReview (excludes network and TLS)")
                     .Register(*registry_)
                     .Add({}, prometheus::Histogram::BucketBoundaries{0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                                                       0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
                                                                       0.25, 1})),
        in_flight_(prometheus::BuildGauge()
                       .Name("invar_admission_in_flight_requests")
                       .Help("HTTP requests being handled")
                       .Register(*registry_)
                       .Add({})),
        connections_(prometheus::BuildGauge()
                         .Name("invar_admission_open_connections")
                         .Help("Open client connections")
                         .Register(*registry_)
                         .Add({})),
        rejected_(prometheus::BuildCounter()
                      .Name("invar_admission_connections_rejected_total")
                      .Help("Connections closed at accept because max_connections was reached")
                      .Register(*registry_)
                      .Add({})),
        http_errors_(prometheus::BuildCounter()
                         .Name("invar_admission_http_errors_total")
                         .Help("Requests answered with a 4xx/5xx status, by code")
                         .Register(*registry_)),
        cache_synced_(prometheus::BuildGauge()
                          .Name("invar_admission_namespace_cache_synced")
                          .Help("1 when the namespace cache has synced (always 1 in standalone mode)")
                          .Register(*registry_)
                          .Add({})),
        cert_expiry_(prometheus::BuildGauge()
                         .Name("invar_admission_certificate_expiry_timestamp_seconds")
                         .Help("notAfter of the serving certificate in use, unix seconds")
                         .Register(*registry_)
                         .Add({})),
        tls_errors_(prometheus::BuildCounter()
                        .Name("invar_admission_tls_errors_total")
                        .Help("Connections ended by a TLS protocol error, by stage (handshake, read, write)")
                        .Register(*registry_)),
        reloads_(prometheus::BuildCounter()
                     .Name("invar_admission_reloads_total")
                     .Help("Reloads of the certificate and config files, by what and result")
                     .Register(*registry_)),
        ready_(prometheus::BuildGauge()
                   .Name("invar_admission_ready")
                   .Help("1 when /readyz answers 200")
                   .Register(*registry_)
                   .Add({})) {}

  void Review(const std::string& operation, const DecisionInfo& info) {
    // Family::Add hashes the label map under a lock; cache the counter per thread.
    thread_local std::unordered_map<std::string, prometheus::Counter*> cache;
    thread_local std::string key;
    key.clear();
    for (const std::string* part : {&operation, &info.kind, &info.decision, &info.mode, &info.profile}) {
      key += *part;
      key += '\x1f';
    }
    auto it = cache.find(key);
    if (it == cache.end()) {
      auto& c = reviews_.Add({{"operation", operation},
                              {"kind", info.kind},
                              {"decision", info.decision},
                              {"mode", info.mode},
                              {"profile", info.profile}});
      it = cache.emplace(key, &c).first;
    }
    it->second->Increment();
  }
  void HttpError(unsigned code) { http_errors_.Add({{"code", std::to_string(code)}}).Increment(); }
  void TlsError(const char* stage) { tls_errors_.Add({{"stage", stage}}).Increment(); }
  void Reload(const char* what, bool ok) { reloads_.Add({{"what", what}, {"result", ok ? "ok" : "error"}}).Increment(); }

  std::string Serialize() {
    prometheus::TextSerializer s;
    return s.Serialize(registry_->Collect());
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& reviews_;
  prometheus::Histogram& latency_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& connections_;
  prometheus::Counter& rejected_;
  prometheus::Family<prometheus::Counter>& http_errors_;
  prometheus::Gauge& cache_synced_;
  prometheus::Gauge& cert_expiry_;
  prometheus::Family<prometheus::Counter>& tls_errors_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Gauge& ready_;
};

// ---- file change detection (stat poll: survives the ..data symlink swap of
// Secret and ConfigMap volumes, and editors that replace files) ----

struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, st.st_size, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("reading " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Config> LoadConfig(const std::string& path) {
  if (path.empty()) return ParseConfig("", "");
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path);
}

Result<tcp::endpoint> ParseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("listen address \"" + listen + "\": expected [host]:port");
  std::string host = listen.substr(0, colon);
  std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long p = 0;
  try {
    p = std::stoul(port);
  } catch (...) {
    return Status::InvalidArgument("listen address \"" + listen + "\": bad port");
  }
  if (p > 65535) return Status::InvalidArgument("listen address \"" + listen + "\": bad port");
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("listen address \"" + listen + "\": " + ec.message());
  return tcp::endpoint(addr, static_cast<unsigned short>(p));
}

// A parsed request as the handler sees it; views into the session's buffers.
struct RequestView {
  http::verb method = http::verb::unknown;
  std::string_view target;
  std::string_view body;
  size_t body_readable = 0;  // bytes readable from body.data() (>= body.size() + kReviewPadding)
};

// What a handler answers; the session serializes it (SerializeReply). The
// session owns one and reuses its body's capacity.
struct Reply {
  unsigned code = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
  bool close = false;  // close the connection after this reply

  void Reset() {
    code = 200;
    content_type = "text/plain; charset=utf-8";
    body.clear();
    close = false;
  }
  void Text(unsigned c, std::string_view text) {
    code = c;
    content_type = "text/plain; charset=utf-8";
    body.assign(text);
  }
};

// HTTP/1.x response bytes into `out` (cleared first). HEAD gets the headers
// only; Connection is sent when it differs from the version's default.
void SerializeReply(const Reply& r, unsigned version, bool keep_alive, bool head, std::string& out) {
  using namespace std::string_view_literals;  // appends of literals without strlen
  out.clear();
  out += version == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv;
  const fmt::format_int code(r.code);
  out.append(code.data(), code.size());
  out += ' ';
  beast::string_view reason = http::obsolete_reason(static_cast<http::status>(r.code));
  out.append(reason.data(), reason.size());
  out += "\r\nContent-Type: "sv;
  out += r.content_type;
  out += "\r\nContent-Length: "sv;
  const fmt::format_int length(r.body.size());
  out.append(length.data(), length.size());
  if (version == 10 && keep_alive) out += "\r\nConnection: keep-alive"sv;
  if (version != 10 && !keep_alive) out += "\r\nConnection: close"sv;
  out += "\r\n\r\n"sv;
  if (!head) out += r.body;
}

// The part of a session its worker sees: the timeout sweep and Drain().
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void OnDrain() = 0;
  virtual void OnTimeout() = 0;
  Clock::time_point deadline = Clock::time_point::max();  // worker thread only
};

struct Worker {
  std::list<SessionBase*> sessions;  // this worker's thread only
  asio::io_context ctx{1};
  asio::steady_timer sweep{ctx};  // closes sessions past their deadline
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;

  void ArmSweep(std::chrono::milliseconds period, const std::atomic<bool>* stopped) {
    sweep.expires_after(period);
    sweep.async_wait([this, period, stopped](boost::system::error_code ec) {
      if (ec || *stopped) return;
      auto now = Clock::now();
      // OnTimeout closes the socket; the session is destroyed later, by its
      // aborted handler, so the list stays valid while it is walked.
      for (SessionBase* s : sessions) {
        if (s->deadline <= now) s->OnTimeout();
      }
      ArmSweep(period, stopped);
    });
  }
};

using SslCtxShared = std::shared_ptr<ssl_ctx_st>;

}  // namespace

struct Server::Impl {
  ServerOptions options;
  std::shared_ptr<NamespaceSource> cluster_namespaces;
  std::shared_ptr<FixedNamespaceSource> standalone_namespaces;
  NamespaceSource* namespaces = nullptr;
  Metrics metrics;

  std::mutex mu;
  std::shared_ptr<const Config> config;         // guarded by mu
  SslCtxShared tls;                             // guarded by mu
  FileStamp config_stamp, cert_stamp, key_stamp;  // worker 0 only

  std::atomic<bool> config_loaded{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> connections{0};
  std::mutex conn_mu;
  std::condition_variable conn_cv;

  // Declared last: destroyed first, while everything sessions touch is alive.
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  std::optional<tcp::acceptor> metrics_acceptor;
  std::optional<asio::steady_timer> reload_timer;
  size_t next_worker = 0;
  uint16_t port = 0, metrics_port = 0;  // as bound (the acceptors close on drain)

  std::shared_ptr<const Config> CurrentConfig() {
    std::lock_guard lock(mu);
    return config;
  }
  SslCtxShared CurrentTls() {
    std::lock_guard lock(mu);
    return tls;
  }

  Status LoadTls() {
    auto m = LoadServerTls(options.tls_cert, options.tls_key);
    if (!m.ok()) return m.status();
    SslCtxShared ctx(m->ctx.release(), SSL_CTX_free);
    metrics.cert_expiry_.Set(static_cast<double>(m->not_after_unix));
    log::Info("webhook: serving certificate {} (expires at unix {})", m->subject, m->not_after_unix);
    std::lock_guard lock(mu);
    tls = std::move(ctx);
    return Status::Ok();
  }

  Status ApplyConfig(Config c) {
    if (standalone_namespaces) standalone_namespaces->Replace(c.namespace_labels);
    auto shared = std::make_shared<const Config>(std::move(c));
    std::lock_guard lock(mu);
    config = std::move(shared);
    return Status::Ok();
  }

  void PollFiles() {
    FileStamp c = Stamp(options.config_path), k = Stamp(options.tls_key), t = Stamp(options.tls_cert);
    if (!options.config_path.empty() && !(c == config_stamp)) {
      config_stamp = c;
      auto cfg = LoadConfig(options.config_path);
      if (cfg.ok()) {
        (void)ApplyConfig(std::move(*cfg));
        metrics.Reload("config", true);
        log::Info("webhook: reloaded config {}", options.config_path);
      } else {
        metrics.Reload("config", false);
        log::Error("webhook: config reload failed, keeping the previous config: {}", cfg.status().message());
      }
    }
    if (!(k == key_stamp) || !(t == cert_stamp)) {
      key_stamp = k;
      cert_stamp = t;
      Status s = LoadTls();
      metrics.Reload("certificate", s.ok());
      if (!s.ok()) log::Error("webhook: certificate reload failed, keeping the previous one: {}", s.message());
    }
  }

  void ArmReload() {
    reload_timer->expires_after(options.reload_interval);
    reload_timer->async_wait([this](beast::error_code ec) {
      if (ec || stopped) return;
      PollFiles();
      metrics.cache_synced_.Set(namespaces->HasSynced() ? 1 : 0);
      metrics.ready_.Set(NotReadyReason().empty() ? 1 : 0);
      ArmReload();
    });
  }

  std::string NotReadyReason() const {
    if (draining) return "draining";
    if (!config_loaded) return "config not loaded";
    if (!namespaces->HasSynced()) return "namespace cache not synced (" + namespaces->State() + ")";
    return "";
  }

  void Accept(tcp::acceptor& acc, bool tls_port);
  void Handle(const RequestView& req, bool tls_port, Reply& out);
};

namespace {

// ---- TLS on the socket ----

// A socket BIO for the session's SSL: recv/send with MSG_DONTWAIT (the asio
// socket stays in blocking mode for asio) and MSG_NOSIGNAL (no SIGPIPE when
// the peer has gone). EAGAIN sets the retry flags, so SSL_* report
// WANT_READ/WANT_WRITE; EOF sets BIO_FLAGS_IN_EOF for BIO_eof().
int FdBioWrite(BIO* b, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  for (;;) {
    ssize_t n = ::send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<size_t>(n);
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    return 0;
  }
}

int FdBioRead(BIO* b, char* data, size_t len, size_t* read) {
  BIO_clear_retry_flags(b);
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  for (;;) {
    ssize_t n = ::recv(fd, data, len, MSG_DONTWAIT);
    if (n > 0) {
      *read = static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) {
      BIO_set_flags(b, BIO_FLAGS_IN_EOF);
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    return 0;
  }
}

long FdBioCtrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

// The BIO_METHOD, created once (thread-safe static init) and never freed.
BIO_METHOD* FdBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "invar socket");
    if (m == nullptr) throw std::runtime_error("BIO_meth_new failed");
    BIO_meth_set_write_ex(m, FdBioWrite);
    BIO_meth_set_read_ex(m, FdBioRead);
    BIO_meth_set_ctrl(m, FdBioCtrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// SSL_get_error() needs the thread's error queue empty before each SSL_*
// call. Every failure path here clears it already, so it is nearly always
// empty: peeking (~0.1k instructions) costs far less than ERR_clear_error()
// (~0.8k: it resets all 16 slots), which ran twice per review.
inline void ClearSslErrors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// The first queued OpenSSL error's reason (no key material is ever in it).
std::string SslErrorText() {
  unsigned long e = ERR_peek_last_error();
  if (e == 0) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// ---- requests: Beast's parser, keeping only what the server reads ----

// Where a request body goes: a view into the session's input buffer while the
// body arrives as one contiguous run (a Content-Length body: the common
// case), else a copy in `*spill` (chunked bodies). The session rebases `data`
// when it moves its buffer.
struct BodySink {
  const char* data = nullptr;
  size_t size = 0;
  bool spilled = false;
  std::string* spill = nullptr;  // set by the session, reused across requests

  std::string_view view() const { return spilled ? std::string_view(*spill) : std::string_view(data, size); }
  bool in_place() const { return !spilled && size > 0; }
  void Clear() {
    data = nullptr;
    size = 0;
    spilled = false;
  }
  void Append(beast::string_view piece) {
    if (piece.empty()) return;
    const char* p = piece.data();
    if (!spilled && (size == 0 || data + size == p)) {
      if (size == 0) data = p;
      size += piece.size();
      return;
    }
    if (!spilled) {
      spill->assign(data != nullptr ? data : "", size);
      spilled = true;
    }
    spill->append(p, piece.size());
  }
};

// Beast's HTTP/1 request parser (basic_parser does all of the parsing, the
// limits, chunked decoding and the Connection/Content-Length/
// Transfer-Encoding semantics) with a handler that keeps only the method,
// target, version and body. No header field is stored: the server reads
// none beyond what basic_parser itself tracks (keep_alive(), chunked()).
// One per session, Reset() before each request. Session thread only.
class RequestParser final : public http::basic_parser<true> {
 public:
  explicit RequestParser(std::string* spill) { body_.spill = spill; }

  // Ready for a new request: a fresh basic_parser state (Beast has no reset;
  // a moved-from default parser is cheap: no buffer is allocated until a
  // header spans several buffers, which put() of one buffer never does),
  // the limits, and an empty body; the target keeps its capacity.
  void Reset(std::uint64_t max_body_bytes, std::uint32_t max_header_bytes) {
    http::basic_parser<true>::operator=(RequestParser(body_.spill));
    eager(true);
    body_limit(max_body_bytes);
    header_limit(max_header_bytes);
    method_ = http::verb::unknown;
    target_.clear();
    version_ = 11;
    body_.Clear();
  }

  http::verb method() const { return method_; }
  std::string_view target() const { return target_; }
  unsigned version() const { return version_; }
  BodySink& body() { return body_; }

 private:
  // The strings Beast passes point into the buffer given to put() and are
  // only valid during the call (the session may move that buffer once
  // put() has consumed them): the target is copied.
  void on_request_impl(http::verb method, beast::string_view, beast::string_view target, int version,
                       beast::error_code&) override {
    method_ = method;
    target_.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = http::error::bad_version;  // unreachable: a request parser
  }
  void on_field_impl(http::field, beast::string_view, beast::string_view, beast::error_code&) override {}
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    body_.Append(body);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    body_.Append(body);
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  http::verb method_ = http::verb::unknown;
  std::string target_;
  unsigned version_ = 11;
  BodySink body_;
};

// ---- sessions ----

// One connection, TLS (ssl_ set) or plain. All of it runs on its worker's
// thread; every pending operation holds a shared_ptr to it.
class Session final : public SessionBase, public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl* impl, Worker* worker, tcp::socket socket, SslCtxShared tls)
      : impl_(impl), worker_(worker), tls_(std::move(tls)), socket_(std::move(socket)) {
    it_ = worker_->sessions.insert(worker_->sessions.end(), this);
    impl_->connections.fetch_add(1);
    impl_->metrics.connections_.Increment();
  }
  ~Session() override {
    worker_->sessions.erase(it_);
    impl_->metrics.connections_.Decrement();
    if (in_flight_) impl_->metrics.in_flight_.Decrement();
    if (impl_->connections.fetch_sub(1) == 1) {
      std::lock_guard lock(impl_->conn_mu);
      impl_->conn_cv.notify_all();
    }
  }

  void Run() {
    if (!tls_) return WaitForRequest();
    ssl_.reset(SSL_new(tls_.get()));
    BIO* bio = ssl_ ? BIO_new(FdBioMethod()) : nullptr;
    if (!bio) {
      log::Error("webhook: cannot create a TLS session: {}", SslErrorText());
      ERR_clear_error();
      return Close();
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.native_handle())));
    SSL_set_bio(ssl_.get(), bio, bio);  // the SSL owns the BIO
    SSL_set_accept_state(ssl_.get());
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SetDeadline(impl_->options.handshake_timeout, "TLS handshake");
    Handshake();
  }

  void OnDrain() override {
    close_after_response_ = true;
    if (idle_) Close();  // nothing received yet: close now
  }

  void OnTimeout() override {
    log::Debug("webhook: closing connection: {} timed out", phase_);
    Close();
  }

 private:
  enum class Io { kOk, kWantRead, kWantWrite, kClosed, kError };
  using Step = void (Session::*)();

  // Bytes never read into at the end of in_: simdjson's padding for a body
  // that ends at the last byte read.
  static constexpr size_t kPad = kReviewPadding;
  // Buffers above this size (a /metrics reply, a large object) are freed
  // after use rather than kept for the connection's lifetime.
  static constexpr size_t kKeepBytes = 64u << 10;
  // Smallest read offered: a whole TLS record (16 KiB) fits.
  static constexpr size_t kMinRead = 16u << 10;
  static constexpr size_t kInitialInput = kMinRead + 1024 + kPad;

  void SetDeadline(std::chrono::milliseconds timeout, const char* phase) {
    deadline = Clock::now() + timeout;
    phase_ = phase;
  }

  // Resumes `next` once the socket is readable/writable.
  void Wait(tcp::socket::wait_type what, Step next) {
    socket_.async_wait(what, [self = shared_from_this(), next](beast::error_code ec) {
      if (self->closed_) return;
      if (ec) return self->Close();
      ((*self).*next)();
    });
  }

  Io Classify(int ret, const char* stage) {
    switch (SSL_get_error(ssl_.get(), ret)) {
      case SSL_ERROR_WANT_READ:
        return Io::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:  // close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
        return Io::kClosed;
      case SSL_ERROR_SYSCALL:  // reset, EPIPE: the peer is gone
        ERR_clear_error();
        return Io::kClosed;
      default:
        impl_->metrics.TlsError(stage);
        log::Debug("webhook: TLS {} failed: {}", stage, SslErrorText());
        ERR_clear_error();
        return Io::kError;
    }
  }

  void Handshake() {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) return WaitForRequest();
    switch (Classify(r, "handshake")) {
      case Io::kWantRead:
        return Wait(tcp::socket::wait_read, &Session::Handshake);
      case Io::kWantWrite:
        return Wait(tcp::socket::wait_write, &Session::Handshake);
      default:
        return Close();
    }
  }

  Io Recv(char* data, size_t len, size_t* n) {
    if (ssl_) {
      ClearSslErrors();
      int r = SSL_read_ex(ssl_.get(), data, len, n);
      return r == 1 ? Io::kOk : Classify(r, "read");
    }
    for (;;) {
      ssize_t got = ::recv(socket_.native_handle(), data, len, MSG_DONTWAIT);
      if (got > 0) {
        *n = static_cast<size_t>(got);
        return Io::kOk;
      }
      if (got == 0) return Io::kClosed;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantRead : Io::kClosed;
    }
  }

  Io Send(const char* data, size_t len, size_t* n) {
    if (ssl_) {
      ClearSslErrors();
      int r = SSL_write_ex(ssl_.get(), data, len, n);
      return r == 1 ? Io::kOk : Classify(r, "write");
    }
    for (;;) {
      ssize_t sent = ::send(socket_.native_handle(), data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent >= 0) {
        *n = static_cast<size_t>(sent);
        return Io::kOk;
      }
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantWrite : Io::kClosed;
    }
  }

  // Decrypted bytes (or, with read-ahead, records) waiting inside OpenSSL.
  bool SslPending() const { return ssl_ && SSL_has_pending(ssl_.get()) == 1; }

  void WaitForRequest() {
    if (impl_->draining || close_after_response_) {
      close_after_response_ = true;
      if (in_pos_ == in_end_ && !SslPending()) return Shutdown();
    }
    if (in_pos_ < in_end_ || SslPending()) return BeginRequest();  // pipelined
    idle_ = true;
    SetDeadline(impl_->options.idle_timeout, "idle keep-alive");
    // Right after a response the client's next request is rarely here yet:
    // wait for readability first rather than try a read that would fail.
    Wait(tcp::socket::wait_read, &Session::OnIdleReadable);
  }

  // Readiness can be stale (an event of bytes already read) and a TLS record
  // need not carry data: the request starts with its first byte, not here.
  void OnIdleReadable() {
    (void)MakeRoom();  // idle: in_ is empty, the room is there
    size_t n = 0;
    switch (Recv(in_.get() + in_end_, in_cap_ - kPad - in_end_, &n)) {
      case Io::kOk:
        in_end_ += n;
        idle_ = false;
        return BeginRequest();
      case Io::kWantRead:
        return Wait(tcp::socket::wait_read, &Session::OnIdleReadable);
      case Io::kWantWrite:
        return Wait(tcp::socket::wait_write, &Session::OnIdleReadable);
      default:
        return Close();
    }
  }

  void BeginRequest() {
    parser_.Reset(impl_->options.max_body_bytes, static_cast<uint32_t>(impl_->options.max_header_bytes));
    SetDeadline(impl_->options.read_timeout, "request read");
    if (!in_flight_) {
      in_flight_ = true;
      impl_->metrics.in_flight_.Increment();
    }
    if (in_pos_ < in_end_) return Parse();
    ReadSome();
  }

  // Makes at least kMinRead bytes of room after in_end_ (less only at the
  // size cap): drops consumed bytes not under an in-place body, then grows.
  bool MakeRoom() {
    if (!in_) {
      in_cap_ = kInitialInput;
      in_.reset(new char[in_cap_]);
    }
    if (in_cap_ - kPad - in_end_ >= kMinRead) return true;
    BodySink* body = &parser_.body();  // cleared while idle
    const bool in_place = body->in_place();
    size_t keep_from = in_place ? static_cast<size_t>(body->data - in_.get()) : in_pos_;
    if (keep_from > 0) {
      std::memmove(in_.get(), in_.get() + keep_from, in_end_ - keep_from);
      in_end_ -= keep_from;
      in_pos_ -= keep_from;
      if (in_place) body->data -= keep_from;
    }
    if (in_cap_ - kPad - in_end_ >= kMinRead) return true;
    const size_t cap_limit =
        impl_->options.max_header_bytes + impl_->options.max_body_bytes + kMinRead + 2 * kPad;
    if (in_cap_ >= cap_limit) return in_cap_ - kPad > in_end_;
    size_t cap = std::min(cap_limit, std::max(in_cap_ * 2, in_end_ + kMinRead + kPad));
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), in_.get(), in_end_);
    if (in_place) body->data = bigger.get() + (body->data - in_.get());
    in_ = std::move(bigger);
    in_cap_ = cap;
    return true;
  }

  void ReadSome() {
    if (!MakeRoom()) {
      log::Debug("webhook: closing connection: request larger than the input buffer");
      return Close();
    }
    size_t n = 0;
    switch (Recv(in_.get() + in_end_, in_cap_ - kPad - in_end_, &n)) {
      case Io::kOk:
        in_end_ += n;
        return Parse();
      case Io::kWantRead:
        return Wait(tcp::socket::wait_read, &Session::ReadSome);
      case Io::kWantWrite:
        return Wait(tcp::socket::wait_write, &Session::ReadSome);
      default:
        return Close();  // EOF, reset or TLS error mid-request
    }
  }

  void Parse() {
    auto& p = parser_;
    while (in_pos_ < in_end_ && !p.is_done()) {
      beast::error_code ec;
      size_t used = p.put(asio::const_buffer(in_.get() + in_pos_, in_end_ - in_pos_), ec);
      in_pos_ += used;
      if (ec == http::error::need_more) break;
      if (ec) return OnParseError(ec);
      if (used == 0) break;
    }
    if (!p.is_done()) return ReadSome();
    OnRequest();
  }

  void OnParseError(beast::error_code ec) {
    unsigned code = 400;
    std::string msg = "malformed HTTP request: " + ec.message();
    if (ec == http::error::body_limit) {
      code = 413;
      msg = fmt::format("request body exceeds {} bytes", impl_->options.max_body_bytes);
    } else if (ec == http::error::header_limit) {
      code = 431;
      msg = fmt::format("request headers exceed {} bytes", impl_->options.max_header_bytes);
    }
    impl_->metrics.HttpError(code);
    keep_alive_ = false;
    reply_.Text(code, msg + "\n");
    SerializeReply(reply_, 11, false, false, out_);
    Write();
  }

  void OnRequest() {
    BodySink& body = parser_.body();
    RequestView view;
    view.method = parser_.method();
    view.target = parser_.target();
    if (body.spilled) {
      if (spill_.capacity() < spill_.size() + kPad) spill_.reserve(spill_.size() + kPad);
      view.body = spill_;
      view.body_readable = spill_.capacity();
    } else if (body.size > 0) {
      view.body = body.view();
      view.body_readable = static_cast<size_t>(in_.get() + in_cap_ - body.data);
    }
    reply_.Reset();
    impl_->Handle(view, ssl_ != nullptr, reply_);
    keep_alive_ = parser_.keep_alive() && !reply_.close && !close_after_response_ && !impl_->draining;
    SerializeReply(reply_, parser_.version(), keep_alive_, parser_.method() == http::verb::head, out_);
    Write();
  }

  void Write() {
    SetDeadline(impl_->options.write_timeout, "response write");
    out_off_ = 0;
    DoWrite();
  }

  void DoWrite() {
    while (out_off_ < out_.size()) {
      size_t n = 0;
      switch (Send(out_.data() + out_off_, out_.size() - out_off_, &n)) {
        case Io::kOk:
          out_off_ += n;
          continue;
        case Io::kWantWrite:
          return Wait(tcp::socket::wait_write, &Session::DoWrite);
        case Io::kWantRead:
          return Wait(tcp::socket::wait_read, &Session::DoWrite);
        default:
          return Close();
      }
    }
    OnWritten();
  }

  void OnWritten() {
    if (in_flight_) {
      in_flight_ = false;
      impl_->metrics.in_flight_.Decrement();
    }
    parser_.body().Clear();  // MakeRoom() while idle keeps no body bytes
    if (in_pos_ == in_end_) in_pos_ = in_end_ = 0;
    if (out_.capacity() > kKeepBytes) std::string().swap(out_);
    if (reply_.body.capacity() > kKeepBytes) std::string().swap(reply_.body);
    if (spill_.capacity() > kKeepBytes) std::string().swap(spill_);
    if (in_cap_ > kInitialInput && in_end_ == 0) {
      in_.reset();
      in_cap_ = 0;
    }
    if (!keep_alive_) return Shutdown();
    WaitForRequest();
  }

  // Graceful close: TLS close_notify, FIN, then read and drop whatever the
  // client still sends until it closes (at most 1 s), so that a reply sent
  // before the request was fully read (413) is not lost to a reset.
  void Shutdown() {
    if (!shutting_down_) {
      shutting_down_ = true;
      SetDeadline(std::chrono::seconds(1), "connection shutdown");
    }
    if (ssl_ && !close_notify_sent_) {
      ERR_clear_error();
      int r = SSL_shutdown(ssl_.get());
      if (r < 0) {
        int e = SSL_get_error(ssl_.get(), r);
        ERR_clear_error();
        if (e == SSL_ERROR_WANT_WRITE) return Wait(tcp::socket::wait_write, &Session::Shutdown);
        if (e != SSL_ERROR_WANT_READ) return Close();
      }
      close_notify_sent_ = true;
    }
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    Linger();
  }

  void Linger() {
    char sink[4096];
    for (;;) {
      ssize_t n = ::recv(socket_.native_handle(), sink, sizeof(sink), MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Wait(tcp::socket::wait_read, &Session::Linger);
      }
      return Close();
    }
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    deadline = Clock::time_point::max();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);  // aborts the pending wait; its handler drops the last reference
  }

  Server::Impl* impl_;
  Worker* worker_;
  std::list<SessionBase*>::iterator it_;
  SslCtxShared tls_;  // keeps this connection's SSL_CTX alive across reloads; null: plain HTTP
  tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  const char* phase_ = "";

  // Input: [0, in_pos_) parsed, [in_pos_, in_end_) not yet, then room; the
  // last kPad bytes of in_cap_ are never read into.
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_pos_ = 0, in_end_ = 0;
  std::string spill_;              // a body that did not arrive in one run (chunked)
  RequestParser parser_{&spill_};  // reused: Reset() per request
  Reply reply_;        // the handler's answer, reused
  std::string out_;    // serialized response, reused
  size_t out_off_ = 0;

  bool keep_alive_ = true;
  bool idle_ = false;
  bool in_flight_ = false;
  bool close_after_response_ = false;
  bool shutting_down_ = false;
  bool close_notify_sent_ = false;
  bool closed_ = false;
};

}  // namespace

void Server::Impl::Accept(tcp::acceptor& acc, bool tls_port) {
  Worker* w = workers[next_worker++ % workers.size()].get();
  acc.async_accept(w->ctx, [this, &acc, tls_port, w](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) return;
      log::Warn("webhook: accept failed: {}", ec.message());
    } else if (connections.load() >= options.max_connections) {
      metrics.rejected_.Increment();
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      // Construct and run the session on its worker's thread.
      asio::post(w->ctx, [this, w, tls_port, s = std::move(socket)]() mutable {
        std::make_shared<Session>(this, w, std::move(s), tls_port ? CurrentTls() : nullptr)->Run();
      });
    }
    if (acc.is_open() && !draining) Accept(acc, tls_port);
  });
}

void Server::Impl::Handle(const RequestView& req, bool tls_port, Reply& out) {
  std::string_view target = req.target;
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  auto error = [&](unsigned code, std::string_view msg) {
    metrics.HttpError(code);
    out.Text(code, msg);
    out.body += '\n';
  };
  if (target == "/healthz" || target == "/livez") {
    if (req.method != http::verb::get && req.method != http::verb::head) return error(405, "use GET");
    return out.Text(200, "ok\n");
  }
  if (target == "/readyz") {
    if (req.method != http::verb::get && req.method != http::verb::head) return error(405, "use GET");
    std::string why = NotReadyReason();
    if (!why.empty()) return out.Text(503, "not ready: " + why + "\n");
    return out.Text(200, "ok\n");
  }
  if (target == "/metrics") {
    if (req.method != http::verb::get) return error(405, "use GET");
    metrics.cache_synced_.Set(namespaces->HasSynced() ? 1 : 0);
    metrics.ready_.Set(NotReadyReason().empty() ? 1 : 0);
    out.Text(200, metrics.Serialize());
    out.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return;
  }
  if (target == "/validate" && tls_port) {
    if (req.method != http::verb::post) return error(405, "use POST with an AdmissionReview body");
    auto start = Clock::now();
    ReviewLimits limits;
    limits.max_bytes = options.max_body_bytes;
    limits.max_depth = options.max_json_depth;
    // One per worker thread, reused: its strings keep their capacity.
    thread_local ReviewRequest decoded;
    ReviewRequest* review = &decoded;
    if (Status s = DecodeReviewInto(req.body, limits, req.body_readable, decoded); !s.ok()) {
      unsigned code = s.code() == Status::Code::kResourceExhausted ? 413 : 400;
      log::Debug("webhook: rejected request body: {}", s.message());
      error(code, "invalid AdmissionReview: " + s.message());
      out.close = code == 413;
      return;
    }
    std::shared_ptr<const Config> cfg = CurrentConfig();
    // Also one per worker thread: a denial's message keeps its capacity.
    thread_local Decision decision;
    Decision& d = decision;
    try {
      DecideInto(*review, *cfg, *namespaces, d);
    } catch (const std::exception& e) {
      // Fail closed: a bug in the decision path never admits.
      log::Error("webhook: internal error deciding {} {}/{}: {}", review->operation, review->namespace_, review->name,
                 e.what());
      ResetForReuse(d);
      d.response.version = review->version;
      d.response.uid = review->uid;
      d.response.allowed = false;
      d.response.code = 500;
      d.response.reason = "InternalError";
      d.response.message = std::string("invar internal error: ") + e.what() + "; denied (invar fails closed)";
      d.info = {review->kind.kind, "error", "none", ""};
    }
    out.content_type = "application/json";
    AppendReview(d.response, out.body);
    if (d.response.message.capacity() > (64u << 10)) std::string().swap(d.response.message);  // a rare huge denial
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    metrics.latency_.Observe(seconds);
    metrics.Review(review->operation, d.info);
    if (!d.response.allowed) {
      log::Info("webhook: denied {} {} {}/{} for {}: {}", review->operation, review->kind.kind, review->namespace_,
                review->name, review->user.username, d.info.profile);
    } else {
      log::Debug("webhook: {} {} {} {}/{} ({})", d.info.decision, review->operation, review->kind.kind,
                 review->namespace_, review->name, d.info.mode);
    }
    return;
  }
  error(404, "not found: " + std::string(target) + " (try POST /validate, GET /healthz, /readyz, /metrics)");
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_ && impl_->started && !impl_->stopped) Drain(std::chrono::milliseconds(0));
}

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options, std::shared_ptr<NamespaceSource> namespaces) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  ServerOptions& o = impl->options;
  if (o.tls_cert.empty() || o.tls_key.empty()) return Status::InvalidArgument("--tls-cert and --tls-key are required");
  if (o.standalone) {
    impl->standalone_namespaces = std::make_shared<FixedNamespaceSource>("standalone");
    impl->namespaces = impl->standalone_namespaces.get();
  } else {
    if (!namespaces) return Status::InvalidArgument("no namespace source (use --standalone without a cluster)");
    impl->cluster_namespaces = std::move(namespaces);
    impl->namespaces = impl->cluster_namespaces.get();
  }
  auto cfg = LoadConfig(o.config_path);
  if (!cfg.ok()) return cfg.status();
  if (!o.standalone && !cfg->namespace_labels.empty()) {
    log::Warn("webhook: config `namespaces:` is only used with --standalone; ignoring it");
  }
  impl->config_stamp = Stamp(o.config_path);
  INVAR_RETURN_IF_ERROR(impl->ApplyConfig(std::move(*cfg)));
  impl->config_loaded = true;
  impl->key_stamp = Stamp(o.tls_key);
  impl->cert_stamp = Stamp(o.tls_cert);
  INVAR_RETURN_IF_ERROR(impl->LoadTls());

  int n = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) impl->workers.push_back(std::make_unique<Worker>());
  auto bind = [&](const std::string& listen, std::optional<tcp::acceptor>* acc) -> Status {
    auto ep = ParseListen(listen);
    if (!ep.ok()) return ep.status();
    beast::error_code ec;
    acc->emplace(impl->workers[0]->ctx);
    (*acc)->open(ep->protocol(), ec);
    if (!ec) (*acc)->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) (*acc)->bind(*ep, ec);
    if (!ec) (*acc)->listen(1024, ec);
    if (ec) return Status::Unavailable(fmt::format("listening on {}: {}", listen, ec.message()));
    return Status::Ok();
  };
  INVAR_RETURN_IF_ERROR(bind(o.listen, &impl->acceptor));
  impl->port = impl->acceptor->local_endpoint().port();
  if (!o.metrics_listen.empty()) {
    INVAR_RETURN_IF_ERROR(bind(o.metrics_listen, &impl->metrics_acceptor));
    impl->metrics_port = impl->metrics_acceptor->local_endpoint().port();
  }
  impl->reload_timer.emplace(impl->workers[0]->ctx);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }
uint16_t Server::metrics_port() const { return impl_->metrics_port; }
bool Server::Ready() const { return impl_->NotReadyReason().empty(); }
std::string Server::NotReadyReason() const { return impl_->NotReadyReason(); }
size_t Server::open_connections() const { return impl_->connections.load(); }

void Server::Start() {
  Impl& s = *impl_;
  if (s.started.exchange(true)) return;
  s.Accept(*s.acceptor, true);
  if (s.metrics_acceptor) s.Accept(*s.metrics_acceptor, false);
  s.ArmReload();
  // Deadlines are checked at a quarter of the shortest timeout (5-250 ms).
  auto shortest = std::min(
      {s.options.handshake_timeout, s.options.idle_timeout, s.options.read_timeout, s.options.write_timeout});
  auto period = std::clamp(shortest / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
  for (auto& w : s.workers) {
    w->ArmSweep(period, &s.stopped);
    w->guard.emplace(w->ctx.get_executor());
    w->thread = std::thread([w = w.get()] {
      for (;;) {
        try {
          w->ctx.run();
          return;
        } catch (const std::exception& e) {
          log::Error("webhook: worker thread caught exception: {}", e.what());
        }
      }
    });
  }
  log::Info("webhook: listening on {} (HTTPS, {} worker thread{}){}", s.port, s.workers.size(),
            s.workers.size() == 1 ? "" : "s", s.metrics_port ? fmt::format(", metrics on {}", s.metrics_port) : "");
}

bool Server::Drain(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return true;
  s.draining = true;
  auto deadline = Clock::now() + grace;
  // Stop accepting and close idle connections, each on its own thread.
  asio::post(s.workers[0]->ctx, [&s] {
    beast::error_code ignored;
    s.acceptor->close(ignored);
    if (s.metrics_acceptor) s.metrics_acceptor->close(ignored);
    s.reload_timer->cancel();
  });
  for (auto& w : s.workers) {
    asio::post(w->ctx, [w = w.get()] {
      for (SessionBase* session : w->sessions) session->OnDrain();
    });
  }
  bool clean;
  {
    std::unique_lock lock(s.conn_mu);
    clean = s.conn_cv.wait_until(lock, deadline, [&s] { return s.connections.load() == 0; });
  }
  if (!clean) log::Warn("webhook: {} connection(s) still open after the grace period; closing", s.connections.load());
  s.stopped = true;
  for (auto& w : s.workers) {
    w->guard.reset();
    w->ctx.stop();
  }
  for (auto& w : s.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  return clean;
}

}  // namespace invar::admission
