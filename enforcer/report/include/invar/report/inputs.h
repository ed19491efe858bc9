// SPDX-License-Identifier: Apache-2.0
// Manifest inputs of `invar report`: files, directories (their *.yaml, *.yml
// and *.json files, sorted, recursively with -R), standard input ("-") and
// kustomizations rendered by `kubectl kustomize`. Reads files and runs
// kubectl; everything it could not read or decode becomes an InputError and
// the rest is still returned. Called from the CLI's main thread; the
// functions keep no state (thread-compatible).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "invar/platform/status.h"
#include "invar/policy/decode.h"
#include "invar/report/report.h"

namespace invar::report {

struct ManifestInputs {
  std::vector<std::string> files;           // -f: FILE, DIR or "-"
  bool recursive = false;                   // -R
  std::vector<std::string> kustomizations;  // -k DIR
  std::string kubectl = "kubectl";          // program run for -k (looked up on PATH)
  FILE* stdin_stream = stdin;               // what "-" reads (tests inject)
  policy::DecodeLimits limits;
};

struct LoadedManifests {
  std::vector<policy::Workload> workloads;  // in input order
  std::vector<policy::SkippedObject> skipped;
  std::vector<InputError> errors;
};

// Reads and decodes every input. Never fails as a whole: a missing file, an
// unreadable directory, a binary file or a bad document is an InputError.
LoadedManifests LoadManifests(const ManifestInputs& inputs);

// Reads a whole regular file (or stdin for "-"), refusing files larger than
// max_bytes and anything that looks binary (a NUL byte in the first 8 KiB).
Result<std::string> ReadInputFile(const std::string& path, size_t max_bytes, FILE* stdin_stream = stdin);

// Lists the manifest files of `dir` (*.yaml, *.yml, *.json; sorted; hidden
// entries skipped; subdirectories only when `recursive`).
Result<std::vector<std::string>> ListManifestFiles(const std::string& dir, bool recursive);

// Runs `<kubectl> kustomize DIR` and returns its stdout. FailedPrecondition
// when kubectl is not on PATH; InvalidArgument with kubectl's stderr when it
// fails.
Result<std::string> RunKustomize(const std::string& kubectl, const std::string& dir, size_t max_bytes);

// Reads a config file's `profiles:` section into the built-in profile set.
Result<policy::ProfileSet> LoadProfileConfig(const std::string& path);

}  // namespace invar::report
