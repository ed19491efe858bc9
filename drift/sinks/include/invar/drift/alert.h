// SPDX-License-Identifier: Apache-2.0
// Alert: a DriftEvent after the agent decided what it is (rule, priority,
// message) and what it did (action), formatted as Falco formats its alerts:
//   text: "HH:MM:SS.nnnnnnnnn: Priority message (fields)"
//   JSON: {"hostname","output","priority","rule","source","tags","time","output_fields"}
// so Falco consumers and Falcosidekick read them unchanged. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "invar/drift/event.h"

namespace invar::drift {

enum class Priority { kEmergency, kAlert, kCritical, kError, kWarning, kNotice, kInformational, kDebug };
std::string_view PriorityName(Priority p);  // "Critical", "Warning", ...

struct Alert {
  DriftEvent event;
  std::string rule;
  Priority priority = Priority::kWarning;
  std::string message;  // without the time/priority prefix
  std::vector<std::string> tags;
  std::string hostname;  // node name
};

// Builds the alert for an event: rule "Drop and execute new binary in
// container" (exec), "Shell spawned in container" (shell), "Container drift
// detected" (every file change).
Alert MakeAlert(DriftEvent event, const std::string& hostname);

std::string FormatText(const Alert& a);  // one line, no newline
std::string FormatJson(const Alert& a);  // one line, no newline
// "2023-05-25T13:44:05.478445995Z"
std::string Rfc3339Nanos(std::uint64_t time_ns);

}  // namespace invar::drift
