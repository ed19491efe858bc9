// SPDX-License-Identifier: Apache-2.0
// Rule engine throughput: events/s through 100 typical rules (the shipped
// defaults plus 96 generated rules shaped like Falco's: evt.type restriction,
// container macro, list membership, path prefixes, globs, a few regexes and
// exceptions), over a mixed stream of execs and file changes, single thread.
// The baseline is the same engine with the evt.type index turned off (every
// rule evaluated for every event); the ratio is printed as a counter.
//
//   build/<dir>/tests/bench/bench_rules --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "invar/rules/engine.h"

namespace invar::rules {
namespace {

std::string DefaultRules() {
  std::ifstream in(std::string(INVAR_SOURCE_DIR) + "/drift/rules/defaults/rules.yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string GeneratedRules(int count) {
  std::ostringstream y;
  for (int i = 0; i < 5; ++i) {
    y << "- list: bench_procs_" << i << "\n  items: [nginx, envoy, java, python3, node, app" << i << ", worker" << i
      << "]\n";
  }
  for (int i = 0; i < count; ++i) {
    y << "- rule: bench rule " << i << "\n  desc: generated\n  priority: WARNING\n  output: \"bench " << i
      << " (user=%user.name proc=%proc.name file=%fd.name container_id=%container.id)\"\n  condition: >\n    ";
    switch (i % 8) {
      case 0:
        y << "evt.type in (open, openat) and container and fd.name startswith /etc/app" << i
          << "/ and not proc.name in (bench_procs_" << i % 5 << ")";
        break;
      case 1:
        y << "spawned_process and container and proc.name in (tool" << i << ", helper" << i
          << ", nc, ncat, socat) and not k8s.ns.name in (invar_allowed_namespaces)";
        break;
      case 2:
        y << "evt.type in (unlink, unlinkat) and container and fd.name pmatch (/var/lib/app" << i << ", /opt/app" << i
          << ", /srv/data" << i << ") and user.uid != 0";
        break;
      case 3:
        y << "evt.type in (chmod, fchmodat) and container and fd.name glob \"/usr/*/bin" << i << "*\"";
        break;
      case 4:
        y << "spawned_process and container and proc.cmdline contains \"--token" << i
          << "\" and container.image.repository startswith registry" << i << ".example";
        break;
      case 5:
        y << "evt.type in (rename, renameat, renameat2) and container and fd.directory in (/etc/cron.d, /etc/app" << i
          << ") and not proc.pname in (bench_procs_" << i % 5 << ")";
        break;
      case 6:
        y << "evt.type = openat and container and fd.filename regex \"secret" << i
          << "[0-9]+\\\\.key\" and not user.name = svc" << i;
        break;
      case 7:
        y << "spawned_process and container and proc.exe startswith /tmp/ and proc.pname = app" << i;
        y << "\n  exceptions:\n    - name: known\n      fields: [proc.name, container.image.repository]\n"
             "      values:\n        - [probe"
          << i << ", registry.example/probe]\n";
        continue;
    }
    y << "\n";
  }
  return y.str();
}

std::vector<Event> MixedEvents() {
  std::vector<Event> events;
  const char* procs[] = {"nginx", "java", "python3", "bash", "sh", "node", "envoy", "curl"};
  const char* types[] = {"execve", "openat", "openat", "write", "unlink", "rename", "chmod", "openat", "mkdir", "execve"};
  const char* paths[] = {"/etc/app3/config.yaml", "/var/lib/app2/db", "/tmp/x", "/usr/local/bin7x",
                         "/etc/cron.d/job",       "/srv/data18/f",    "/home/u/.bashrc", "/etc/passwd"};
  for (int i = 0; i < 1024; ++i) {
    Event e;
    e.type = types[i % std::size(types)];
    e.time_ns = 1700000000000000000ULL + static_cast<std::uint64_t>(i) * 1000;
    e.container_id = i % 7 == 0 ? "host" : "3d9b3f12ef50";
    e.container_name = "web";
    e.image_repository = "docker.io/library/nginx";
    e.image_tag = "1.25";
    e.k8s_ns_name = i % 3 == 0 ? "shop" : "default";
    e.k8s_pod_name = "web-7d9f";
    e.proc_name = procs[i % std::size(procs)];
    e.proc_pname = procs[(i + 3) % std::size(procs)];
    e.proc_exe = std::string("/usr/bin/") + *e.proc_name;
    e.proc_cmdline = *e.proc_name + " --serve";
    e.proc_pid = 1000 + i;
    e.proc_is_exe_upper_layer = i % 50 == 0;
    e.user_name = "app";
    e.user_uid = 1000;
    if (e.type != "execve") {
      e.fd_name = paths[i % std::size(paths)];
      e.fd_is_upper_layer = true;
    }
    events.push_back(std::move(e));
  }
  return events;
}

std::unique_ptr<Engine> Build(bool index, EngineOptions::Matching matching) {
  EngineOptions o;
  o.index_by_event_type = index;
  o.matching = matching;
  LoadResult r;
  auto engine = Engine::Load({{"rules.yaml", DefaultRules()}, {"bench.yaml", GeneratedRules(96)}}, &r, o);
  if (!engine) {
    std::fprintf(stderr, "%s", r.ToText().c_str());
    std::abort();
  }
  return engine;
}

void Run(benchmark::State& state, bool index, EngineOptions::Matching matching) {
  auto engine = Build(index, matching);
  auto events = MixedEvents();
  std::vector<Match> matches;
  matches.reserve(16);
  std::size_t i = 0, matched = 0;
  for (auto _ : state) {
    matches.clear();
    matched += engine->Evaluate(events[i], &matches);
    benchmark::DoNotOptimize(matches.data());
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["rules"] = static_cast<double>(engine->enabled_rule_count());
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["match%"] = 100.0 * static_cast<double>(matched) / static_cast<double>(state.iterations());
}

void BM_Rules_Indexed_FirstMatch(benchmark::State& s) { Run(s, true, EngineOptions::Matching::kFirst); }
void BM_Rules_Indexed_AllMatches(benchmark::State& s) { Run(s, true, EngineOptions::Matching::kAll); }
void BM_Rules_Baseline_NoIndex_AllMatches(benchmark::State& s) { Run(s, false, EngineOptions::Matching::kAll); }

// Formatting a match (only matches are formatted, so this is per alert, not per event).
void BM_FormatJson(benchmark::State& state) {
  auto engine = Build(true, EngineOptions::Matching::kFirst);
  Event e = MixedEvents()[3];
  e.type = "execve";
  e.proc_name = "bash";
  std::vector<Match> m;
  if (engine->Evaluate(e, &m) == 0) std::abort();
  for (auto _ : state) benchmark::DoNotOptimize(engine->FormatJson(m[0], e, "node-1"));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Load100Rules(benchmark::State& state) {
  std::string defaults = DefaultRules(), generated = GeneratedRules(96);
  for (auto _ : state) {
    LoadResult r;
    auto engine = Engine::Load({{"rules.yaml", defaults}, {"bench.yaml", generated}}, &r);
    benchmark::DoNotOptimize(engine.get());
  }
}

BENCHMARK(BM_Rules_Indexed_FirstMatch);
BENCHMARK(BM_Rules_Indexed_AllMatches);
BENCHMARK(BM_Rules_Baseline_NoIndex_AllMatches);
BENCHMARK(BM_FormatJson);
BENCHMARK(BM_Load100Rules)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace invar::rules

BENCHMARK_MAIN();
