// SPDX-License-Identifier: Apache-2.0
// DriftEvent -> rules::Event (the Falco fields the agent fills), alerts
// rendered through the shipped default rules (drift/rules/defaults/rules.yaml)
// as the agent renders them, and the file/HTTP sinks.
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
#include "invar/rules/engine.h"

namespace invar::drift {
namespace {

DriftEvent Sample(Operation op) {
  auto c = std::make_shared<Container>();
  c->id = "3d9b3f12ef50aa11bb22cc33";
  c->name = "api";
  c->pod = "shop-1";
  c->pod_namespace = "prod";
  c->pod_uid = "0b7c-uid";
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
  p.exe = "/bin/bash";
  p.cmdline = "bash -c \"echo\"";
  p.uid = 0;
  p.user = "root";
  e.process = p;
  e.exe_upper_layer = op == Operation::kExec;
  e.action = "flag";
  return e;
}

// The shipped defaults, loaded as the agent loads them.
std::unique_ptr<rules::Engine> Defaults(rules::EngineOptions::Matching matching = rules::EngineOptions::Matching::kFirst) {
  rules::EngineOptions opts;
  opts.matching = matching;
  opts.json_extra_fields = AgentJsonFields();
  rules::LoadResult result;
  auto engine =
      rules::Engine::LoadFiles({std::string(INVAR_SOURCE_DIR) + "/drift/rules/defaults/rules.yaml"}, &result, opts);
  EXPECT_TRUE(engine) << result.ToText();
  return engine;
}

struct Rendered {
  std::vector<std::string> rules;
  std::vector<std::string> text;
  std::vector<nlohmann::json> json;
};

Rendered Render(const rules::Engine& engine, const DriftEvent& d, const PodMeta* pod = nullptr) {
  rules::Event e;
  FillRuleEvent(d, pod, &e);
  std::vector<rules::Match> m;
  engine.Evaluate(e, &m);
  Rendered r;
  for (const auto& match : m) {
    r.rules.push_back(match.rule->name);
    r.text.push_back(engine.FormatText(match, e));
    const std::string j = engine.FormatJson(match, e, "node-1");
    EXPECT_EQ(j.find('\n'), std::string::npos);
    r.json.push_back(nlohmann::json::parse(j));
  }
  return r;
}

TEST(RuleEvent, FileChangeCarriesEveryFieldTheAgentKnows) {
  rules::Event e;
  FillRuleEvent(Sample(Operation::kCreate), nullptr, &e);
  EXPECT_EQ(e.type, "openat");
  EXPECT_EQ(e.dir, "<");
  EXPECT_EQ(e.time_ns, 1685022245478445995ull);
  EXPECT_EQ(e.origin, rules::Origin::kFanotify);
  EXPECT_EQ(e.invar_op, "create");
  EXPECT_EQ(e.invar_action, "flag");
  EXPECT_EQ(e.container_id, "3d9b3f12ef50");
  EXPECT_EQ(e.container_full_id, "3d9b3f12ef50aa11bb22cc33");
  EXPECT_EQ(e.container_name, "api");
  EXPECT_EQ(e.image_repository, "registry.local:5000/team/api");
  EXPECT_EQ(e.image_tag, "1.2");
  EXPECT_EQ(e.k8s_ns_name, "prod");
  EXPECT_EQ(e.k8s_pod_name, "shop-1");
  EXPECT_EQ(e.k8s_pod_uid, "0b7c-uid");
  EXPECT_FALSE(e.k8s_pod_labels.has_value());
  EXPECT_FALSE(e.k8s_pod_owner_kind.has_value());
  EXPECT_EQ(e.proc_name, "bash");
  EXPECT_EQ(e.proc_pname, "containerd-shim");
  EXPECT_EQ(e.proc_exe, "/bin/bash");
  EXPECT_EQ(e.proc_cmdline, "bash -c \"echo\"");
  EXPECT_EQ(e.proc_pid, 42);
  EXPECT_EQ(e.user_name, "root");
  EXPECT_EQ(e.user_uid, 0);
  EXPECT_EQ(e.fd_name, "/tmp/x");
  EXPECT_EQ(e.fd_is_upper_layer, true);
  EXPECT_FALSE(e.proc_is_exe_upper_layer.has_value());
  EXPECT_FALSE(e.fs_path_source.has_value());
}

TEST(RuleEvent, EachOperationMapsToItsSyscall) {
  const std::pair<Operation, const char*> cases[] = {
      {Operation::kCreate, "openat"}, {Operation::kWrite, "write"},     {Operation::kTruncate, "truncate"},
      {Operation::kDelete, "unlink"}, {Operation::kRename, "rename"},   {Operation::kChmod, "chmod"},
      {Operation::kChown, "chown"},   {Operation::kLink, "link"},       {Operation::kSymlink, "symlink"},
      {Operation::kXattr, "setxattr"}, {Operation::kExec, "execve"},    {Operation::kShell, "execve"},
  };
  for (const auto& [op, type] : cases) {
    rules::Event e;
    FillRuleEvent(Sample(op), nullptr, &e);
    EXPECT_EQ(e.type, type) << OperationName(op);
    EXPECT_EQ(e.invar_op, std::string(OperationName(op)));
  }
}

TEST(RuleEvent, ExecCarriesUpperLayerAndTheExecutedPath) {
  DriftEvent d = Sample(Operation::kExec);
  d.path = "/tmp/dropped";
  d.process->exe.clear();  // a denied exec never ran: the source knows only the file
  d.action = "prevent";
  rules::Event e;
  FillRuleEvent(d, nullptr, &e);
  EXPECT_EQ(e.proc_is_exe_upper_layer, true);
  EXPECT_EQ(e.proc_exe, "/tmp/dropped");
  EXPECT_EQ(e.fd_name, "/tmp/dropped");
  EXPECT_FALSE(e.fd_is_upper_layer.has_value());
  EXPECT_EQ(e.invar_action, "prevent");
  d.process.reset();
  FillRuleEvent(d, nullptr, &e);
  EXPECT_EQ(e.proc_exe, "/tmp/dropped");
  EXPECT_FALSE(e.proc_pid.has_value());
}

TEST(RuleEvent, ReusedEventKeepsNoStaleValues) {
  PodMeta pod;
  pod.labels = std::map<std::string, std::string>{{"app", "shop"}};
  pod.owner_kind = "ReplicaSet";
  pod.owner_name = "shop-7d9f";
  rules::Event e;
  FillRuleEvent(Sample(Operation::kRename), &pod, &e);
  ASSERT_TRUE(e.k8s_pod_labels.has_value());
  // A scan finding: no process, no pod metadata, no container.
  DriftEvent scan = Sample(Operation::kWrite);
  scan.process.reset();
  scan.origin = EventOrigin::kScan;
  scan.action.clear();
  scan.container.reset();
  FillRuleEvent(scan, nullptr, &e);
  EXPECT_EQ(e.container_id, "host");
  EXPECT_EQ(e.origin, rules::Origin::kScan);
  for (const auto* o : {&e.container_full_id, &e.container_name, &e.image_repository, &e.image_tag, &e.k8s_ns_name,
                        &e.k8s_pod_name, &e.k8s_pod_uid, &e.k8s_pod_owner_kind, &e.k8s_pod_owner_name, &e.proc_name,
                        &e.proc_pname, &e.proc_exe, &e.proc_cmdline, &e.user_name, &e.invar_action}) {
    EXPECT_FALSE(o->has_value()) << **o;
  }
  EXPECT_FALSE(e.k8s_pod_labels.has_value());
  EXPECT_FALSE(e.proc_pid.has_value());
  EXPECT_FALSE(e.user_uid.has_value());
}

TEST(RuleEvent, RenameSourceAndPodLabelsAndOwnerReachRulesAndJson) {
  DriftEvent d = Sample(Operation::kRename);
  d.old_path = "/tmp/a";
  d.path = "/tmp/b";
  PodMeta pod;
  pod.labels = std::map<std::string, std::string>{{"app", "shop"}, {"tier", "web"}};
  pod.owner_kind = "ReplicaSet";
  pod.owner_name = "shop-7d9f";
  const std::string rules_yaml = R"(
- rule: Web tier renames
  desc: test
  condition: evt.type = rename and k8s.pod.label[tier] = web and k8s.pod.owner.kind = ReplicaSet
  output: "moved %fs.path.source -> %fd.name in %k8s.pod.owner.name %k8s.pod.labels"
  priority: NOTICE
)";
  rules::EngineOptions opts;
  opts.json_extra_fields = AgentJsonFields();
  rules::LoadResult result;
  auto engine = rules::Engine::Load({{"custom.yaml", rules_yaml}}, &result, opts);
  ASSERT_TRUE(engine) << result.ToText();
  Rendered r = Render(*engine, d, &pod);
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_NE(r.text[0].find("Notice moved /tmp/a -> /tmp/b in shop-7d9f (app:shop,tier:web)"), std::string::npos)
      << r.text[0];
  EXPECT_EQ(r.json[0]["output_fields"]["k8s.pod.owner.kind"], "ReplicaSet");
  EXPECT_EQ(r.json[0]["output_fields"]["k8s.pod.labels"], "(app:shop,tier:web)");
  EXPECT_TRUE(Render(*engine, d, nullptr).rules.empty());  // not enriched: the label is absent
}

TEST(Image, SplitsRepositoryAndTag) {
  EXPECT_EQ(ImageRepository("registry.local:5000/team/api:1.2"), "registry.local:5000/team/api");
  EXPECT_EQ(ImageTag("registry.local:5000/team/api:1.2"), "1.2");
  EXPECT_EQ(ImageRepository("registry.local:5000/team/api"), "registry.local:5000/team/api");
  EXPECT_EQ(ImageTag("registry.local:5000/team/api"), "");
  EXPECT_EQ(ImageRepository("busybox@sha256:abcd"), "busybox");
  EXPECT_EQ(ImageTag("busybox:1.36@sha256:abcd"), "1.36");
}

TEST(Format, Rfc3339WithNanoseconds) {
  EXPECT_EQ(Rfc3339Nanos(1685022245478445995ull), "2023-05-25T13:44:05.478445995Z");
  EXPECT_EQ(Rfc3339Nanos(5), "1970-01-01T00:00:00.000000005Z");
}

TEST(DefaultRules, ShellAlertIsFalcosTextLine) {
  setenv("TZ", "UTC", 1);
  tzset();
  auto engine = Defaults();
  ASSERT_TRUE(engine);
  Rendered r = Render(*engine, Sample(Operation::kShell));
  ASSERT_EQ(r.rules, std::vector<std::string>{"Shell spawned in container"});
  EXPECT_EQ(r.text[0],
            "13:44:05.478445995: Warning Shell spawned (root,container_id=3d9b3f12ef50) (shell=bash "
            "parent=containerd-shim cmdline=bash -c \"echo\" pid=42 uid=0 container_name=api "
            "image=registry.local:5000/team/api:1.2 k8s.ns=prod k8s.pod=shop-1 action=flag)");
}

TEST(DefaultRules, DropAndExecuteJsonHasFalcoKeysAndTheAgentsFields) {
  auto engine = Defaults();
  ASSERT_TRUE(engine);
  DriftEvent d = Sample(Operation::kExec);
  d.process->comm = "dropped";
  d.process->exe = "/tmp/x";
  Rendered r = Render(*engine, d);
  ASSERT_EQ(r.rules, std::vector<std::string>{"Drop and execute new binary in container"});
  const auto& j = r.json[0];
  EXPECT_EQ(j["hostname"], "node-1");
  EXPECT_EQ(j["priority"], "Critical");
  EXPECT_EQ(j["rule"], "Drop and execute new binary in container");
  EXPECT_EQ(j["source"], "syscall");
  EXPECT_EQ(j["time"], "2023-05-25T13:44:05.478445995Z");
  EXPECT_NE(std::find(j["tags"].begin(), j["tags"].end(), "invar.action.prevent"), j["tags"].end());
  const auto& f = j["output_fields"];
  EXPECT_EQ(f["evt.time"], 1685022245478445995ull);
  EXPECT_EQ(f["evt.type"], "execve");
  EXPECT_EQ(f["invar.op"], "exec");
  EXPECT_EQ(f["invar.origin"], "fanotify");
  EXPECT_EQ(f["invar.action"], "flag");
  EXPECT_EQ(f["container.id"], "3d9b3f12ef50");
  EXPECT_EQ(f["container.full_id"], "3d9b3f12ef50aa11bb22cc33");
  EXPECT_EQ(f["container.image.repository"], "registry.local:5000/team/api");
  EXPECT_EQ(f["container.image.tag"], "1.2");
  EXPECT_EQ(f["k8s.pod.name"], "shop-1");
  EXPECT_EQ(f["k8s.pod.uid"], "0b7c-uid");
  EXPECT_TRUE(f["k8s.pod.labels"].is_null());
  EXPECT_EQ(f["proc.cmdline"], "bash -c \"echo\"");
  EXPECT_EQ(f["proc.pid"], 42);
  EXPECT_EQ(f["proc.is_exe_upper_layer"], true);
  EXPECT_EQ(f["fd.name"], "/tmp/x");
  EXPECT_EQ(j["output"].get<std::string>().find(": Critical Executing binary not part of base image (file=/tmp/x proc=dropped"),
            18u)
      << j["output"];
}

TEST(DefaultRules, EveryFileOperationRaisesTheDriftWriteAlert) {
  auto engine = Defaults();
  ASSERT_TRUE(engine);
  for (Operation op : {Operation::kCreate, Operation::kWrite, Operation::kTruncate, Operation::kDelete,
                       Operation::kRename, Operation::kChmod, Operation::kChown, Operation::kLink, Operation::kSymlink,
                       Operation::kXattr}) {
    Rendered r = Render(*engine, Sample(op));
    ASSERT_EQ(r.rules, std::vector<std::string>{"Drift write in container"}) << OperationName(op);
    EXPECT_NE(r.text[0].find("Error File changed in container after start (op=" + std::string(OperationName(op)) +
                             " file=/tmp/x oldpath=<NA> source=fanotify proc=bash pid=42"),
              std::string::npos)
        << r.text[0];
  }
  // A scan finding has no process: <NA> in text, null in JSON.
  DriftEvent scan = Sample(Operation::kWrite);
  scan.process.reset();
  scan.origin = EventOrigin::kScan;
  Rendered r = Render(*engine, scan);
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_NE(r.text[0].find("source=scan proc=<NA> pid=<NA>"), std::string::npos) << r.text[0];
  EXPECT_TRUE(r.json[0]["output_fields"]["proc.name"].is_null());
}

TEST(DefaultRules, RenameAlertNamesTheSourcePath) {
  auto engine = Defaults();
  ASSERT_TRUE(engine);
  DriftEvent d = Sample(Operation::kRename);
  d.old_path = "/tmp/a";
  d.path = "/tmp/b";
  Rendered r = Render(*engine, d);
  ASSERT_EQ(r.rules, std::vector<std::string>{"Drift write in container"});
  EXPECT_NE(r.text[0].find("(op=rename file=/tmp/b oldpath=/tmp/a source=fanotify proc=bash"), std::string::npos)
      << r.text[0];
  EXPECT_EQ(r.json[0]["output_fields"]["fs.path.source"], "/tmp/a");
}

TEST(DefaultRules, JsonCarriesTheEffectiveAndTheRequestedAction) {
  // The agent evaluates with the container's action, then sets the effective
  // action, the rules' request and the reason before formatting.
  auto engine = Defaults();
  ASSERT_TRUE(engine);
  DriftEvent d = Sample(Operation::kExec);
  d.process->exe = "/tmp/x";
  rules::Event e;
  FillRuleEvent(d, nullptr, &e);
  std::vector<rules::Match> m;
  engine->Evaluate(e, &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(rules::StrongestRuleAction(m), rules::Action::kPrevent);
  const nlohmann::json before = nlohmann::json::parse(engine->FormatJson(m[0], e, "n"));
  EXPECT_TRUE(before["output_fields"]["invar.rule_action"].is_null());
  EXPECT_TRUE(before["output_fields"]["invar.action_reason"].is_null());
  e.invar_action = "flag";
  e.invar_rule_action = "prevent";
  e.invar_action_reason = "the container is not in prevent mode (no exec permission check): prevent acted as flag";
  const nlohmann::json after = nlohmann::json::parse(engine->FormatJson(m[0], e, "n"));
  EXPECT_EQ(after["output_fields"]["invar.action"], "flag");
  EXPECT_EQ(after["output_fields"]["invar.rule_action"], "prevent");
  EXPECT_EQ(after["output_fields"]["invar.action_reason"], *e.invar_action_reason);
  EXPECT_NE(engine->FormatText(m[0], e).find(" action=flag)"), std::string::npos);
  // Reusing the event for the next one clears what the agent set.
  FillRuleEvent(Sample(Operation::kWrite), nullptr, &e);
  EXPECT_FALSE(e.invar_rule_action.has_value());
  EXPECT_FALSE(e.invar_action_reason.has_value());
}

TEST(DefaultRules, UpperLayerShellIsOneEventMatchingBothRulesWithRuleMatchingAll) {
  DriftEvent d = Sample(Operation::kExec);  // a dropped bash: exe in the upper layer, a shell
  d.process->exe = "/tmp/bash";
  auto first = Defaults();
  ASSERT_TRUE(first);
  EXPECT_EQ(Render(*first, d).rules, std::vector<std::string>{"Drop and execute new binary in container"});
  auto all = Defaults(rules::EngineOptions::Matching::kAll);
  ASSERT_TRUE(all);
  EXPECT_EQ(Render(*all, d).rules,
            (std::vector<std::string>{"Drop and execute new binary in container", "Shell spawned in container"}));
}

TEST(DefaultRules, JsonSurvivesHostileBytes) {
  auto engine = Defaults();
  ASSERT_TRUE(engine);
  DriftEvent d = Sample(Operation::kCreate);
  d.path = "/tmp/\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\x01\\\"x";  // ü € 😀 \x01 \\ "
  Rendered r = Render(*engine, d);
  ASSERT_EQ(r.json.size(), 1u);
  EXPECT_EQ(r.json[0]["output_fields"]["fd.name"], d.path);
  d.path = "/\xed\xa0\x80/\xc0\xaf\n";  // a UTF-16 surrogate, an overlong '/', a newline
  r = Render(*engine, d);
  ASSERT_EQ(r.json.size(), 1u);
  EXPECT_EQ(r.json[0]["output_fields"]["fd.name"], "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd/\xef\xbf\xbd\xef\xbf\xbd\n");
  EXPECT_EQ(r.text[0].find('\n'), std::string::npos);  // control characters print as '.' in text
}

Alert SampleAlert(const std::string& op) {
  Alert a;
  a.rule = "Drift write in container";
  a.priority = "Error";
  a.action = "flag";
  a.text = "13:44:05.478445995: Error File changed (op=" + op + ")";
  a.json = "{\"rule\":\"Drift write in container\",\"output_fields\":{\"invar.op\":\"" + op + "\"}}";
  return a;
}

TEST(FileSink, AppendsLinesAndReopensAfterRotation) {
  const std::string dir = std::filesystem::temp_directory_path() / ("invar-sink-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto s = NewFileSink(dir + "/alerts.log", OutputFormat::kJson);
  ASSERT_TRUE(s.ok());
  (*s)->Write(SampleAlert("create"));
  std::filesystem::rename(dir + "/alerts.log", dir + "/alerts.log.1");
  (*s)->Reopen();  // writes what was buffered to the old file first
  (*s)->Write(SampleAlert("delete"));
  (*s)->Flush();
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_NE(read(dir + "/alerts.log.1").find("\"invar.op\":\"create\""), std::string::npos);
  EXPECT_NE(read(dir + "/alerts.log").find("\"invar.op\":\"delete\""), std::string::npos);
  EXPECT_FALSE(NewFileSink(dir + "/no/such/dir/x", OutputFormat::kText).ok());
  auto text = NewFileSink(dir + "/alerts.txt", OutputFormat::kText);
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE((*text)->wants_json());
  (*text)->Write(SampleAlert("write"));
  (*text)->Flush();
  EXPECT_EQ(read(dir + "/alerts.txt"), "13:44:05.478445995: Error File changed (op=write)\n");
  std::filesystem::remove_all(dir);
}

// Lines are buffered until Flush (the agent flushes when its queue drains),
// never more than kSinkBufferBytes of them, and always whole.
TEST(FileSink, BuffersWholeLinesUntilFlushOrTheBound) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("invar-sinkbuf-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string path = dir + "/alerts.txt";
  const std::string line = "13:44:05.478445995: Error File changed (op=write)\n";
  const std::size_t n = kSinkBufferBytes / line.size() + 2;
  {
    auto s = NewFileSink(path, OutputFormat::kText);
    ASSERT_TRUE(s.ok());
    (*s)->Write(SampleAlert("write"));
    EXPECT_EQ(read(path), "");
    (*s)->Flush();
    EXPECT_EQ(read(path), line);
    // Past the bound the sink writes on its own, whole lines only.
    for (std::size_t i = 0; i < n; ++i) (*s)->Write(SampleAlert("write"));
    const std::string early = read(path);
    EXPECT_GT(early.size(), line.size());
    EXPECT_LT(early.size(), (n + 1) * line.size());
    EXPECT_EQ(early.size() % line.size(), 0u);
    EXPECT_EQ(early.back(), '\n');
  }
  // Destroyed: the rest is written.
  EXPECT_EQ(read(path).size(), (n + 1) * line.size());
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
    EXPECT_TRUE((*s)->wants_json());
    (*s)->Write(SampleAlert("shell"));
  }  // destructor drains the queue
  server.join();
  EXPECT_EQ(got_target, "/falco");
  EXPECT_EQ(got_type, "application/json");
  auto j = nlohmann::json::parse(got_body);
  EXPECT_EQ(j["rule"], "Drift write in container");
  EXPECT_EQ(j["output_fields"]["invar.op"], "shell");
}

TEST(HttpSink, RejectsUnsupportedUrls) {
  EXPECT_FALSE(NewHttpSink("https://x/").ok());
  EXPECT_FALSE(NewHttpSink("http://:80/").ok());
  EXPECT_FALSE(NewHttpSink("ftp://x").ok());
}

}  // namespace
}  // namespace invar::drift
