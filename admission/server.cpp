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
// byte has arrived the request is in flight and is finished first.
//
// Hot path (POST /validate, ~80% of a review's cost is here, not in the
// policy engine): Beast parses the request; the response is serialized by
// hand into one per-session string (status line, three headers, body) and
// sent with one write, i.e. one TLS record and one send(); the request body's
// string and the read buffer keep their capacity across requests.
#include "invar/admission/server.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
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
namespace ssl = asio::ssl;
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

// What a handler answers; the session serializes it (SerializeReply).
struct Reply {
  unsigned code = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
  bool close = false;  // close the connection after this reply
};

Reply TextReply(unsigned code, std::string body) {
  Reply r;
  r.code = code;
  r.body = std::move(body);
  return r;
}

// HTTP/1.x response bytes into `out` (cleared first). HEAD gets the headers
// only; Connection is sent when it differs from the version's default.
void SerializeReply(const Reply& r, unsigned version, bool keep_alive, bool head, std::string& out) {
  out.clear();
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += fmt::format_int(r.code).str();
  out += ' ';
  beast::string_view reason = http::obsolete_reason(static_cast<http::status>(r.code));
  out.append(reason.data(), reason.size());
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += fmt::format_int(r.body.size()).str();
  if (version == 10 && keep_alive) out += "\r\nConnection: keep-alive";
  if (version != 10 && !keep_alive) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  if (!head) out += r.body;
}

class SessionBase;

struct Worker {
  std::list<SessionBase*> sessions;  // this worker's thread only
  asio::io_context ctx{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  std::shared_ptr<NamespaceSource> cluster_namespaces;
  std::shared_ptr<FixedNamespaceSource> standalone_namespaces;
  NamespaceSource* namespaces = nullptr;
  Metrics metrics;

  std::mutex mu;
  std::shared_ptr<const Config> config;         // guarded by mu
  std::shared_ptr<ssl::context> tls;            // guarded by mu
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
  std::shared_ptr<ssl::context> CurrentTls() {
    std::lock_guard lock(mu);
    return tls;
  }

  Status LoadTls() {
    auto m = LoadServerTls(options.tls_cert, options.tls_key);
    if (!m.ok()) return m.status();
    auto ctx = std::make_shared<ssl::context>(m->ctx.release());
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
  Reply Handle(http::request<http::string_body>& req, bool tls_port);
};

namespace {

// ---- sessions ----

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void OnDrain() = 0;
};

template <bool kTls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(Server::Impl* impl, Worker* worker, tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : impl_(impl), worker_(worker), tls_(std::move(tls)), stream_(MakeStream(std::move(socket), tls_.get())) {
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
    if constexpr (kTls) {
      Lowest().expires_after(impl_->options.handshake_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      WaitForRequest();
    }
  }

  void OnDrain() override {
    close_after_response_ = true;
    if (idle_) Lowest().socket().cancel();  // nothing received yet: close now
  }

 private:
  static Stream MakeStream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      log::Debug("webhook: TLS handshake failed: {}", ec.message());
      return Close();
    }
    WaitForRequest();
  }

  void WaitForRequest() {
    if (impl_->draining || close_after_response_) {
      close_after_response_ = true;
      if (buffer_.size() == 0) return Shutdown();
    }
    if (buffer_.size() > 0) return ReadRequest();
    idle_ = true;
    Lowest().expires_after(impl_->options.idle_timeout);
    // Big enough for a typical review in one read.
    auto buf = buffer_.prepare(std::min<size_t>(16u << 10, buffer_.max_size() - buffer_.size()));
    stream_.async_read_some(buf, [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->idle_ = false;
      self->buffer_.commit(n);
      if (ec || n == 0) return self->Close();
      self->ReadRequest();
    });
  }

  void ReadRequest() {
    // The body string from the previous request keeps its capacity.
    body_.clear();
    parser_.emplace(std::piecewise_construct, std::make_tuple(std::move(body_)));
    parser_->body_limit(impl_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(impl_->options.max_header_bytes));
    Lowest().expires_after(impl_->options.read_timeout);
    in_flight_ = true;
    impl_->metrics.in_flight_.Increment();
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated || ec == asio::error::eof || ec == asio::error::connection_reset) {
      if (ec == beast::error::timeout) log::Debug("webhook: closing connection: request read timed out");
      return Close();
    }
    if (ec) {
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
      SerializeReply(TextReply(code, msg + "\n"), 11, false, false, out_);
      return Write();
    }
    auto& req = parser_->get();
    Reply reply = impl_->Handle(req, kTls);
    keep_alive_ = req.keep_alive() && !reply.close && !close_after_response_ && !impl_->draining;
    SerializeReply(reply, req.version(), keep_alive_, req.method() == http::verb::head, out_);
    body_ = std::move(req.body());
    // Room for the JSON parser's padding, so the next review parses in place.
    if (body_.capacity() < body_.size() + kReviewPadding) body_.reserve(body_.size() + kReviewPadding);
    parser_.reset();
    Write();
  }

