// SPDX-License-Identifier: Apache-2.0
// Falco-compatible alert formatting and the file/HTTP sinks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "invar/drift/alert.h"
#include "invar/drift/sink.h"

namespace invar::drift {
namespace {

DriftEvent Sample(Operation op) {
  auto c = std::make_shared<Container>();
  c->id = "3d9b3f12ef50aa11bb22cc33";
  c->name = "api";
  c->pod = "shop-1";
  c->pod_namespace = "prod";
  c->image = "registry.local:5000/team/api:1.2";
  DriftEvent e;
  e.time_ns = 1685022245478445995ull;  // 2023-05-25T13:44:05.478445995Z
  e.container = c;
  e.path = "/tmp/x";
  e.op = op;
  ProcessInfo p;
  p.pid = 42;
  p.comm = "bash";
  p.pcomm = "containerd-shim";
  p.cmdline = "bash -c \"echo\"";
  p.uid = 0;
  p.user = "root";
  e.process = p;
  e.action = "flag";
  return e;
}

TEST(Format, Rfc3339WithNanoseconds) {
  EXPECT_EQ(Rfc3339Nanos(1685022245478445995ull), "2023-05-25T13:44:05.478445995Z");
  EXPECT_EQ(Rfc3339Nanos(5), "1970-01-01T00:00:00.000000005Z");
}

TEST(Format, ShellAlertMatchesFalcoTextShape) {
  setenv("TZ", "UTC", 1);
  tzset();
  Alert a = MakeAlert(Sample(Operation::kShell), "node-1");
  EXPECT_EQ(a.rule, "Shell spawned in container");
  const std::string text = FormatText(a);
  EXPECT_EQ(text.rfind("13:44:05.478445995: Warning Shell spawned (root,container_id=3d9b3f12ef50)", 0), 0u) << text;
}

TEST(Format, JsonHasFalcoKeysAndOutputFields) {
  Alert a = MakeAlert(Sample(Operation::kExec), "node-1");
  auto j = nlohmann::json::parse(FormatJson(a));
  EXPECT_EQ(j["hostname"], "node-1");
  EXPECT_EQ(j["priority"], "Critical");
  EXPECT_EQ(j["rule"], "Drop and execute new binary in container");
  EXPECT_EQ(j["source"], "syscall");
  EXPECT_EQ(j["time"], "2023-05-25T13:44:05.478445995Z");
  EXPECT_TRUE(j["tags"].is_array());
  const auto& f = j["output_fields"];
  EXPECT_EQ(f["container.id"], "3d9b3f12ef50");
  EXPECT_EQ(f["container.image.repository"], "registry.local:5000/team/api");
  EXPECT_EQ(f["container.image.tag"], "1.2");
  EXPECT_EQ(f["k8s.pod.name"], "shop-1");
  EXPECT_EQ(f["proc.cmdline"], "bash -c \"echo\"");
  EXPECT_EQ(f["evt.type"], "execve");
  EXPECT_EQ(f["fd.name"], "/tmp/x");
}

TEST(Format, MissingProcessPrintsNaAndNullsAndNeverBreaksJson) {
  DriftEvent e = Sample(Operation::kWrite);
  e.process.reset();
  e.path = std::string("/bad\xff\xfe\"\n", 8);
  Alert a = MakeAlert(e, "n");
  EXPECT_NE(a.message.find("proc=<NA>"), std::string::npos);
  auto j = nlohmann::json::parse(FormatJson(a));
  EXPECT_TRUE(j["output_fields"]["proc.name"].is_null());
  EXPECT_EQ(FormatJson(a).find('\n'), std::string::npos);
}

TEST(Format, JsonRoundTripsUtf8AndControlCharacters) {
  DriftEvent e = Sample(Operation::kCreate);
  e.path = "/tmp/\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\x01\\\"x";  // ü € 😀 \x01 \\ "
  auto j = nlohmann::json::parse(FormatJson(MakeAlert(e, "n")));
  EXPECT_EQ(j["output_fields"]["fd.name"], e.path);
  e.path = "/\xed\xa0\x80/\xc0\xaf";  // a UTF-16 surrogate and an overlong '/': replaced
  j = nlohmann::json::parse(FormatJson(MakeAlert(e, "n")));
  EXPECT_EQ(j["output_fields"]["fd.name"], "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd/\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(FileSink, AppendsLinesAndReopensAfterRotation) {
  const std::string dir = std::filesystem::temp_directory_path() / ("invar-sink-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto s = NewFileSink(dir + "/alerts.log", OutputFormat::kJson);
  ASSERT_TRUE(s.ok());
  (*s)->Write(MakeAlert(Sample(Operation::kCreate), "n"));
  std::filesystem::rename(dir + "/alerts.log", dir + "/alerts.log.1");
  (*s)->Reopen();
  (*s)->Write(MakeAlert(Sample(Operation::kDelete), "n"));
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_NE(read(dir + "/alerts.log.1").find("\"invar.op\":\"create\""), std::string::npos);
  EXPECT_NE(read(dir + "/alerts.log").find("\"invar.op\":\"delete\""), std::string::npos);
  EXPECT_FALSE(NewFileSink(dir + "/no/such/dir/x", OutputFormat::kText).ok());
  std::filesystem::remove_all(dir);
}

TEST(HttpSink, PostsFalcoJsonToFalcosidekickStyleEndpoint) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = acc.local_endpoint().port();
  std::string got_body, got_target, got_type;
  std::thread server([&] {
    asio::ip::tcp::socket sock(ioc);
    acc.accept(sock);
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(sock, buf, req);
    got_body = req.body();
    got_target = std::string(req.target());
    got_type = std::string(req[http::field::content_type]);
    http::response<http::string_body> res{http::status::ok, 11};
    res.keep_alive(false);
    res.prepare_payload();
    http::write(sock, res);
  });
  {
    auto s = NewHttpSink("http://127.0.0.1:" + std::to_string(port) + "/falco");
    ASSERT_TRUE(s.ok());
    (*s)->Write(MakeAlert(Sample(Operation::kShell), "node-1"));
  }  // destructor drains the queue
  server.join();
  EXPECT_EQ(got_target, "/falco");
  EXPECT_EQ(got_type, "application/json");
  auto j = nlohmann::json::parse(got_body);
  EXPECT_EQ(j["rule"], "Shell spawned in container");
}

TEST(HttpSink, RejectsUnsupportedUrls) {
  EXPECT_FALSE(NewHttpSink("https://x/").ok());
  EXPECT_FALSE(NewHttpSink("http://:80/").ok());
  EXPECT_FALSE(NewHttpSink("ftp://x").ok());
}

}  // namespace
}  // namespace invar::drift
