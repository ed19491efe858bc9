// SPDX-License-Identifier: Apache-2.0
// StateStore: what the agent has already reported, per container, persisted
// under --state-dir (one append-only file per container id) so a restarted
// agent reports drift made while it was down exactly once and nothing twice.
// DriftTracker (one per container) decides whether an observation is new.
//
// StateStore is thread-safe (one mutex). Appends are buffered per container
// (at most kStateBufferBytes, then written) and written by Flush(), which the
// agent calls whenever its queue drains: a crash loses at most the lines of
// one burst, and those drifts are then reported again after the restart (a
// duplicate, never a miss).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "invar/drift/event.h"
#include "invar/platform/fd.h"
#include "invar/platform/status.h"

namespace invar::drift {

class StateStore {
 public:
  // `dir` is created if missing. An empty dir keeps state in memory only.
  explicit StateStore(std::string dir);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  static constexpr std::size_t kStateBufferBytes = 16 * 1024;

  // The last reported operation per container path, from the file (created
  // empty if missing). Malformed lines are skipped.
  Result<std::unordered_map<std::string, Operation>> Load(const std::string& container_id);
  // Records that `path` was reported with `op` (buffered; see Flush).
  Status Append(const std::string& container_id, const std::string& path, Operation op);
  // Writes the buffered appends of every container.
  Status Flush();
  // Forgets a container (it stopped).
  void Remove(const std::string& container_id);
  // Removes the files of containers not in `live` (stopped while the agent was down).
  void GarbageCollect(const std::vector<std::string>& live);

  // Line codec, exported for tests: "<op>\t<escaped path>\n"; '%', '\t', '\n' escaped as %XX.
  static std::string EncodeLine(const std::string& path, Operation op);
  static bool DecodeLine(std::string_view line, std::string* path, Operation* op);

 private:
  std::string FileFor(const std::string& container_id) const;
  struct Open {
    UniqueFd fd;
    std::string pending;  // encoded lines not written yet
  };
  Status FlushLocked(const std::string& container_id, Open& o);
  std::string dir_;
  std::mutex mu_;
  std::unordered_map<std::string, Open> open_;  // guarded by mu_: append fds kept open per container
};

// Per-container dedup of observations. Thread-compatible; the agent guards it.
class DriftTracker {
 public:
  explicit DriftTracker(std::unordered_map<std::string, Operation> known = {}) : last_(std::move(known)) {}
  // True when the observation is worth reporting: the path was never reported,
  // or its last reported operation differs (a write after a create/write of
  // the same path is not new). Records it when true.
  bool Observe(const std::string& path, Operation op);
  // True when the scan should report `path`: never reported at all.
  bool Unknown(const std::string& path) const { return last_.find(path) == last_.end(); }
  std::size_t size() const { return last_.size(); }

 private:
  std::unordered_map<std::string, Operation> last_;
};

}  // namespace invar::drift