  // One buffer: asio's SSL stream turns each buffer into its own TLS record.
  void Write() {
    Lowest().expires_after(impl_->options.write_timeout);
    asio::async_write(stream_, asio::buffer(out_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (self->in_flight_) {
        self->in_flight_ = false;
        self->impl_->metrics.in_flight_.Decrement();
      }
      if (self->out_.capacity() > kKeepBytes) std::string().swap(self->out_);
      if (self->body_.capacity() > kKeepBytes) std::string().swap(self->body_);
      if (ec) return self->Close();
      if (!self->keep_alive_) return self->Shutdown();
      self->WaitForRequest();
    });
  }

  void Shutdown() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->Close(); });
    } else {
      Close();
    }
  }

  void Close() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  Server::Impl* impl_;
  Worker* worker_;
  std::list<SessionBase*>::iterator it_;
  std::shared_ptr<ssl::context> tls_;  // keeps this connection's SSL_CTX alive across reloads
  Stream stream_;
  // Buffers above this size (a /metrics reply, a large object) are freed
  // after use rather than kept for the connection's lifetime.
  static constexpr size_t kKeepBytes = 64u << 10;

  beast::flat_buffer buffer_{kKeepBytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string body_;  // request body storage, reused
  std::string out_;   // serialized response, reused
  bool keep_alive_ = true;
  bool idle_ = false;
  bool in_flight_ = false;
  bool close_after_response_ = false;
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
        if (tls_port) {
          std::make_shared<Session<true>>(this, w, std::move(s), CurrentTls())->Run();
        } else {
          std::make_shared<Session<false>>(this, w, std::move(s), nullptr)->Run();
        }
      });
    }
    if (acc.is_open() && !draining) Accept(acc, tls_port);
  });
}

Reply Server::Impl::Handle(http::request<http::string_body>& req, bool tls_port) {
  std::string_view target(req.target().data(), req.target().size());
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  auto error = [&](unsigned code, std::string msg) {
    metrics.HttpError(code);
    return TextReply(code, msg + "\n");
  };
  if (target == "/healthz" || target == "/livez") {
    if (req.method() != http::verb::get && req.method() != http::verb::head) return error(405, "use GET");
    return TextReply(200, "ok\n");
  }
  if (target == "/readyz") {
    if (req.method() != http::verb::get && req.method() != http::verb::head) return error(405, "use GET");
    std::string why = NotReadyReason();
    if (!why.empty()) return TextReply(503, "not ready: " + why + "\n");
    return TextReply(200, "ok\n");
  }
  if (target == "/metrics") {
    if (req.method() != http::verb::get) return error(405, "use GET");
    metrics.cache_synced_.Set(namespaces->HasSynced() ? 1 : 0);
    metrics.ready_.Set(NotReadyReason().empty() ? 1 : 0);
    Reply res = TextReply(200, metrics.Serialize());
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return res;
  }
  if (target == "/validate" && tls_port) {
    if (req.method() != http::verb::post) return error(405, "use POST with an AdmissionReview body");
    auto start = Clock::now();
    ReviewLimits limits;
    limits.max_bytes = options.max_body_bytes;
    limits.max_depth = options.max_json_depth;
    Result<ReviewRequest> review = DecodeReview(req.body(), limits, req.body().capacity());
    if (!review.ok()) {
      unsigned code = review.status().code() == Status::Code::kResourceExhausted ? 413 : 400;
      log::Debug("webhook: rejected request body: {}", review.status().message());
      Reply res = error(code, "invalid AdmissionReview: " + review.status().message());
      res.close = code == 413;
      return res;
    }
    std::shared_ptr<const Config> cfg = CurrentConfig();
    Decision d;
    try {
      d = Decide(*review, *cfg, *namespaces);
    } catch (const std::exception& e) {
      // Fail closed: a bug in the decision path never admits.
      log::Error("webhook: internal error deciding {} {}/{}: {}", review->operation, review->namespace_, review->name,
                 e.what());
      d = Decision{};
      d.response.version = review->version;
      d.response.uid = review->uid;
      d.response.allowed = false;
      d.response.code = 500;
      d.response.reason = "InternalError";
      d.response.message = std::string("invar internal error: ") + e.what() + "; denied (invar fails closed)";
      d.info = {review->kind.kind, "error", "none", ""};
    }
    std::string body = EncodeReview(d.response);
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
    Reply res;
    res.content_type = "application/json";
    res.body = std::move(body);
    return res;
  }
  return error(404, "not found: " + std::string(target) + " (try POST /validate, GET /healthz, /readyz, /metrics)");
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
  for (auto& w : s.workers) {
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
