// SPDX-License-Identifier: Apache-2.0
// HTTP sink (sink.h): POSTs each alert's Falco JSON to a Falcosidekick-style
// endpoint with Boost.Beast (the HTTP codec; nothing hand-parsed), from its
// own thread, over one keep-alive connection re-established on error. The
// queue is bounded: when the endpoint is slow or down, new alerts are dropped
// and counted rather than blocking the agent.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "invar/drift/sink.h"
#include "invar/platform/log.h"

namespace invar::drift {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

struct Url {
  std::string host, port, target;
};

Result<Url> ParseUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Status::InvalidArgument("http output: only http:// URLs are supported: " + url);
  std::string rest = url.substr(scheme.size());
  Url u;
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    u.host = hostport;
    u.port = "80";
  } else {
    u.host = hostport.substr(0, colon);
    u.port = hostport.substr(colon + 1);
  }
  if (u.host.empty() || u.port.empty()) return Status::InvalidArgument("http output: bad URL: " + url);
  return u;
}

class HttpSink final : public Sink {
 public:
  HttpSink(Url u, std::size_t limit) : url_(std::move(u)), limit_(limit) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~HttpSink() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  bool wants_json() const override { return true; }
  void Write(const Alert& a) override {
    std::string body = a.json;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= limit_) {
        dropped_++;
        return;
      }
      queue_.push_back(std::move(body));
    }
    cv_.notify_one();
  }
  std::uint64_t dropped() const override { return dropped_.load(); }

 private:
  void Loop() {
    asio::io_context ioc;
    std::unique_ptr<beast::tcp_stream> stream;
    for (;;) {
      std::string body;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_ and drained
        body = std::move(queue_.front());
        queue_.pop_front();
      }
      for (int attempt = 0; attempt < 2; ++attempt) {
        try {
          if (!stream) {
            asio::ip::tcp::resolver resolver(ioc);
            stream = std::make_unique<beast::tcp_stream>(ioc);
            stream->expires_after(std::chrono::seconds(5));
            stream->connect(resolver.resolve(url_.host, url_.port));
          }
          http::request<http::string_body> req{http::verb::post, url_.target, 11};
          req.set(http::field::host, url_.host);
          req.set(http::field::user_agent, "invar-agent");
          req.set(http::field::content_type, "application/json");
          req.keep_alive(true);
          req.body() = body;
          req.prepare_payload();
          stream->expires_after(std::chrono::seconds(5));
          http::write(*stream, req);
          beast::flat_buffer buf;
          http::response<http::string_body> res;
          http::read(*stream, buf, res);
          if (res.result_int() >= 300) log::Warn("http output: {} answered {}", url_.host, res.result_int());
          if (!res.keep_alive()) stream.reset();
          break;
        } catch (const std::exception& e) {
          stream.reset();
          if (attempt == 1) {
            dropped_++;
            log::Warn("http output: POST to {}:{} failed: {}", url_.host, url_.port, e.what());
          }
        }
      }
    }
  }

  Url url_;
  std::size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Sink>> NewHttpSink(const std::string& url, std::size_t queue_limit) {
  auto u = ParseUrl(url);
  if (!u.ok()) return u.status();
  return std::unique_ptr<Sink>(std::make_unique<HttpSink>(*u, queue_limit));
}

}  // namespace invar::drift
