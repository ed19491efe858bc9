// SPDX-License-Identifier: Apache-2.0
// rules::Engine: evaluation through the evt.type index, and Falco-compatible
// formatting of matches (see engine.h).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "engine_impl.h"
#include "json_writer.h"

namespace invar::rules {

namespace {
constexpr std::string_view kPriorityNames[] = {"Emergency", "Alert",  "Critical",      "Error",
                                               "Warning",   "Notice", "Informational", "Debug"};
}  // namespace

bool ParsePriority(std::string_view text, Priority* out) {
  std::string l(text);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "info") {
    *out = Priority::kInformational;
    return true;
  }
  for (std::size_t i = 0; i < std::size(kPriorityNames); ++i) {
    std::string n(kPriorityNames[i]);
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n == l) {
      *out = static_cast<Priority>(i);
      return true;
    }
  }
  return false;
}

std::string_view PriorityName(Priority priority) { return kPriorityNames[static_cast<int>(priority)]; }

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kFlag: return "flag";
    case Action::kKill: return "kill";
    case Action::kPrevent: return "prevent";
    case Action::kNone: break;
  }
  return "none";
}

Action StrongestRuleAction(const std::vector<Match>& matches) {
  Action a = Action::kNone;
  for (const Match& m : matches) a = StrongerAction(a, m.rule->action);
  return a;
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::Load(const std::vector<RulesFile>& files, LoadResult* result,
                                     const EngineOptions& options) {
  auto impl = LoadImpl(files, result, options);
  if (!impl) return nullptr;
  if (options.json_extra_fields.size() > 255) {
    result->AddError("LOAD_ERR_VALIDATE", "too many JSON extra fields (at most 255)", "", 0, 0, "engine options", "");
    return nullptr;
  }
  for (const auto& name : options.json_extra_fields) {
    const internal::FieldInfo* info = internal::FindField(name);
    if (info == nullptr || info->takes_arg) {
      result->AddError("LOAD_ERR_VALIDATE", "unknown JSON extra field '" + name + "'", "", 0, 0, "engine options", "");
      return nullptr;
    }
    internal::FieldRef ref;
    ref.info = info;
    impl->json_extra_keys.push_back(ref.ToString());
    impl->json_extra.push_back(std::move(ref));
  }
  for (const auto& out : impl->outputs) {
    std::vector<std::string> keys;
    for (const auto& f : out.fields) keys.push_back(f.ToString());
    impl->output_keys.push_back(std::move(keys));
    std::vector<std::uint8_t> extra;
    for (std::size_t i = 0; i < impl->json_extra.size(); ++i) {
      bool named = false;
      for (const auto& f : out.fields) {
        named = named || (f.info == impl->json_extra[i].info && f.transformer == internal::Transformer::kNone);
      }
      if (!named) extra.push_back(static_cast<std::uint8_t>(i));
    }
    impl->json_extra_for.push_back(std::move(extra));
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

std::unique_ptr<Engine> Engine::LoadFiles(const std::vector<std::string>& paths, LoadResult* result,
                                          const EngineOptions& options) {
  std::vector<RulesFile> files;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      result->AddError("LOAD_ERR_FILE_READ", "Could not open file " + p + " for reading", p, 0, 0, "rules content", "");
      continue;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
      result->AddError("LOAD_ERR_FILE_READ", "Could not read file " + p, p, 0, 0, "rules content", "");
      continue;
    }
    files.push_back({p, ss.str()});
  }
  if (!result->ok()) {
    // Still check what could be read, so every problem is reported at once.
    LoadResult rest;
    auto ignored = LoadImpl(files, &rest, options);
    for (const auto& m : rest.messages()) {
      if (m.severity == Severity::kError) {
        result->AddError(m.code, m.message, m.file, m.line, m.column, m.item_type, m.item_name);
      } else {
        result->AddWarning(m.code, m.message, m.file, m.line, m.column, m.item_type, m.item_name);
      }
    }
    return nullptr;
  }
  return Load(files, result, options);
}

std::size_t Engine::Evaluate(const Event& event, std::vector<Match>* out) const {
  const Impl& im = *impl_;
  auto it = im.type_index.find(std::string_view(event.type));
  const Impl::Bucket& bucket = it == im.type_index.end() ? im.buckets.back() : im.buckets[it->second];
  // Per-event memo of the shared guards: 0 unknown, 1 false, 2 true.
  std::uint8_t memo[Impl::kMaxGuards];
  std::memset(memo, 0, bucket.guards.size());
  std::size_t n = 0;
  for (const Impl::Entry& entry : bucket.entries) {
    bool pass = true;
    for (std::uint32_t g = 0; g < entry.guard_count; ++g) {
      std::uint8_t gi = bucket.guard_refs[entry.first_guard + g];
      if (memo[gi] == 0) memo[gi] = bucket.guards[gi]->Eval(event) ? 2 : 1;
      if (memo[gi] == 1) {
        pass = false;
        break;
      }
    }
    if (pass && entry.rest->Eval(event)) {
      out->push_back(Match{&im.rules[entry.rule], entry.rule});
      ++n;
      if (im.options.matching == EngineOptions::Matching::kFirst) break;
    }
  }
  return n;
}

std::string Engine::FormatOutput(const Match& match, const Event& event) const {
  return internal::RenderOutput(impl_->outputs.at(match.index), event);
}

std::string Engine::FormatText(const Match& match, const Event& event) const {
  std::time_t secs = static_cast<std::time_t>(event.time_ns / 1000000000ULL);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char ts[40];
  std::snprintf(ts, sizeof(ts), "%02d:%02d:%02d.%09llu", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned long long>(event.time_ns % 1000000000ULL));
  std::string line = ts;
  line += ": ";
  line += PriorityName(match.rule->priority);
  line += ' ';
  line += FormatOutput(match, event);
  return line;
}

namespace {

// One output field, typed as Falco types it in output_fields: numbers and
// booleans as JSON values, everything else (transformed values too) as strings.
void WriteField(internal::JsonObjectWriter* w, std::string_view key, const internal::FieldRef& f, const Event& event,
                std::string* scratch) {
  if (f.transformer == internal::Transformer::kNone && f.info->type == internal::FieldType::kInt) {
    std::int64_t v = 0;
    if (internal::GetInt(event, f.info->id, &v)) {
      w->Int(key, v);
    } else {
      w->Null(key);
    }
    return;
  }
  if (f.transformer == internal::Transformer::kNone && f.info->type == internal::FieldType::kBool) {
    bool v = false;
    if (internal::GetBool(event, f.info->id, &v)) {
      w->Bool(key, v);
    } else {
      w->Null(key);
    }
    return;
  }
  if (internal::RenderField(event, f, scratch)) {
    w->String(key, *scratch);
  } else {
    w->Null(key);
  }
}

}  // namespace

std::string Engine::FormatJson(const Match& match, const Event& event, std::string_view hostname) const {
  std::time_t secs = static_cast<std::time_t>(event.time_ns / 1000000000ULL);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned long long>(event.time_ns % 1000000000ULL));
  std::string out;
  out.reserve(1536);
  internal::JsonObjectWriter j(&out);
  j.String("hostname", hostname);
  j.String("output", FormatText(match, event));
  j.Key("output_fields");
  {
    internal::JsonObjectWriter fields(&out);
    std::string scratch;
    const auto& out_fields = impl_->outputs.at(match.index).fields;
    const auto& keys = impl_->output_keys.at(match.index);
    for (std::size_t k = 0; k < out_fields.size(); ++k) WriteField(&fields, keys[k], out_fields[k], event, &scratch);
    for (std::uint8_t i : impl_->json_extra_for.at(match.index)) {
      WriteField(&fields, impl_->json_extra_keys[i], impl_->json_extra[i], event, &scratch);
    }
    fields.Close();
  }
  j.String("priority", PriorityName(match.rule->priority));
  j.String("rule", match.rule->name);
  j.String("source", "syscall");
  j.Key("tags");
  out.push_back('[');
  for (std::size_t i = 0; i < match.rule->tags.size(); ++i) {
    if (i > 0) out.push_back(',');
    internal::AppendJsonString(&out, match.rule->tags[i]);
  }
  out.push_back(']');
  j.String("time", ts);
  j.Close();
  return out;
}

const std::vector<RuleInfo>& Engine::rules() const { return impl_->rules; }
std::size_t Engine::enabled_rule_count() const { return impl_->enabled; }

}  // namespace invar::rules
